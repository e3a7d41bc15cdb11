// The real host services for plugins: ConnectionContext implements mlc_host_api (via loader::HostContext)
// for one configured connection, and ConnectionRuntime owns the shared services (HTTP client, rate
// limiters, token manager) and opens plugin instances for configured connections.
//
//   mlc::runtime::ConnectionRuntime rt(*store, vault.get(), {});
//   MLC_RETURN_IF_ERROR(rt.AddConnection(config.connections.at("freshbooks"), registry.Find("freshbooks")));
//   MLC_ASSIGN_OR_RETURN(auto inst, rt.OpenInstance("freshbooks"));   // authenticates, runs auth_resolve
//   MLC_ASSIGN_OR_RETURN(nlohmann::json page, inst->Read({{"stream", "expenses"}}));
//
// Http (plugin.h documents the request/response documents):
//   - Relative URLs (an empty one is the base URL itself) are joined to the connection's base URL:
//   auth_resolve's base_url when one was stored,
//     else the manifest base_url filled from settings and the plugin's state. Absolute URLs that carry
//     credentials must have the base URL's origin (scheme, host, port); otherwise "auth": false is needed.
//   - Credentials per auth kind: a header (manifest header/scheme) for token kinds, secret values written
//     into the body for api_key_inline (manifest inline_fields), nothing for none or "auth": false.
//   - Rate limits: one limiter per connection from the connection's config overrides, else the manifest's
//     rate_limits/concurrency. Retries follow http::RetryPolicy plus the manifest's limit_headers.
//   - A 401 on an authenticated request: TokenManager::OnUnauthorized, then one retry; a second 401 is AUTH.
//   - multipart parts: {"name", "filename"?, "content_type"?, "data"?: text | "blob"?: blob id}.
//   - "response_blob": true stores a 2xx body as a blob; meta.blob holds its id and body_out stays empty
//     (other statuses return the body as usual so the plugin can read the error).
//   - Every request is summarised (method, URL without query, status, latency, outcome) to the audit
//     hook; summaries never hold headers, bodies or secrets.
// SecretGet: the connection's configured secrets (config SecretRef -> vault or environment), or, for a
// name the manifest declares under `secrets` and the config does not map, the connection's vault entry
// of that name. Secrets the host uses for authentication (auth.secret_fields, access_token,
// refresh_token) are not readable by plugins.
// SecretPut (ABI 1.1): only names the manifest declares under `secrets` and the host does not use for
// authentication; sealed by the vault (Vault::Put, one transaction) under (connection, name), or under the
// field the config maps the name to within this connection. Invalid for a secret the config takes from
// the environment or from another connection, and when there is no vault. Never logs or returns the value.
// StateGet/StatePut: kv_state scope "conn:<connection>". BlobPut/BlobGet: the store's blobs.
// Log: the host log with a "[plugin/connection]" prefix, redacted. NowMs: the runtime's clock.
//
// Ownership: ConnectionRuntime borrows the Store and Vault (vault may be null) and owns everything else;
// contexts live as long as the runtime, and instances it opens must be destroyed before it.
// Thread safety: a ConnectionContext is shared by every instance of its connection and may be called
// from any number of threads at once. ConnectionRuntime: AddConnection during setup; afterwards every
// method may be called from any thread.
#ifndef MLC_HOST_RUNTIME_CONNECTION_CONTEXT_HPP_
#define MLC_HOST_RUNTIME_CONNECTION_CONTEXT_HPP_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/auth_spec.hpp"
#include "auth/token_manager.hpp"
#include "config/config.hpp"
#include "http/clock.hpp"
#include "http/http_client.hpp"
#include "http/rate_limiter.hpp"
#include "loader/instance.hpp"
#include "loader/loader.hpp"
#include "mlc/status.hpp"
#include "store/store.hpp"
#include "vault/vault.hpp"

namespace mlc::runtime {

// One plugin HTTP request as the audit trail records it. No headers, bodies, query strings or secrets.
struct RequestSummary {
  std::string connection;
  std::string plugin;
  std::string method;
  std::string url;  // scheme://host[:port]/path
  int status = 0;   // 0 when no response arrived
  int64_t latency_ms = 0;
  Code outcome = Code::kOk;  // what the plugin was told
  bool refreshed = false;    // a 401 led to a token refresh and one retry
};
using AuditHook = std::function<void(const RequestSummary&)>;

// Rate limits of a connection: its config overrides, else the manifest's rate_limits/concurrency.
http::RateLimitConfig RateLimitsFor(const config::Connection& connection, const nlohmann::json& manifest);
// The RetryPolicy hint headers from the manifest's limit_headers: a custom retry-after header (read like
// Retry-After) and the reset header in its reset_kind (seconds, epoch or http_date).
std::vector<http::HintHeader> RetryHeadersFor(const nlohmann::json& manifest);

class ConnectionContext final : public loader::HostContext {
 public:
  struct Services {
    store::Store* store = nullptr;
    vault::Vault* vault = nullptr;  // may be null
    const http::HttpClient* http = nullptr;
    http::RateLimiterRegistry* limiters = nullptr;
    auth::TokenManager* tokens = nullptr;
    http::Clock* clock = nullptr;      // nullptr: system clock
    http::Sleeper* sleeper = nullptr;  // nullptr: real sleeps
    AuditHook audit;
  };

  // `manifest` is the plugin's; the connection must already be registered with services.tokens.
  static Result<std::unique_ptr<ConnectionContext>> Create(const config::Connection& connection,
                                                           const nlohmann::json& manifest, Services services);

  Code Http(std::string_view request_json, std::string_view body, std::string* meta, std::string* body_out,
            std::string* err) override;
  Code SecretGet(std::string_view name, std::string* out, std::string* err) override;
  Code StateGet(std::string_view key, std::string* out, std::string* err) override;
  Code StatePut(std::string_view key, std::string_view value, std::string* err) override;
  Code BlobPut(std::string_view content_type, std::string_view bytes, std::string* id_out,
               std::string* err) override;
  Code BlobGet(std::string_view id, std::string* out, std::string* content_type_out,
               std::string* err) override;
  void Log(int32_t level, std::string_view message) override;
  int64_t NowMs() override;
  Code SecretPut(std::string_view name, std::string_view value, std::string* err) override;

  const std::string& connection() const { return connection_.name; }
  const std::string& plugin_name() const { return plugin_name_; }
  const auth::AuthSpec& auth_spec() const { return spec_; }
  // The secret resolver used for both plugins and the token manager (see the file comment).
  static auth::SecretSource MakeSecretSource(const config::Connection& connection,
                                             const nlohmann::json& manifest, vault::Vault* vault);

 private:
  ConnectionContext(const config::Connection& connection, const nlohmann::json& manifest, auth::AuthSpec spec,
                    Services services);
  Status HttpImpl(std::string_view request_json, std::string_view body, std::string* meta,
                  std::string* body_out, RequestSummary* summary);

  const config::Connection connection_;
  const std::string plugin_name_;
  const auth::AuthSpec spec_;
  const http::RateLimitConfig limits_;
  const std::vector<http::HintHeader> retry_headers_;
  const std::string base_url_template_;
  // Secrets the host authenticates with (access_token, refresh_token, auth.secret_fields).
  bool HostOnlySecret(std::string_view name) const;

  Services services_;
  auth::SecretSource secrets_;
  const std::vector<std::string> declared_secrets_;  // the manifest's `secrets` names
};

class ConnectionRuntime {
 public:
  struct Options {
    http::Clock* clock = nullptr;      // nullptr: system clock (token expiry, rate limits, NowMs)
    http::Sleeper* sleeper = nullptr;  // nullptr: real sleeps
    http::HttpClient::Options http;
    auth::TokenManager::Options tokens;  // its clock is replaced by `clock` when that is set
    AuditHook audit;
  };

  ConnectionRuntime(store::Store& store, vault::Vault* vault, Options options);
  ~ConnectionRuntime();
  ConnectionRuntime(const ConnectionRuntime&) = delete;
  ConnectionRuntime& operator=(const ConnectionRuntime&) = delete;

  // Registers a configured connection served by `plugin` (Invalid when null, when its manifest's auth
  // block is malformed, or when its kind needs the vault and there is none).
  Status AddConnection(const config::Connection& connection,
                       std::shared_ptr<const loader::LoadedPlugin> plugin);
  // Registers with only a manifest (no plugin code): enough for tokens, status and host services.
  Status AddConnection(const config::Connection& connection, const nlohmann::json& manifest);
  // Adds every connection of `config` whose plugin `plugins` has loaded; returns the connections that could
  // not be added, each with the reason (its plugin missing, a malformed auth block, no vault, ...).
  std::vector<std::pair<std::string, Status>> AddConfiguredConnections(const config::Config& config,
                                                                       const loader::PluginRegistry& plugins);

  // The connection's host services; NotFound for an unknown connection.
  Result<ConnectionContext*> Context(std::string_view connection);

  // Opens an instance of the connection's plugin. With `prepare_auth`, first makes sure credentials work
  // (GetAccessToken for token kinds) and runs the plugin's auth_resolve hook when a new token response (or,
  // for kinds without one, the first use) calls for it, persisting the state and base_url it returns.
  Result<std::unique_ptr<loader::PluginInstance>> OpenInstance(std::string_view connection,
                                                               bool prepare_auth = true);
  // The auth_resolve step of OpenInstance for an already open instance. Returns what the hook answered
  // (an empty object when nothing was pending or the plugin has no hook).
  Result<nlohmann::json> ResolveAuth(std::string_view connection, loader::PluginInstance& instance);

  auth::TokenManager& tokens() { return *tokens_; }
  http::RateLimiterRegistry& limiters() { return *limiters_; }
  const http::HttpClient& http_client() const { return *http_; }
  store::Store& store() { return store_; }

 private:
  struct Entry {
    config::Connection config;
    nlohmann::json manifest;
    std::shared_ptr<const loader::LoadedPlugin> plugin;  // may be null
    std::unique_ptr<ConnectionContext> context;
  };
  Result<Entry*> Find(std::string_view connection);

  store::Store& store_;
  vault::Vault* vault_;
  Options options_;
  std::unique_ptr<http::HttpClient> http_;
  std::unique_ptr<http::RateLimiterRegistry> limiters_;
  std::unique_ptr<auth::TokenManager> tokens_;
  std::mutex mu_;  // guards entries_ (the map)
  std::map<std::string, std::unique_ptr<Entry>, std::less<>> entries_;
};

}  // namespace mlc::runtime

#endif  // MLC_HOST_RUNTIME_CONNECTION_CONTEXT_HPP_
