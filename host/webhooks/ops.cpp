// Health, readiness, metrics and the admin mount (see ops.hpp).
#include "webhooks/ops.hpp"

#include <cctype>
#include <exception>
#include <utility>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/log.hpp"
#include "core/redact.hpp"
#include "webhooks/metrics.hpp"

namespace mlc::webhooks {
namespace {

// Fixed-length digests make the comparison independent of the presented token's length and content.
std::string Sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) return {};
  return std::string(reinterpret_cast<const char*>(digest), len);
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

struct OpsEndpoints::Impl {
  OpsOptions options;
  std::string token_digest;  // SHA-256 of the admin token; empty when the admin API is off
  RouteTable admin_routes;
  HttpServer* server = nullptr;  // set by Mount; read by /readyz (which only runs while the server lives)

  bool Authorized(std::string_view authorization) const {
    if (token_digest.empty()) return false;
    if (!StartsWithNoCase(authorization, "bearer ")) return false;
    std::string_view presented = authorization.substr(7);
    while (!presented.empty() && presented.front() == ' ') presented.remove_prefix(1);
    while (!presented.empty() && (presented.back() == ' ' || presented.back() == '\t'))
      presented.remove_suffix(1);
    if (presented.empty()) return false;
    const std::string d = Sha256(presented);
    return d.size() == token_digest.size() && CRYPTO_memcmp(d.data(), token_digest.data(), d.size()) == 0;
  }

  Response Ready() const {
    if (server && server->stopping()) return Response::Text(503, "not ready: shutting down\n");
    if (!options.readiness) return Response::Text(200, "ready\n");
    Readiness r;
    try {
      r = options.readiness();
    } catch (const std::exception& e) {
      Log().error("readyz: readiness check threw: {}", redact::RedactText(e.what()));
      return Response::Text(503, "not ready: the readiness check failed\n");
    }
    if (r.ready) return Response::Text(200, "ready\n");
    return Response::Text(
        503, "not ready: " + redact::RedactText(r.reason.empty() ? "unspecified" : r.reason) + "\n");
  }

  void Admin(const Request& req, const Responder& responder) const {
    if (token_digest.empty()) {
      return responder.Send(Response::Json(403, {{"error", "forbidden"},
                                                 {"message",
                                                  "the admin API is disabled: no admin token is "
                                                  "configured"}}));
    }
    const std::string* auth = req.Header("authorization");
    if (!auth || !Authorized(*auth)) {
      Response r = Response::Json(401, {{"error", "unauthorized"}});
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"mlc-admin\"");
      return responder.Send(std::move(r));
    }
    RouteMatch m = admin_routes.Find(req.method, req.path);
    if (!m.handler) {
      if (m.allow.empty()) return responder.Send(Response::Json(404, {{"error", "not found"}}));
      Response r = Response::Json(405, {{"error", "method not allowed"}});
      r.headers.emplace_back("Allow", m.allow);
      return responder.Send(std::move(r));
    }
    m.handler(req, responder);  // exceptions reach the server, which answers 500
  }
};

OpsEndpoints::OpsEndpoints(OpsOptions options) : impl_(std::make_shared<Impl>()) {
  impl_->options = std::move(options);
  if (impl_->options.admin_prefix.empty() || impl_->options.admin_prefix.back() != '/') {
    impl_->options.admin_prefix += '/';
  }
  if (!impl_->options.admin_token.empty()) {
    redact::RegisterSecret(impl_->options.admin_token);  // in case it ever reaches a log line
    impl_->token_digest = Sha256(impl_->options.admin_token);
  }
}

OpsEndpoints::~OpsEndpoints() = default;

void OpsEndpoints::Mount(HttpServer& server) {
  std::shared_ptr<Impl> impl = impl_;
  impl->server = &server;
  server.Route("GET", "/healthz", [](const Request&, Responder r) { r.Send(Response::Text(200, "ok\n")); },
               {.run_on_io_thread = true});
  server.Route("GET", "/metrics",
               [impl](const Request&, Responder r) {
                 Response res =
                     Response::Text(200, impl->options.metrics ? impl->options.metrics->Render() : "");
                 res.content_type = "text/plain; version=0.0.4; charset=utf-8";
                 r.Send(std::move(res));
               },
               {.run_on_io_thread = true});
  server.Route("GET", "/readyz", [impl](const Request&, Responder r) { r.Send(impl->Ready()); });
  server.Route("*", impl->options.admin_prefix,
               [impl](const Request& req, Responder r) { impl->Admin(req, r); });
}

void OpsEndpoints::AddAdminRoute(std::string method, std::string path_prefix, Handler handler) {
  impl_->admin_routes.Add(std::move(method), std::move(path_prefix), std::move(handler));
}

bool OpsEndpoints::Authorized(std::string_view authorization) const {
  return impl_->Authorized(authorization);
}

}  // namespace mlc::webhooks
