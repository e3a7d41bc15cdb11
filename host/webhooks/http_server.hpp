// The host's inbound HTTP/1.1 server (webhooks, admin API, health, metrics): a Boost.Asio/Beast listener
// with hard limits against abusive clients and a bounded worker pool that runs the route handlers.
//
//   webhooks::HttpServer server({.address = "127.0.0.1", .port = 0});
//   server.Route("GET", "/healthz", [](const Request&, Responder r) { r.Send(Response::Text(200, "ok")); },
//                {.run_on_io_thread = true});
//   MLC_RETURN_IF_ERROR(server.Start());
//   ... server.port() ...
//   server.Stop(std::chrono::seconds(10));
//
// Limits (HttpServerOptions): request body (413 beyond; decided from Content-Length before any body byte is
// read, or while reading a chunked body, never by buffering an oversize body), header block (431), time to
// receive a complete header block once the request started (slow clients are disconnected), idle
// keep-alive time, time to receive a body or send a response, open connections (beyond: a canned 503 and
// close), queued requests (beyond: 503 with Retry-After).
//
// Handlers run on the worker pool (never on the I/O threads, so a slow handler never stalls other
// connections), unless a route asks for run_on_io_thread (only for handlers that never block). A handler
// answers through its Responder, at once or later from any thread. Beast stays inside http_server.cpp.
//
// Ownership: HttpServer owns its threads, sockets and worker pool. Routes are copied in.
// Thread safety: Route, port, stats and Stop may be called from any thread; Start and Stop once each.
// The destructor calls Stop with the default deadline. Handlers run concurrently with each other.
#ifndef MLC_HOST_WEBHOOKS_HTTP_SERVER_HPP_
#define MLC_HOST_WEBHOOKS_HTTP_SERVER_HPP_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/status.hpp"

namespace mlc::metrics {
class Registry;
}

namespace mlc::webhooks {

// One complete request as received. Valid for the duration of the handler call only: a handler that
// answers later copies what it needs.
struct Request {
  std::string method;                          // as sent, e.g. "POST"
  std::string target;                          // origin form as sent: "/webhooks/brex?x=1"
  std::string path;                            // target up to '?', not decoded
  std::map<std::string, std::string> query;    // percent-decoded ('+' is a space); the first of repeats
  std::map<std::string, std::string> headers;  // lower-case names; repeated headers joined by ", "
  std::string body;
  std::string remote_address;  // peer IP (for logs)
  int64_t received_at_ms = 0;  // when the header block was complete (server clock, ms since the epoch)

  const std::string* Header(std::string_view lower_case_name) const;  // nullptr when absent
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers{};  // extra headers (no CR/LF in names or values)
  std::string body{};

  static Response Text(int status, std::string body);
  static Response Json(int status, const nlohmann::json& body);
};

// Completes one request. Copyable; the first Send wins and later ones are ignored. When the last copy is
// destroyed without a Send the client gets a 500, so a handler that forgets to answer (or throws) never
// leaves the connection hanging. Send may be called from any thread.
class Responder {
 public:
  Responder() = default;  // inert: Send does nothing
  explicit Responder(std::function<void(Response)> deliver);
  void Send(Response response) const;
  bool sent() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

using Handler = std::function<void(const Request&, Responder)>;

struct RouteOptions {
  // Run the handler on the I/O thread that read the request. Only for handlers that never block (health,
  // metrics); everything else goes to the worker pool.
  bool run_on_io_thread = false;
};

// The answer of RouteTable::Find: a handler, or none plus the methods that would have matched.
struct RouteMatch {
  Handler handler{};  // empty when nothing matched the method and path
  RouteOptions options;
  std::string allow{};  // without a handler: the methods registered for that path ("GET, POST"), or ""
};

// Method + path-prefix routing, shared by HttpServer and mounts that dispatch further (the admin API).
// A `path_prefix` ending in '/' matches every path under it; otherwise it matches that path exactly or
// followed by '/'. `method` is matched exactly ("*" matches any). The longest matching prefix among routes
// with a matching method wins. Adding the same method and prefix again replaces the handler.
// Thread safety: Add and Find may be called from any thread.
class RouteTable {
 public:
  RouteTable();
  ~RouteTable();
  void Add(std::string method, std::string path_prefix, Handler handler, RouteOptions options = {});
  RouteMatch Find(std::string_view method, std::string_view path) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port (see HttpServer::port)
  int io_threads = 2;
  int worker_threads = 4;
  size_t max_queued_requests = 1024;  // waiting for a worker; beyond: 503
  size_t max_body_bytes = size_t{1} << 20;
  size_t max_header_bytes = size_t{8} << 10;                           // request line + header fields
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};  // from a request's first byte
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};    // keep-alive wait for the next one
  std::chrono::milliseconds io_timeout{std::chrono::seconds(30)};      // read a body / write a response
  size_t max_connections = 4096;
  int retry_after_seconds = 1;  // Retry-After on the 503s the server itself sends
  // Optional: server metrics (open connections, requests by status, rejections, timeouts) go here.
  metrics::Registry* metrics = nullptr;
  // Clock for Request::received_at_ms; the system clock when empty.
  std::function<int64_t()> now_ms{};
};

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Adds a route (before or after Start), matched as RouteTable describes. A path that matches only with
  // another method gets 405 with Allow, no match at all 404.
  void Route(std::string method, std::string path_prefix, Handler handler, RouteOptions options = {});

  // Binds, listens and starts the threads. Errors: Invalid for an unparsable address or a second Start;
  // Error when the address cannot be bound (in use, not local).
  Status Start();
  // The bound port (after Start).
  uint16_t port() const;
  bool stopping() const;

  // Graceful stop: stops accepting, closes idle connections and those still sending a request, lets
  // requests already being handled finish and be answered (with Connection: close) until `deadline`,
  // then closes whatever is left and joins the threads. Idempotent. Handlers that are still running at the
  // deadline are waited for (their late answers go nowhere). Must not be called from a handler.
  void Stop(std::chrono::milliseconds deadline = std::chrono::seconds(10));

  struct Stats {
    size_t open_connections = 0;
    size_t in_flight = 0;  // requests read and not yet answered
    uint64_t accepted_connections = 0;
    uint64_t rejected_connections = 0;  // over max_connections
    uint64_t requests = 0;              // complete requests read
    uint64_t header_timeouts = 0;       // closed for a slow or idle header
  };
  Stats stats() const;

  struct Core;  // implementation (http_server.cpp)

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace mlc::webhooks

#endif  // MLC_HOST_WEBHOOKS_HTTP_SERVER_HPP_
