// HttpServer: the kit's only Boost.Beast translation unit (a thread pool serving HTTP/1.1 with keep-alive).
#include "mlc/sandbox/server.hpp"

#include <optional>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace mlc::sandbox {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, const HttpServerOptions& options, const RequestHandler& handler)
      : stream_(std::move(socket)), options_(options), handler_(handler), timer_(stream_.get_executor()) {}

  void Run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }

 private:
  void ReadHeader() {
    parser_.emplace();
    parser_->body_limit(options_.body_limit);
    parser_->header_limit(64 * 1024);
    stream_.expires_after(options_.idle_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec == http::error::end_of_stream) return Close(false);
    // A Content-Length over the limit is refused as soon as the header is parsed.
    if (ec == http::error::body_limit) return TooLarge();
    if (ec) return Close(true);
    auto& msg = parser_->get();
    // curl and others wait for "100 Continue" before sending a larger body; answer it so they don't stall.
    auto expect = msg.find(http::field::expect);
    if (expect != msg.end() && beast::iequals(expect->value(), "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, msg.version());
      http::async_write(stream_, *cont, [self = shared_from_this(), cont](beast::error_code wec, size_t) {
        if (wec) return self->Close(true);
        self->ReadBody();
      });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::body_limit) return TooLarge();
    if (ec) return Close(true);
    auto& msg = parser_->get();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    const size_t q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = ParseQueryString(std::string_view(req.target).substr(q + 1));
    for (const auto& field : msg) {
      req.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    req.body = std::move(msg.body());
    beast::error_code rec;
    const auto remote = stream_.socket().remote_endpoint(rec);
    if (!rec) req.remote = remote.address().to_string() + ":" + std::to_string(remote.port());
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();

    Response res;
    try {
      res = handler_(req);
    } catch (const std::exception& e) {
      res = Response::Text(500, std::string("sandbox handler failed: ") + e.what());
    }
    if (res.delay_ms > 0) {
      timer_.expires_after(std::chrono::milliseconds(res.delay_ms));
      timer_.async_wait([self = shared_from_this(), r = std::move(res)](beast::error_code) mutable {
        self->Act(std::move(r));
      });
      return;
    }
    Act(std::move(res));
  }

  void TooLarge() {
    keep_alive_ = false;
    Act(Response::Text(413, "request body too large"));
  }

  void Act(Response res) {
    beast::error_code ec;
    switch (res.disposition) {
      case Response::Disposition::kReset:
        // Linger 0 makes close() send RST: the peer sees "connection reset", not an orderly EOF.
        stream_.socket().set_option(net::socket_base::linger(true, 0), ec);
        stream_.socket().close(ec);
        return;
      case Response::Disposition::kDrop:
        stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream_.socket().close(ec);
        return;
      case Response::Disposition::kRespond:
        break;
    }
    auto out = std::make_shared<http::response<http::string_body>>();
    out->version(version_ ? version_ : 11);
    out->result(static_cast<unsigned>(res.status));
    out->set(http::field::server, "mlc-sandbox");
    for (const auto& [name, value] : res.headers) out->insert(name, value);
    if (!res.content_type.empty() && out->find(http::field::content_type) == out->end()) {
      out->set(http::field::content_type, res.content_type);
    }
    out->body() = std::move(res.body);
    out->keep_alive(keep_alive_);
    out->prepare_payload();
    const bool close = out->need_eof();
    http::async_write(stream_, *out, [self = shared_from_this(), out, close](beast::error_code wec, size_t) {
      if (wec) return self->Close(true);
      if (close) return self->Close(false);
      self->ReadHeader();
    });
  }

  // A graceful close shuts down our side, then reads and discards until the peer closes: closing with
  // unread request bytes in the kernel (e.g. the body of a 413) would send RST and destroy the response.
  void Close(bool abort) {
    beast::error_code ec;
    if (abort) {
      stream_.socket().close(ec);
      return;
    }
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) {
      stream_.socket().close(ec);
      return;
    }
    stream_.expires_after(std::chrono::seconds(2));
    Drain();
  }

  void Drain() {
    stream_.async_read_some(net::buffer(discard_), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        beast::error_code cec;
        self->stream_.socket().close(cec);
        return;
      }
      self->Drain();
    });
  }

  beast::tcp_stream stream_;
  const HttpServerOptions& options_;
  const RequestHandler& handler_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  char discard_[4096];
};

}  // namespace

struct HttpServer::Impl {
  Impl(HttpServerOptions o, RequestHandler h)
      : options(std::move(o)),
        handler(std::move(h)),
        ioc(options.threads > 0 ? options.threads : 1),
        acceptor(ioc) {}

  void Accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      } else {
        beast::error_code nec;
        socket.set_option(tcp::no_delay(true), nec);
        std::make_shared<Session>(std::move(socket), options, handler)->Run();
      }
      Accept();
    });
  }

  HttpServerOptions options;
  RequestHandler handler;
  net::io_context ioc;
  tcp::acceptor acceptor;
  uint16_t port = 0;
  std::vector<std::thread> threads;
  bool started = false;
  bool stopped = false;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::Create(HttpServerOptions options, RequestHandler handler) {
  if (!handler) return Status::Invalid("HttpServer needs a handler");
  auto impl = std::make_unique<Impl>(std::move(options), std::move(handler));
  beast::error_code ec;
  const auto address = net::ip::make_address(impl->options.host, ec);
  if (ec) return Status::Invalid("bad listen address '" + impl->options.host + "': " + ec.message());
  const tcp::endpoint endpoint(address, impl->options.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Error("cannot listen on " + impl->options.host + ":" + std::to_string(impl->options.port) +
                         ": " + ec.message());
  }
  impl->port = impl->acceptor.local_endpoint(ec).port();
  if (ec) return Status::Error("cannot read the bound port: " + ec.message());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

void HttpServer::Start() {
  if (impl_->started || impl_->stopped) return;
  impl_->started = true;
  impl_->Accept();
  const int n = impl_->options.threads > 0 ? impl_->options.threads : 1;
  for (int i = 0; i < n; ++i) {
    impl_->threads.emplace_back([impl = impl_.get()] { impl->ioc.run(); });
  }
}

void HttpServer::Stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  net::post(impl_->ioc, [impl = impl_.get()] {
    beast::error_code ec;
    impl->acceptor.close(ec);
  });
  impl_->ioc.stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  beast::error_code ec;
  impl_->acceptor.close(ec);
}

uint16_t HttpServer::port() const { return impl_->port; }

std::string HttpServer::base_url() const {
  return "http://" + impl_->options.host + ":" + std::to_string(impl_->port);
}

}  // namespace mlc::sandbox
