// A small HTTP/1.1 server (Boost.Beast behind a pimpl) for emulators and for test receivers.
//
// Binds on construction so the port is known before any request can arrive, then serves from a pool of
// threads after Start(). Keep-alive is honoured; bodies over the limit get 413 and the connection closes.
// The handler runs on a pool thread and may block briefly; Response::delay_ms waits on a timer instead of
// holding the thread; Response::Disposition::kReset / kDrop close the connection without a response.
//
//   auto server = HttpServer::Create({}, [](Request& req) { return Response::Text(200, "ok"); });
//   if (!server.ok()) return server.status();
//   (*server)->Start();
//   std::string url = (*server)->base_url();       // "http://127.0.0.1:41234"
//
// Thread safety: the handler is called concurrently from pool threads. Start/Stop from one owner thread.
// Destruction stops the server and joins its threads.
#ifndef MLC_SANDBOX_SERVER_HPP_
#define MLC_SANDBOX_SERVER_HPP_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "mlc/sandbox/http.hpp"
#include "mlc/status.hpp"

namespace mlc::sandbox {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port
  int threads = 2;
  size_t body_limit = 8 * 1024 * 1024;
  std::chrono::seconds idle_timeout{30};  // a keep-alive connection idle this long is closed
};

using RequestHandler = std::function<Response(Request&)>;

class HttpServer {
 public:
  // Binds and listens; no thread runs until Start().
  static Result<std::unique_ptr<HttpServer>> Create(HttpServerOptions options, RequestHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void Start();
  // Stops accepting, abandons open connections and joins the threads. Idempotent.
  void Stop();

  uint16_t port() const;
  std::string base_url() const;  // "http://127.0.0.1:<port>"

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mlc::sandbox

#endif  // MLC_SANDBOX_SERVER_HPP_
