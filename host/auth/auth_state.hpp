// Durable, non-secret authentication state of connections: health (`connections_state`), operator alerts
// (`alerts`), and the token metadata the token manager keeps in kv_state scope "auth:<connection>".
// Read by `mlc status` and the admin API without the vault key.
//
//   MLC_RETURN_IF_ERROR(mlc::auth::SetConnectionStatus(store, "freshbooks", "needs_reauth", msg, now_ms));
//   MLC_RETURN_IF_ERROR(mlc::auth::RaiseAlert(store, {"freshbooks", "needs_reauth", "critical", msg},
//   now_ms)); MLC_ASSIGN_OR_RETURN(auto snap, mlc::auth::ReadAuthSnapshot(store, "freshbooks"));
//
// Thread safety: free functions over an Executor; safe as the Executor is.
#ifndef MLC_HOST_AUTH_AUTH_STATE_HPP_
#define MLC_HOST_AUTH_AUTH_STATE_HPP_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mlc/status.hpp"
#include "store/store.hpp"

namespace mlc::auth {

// kv_state scope of the host's auth metadata for a connection (not visible to plugins, whose state lives
// under "conn:<connection>").
std::string AuthScope(std::string_view connection);
// kv_state scope of a plugin's connection state (mlc_host_api.state_get/state_put).
std::string PluginScope(std::string_view connection);

// Keys inside AuthScope.
namespace keys {
inline constexpr std::string_view kExpiresAt = "access_expires_at_ms";  // 0 or absent: unknown
inline constexpr std::string_view kRefreshAt = "access_refresh_at_ms";  // proactive refresh from here on
inline constexpr std::string_view kObtainedAt = "access_obtained_at_ms";
inline constexpr std::string_view kGeneration = "generation";     // +1 per committed token
inline constexpr std::string_view kRedirectUri = "redirect_uri";  // sent again on refresh (FreshBooks)
inline constexpr std::string_view kRefreshStarted = "refresh_started_at_ms";  // set while a refresh is out
inline constexpr std::string_view kLastUsed = "last_used_ms";           // static bearer: last successful call
inline constexpr std::string_view kTokenResponse = "token_response";    // last response, secrets removed
inline constexpr std::string_view kResolvePending = "resolve_pending";  // "1": auth_resolve must run
inline constexpr std::string_view kResolvedAt = "resolved_at_ms";
inline constexpr std::string_view kBaseUrl = "base_url";  // from auth_resolve; overrides the template
inline constexpr std::string_view kAuthorizePrefix = "authorize:";  // + state: a pending consent
}  // namespace keys

// Alert kinds raised by the token manager.
namespace alert_kinds {
inline constexpr std::string_view kNeedsReauth = "needs_reauth";
inline constexpr std::string_view kRefreshFailing = "refresh_failing";
inline constexpr std::string_view kIdleExpiry = "token_idle_expiry";
}  // namespace alert_kinds

struct ConnectionStatus {
  std::string status = "ok";  // ok | needs_reauth | error
  std::string message;
  int64_t updated_at_ms = 0;
};

struct Alert {
  std::string connection;
  std::string kind;
  std::string severity;  // info | warning | critical
  std::string message;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// Upserts the connection's row. `status` must be ok, needs_reauth or error (else Invalid).
Status SetConnectionStatus(store::Executor& db, std::string_view connection, std::string_view status,
                           std::string_view message, int64_t now_ms);
// The row, or std::nullopt when the connection has never reported.
Result<std::optional<ConnectionStatus>> GetConnectionStatus(store::Executor& db, std::string_view connection);

// Opens (or updates and reopens) the (connection, kind) alert. Messages must not contain secrets; they
// are passed through the redactor anyway.
Status RaiseAlert(store::Executor& db, const Alert& alert, int64_t now_ms);
// Closes the open (connection, kind) alert, if any.
Status ResolveAlert(store::Executor& db, std::string_view connection, std::string_view kind, int64_t now_ms);
// Open alerts of `connection` (all connections when empty), oldest first.
Result<std::vector<Alert>> OpenAlerts(store::Executor& db, std::string_view connection = {});

// What `mlc status` shows about a connection's authentication.
struct AuthSnapshot {
  std::optional<ConnectionStatus> status;
  std::optional<int64_t> access_expires_at_ms;
  std::optional<int64_t> last_used_ms;
  std::optional<std::string> base_url;
  std::vector<Alert> alerts;
};
Result<AuthSnapshot> ReadAuthSnapshot(store::Executor& db, std::string_view connection);

// Parses a decimal integer as stored in kv_state; nullopt for anything else.
std::optional<int64_t> ParseInt64(std::string_view text);

// Milliseconds since the epoch as "2024-05-01T12:00:00Z" (UTC, second precision).
std::string FormatUtc(int64_t ms);

}  // namespace mlc::auth

#endif  // MLC_HOST_AUTH_AUTH_STATE_HPP_
