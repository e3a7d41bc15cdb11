// Boost.Beast implementation of the inbound HTTP server (see http_server.hpp). This is the module's only
// translation unit that includes Beast, to keep compile times low.
#include "webhooks/http_server.hpp"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/log.hpp"
#include "core/redact.hpp"
#include "webhooks/metrics.hpp"

namespace mlc::webhooks {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// After an error reply with Connection: close, the rest of what the client sends is read and dropped for at
// most this long (and this many bytes) before closing, so the close does not reset the connection and
// destroy the reply before the client has read it.
constexpr std::chrono::milliseconds kLingerTime{2000};
constexpr size_t kLingerBytes = size_t{4} << 20;
constexpr size_t kDiscardBytes = 16384;
// How long Stop waits for connections to close after closing them, before stopping the I/O threads.
constexpr std::chrono::milliseconds kCloseGrace{1000};
// Pause before accepting again after accept() failed (e.g. out of file descriptors): not a busy loop.
constexpr std::chrono::milliseconds kAcceptRetry{100};

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX and '+' (form encoding); an invalid escape is kept as written.
std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> ParseQuery(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    const size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string key = PercentDecode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? std::string() : PercentDecode(pair.substr(eq + 1));
    out.try_emplace(std::move(key), std::move(value));  // the first of repeated keys wins
  }
  return out;
}

// Header names and values must not smuggle a line break into the response.
bool IsSafeHeaderText(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A fixed set of threads running handlers from a bounded queue.
class WorkerPool {
 public:
  WorkerPool(int threads, size_t max_queue) : max_queue_(max_queue) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
  }
  ~WorkerPool() { Shutdown(); }

  // False when the queue is full or the pool is shut down (the task is then destroyed unrun).
  bool TryPost(std::function<void()> task) {
    {
      std::lock_guard lock(mu_);
      if (stop_ || queue_.size() >= max_queue_) return false;
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
    return true;
  }

  // Drops queued tasks, waits for running ones. Must not be called from a worker thread.
  void Shutdown() {
    std::deque<std::function<void()>> dropped;
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      dropped.swap(queue_);
    }
    cv_.notify_all();
    dropped.clear();  // outside the lock: destroying a Responder answers its request
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  void Run() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  const size_t max_queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

class Session;

}  // namespace

// ---- Responder ----

struct Responder::State {
  explicit State(std::function<void(Response)> d) : deliver(std::move(d)) {}
  ~State() {
    if (!sent.exchange(true) && deliver) {
      try {
        deliver(Response::Json(500, {{"error", "internal"}, {"message", "the handler did not answer"}}));
      } catch (...) {  // a destructor must not throw; the connection then times out
      }
    }
  }
  std::function<void(Response)> deliver;
  std::atomic<bool> sent{false};
};

Responder::Responder(std::function<void(Response)> deliver)
    : state_(std::make_shared<State>(std::move(deliver))) {}

void Responder::Send(Response response) const {
  if (!state_ || state_->sent.exchange(true)) return;
  state_->deliver(std::move(response));
}

bool Responder::sent() const { return state_ && state_->sent.load(); }

// ---- Request / Response ----

const std::string* Request::Header(std::string_view lower_case_name) const {
  auto it = headers.find(std::string(lower_case_name));
  return it == headers.end() ? nullptr : &it->second;
}

Response Response::Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::Json(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

// ---- Core: state shared by the listener, the sessions and the responders ----

struct HttpServer::Core : std::enable_shared_from_this<HttpServer::Core> {
  explicit Core(HttpServerOptions o) : options(std::move(o)) {}

  HttpServerOptions options;

  RouteTable routes;

  std::atomic<size_t> open_connections{0};
  std::atomic<size_t> in_flight{0};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> header_timeouts{0};
  std::atomic<bool> stopping{false};
  std::atomic<uint16_t> port{0};

  std::mutex wait_mu;  // with wait_cv: Stop waits for in_flight / open_connections to drop
  std::condition_variable wait_cv;

  std::mutex sessions_mu;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;

  metrics::CounterFamily* m_requests = nullptr;  // by status code
  metrics::Counter* m_rejected = nullptr;
  metrics::Counter* m_timeouts = nullptr;

  // Created by Start, shut down (joined) by Stop from the caller's thread; sessions use it only while the
  // I/O threads run.
  std::unique_ptr<WorkerPool> pool;

  // Declared after everything a Session touches in its destructor: the io_context destroys pending
  // handlers (and so sessions) first, while those members still exist.
  net::io_context ioc;
  tcp::acceptor acceptor{net::make_strand(ioc)};
  net::steady_timer accept_retry{acceptor.get_executor()};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> io_threads;
  std::mutex lifecycle_mu;
  bool started = false;
  bool stopped = false;

  void Notify() {
    { std::lock_guard lock(wait_mu); }
    wait_cv.notify_all();
  }

  void CountResponse(int status) {
    if (m_requests) m_requests->WithLabels({std::to_string(status)}).Inc();
  }

  void Accept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  std::vector<std::shared_ptr<Session>> LiveSessions() {
    std::vector<std::shared_ptr<Session>> out;
    std::lock_guard lock(sessions_mu);
    out.reserve(sessions.size());
    for (auto& [raw, weak] : sessions) {
      if (auto s = weak.lock()) out.push_back(std::move(s));
    }
    return out;
  }
};

namespace {

// One accepted connection. Every member function runs on the connection's strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Core* core) : stream_(std::move(socket)), core_(core) {}

  ~Session() {
    EndInFlight();
    {
      std::lock_guard lock(core_->sessions_mu);
      core_->sessions.erase(this);
    }
    core_->open_connections.fetch_sub(1);
    core_->Notify();
  }

  net::any_io_executor executor() { return stream_.get_executor(); }

  void Start() {
    {
      std::lock_guard lock(core_->sessions_mu);
      core_->sessions.emplace(this, weak_from_this());
    }
    beast::error_code ec;
    const tcp::endpoint peer = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = peer.address().to_string();
    if (core_->stopping.load()) return Close();
    ReadRequest();
  }

  // Stop() began: drop connections that are not in the middle of a request being handled.
  void OnStop() {
    if (state_ == State::kIdle || state_ == State::kHeader || state_ == State::kBody) Close();
  }

  void Close() {
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    EndInFlight();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  // The handler's answer for request number `seq`.
  void Deliver(uint64_t seq, Response response) {
    if (seq != seq_ || state_ != State::kHandling) return;  // connection closed meanwhile
    Write(std::move(response), keep_alive_ && !core_->stopping.load(), /*then_linger=*/false);
  }

 private:
  enum class State { kIdle, kHeader, kBody, kHandling, kWriting, kLingering, kClosed };

  void ReadRequest() {
    // A large body leaves a large buffer behind; give it back before a possibly long idle wait.
    if (buffer_.size() == 0 && buffer_.capacity() > 65536) buffer_.shrink_to_fit();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(core_->options.max_header_bytes));
    parser_->body_limit(core_->options.max_body_bytes);
    if (first_request_ || buffer_.size() > 0) {
      // The first request's header clock starts at accept; a pipelined one has already begun.
      first_request_ = false;
      return ReadHeader();
    }
    // Keep-alive: wait for the next request's first byte under the idle timeout, then time its header.
    state_ = State::kIdle;
    stream_.expires_after(core_->options.idle_timeout);
    stream_.async_read_some(
        buffer_.prepare(4096),
        [self = shared_from_this()](beast::error_code ec, size_t n) { self->OnIdleRead(ec, n); });
  }

  void OnIdleRead(beast::error_code ec, size_t n) {
    if (ec) return Close();  // idle timeout, peer closed, or Stop()
    buffer_.commit(n);
    ReadHeader();
  }

  void ReadHeader() {
    state_ = State::kHeader;
    stream_.expires_after(core_->options.header_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec, /*in_header=*/true);
    if (core_->stopping.load()) return Close();
    received_at_ms_ = core_->options.now_ms ? core_->options.now_ms() : SystemNowMs();
    // Beast refuses a declared Content-Length above body_limit while parsing the header (body_limit
    // error above), so an oversize body is never read. Tell a client that waits for 100-continue to go on.
    const auto& req = parser_->get();
    auto expect = req.find(bhttp::field::expect);
    if (expect != req.end() && beast::iequals(expect->value(), "100-continue") && !parser_->is_done()) {
      state_ = State::kBody;
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(core_->options.io_timeout);
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = shared_from_this()](beast::error_code wec, size_t) {
                         if (wec) return self->Close();
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    state_ = State::kBody;
    if (parser_->is_done()) return OnBody({});
    stream_.expires_after(core_->options.io_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
  }

  void OnReadError(beast::error_code ec, bool in_header) {
    if (ec == beast::error::timeout) {
      if (in_header) {
        core_->header_timeouts.fetch_add(1);
        if (core_->m_timeouts) core_->m_timeouts->Inc();
      }
      return Close();
    }
    if (ec == bhttp::error::header_limit) {
      return SendError(431, "request header fields too large");
    }
    if (ec == bhttp::error::body_limit) {
      return SendError(413, "request body too large");
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      return SendError(400, "malformed HTTP request");
    }
    Close();  // peer closed or reset, Stop(), or a truncated message
  }

  void SendError(int status, std::string message) {
    if (core_->stopping.load()) return Close();
    Response r = Response::Json(status, {{"error", message}});
    Write(std::move(r), /*keep_alive=*/false, /*then_linger=*/true);
  }

  void OnBody(beast::error_code ec) {
    if (ec) return OnReadError(ec, /*in_header=*/false);
    stream_.expires_never();  // the handler may take longer than io_timeout; Write arms it again
    if (core_->stopping.load()) return Close();
    core_->requests.fetch_add(1);
    bhttp::request<bhttp::string_body> msg = parser_->release();
    keep_alive_ = msg.keep_alive();

    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    if (req.target.empty() || req.target.front() != '/') {
      return SendError(400, "request target must be an absolute path");
    }
    const size_t q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = ParseQuery(std::string_view(req.target).substr(q + 1));
    for (const auto& field : msg) {
      auto [it, inserted] = req.headers.try_emplace(ToLower(field.name_string()), std::string(field.value()));
      if (!inserted) it->second.append(", ").append(field.value());
    }
    req.body = std::move(msg.body());
    req.remote_address = remote_;
    req.received_at_ms = received_at_ms_;

    state_ = State::kHandling;
    BeginInFlight();
    const uint64_t seq = ++seq_;
    Responder responder([self = shared_from_this(), core = core_->shared_from_this(), seq](Response r) {
      net::post(self->executor(),
                [self, seq, r = std::move(r)]() mutable { self->Deliver(seq, std::move(r)); });
    });

    RouteMatch match = core_->routes.Find(req.method, req.path);
    if (!match.handler) {
      if (match.allow.empty()) return responder.Send(Response::Json(404, {{"error", "not found"}}));
      Response r = Response::Json(405, {{"error", "method not allowed"}});
      r.headers.emplace_back("Allow", match.allow);
      return responder.Send(std::move(r));
    }
    if (match.options.run_on_io_thread) return RunHandler(match.handler, req, responder);
    auto task = [handler = std::move(match.handler), req = std::move(req), responder]() {
      RunHandler(handler, req, responder);
    };
    if (!core_->pool || !core_->pool->TryPost(std::move(task))) {
      Response r = Response::Json(503, {{"error", "server busy"}});
      r.headers.emplace_back("Retry-After", std::to_string(core_->options.retry_after_seconds));
      responder.Send(std::move(r));
    }
  }

  static void RunHandler(const Handler& handler, const Request& req, const Responder& responder) {
    try {
      handler(req, responder);
    } catch (const std::exception& e) {
      Log().error("http: handler for {} {} threw: {}", req.method, req.path, redact::RedactText(e.what()));
      responder.Send(Response::Json(500, {{"error", "internal"}}));
    } catch (...) {
      Log().error("http: handler for {} {} threw a non-standard exception", req.method, req.path);
      responder.Send(Response::Json(500, {{"error", "internal"}}));
    }
  }

  void Write(Response response, bool keep_alive, bool then_linger) {
    state_ = State::kWriting;
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    if (response.status < 100 || response.status > 599) {
      Log().error("http: handler answered with invalid status {}; sending 500", response.status);
      response = Response::Json(500, {{"error", "internal"}});
    }
    res->version(11);
    res->result(static_cast<unsigned>(response.status));
    if (IsSafeHeaderText(response.content_type) && !response.content_type.empty()) {
      res->set(bhttp::field::content_type, response.content_type);
    }
    for (const auto& [name, value] : response.headers) {
      if (name.empty() || !IsSafeHeaderText(name) || !IsSafeHeaderText(value)) {
        Log().warn("http: dropped a response header with a line break in it");
        continue;
      }
      res->insert(name, value);
    }
    res->set(bhttp::field::cache_control, "no-store");
    res->body() = std::move(response.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    core_->CountResponse(response.status);
    stream_.expires_after(core_->options.io_timeout);
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res, keep_alive, then_linger](
                           beast::error_code ec, size_t) { self->OnWrite(ec, keep_alive, then_linger); });
  }

  void OnWrite(beast::error_code ec, bool keep_alive, bool then_linger) {
    EndInFlight();
    if (ec) return Close();
    if (keep_alive) return ReadRequest();
    if (then_linger) return Linger();
    Close();
  }

  // Half-close, then read and drop what the client still sends (bounded in time and bytes), then close.
  void Linger() {
    state_ = State::kLingering;
    if (!discard_) discard_ = std::make_unique<char[]>(kDiscardBytes);
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::min<std::chrono::milliseconds>(kLingerTime, core_->options.io_timeout));
    LingerRead();
  }

  void LingerRead() {
    stream_.async_read_some(net::buffer(discard_.get(), kDiscardBytes),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->lingered_ += n;
                              if (ec || self->lingered_ > kLingerBytes || self->state_ == State::kClosed)
                                return self->Close();
                              self->LingerRead();
                            });
  }

  void BeginInFlight() {
    if (in_flight_) return;
    in_flight_ = true;
    core_->in_flight.fetch_add(1);
  }
  void EndInFlight() {
    if (!in_flight_) return;
    in_flight_ = false;
    core_->in_flight.fetch_sub(1);
    core_->Notify();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  HttpServer::Core* core_;
  State state_ = State::kHeader;
  bool first_request_ = true;
  bool keep_alive_ = false;
  bool in_flight_ = false;
  uint64_t seq_ = 0;
  int64_t received_at_ms_ = 0;
  std::string remote_;
  std::unique_ptr<char[]> discard_;  // allocated only while lingering: idle sessions stay small
  size_t lingered_ = 0;
};

}  // namespace

void HttpServer::Core::Accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    OnAccept(ec, std::move(socket));
  });
}

void HttpServer::Core::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping.load() || ec == net::error::operation_aborted) return;
  if (ec) {
    // Typically EMFILE/ENFILE: the process is out of descriptors. Try again shortly instead of spinning.
    Log().warn("http: accept failed: {}; retrying", ec.message());
    accept_retry.expires_after(kAcceptRetry);
    accept_retry.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && !stopping.load()) Accept();
    });
    return;
  }
  accepted.fetch_add(1);
  if (open_connections.load() >= options.max_connections) {
    rejected.fetch_add(1);
    if (m_rejected) m_rejected->Inc();
    // A best-effort canned answer on the fresh socket (its send buffer is empty, so this does not block).
    static constexpr std::string_view kBusy =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 32\r\n"
        "Retry-After: 1\r\nConnection: close\r\n\r\n{\"error\":\"too many connections\"}";
    beast::error_code ignored;
    socket.non_blocking(true, ignored);
    socket.send(net::buffer(kBusy.data(), kBusy.size()), 0, ignored);
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    socket.close(ignored);
    return Accept();
  }
  open_connections.fetch_add(1);
  auto session = std::make_shared<Session>(std::move(socket), this);
  net::dispatch(session->executor(), [session] { session->Start(); });
  Accept();
}

// ---- HttpServer ----

HttpServer::HttpServer(HttpServerOptions options) {
  options.io_threads = std::max(options.io_threads, 1);
  options.worker_threads = std::max(options.worker_threads, 1);
  options.max_queued_requests = std::max<size_t>(options.max_queued_requests, 1);
  options.max_connections = std::max<size_t>(options.max_connections, 1);
  core_ = std::make_shared<Core>(std::move(options));
  if (metrics::Registry* reg = core_->options.metrics) {
    auto requests =
        reg->AddCounter("mlc_http_responses_total", "HTTP responses sent by the host's server.", {"code"});
    auto rejected = reg->AddCounter("mlc_http_connections_rejected_total",
                                    "Connections refused because max_connections were open.");
    auto timeouts = reg->AddCounter("mlc_http_header_timeouts_total",
                                    "Connections closed because a request header was not received in time.");
    auto open = reg->AddGauge("mlc_http_connections_open", "Open inbound HTTP connections.");
    auto in_flight = reg->AddGauge("mlc_http_requests_in_flight", "Requests read and not yet answered.");
    if (requests.ok()) core_->m_requests = *requests;
    if (rejected.ok()) core_->m_rejected = &(*rejected)->WithLabels();
    if (timeouts.ok()) core_->m_timeouts = &(*timeouts)->WithLabels();
    if (open.ok() && in_flight.ok()) {
      metrics::Gauge* open_g = &(*open)->WithLabels();
      metrics::Gauge* in_flight_g = &(*in_flight)->WithLabels();
      std::weak_ptr<Core> weak = core_;
      reg->AddCollectHook([weak, open_g, in_flight_g] {
        auto core = weak.lock();
        open_g->Set(core ? static_cast<double>(core->open_connections.load()) : 0.0);
        in_flight_g->Set(core ? static_cast<double>(core->in_flight.load()) : 0.0);
      });
    }
    if (!requests.ok() || !rejected.ok() || !timeouts.ok() || !open.ok() || !in_flight.ok()) {
      Log().error("http: server metrics could not be registered (a metric of the same name exists)");
    }
  }
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(std::string method, std::string path_prefix, Handler handler, RouteOptions options) {
  core_->routes.Add(std::move(method), std::move(path_prefix), std::move(handler), options);
}

Status HttpServer::Start() {
  std::lock_guard lock(core_->lifecycle_mu);
  if (core_->started) return Status::Invalid("http server: already started");
  beast::error_code ec;
  const net::ip::address addr = net::ip::make_address(core_->options.address, ec);
  if (ec) return Status::Invalid("http server: '" + core_->options.address + "' is not an IP address");
  const tcp::endpoint endpoint(addr, core_->options.port);
  core_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) core_->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) core_->acceptor.bind(endpoint, ec);
  if (!ec) core_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    core_->acceptor.close(ignored);
    return Status::Error("http server: cannot listen on " + core_->options.address + ":" +
                         std::to_string(core_->options.port) + ": " + ec.message());
  }
  core_->port = core_->acceptor.local_endpoint().port();
  core_->pool =
      std::make_unique<WorkerPool>(core_->options.worker_threads, core_->options.max_queued_requests);
  core_->started = true;
  core_->work.emplace(core_->ioc.get_executor());
  net::dispatch(core_->acceptor.get_executor(), [core = core_.get()] { core->Accept(); });
  for (int i = 0; i < core_->options.io_threads; ++i) {
    core_->io_threads.emplace_back([core = core_.get()] {
      for (;;) {
        try {
          core->ioc.run();
          return;
        } catch (const std::exception& e) {  // a handler threw on an I/O thread: log it and keep serving
          Log().error("http: unexpected exception on an I/O thread: {}", redact::RedactText(e.what()));
        }
      }
    });
  }
  Log().info("http: listening on {}:{}", core_->options.address, core_->port.load());
  return Status::Ok();
}

uint16_t HttpServer::port() const { return core_->port.load(); }

bool HttpServer::stopping() const { return core_->stopping.load(); }

void HttpServer::Stop(std::chrono::milliseconds deadline) {
  Core& c = *core_;
  {
    std::lock_guard lock(c.lifecycle_mu);
    if (c.stopped) return;
    c.stopped = true;
    c.stopping.store(true);
    if (!c.started) return;
  }
  const auto until = std::chrono::steady_clock::now() + deadline;
  net::post(c.acceptor.get_executor(), [core = core_.get()] {
    beast::error_code ignored;
    core->acceptor.close(ignored);
    core->accept_retry.cancel();
  });
  for (auto& s : c.LiveSessions()) net::post(s->executor(), [s] { s->OnStop(); });
  {
    std::unique_lock lock(c.wait_mu);
    c.wait_cv.wait_until(lock, until, [&c] { return c.in_flight.load() == 0; });
  }
  for (auto& s : c.LiveSessions()) net::post(s->executor(), [s] { s->Close(); });
  {
    std::unique_lock lock(c.wait_mu);
    c.wait_cv.wait_for(lock, kCloseGrace, [&c] { return c.open_connections.load() == 0; });
  }
  c.work.reset();
  c.ioc.stop();
  for (std::thread& t : c.io_threads) t.join();
  c.io_threads.clear();
  if (c.pool) c.pool->Shutdown();
  Log().info("http: stopped (port {})", c.port.load());
}

HttpServer::Stats HttpServer::stats() const {
  Stats s;
  s.open_connections = core_->open_connections.load();
  s.in_flight = core_->in_flight.load();
  s.accepted_connections = core_->accepted.load();
  s.rejected_connections = core_->rejected.load();
  s.requests = core_->requests.load();
  s.header_timeouts = core_->header_timeouts.load();
  return s;
}

}  // namespace mlc::webhooks
