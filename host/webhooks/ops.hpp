// Operations endpoints on the host's HTTP server: GET /healthz (liveness), GET /readyz (readiness), GET
// /metrics (Prometheus text), and the token-protected admin API mount under /admin/ where the engine and the
// admin module register their handlers.
//
//   OpsEndpoints ops({.admin_token = token, .readiness = [&] { return engine.Readiness(); },
//                     .metrics = &registry});
//   ops.AddAdminRoute("POST", "/admin/sync", [&](const Request& r, Responder done) { ... });
//   ops.Mount(server);
//
// Admin requests need "Authorization: Bearer <admin_token>" (compared in constant time); without it or with a
// wrong one -> 401 before any route lookup, so routes cannot be probed. With an empty admin_token the admin
// API is off (403). Unknown admin routes -> 404 JSON, a known path with another method -> 405 JSON.
//
// Ownership: state is shared with the mounted routes, so OpsEndpoints may be destroyed before the server;
// the metrics registry and the readiness callable must outlive the server.
// Thread safety: AddAdminRoute may be called from any thread, before or after Mount; readiness is called from
// worker threads, possibly concurrently.
#ifndef MLC_HOST_WEBHOOKS_OPS_HPP_
#define MLC_HOST_WEBHOOKS_OPS_HPP_

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "webhooks/http_server.hpp"

namespace mlc::metrics {
class Registry;
}

namespace mlc::webhooks {

struct Readiness {
  bool ready = true;
  std::string reason{};  // why not ready; shown to the caller of /readyz, so no secrets
};

struct OpsOptions {
  std::string admin_token{};               // empty: admin API disabled
  std::function<Readiness()> readiness{};  // empty: ready whenever the server is not stopping
  metrics::Registry* metrics = nullptr;    // empty: /metrics answers with no series
  std::string admin_prefix = "/admin/";    // must end in '/'
};

class OpsEndpoints {
 public:
  explicit OpsEndpoints(OpsOptions options);
  ~OpsEndpoints();

  // Registers /healthz and /metrics (answered on the I/O thread: cheap, and they must answer while the
  // workers are busy), /readyz and the admin prefix (on the worker pool).
  void Mount(HttpServer& server);

  // An admin handler for `method` and `path_prefix` (a path under the admin prefix), matched as RouteTable
  // does. Runs on a worker thread after the token check.
  void AddAdminRoute(std::string method, std::string path_prefix, Handler handler);

  // True when `authorization` (an Authorization header value) is "Bearer <admin token>"; constant time in
  // the token's content. False when no admin token is configured.
  bool Authorized(std::string_view authorization) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace mlc::webhooks

#endif  // MLC_HOST_WEBHOOKS_OPS_HPP_
