// Boost.Beast implementation of the loopback test server (all Beast code stays in this file to keep the
// compile time of its users low).
#include "http/testing/test_server.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <deque>
#include <exception>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace mlc::http::testing {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

const std::string* TestRequest::Header(std::string_view name) const {
  auto it = headers.find(ToLower(name));
  return it == headers.end() ? nullptr : &it->second;
}

Fault Fault::TooManyRequests(std::string retry_after) {
  TestResponse r{.status = 429, .body = R"({"error":"too many requests"})"};
  if (!retry_after.empty()) r.headers.emplace_back("Retry-After", std::move(retry_after));
  return Fault{.response = std::move(r)};
}

Fault Fault::Unavailable(std::string retry_after) {
  TestResponse r{.status = 503, .body = "service unavailable"};
  if (!retry_after.empty()) r.headers.emplace_back("Retry-After", std::move(retry_after));
  return Fault{.response = std::move(r)};
}

Fault Fault::DropConnection() { return Fault{.response = TestResponse{.drop_connection = true}}; }

Fault Fault::ResetConnection() {
  return Fault{.response = TestResponse{.drop_connection = true, .reset_connection = true}};
}

Fault Fault::Delay(std::chrono::milliseconds d) { return Fault{.delay = d}; }

struct TestServer::Impl {
  net::io_context ioc;  // declared first: destroyed last, after everything bound to it
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  Options options;

  std::mutex mu;
  Handler handler;
  std::deque<Fault> faults;
  std::vector<TestRequest> requests;
  std::atomic<size_t> request_count{0};
  std::atomic<size_t> connection_count{0};
  std::atomic<bool> stopped{false};
  uint16_t port = 0;

  // Picks the response for one request: a queued fault, else the handler (exceptions become a 500).
  TestResponse Answer(const TestRequest& req) {
    std::optional<Fault> fault;
    Handler h;
    {
      std::lock_guard lock(mu);
      if (options.keep_requests) requests.push_back(req);
      if (!faults.empty()) {
        fault = std::move(faults.front());
        faults.pop_front();
      }
      h = handler;
    }
    TestResponse res;
    if (fault && fault->response) {
      res = *fault->response;
    } else if (h) {
      try {
        res = h(req);
      } catch (const std::exception& e) {
        res = TestResponse{.status = 500, .body = std::string("test handler threw: ") + e.what()};
      }
    } else {
      res = TestResponse{.status = 200, .body = "ok"};
    }
    if (fault) res.delay += fault->delay;
    return res;
  }

  void Accept();
};

namespace {

// One accepted connection: read a request, answer it (or fault), repeat while keep-alive holds.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, TestServer::Impl* server, uint64_t id)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), server_(server), id_(id) {}

  void Read() {
    parser_.emplace();
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());  // tests send 10 MiB bodies
    parser_->header_limit(1u << 20);
    bhttp::async_read(socket_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec) return Close(false);  // end of stream, reset, or a malformed request
    bhttp::request<bhttp::string_body> msg = parser_->release();
    TestRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    for (const auto& field : msg) {
      auto [it, inserted] = req.headers.try_emplace(ToLower(field.name_string()), field.value());
      if (!inserted) it->second.append(", ").append(field.value());
    }
    req.body = std::move(msg.body());
    req.connection_id = id_;
    server_->request_count.fetch_add(1);
    response_ = server_->Answer(req);
    keep_alive_ = msg.keep_alive() && !response_.close_after;
    if (response_.drop_connection) return Close(response_.reset_connection);
    if (response_.delay.count() > 0) {
      timer_.expires_after(response_.delay);
      timer_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec) self->Write();
      });
      return;
    }
    Write();
  }

  void Write() {
    out_ = {};
    out_.version(11);
    out_.result(static_cast<unsigned>(response_.status));
    for (const auto& [name, value] : response_.headers) out_.insert(name, value);
    out_.body() = response_.body;
    out_.keep_alive(keep_alive_);
    out_.prepare_payload();
    bhttp::async_write(socket_, out_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Close(false);
      if (!self->keep_alive_) return self->Close(false);
      self->Read();
    });
  }

  void Close(bool reset) {
    beast::error_code ignored;
    if (reset) {
      socket_.set_option(net::socket_base::linger(true, 0), ignored);
    } else {
      socket_.shutdown(tcp::socket::shutdown_both, ignored);
    }
    socket_.close(ignored);
  }

  tcp::socket socket_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> out_;
  TestResponse response_;
  bool keep_alive_ = true;
  TestServer::Impl* server_;
  uint64_t id_;
};

}  // namespace

void TestServer::Impl::Accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (stopped.load()) return;
    if (!ec) {
      const uint64_t id = connection_count.fetch_add(1) + 1;
      std::make_shared<Session>(std::move(socket), this, id)->Read();
    }
    Accept();
  });
}

TestServer::TestServer(Handler handler) : TestServer(std::move(handler), Options{}) {}

TestServer::TestServer(Handler handler, Options options) : impl_(std::make_shared<Impl>()) {
  impl_->handler = std::move(handler);
  impl_->options = options;
  beast::error_code ec;
  const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("test server: cannot listen on 127.0.0.1: " + ec.message());
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->Accept();
  const int n = std::max(options.threads, 1);
  for (int i = 0; i < n; ++i) impl_->threads.emplace_back([impl = impl_.get()] { impl->ioc.run(); });
}

TestServer::~TestServer() { Stop(); }

void TestServer::Stop() {
  if (impl_->stopped.exchange(true)) return;
  impl_->ioc.stop();
  for (std::thread& t : impl_->threads) t.join();
  impl_->threads.clear();
  // Nothing runs any more; closing the acceptor makes new connections to the port fail (refused).
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
}

uint16_t TestServer::port() const { return impl_->port; }

std::string TestServer::Url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(impl_->port) + std::string(path);
}

void TestServer::SetHandler(Handler handler) {
  std::lock_guard lock(impl_->mu);
  impl_->handler = std::move(handler);
}

void TestServer::PushFault(Fault fault) {
  std::lock_guard lock(impl_->mu);
  impl_->faults.push_back(std::move(fault));
}

size_t TestServer::request_count() const { return impl_->request_count.load(); }
size_t TestServer::connection_count() const { return impl_->connection_count.load(); }

std::vector<TestRequest> TestServer::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests;
}

}  // namespace mlc::http::testing
