// TokenManager: the token lifecycle of every connection's auth kind (manifest `auth` block): obtaining,
// caching, proactively refreshing and persisting access tokens; browser consent with state and PKCE;
// idle-expiry tracking of static tokens; and the `needs_reauth` state with alerts when credentials die.
//
//   mlc::auth::TokenManager tokens(store, &vault, http_client, {});
//   MLC_RETURN_IF_ERROR(tokens.Register({.name = "freshbooks", .spec = spec, .settings = settings,
//                                        .secrets = resolver}));
//   MLC_ASSIGN_OR_RETURN(mlc::auth::Token t, tokens.GetAccessToken("freshbooks"));
//   ... request gets 401 ...
//   MLC_ASSIGN_OR_RETURN(t, tokens.OnUnauthorized("freshbooks", t));   // one refresh, then retry once
//
// Guarantees
//   - Single flight per connection: however many threads find the token expired (or rejected) at once,
//     one refresh request goes out; the others wait for it and share its outcome.
//   - A new token pair (refresh token, access token) and its metadata (expiry, generation, auth state) are
//     committed in ONE store transaction before the new access token is handed to anyone: after a crash
//     the store holds either the whole old pair or the whole new one. A process killed between the token
//     response and the commit leaves the previous pair; with a rotating (single-use) refresh token the
//     vendor then rejects it and the connection is marked needs_reauth with a message saying so (never
//     silently broken).
//   - Single refresher across processes: processes sharing the store (`mlc serve` and an operator's
//     `mlc sync`) take a lease row per connection (table auth_lease) before refreshing. The holder re-reads
//     the stored pair first (another process may have refreshed already: then that token is used and no
//     request is sent), and releases the lease in the transaction that commits the new pair. A lease whose
//     holder died is taken over once it expires (Options::refresh_lease_ttl), or at once when the holder
//     was a process on this host that no longer exists.
//   - Transient token-endpoint failures (network, 429, 5xx, throttling) return RETRY, keep the connection
//     alive, and back off; while the current token has not expired it keeps being used. After
//     Options::failure_budget consecutive failures the connection shows `error` with an alert.
//   - A rejected grant or client (invalid_grant, invalid_client, Zoho's 200 + invalid_code, 400/401 from the
//     token endpoint) marks the connection needs_reauth in connections_state, raises a critical alert, and
//     makes later calls fail fast with AUTH until the connection is authorized again.
//
// Storage: access_token and refresh_token are vault fields of the connection (encrypted); expiry and other
// non-secret metadata live in kv_state scope "auth:<connection>" (see auth_state.hpp). Every token value is
// registered with the redactor and never appears in a log line, alert or error message.
//
// Ownership: borrows the Store, the Vault (may be null for kinds that store nothing: static_bearer,
// api_key_inline, none) and the HttpClient; all must outlive the manager.
// Thread safety: every method may be called from any thread. Register connections before using them.
#ifndef MLC_HOST_AUTH_TOKEN_MANAGER_HPP_
#define MLC_HOST_AUTH_TOKEN_MANAGER_HPP_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/auth_spec.hpp"
#include "http/clock.hpp"
#include "http/http_client.hpp"
#include "mlc/status.hpp"
#include "store/store.hpp"
#include "vault/vault.hpp"

namespace mlc::auth {

// Looks up a configured secret of the connection by name (client_id, client_secret, token, ...). NotFound
// when the connection configures no such secret. Values it returns must already be registered with the
// redactor (vault::ResolveSecret does that).
using SecretSource = std::function<Result<std::string>(std::string_view name)>;

// An access token as handed to callers. `value` is a secret.
struct Token {
  std::string value;
  int64_t expires_at_ms = 0;  // 0: unknown (refreshed only when rejected)
  int64_t refresh_at_ms = 0;  // refreshed proactively from here on (0: never proactively)
  int64_t generation = 0;     // increases with every token committed for the connection
};

// What the token manager needs to know about one connection.
struct ConnectionAuth {
  std::string name;
  AuthSpec spec;
  std::string base_url_template;  // manifest base_url (for keep-alive calls)
  nlohmann::json settings = nlohmann::json::object();
  SecretSource secrets;
};

struct AuthorizationStart {
  std::string url;    // open this in a browser
  std::string state;  // echoed back to the redirect URI; CompleteAuthorization checks it
};

// Static-bearer inactivity expiry, as of now.
struct IdleExpiry {
  int64_t last_used_ms = 0;
  int64_t expires_at_ms = 0;  // last_used + idle_expiry_days
  int64_t warn_at_ms = 0;     // expires_at - warn_days
  enum class State { kOk, kWarning, kExpired } state = State::kOk;
  bool keepalive_due = false;  // half the idle period has passed: a keep-alive call is worthwhile
};

// One credential value to insert into a request body (api_key_inline).
struct InlineCredential {
  InlineField field;
  std::string value;  // secret
};

class TokenManager {
 public:
  struct Options {
    http::Clock* clock = nullptr;                           // nullptr: the system clock (WallNow gives "now")
    http::RetryPolicy token_policy = DefaultTokenPolicy();  // retries of one token-endpoint call
    int failure_budget = 5;  // consecutive transient refresh failures before the connection shows `error`
    std::chrono::milliseconds failure_backoff_base{1000};  // wait after a failure, doubling, capped below
    std::chrono::milliseconds failure_backoff_max{60'000};
    std::chrono::milliseconds authorize_ttl{10 * 60 * 1000};  // how long a consent (state, PKCE) stays valid
    std::chrono::milliseconds last_used_write_interval{
        60'000};  // static bearer: kv writes at most this often
    // Refresh lease (cross-process): how long a holder may take before others consider it dead, how long
    // a refresher waits for another process's lease before giving up with RETRY, and how often it looks.
    std::chrono::milliseconds refresh_lease_ttl{180'000};
    std::chrono::milliseconds lease_wait{60'000};
    std::chrono::milliseconds lease_poll{20};
    // Test seam for the crash-safety tests, which kill the process here: called with the connection name
    // and "token_response_received" (a good response arrived, nothing persisted yet) or "pair_written"
    // (the new pair and its metadata are written inside the open transaction, not yet committed).
    std::function<void(std::string_view connection, std::string_view point)> test_hook;
  };
  static http::RetryPolicy DefaultTokenPolicy();

  TokenManager(store::Store& store, vault::Vault* vault, const http::HttpClient& http, Options options);
  ~TokenManager();
  TokenManager(const TokenManager&) = delete;
  TokenManager& operator=(const TokenManager&) = delete;

  // Adds (or replaces, dropping its cached token) a connection. Invalid when the spec's kind needs the
  // vault and none was given, or a connection name is empty.
  Status Register(ConnectionAuth connection);
  bool IsRegistered(std::string_view connection) const;
  // The connection's auth spec; NotFound for an unregistered name.
  Result<AuthSpec> Spec(std::string_view connection) const;

  // ---- browser consent (oauth2_authorization_code; oauth2_refresh when authorize_url is set) ----
  // The authorize URL (client_id, response_type=code, redirect_uri, scope, state, and the S256 code
  // challenge when `pkce`) and its random state. The state, the redirect URI and the PKCE verifier are
  // kept for Options::authorize_ttl (the verifier sealed in the vault).
  Result<AuthorizationStart> BeginAuthorization(std::string_view connection, std::string_view redirect_uri);
  // Exchanges `code` for tokens. Invalid for an unknown or expired state (nothing is sent); AUTH when
  // the vendor rejects the code. On success the connection is `ok` again and its alerts are resolved.
  Result<Token> CompleteAuthorization(std::string_view connection, std::string_view code,
                                      std::string_view state);

  // ---- tokens ----
  // A token valid now: the cached one, or one obtained/refreshed (single flight) when it is missing or
  // within refresh_margin_s of expiry. Invalid for kinds without tokens (none, api_key_inline).
  Result<Token> GetAccessToken(std::string_view connection);
  // The vendor answered 401 to a request carrying `failed`. When `failed` is still the current token,
  // refreshes it once (single flight) and returns the new one; when another caller already replaced it,
  // returns the replacement without a request. Static bearer: marks needs_reauth and returns AUTH.
  Result<Token> OnUnauthorized(std::string_view connection, const Token& failed);

  // ---- api_key_inline ----
  Result<std::vector<InlineCredential>> InlineCredentials(std::string_view connection);

  // ---- static bearer idle expiry ----
  // Records a successful authenticated call (kv write at most once per last_used_write_interval) and
  // resolves an open idle-expiry alert.
  Status RecordSuccessfulUse(std::string_view connection);
  // Where the token stands; raises the idle-expiry alert (warning inside warn_days, critical once expired)
  // or resolves it. Settings `idle_expiry_days` / `warn_days` override the manifest per connection.
  // Invalid for other kinds or when idle expiry is disabled (idle_expiry_days 0).
  Result<IdleExpiry> CheckIdleExpiry(std::string_view connection);
  // Makes the manifest's keep-alive call (auth.keepalive, relative to the base URL) with the connection's
  // token; on a 2xx the use is recorded. AUTH (and needs_reauth) when the token is rejected.
  Status KeepAlive(std::string_view connection);

  // ---- state ----
  // Marks the connection needs_reauth with `message`, raises the critical alert, and fails later token
  // requests fast until it is authorized again.
  Status MarkNeedsReauth(std::string_view connection, std::string_view message);
  // For kinds without browser consent (client credentials, static bearer, inline keys): forgets a
  // needs_reauth verdict and the cached token so the next call tries the (possibly replaced) secrets
  // again; `mlc connect` calls this before verifying. Resolves the needs_reauth alert.
  Status ClearNeedsReauth(std::string_view connection);
  // The last token response (secrets removed) that auth_resolve has not seen yet, or nullopt.
  Result<std::optional<nlohmann::json>> PendingAuthResolve(std::string_view connection);
  // Records that auth_resolve ran for the current token response.
  Status MarkAuthResolved(std::string_view connection);
  // The connection's base URL: auth_resolve's base_url when one was stored, else the manifest template
  // filled from settings and the plugin's state.
  Result<std::string> BaseUrl(std::string_view connection);
  // The {placeholder} values of the connection: its settings over the plugin's state.
  Result<std::map<std::string, std::string>> TemplateVariables(std::string_view connection);

  int64_t NowMs() const;

 private:
  struct Conn;
  struct TokenResponse;

  std::shared_ptr<Conn> Find(std::string_view connection) const;
  Result<Token> AcquireLocked(std::unique_lock<std::mutex>& lock, Conn& c, const Token* failed);
  Result<Token> RunRefresh(Conn& c, const Token* failed);
  Result<Token> RequestAndCommit(Conn& c, const std::map<std::string, std::string>& grant, bool rotating,
                                 std::string_view purpose, bool release_lease = false);
  Result<TokenResponse> CallTokenEndpoint(Conn& c, const std::map<std::string, std::string>& grant,
                                          bool idempotent, std::string_view purpose);
  Result<Token> Commit(Conn& c, const TokenResponse& response, std::string_view redirect_uri,
                       bool release_lease);
  // The cross-process refresh lease of a connection (see Guarantees). TakeLease waits up to
  // Options::lease_wait for another holder; rotating also marks the refresh as in flight.
  Status TakeLease(Conn& c, bool rotating);
  Result<bool> TryTakeLease(Conn& c, bool rotating, std::string* holder);
  void ReleaseLease(Conn& c);
  Result<Token> RefreshWithToken(Conn& c, const Token* failed, bool* committed);
  Result<std::optional<Token>> LoadStored(Conn& c);
  Status CheckBlockedLocked(Conn& c);
  Status MarkNeedsReauthLocked(Conn& c, std::string_view message);
  void NoteSuccessLocked(Conn& c);
  Status NoteTransientFailureLocked(Conn& c, const Status& failure);
  Result<std::string> Secret(Conn& c, std::string_view name);
  // Template variables for `tmpl`: the connection's settings and the plugin-state keys it names.
  Result<std::map<std::string, std::string>> Vars(Conn& c, std::string_view tmpl);
  Result<Token> StaticToken(Conn& c);

  store::Store& store_;
  vault::Vault* vault_;
  const http::HttpClient& http_;
  Options options_;
  http::Clock* clock_;
  std::string lease_owner_;  // "<host>|<pid namespace>|<pid>|<random>": this manager in auth_lease rows

  mutable std::mutex mu_;  // guards conns_ (the map, not the entries)
  std::map<std::string, std::shared_ptr<Conn>, std::less<>> conns_;
};

}  // namespace mlc::auth

#endif  // MLC_HOST_AUTH_TOKEN_MANAGER_HPP_
