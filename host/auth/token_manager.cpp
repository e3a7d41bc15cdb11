// Token lifecycle per connection: single-flight refresh, atomic persistence of rotated pairs, consent with
// state + PKCE, idle-expiry tracking and the needs_reauth state.
#include "auth/token_manager.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <fstream>
#include <thread>
#include <utility>

#include "auth/auth_state.hpp"
#include "config/config.hpp"
#include "core/log.hpp"
#include "core/redact.hpp"
#include "mlc/json.hpp"
#include "store/kv.hpp"

namespace mlc::auth {

using nlohmann::json;

namespace {

constexpr int64_t kMsPerDay = 24LL * 3600 * 1000;
constexpr size_t kMaxVendorText = 200;

std::string Base64(const unsigned char* p, size_t n, bool url) {
  static constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  static constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const char* alphabet = url ? kUrl : kStd;
  std::string out;
  size_t i = 0;
  for (; i + 2 < n; i += 3) {
    const uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (i < n) {
    const uint32_t v = (uint32_t{p[i]} << 16) | (i + 1 < n ? uint32_t{p[i + 1]} << 8 : 0);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (i + 1 < n) out += alphabet[(v >> 6) & 63];
    if (!url) out.append(i + 1 < n ? 1 : 2, '=');  // base64url without padding (RFC 7636)
  }
  return out;
}

Result<std::string> RandomToken(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
    return Status::Error("no randomness available for OAuth state/PKCE");
  }
  return Base64(buf.data(), buf.size(), /*url=*/true);
}

std::string PkceChallenge(std::string_view verifier) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size(), digest.data());
  return Base64(digest.data(), digest.size(), /*url=*/true);
}

// RFC 3986 percent-encoding (unreserved characters kept); valid for query strings and form bodies.
std::string UrlEncode(std::string_view v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(v.size() * 3);
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string FormEncode(const std::map<std::string, std::string>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += UrlEncode(k) + "=" + UrlEncode(v);
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Vendor text for messages: redacted, one line, bounded.
std::string VendorText(std::string_view text) {
  std::string out = redact::RedactText(text.substr(0, kMaxVendorText * 2));
  for (char& c : out) {
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
  }
  if (out.size() > kMaxVendorText) out = out.substr(0, kMaxVendorText) + "...";
  return out;
}

std::string JoinScopes(const AuthSpec& spec) {
  std::string out;
  for (const auto& s : spec.scopes) {
    if (!out.empty()) out += spec.scope_separator;
    out += s;
  }
  return out;
}

int64_t SettingInt(const json& settings, const char* key, int64_t fallback) {
  if (!settings.is_object()) return fallback;
  auto it = settings.find(key);
  if (it == settings.end()) return fallback;
  if (it->is_number_integer() || it->is_number_unsigned()) return std::max<int64_t>(0, it->get<int64_t>());
  if (it->is_string()) {
    if (auto v = ParseInt64(it->get<std::string>())) return std::max<int64_t>(0, *v);
  }
  return fallback;
}

// Token-response members that are secrets or change with every response.
bool IsSecretMember(const std::string& key) {
  return key == "access_token" || key == "refresh_token" || key == "id_token" ||
         config::LooksLikeSecretName(key);
}
bool IsVolatileMember(const std::string& key) {
  return key == "expires_in" || key == "ext_expires_in" || key == "created_at" || key == "expires_at" ||
         key == "expires_on" || key == "not_before";
}

// Who this process is, for auth_lease owners: host name and pid namespace decide whether a holder's pid
// can be checked from here.
std::string ProcessIdentity() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::string pidns;
  char link[128] = {};
  const ssize_t n = ::readlink("/proc/self/ns/pid", link, sizeof link - 1);
  if (n > 0) pidns.assign(link, static_cast<size_t>(n));
  std::string out = std::string(host) + "|" + pidns + "|" + std::to_string(::getpid());
  for (char& ch : out) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  return out;
}

// True when `owner` (an auth_lease owner) was a process on this host and in this pid namespace that no
// longer exists: its lease can be taken over without waiting for it to expire. Any doubt answers false.
bool HolderIsGone(std::string_view owner) {
  static const std::string self = ProcessIdentity();
  const size_t last = owner.rfind('|');
  if (last == std::string_view::npos) return false;
  const std::string_view process = owner.substr(0, last);  // "<host>|<pidns>|<pid>"
  const size_t pid_sep = process.rfind('|');
  const size_t self_pid_sep = self.rfind('|');
  if (pid_sep == std::string_view::npos || self_pid_sep == std::string::npos) return false;
  if (process.substr(0, pid_sep) != std::string_view(self).substr(0, self_pid_sep)) return false;
  const auto pid = ParseInt64(process.substr(pid_sep + 1));
  if (!pid || *pid <= 0 || *pid == ::getpid()) return false;
  return ::kill(static_cast<pid_t>(*pid), 0) != 0 && errno == ESRCH;
}

}  // namespace

// ---- per-connection state --------------------------------------------------------------------------

struct TokenManager::Conn {
  explicit Conn(ConnectionAuth a) : auth(std::move(a)) {}
  const ConnectionAuth auth;

  std::mutex mu;  // guards everything below
  std::condition_variable cv;
  bool refreshing = false;             // a flight is out; others wait on cv
  Status last_status;                  // outcome of the last completed flight
  bool loaded = false;                 // stored token (and stored health) read once
  std::optional<Token> token;          // the current token
  std::optional<std::string> blocked;  // needs_reauth message: fail fast until re-authorized
  int consecutive_failures = 0;
  int64_t retry_after_ms = 0;  // no refresh attempt before this after a transient failure
  bool health_clean = false;   // connections_state known to be ok (no write needed on success)
  // static bearer
  int64_t last_used_ms = -1;  // -1: not read yet
  int64_t last_used_written_ms = 0;
  IdleExpiry::State idle_reported = IdleExpiry::State::kOk;
};

struct TokenManager::TokenResponse {
  json doc;  // the full response (holds secrets; never logged)
  std::string access_token;
  std::string refresh_token;
  std::optional<int64_t> expires_in_s;
};

http::RetryPolicy TokenManager::DefaultTokenPolicy() {
  http::RetryPolicy p;
  p.max_attempts = 3;
  p.max_total = std::chrono::seconds(30);
  return p;
}

TokenManager::TokenManager(store::Store& store, vault::Vault* vault, const http::HttpClient& http,
                           Options options)
    : store_(store),
      vault_(vault),
      http_(http),
      options_(std::move(options)),
      clock_(options_.clock ? options_.clock : &http::DefaultClock()) {
  auto nonce = RandomToken(9);
  lease_owner_ =
      ProcessIdentity() + "|" + (nonce.ok() ? *nonce : std::to_string(reinterpret_cast<uintptr_t>(this)));
}

TokenManager::~TokenManager() = default;

int64_t TokenManager::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_->WallNow().time_since_epoch()).count();
}

Status TokenManager::Register(ConnectionAuth connection) {
  if (connection.name.empty()) return Status::Invalid("token manager: connection name is empty");
  const AuthKind kind = connection.spec.kind;
  if ((UsesTokenEndpoint(kind)) && vault_ == nullptr) {
    return Status::Invalid(
        "connection " + connection.name + " (" + std::string(AuthKindName(kind)) +
        ") stores tokens in the vault, but no master key is configured (set MLC_MASTER_KEY "
        "or [vault] key_file)");
  }
  auto conn = std::make_shared<Conn>(std::move(connection));
  std::lock_guard lock(mu_);
  conns_[conn->auth.name] = std::move(conn);
  return Status::Ok();
}

bool TokenManager::IsRegistered(std::string_view connection) const { return Find(connection) != nullptr; }

std::shared_ptr<TokenManager::Conn> TokenManager::Find(std::string_view connection) const {
  std::lock_guard lock(mu_);
  auto it = conns_.find(connection);
  return it == conns_.end() ? nullptr : it->second;
}

Result<AuthSpec> TokenManager::Spec(std::string_view connection) const {
  auto c = Find(connection);
  if (!c) return Status::NotFound("connection " + std::string(connection) + " is not registered");
  return c->auth.spec;
}

#define MLC_FIND_CONN_OR_RETURN(var, name) \
  auto var = Find(name);                   \
  if (!var) return Status::NotFound("connection " + std::string(name) + " is not registered")

Result<std::string> TokenManager::Secret(Conn& c, std::string_view name) {
  if (!c.auth.secrets) return Status::NotFound("connection " + c.auth.name + " has no secrets configured");
  return c.auth.secrets(name);
}

Result<std::map<std::string, std::string>> TokenManager::Vars(Conn& c, std::string_view tmpl) {
  // Only the plugin-state keys the template names: a plugin may keep many other keys (one per receipt,
  // say), and this runs on every request that builds a URL.
  std::map<std::string, std::string> state;
  for (const std::string& name : TemplateNames(tmpl)) {
    if (c.auth.settings.is_object() && c.auth.settings.contains(name)) continue;  // settings win anyway
    MLC_ASSIGN_OR_RETURN(auto value, store::KvGet(store_, PluginScope(c.auth.name), name));
    if (value) state[name] = std::move(*value);
  }
  return TemplateVars(c.auth.settings, state);
}

Result<std::map<std::string, std::string>> TokenManager::TemplateVariables(std::string_view connection) {
  MLC_FIND_CONN_OR_RETURN(c, connection);
  MLC_ASSIGN_OR_RETURN(auto rows, store_.Query("SELECT key, value FROM kv_state WHERE scope = $1",
                                               {PluginScope(c->auth.name)}));
  std::map<std::string, std::string> state;
  for (const auto& r : rows) state[r.Text(0)] = r.Text(1);
  return TemplateVars(c->auth.settings, state);
}

Result<std::string> TokenManager::BaseUrl(std::string_view connection) {
  MLC_FIND_CONN_OR_RETURN(c, connection);
  MLC_ASSIGN_OR_RETURN(auto stored, store::KvGet(store_, AuthScope(c->auth.name), keys::kBaseUrl));
  if (stored && !stored->empty()) return *stored;
  if (c->auth.base_url_template.empty()) {
    return Status::Invalid("connection " + c->auth.name + " has no base URL (manifest base_url is empty)");
  }
  MLC_ASSIGN_OR_RETURN(auto vars, Vars(*c, c->auth.base_url_template));
  return FillTemplate(c->auth.base_url_template, vars, "connection " + c->auth.name + " base_url");
}

// ---- health ------------------------------------------------------------------------------------

Status TokenManager::MarkNeedsReauthLocked(Conn& c, std::string_view message) {
  c.blocked = std::string(message);
  c.token.reset();
  c.health_clean = false;
  const int64_t now = NowMs();
  Log().warn("connection {}: needs re-authorization: {}", c.auth.name, message);
  Status s = SetConnectionStatus(store_, c.auth.name, "needs_reauth", message, now);
  Status a = RaiseAlert(
      store_, {c.auth.name, std::string(alert_kinds::kNeedsReauth), "critical", std::string(message)}, now);
  return s.ok() ? a : s;
}

Status TokenManager::MarkNeedsReauth(std::string_view connection, std::string_view message) {
  MLC_FIND_CONN_OR_RETURN(c, connection);
  std::lock_guard lock(c->mu);
  return MarkNeedsReauthLocked(*c, message);
}

Status TokenManager::ClearNeedsReauth(std::string_view connection) {
  MLC_FIND_CONN_OR_RETURN(c, connection);
  std::lock_guard lock(c->mu);
  c->blocked.reset();
  c->token.reset();
  c->loaded = false;
  c->consecutive_failures = 0;
  c->retry_after_ms = 0;
  const int64_t now = NowMs();
  MLC_ASSIGN_OR_RETURN(auto st, GetConnectionStatus(store_, c->auth.name));
  if (st && st->status == "needs_reauth") {
    MLC_RETURN_IF_ERROR(SetConnectionStatus(store_, c->auth.name, "ok", "", now));
  }
  return ResolveAlert(store_, c->auth.name, alert_kinds::kNeedsReauth, now);
}

// With c.mu held. Fails fast while the connection needs re-authorization; notices when another process
// (`mlc connect`) authorized it again.
Status TokenManager::CheckBlockedLocked(Conn& c) {
  if (!c.loaded || c.blocked) {
    MLC_ASSIGN_OR_RETURN(auto st, GetConnectionStatus(store_, c.auth.name));
    if (st && st->status == "needs_reauth") {
      c.blocked = st->message.empty()
                      ? "connection needs re-authorization; run `mlc connect " + c.auth.name + "`"
                      : st->message;
    } else if (c.blocked) {
      c.blocked.reset();  // re-authorized elsewhere: read the new tokens
      c.token.reset();
      c.loaded = false;
    }
  }
  if (c.blocked) return Status::Auth("connection " + c.auth.name + ": " + *c.blocked);
  return Status::Ok();
}

void TokenManager::NoteSuccessLocked(Conn& c) {
  c.consecutive_failures = 0;
  c.retry_after_ms = 0;
  if (c.health_clean) return;
  const int64_t now = NowMs();
  auto st = GetConnectionStatus(store_, c.auth.name);
  auto alerts = OpenAlerts(store_, c.auth.name);
  if (!st.ok() || !alerts.ok()) return;  // best effort; tried again after the next success
  bool failing_alert = false;
  for (const auto& a : *alerts) failing_alert = failing_alert || a.kind == alert_kinds::kRefreshFailing;
  // First success ever (no row), or recovery from what this manager reported: the connection is ok.
  if (!*st || (*st)->status == "needs_reauth" || ((*st)->status == "error" && failing_alert)) {
    if (!SetConnectionStatus(store_, c.auth.name, "ok", "", now).ok()) return;
  }
  (void)ResolveAlert(store_, c.auth.name, alert_kinds::kNeedsReauth, now);
  (void)ResolveAlert(store_, c.auth.name, alert_kinds::kRefreshFailing, now);
  c.health_clean = true;
}

Status TokenManager::NoteTransientFailureLocked(Conn& c, const Status& failure) {
  ++c.consecutive_failures;
  c.health_clean = false;
  const int64_t now = NowMs();
  int64_t backoff = options_.failure_backoff_base.count();
  for (int i = 1; i < c.consecutive_failures && backoff < options_.failure_backoff_max.count(); ++i)
    backoff *= 2;
  backoff = std::min<int64_t>(backoff, options_.failure_backoff_max.count());
  c.retry_after_ms = now + backoff;
  Log().warn("connection {}: token refresh failed ({} in a row): {}", c.auth.name, c.consecutive_failures,
             failure.message());
  if (c.consecutive_failures >= options_.failure_budget) {
    const std::string msg = "token refresh failed " + std::to_string(c.consecutive_failures) +
                            " times in a row: " + failure.message();
    MLC_RETURN_IF_ERROR(SetConnectionStatus(store_, c.auth.name, "error", msg, now));
    MLC_RETURN_IF_ERROR(
        RaiseAlert(store_, {c.auth.name, std::string(alert_kinds::kRefreshFailing), "warning", msg}, now));
  }
  return Status::Ok();
}

// ---- stored tokens ------------------------------------------------------------------------------

Result<std::optional<Token>> TokenManager::LoadStored(Conn& c) {
  if (vault_ == nullptr) return std::optional<Token>();
  auto value = vault_->Get(c.auth.name, "access_token");
  if (!value.ok()) {
    if (value.status().code() == Code::kNotFound) return std::optional<Token>();
    return value.status();
  }
  Token t;
  t.value = std::move(*value);
  const std::string scope = AuthScope(c.auth.name);
  MLC_ASSIGN_OR_RETURN(auto exp, store::KvGet(store_, scope, keys::kExpiresAt));
  MLC_ASSIGN_OR_RETURN(auto ref, store::KvGet(store_, scope, keys::kRefreshAt));
  MLC_ASSIGN_OR_RETURN(auto gen, store::KvGet(store_, scope, keys::kGeneration));
  if (exp) t.expires_at_ms = ParseInt64(*exp).value_or(0);
  if (ref) t.refresh_at_ms = ParseInt64(*ref).value_or(0);
  if (gen) t.generation = ParseInt64(*gen).value_or(0);
  return std::optional<Token>(std::move(t));
}

Result<Token> TokenManager::Commit(Conn& c, const TokenResponse& response, std::string_view redirect_uri,
                                   bool release_lease) {
  const int64_t now = NowMs();
  std::optional<int64_t> ttl = response.expires_in_s;
  if (!ttl) ttl = c.auth.spec.access_ttl_s;
  Token token;
  token.value = response.access_token;
  if (ttl && *ttl > 0) {
    token.expires_at_ms = now + *ttl * 1000;
    // Refresh refresh_margin_s before expiry, but never in the first half of a short-lived token's life.
    const int64_t lead = std::max<int64_t>(*ttl - c.auth.spec.refresh_margin_s, *ttl / 2);
    token.refresh_at_ms = now + lead * 1000;
  }
  json sanitized = json::object();
  json stable = json::object();
  if (response.doc.is_object()) {
    for (const auto& [k, v] : response.doc.items()) {
      if (IsSecretMember(k)) continue;
      sanitized[k] = v;
      if (!IsVolatileMember(k)) stable[k] = v;
    }
  }
  const std::string scope = AuthScope(c.auth.name);
  // Persist before anyone sees the new access token, all in one transaction: a crash (or a failed write)
  // at any point leaves the whole previous pair and its metadata, never a new refresh token next to an old
  // access token or expiry. With rotation the old pair is then dead at the vendor, which the next refresh
  // reports as needs_reauth; an interrupted refresh is never silently half-applied.
  auto write_pair = [&](store::Tx& tx) -> Status {
    if (!response.refresh_token.empty())
      MLC_RETURN_IF_ERROR(vault_->Put(tx, c.auth.name, "refresh_token", response.refresh_token));
    MLC_RETURN_IF_ERROR(vault_->Put(tx, c.auth.name, "access_token", response.access_token));
    MLC_ASSIGN_OR_RETURN(auto gen_text, store::KvGet(tx, scope, keys::kGeneration));
    token.generation = (gen_text ? ParseInt64(*gen_text).value_or(0) : 0) + 1;
    MLC_RETURN_IF_ERROR(store::KvPut(tx, scope, keys::kExpiresAt, std::to_string(token.expires_at_ms), now));
    MLC_RETURN_IF_ERROR(store::KvPut(tx, scope, keys::kRefreshAt, std::to_string(token.refresh_at_ms), now));
    MLC_RETURN_IF_ERROR(store::KvPut(tx, scope, keys::kObtainedAt, std::to_string(now), now));
    MLC_RETURN_IF_ERROR(store::KvPut(tx, scope, keys::kGeneration, std::to_string(token.generation), now));
    if (!redirect_uri.empty())
      MLC_RETURN_IF_ERROR(store::KvPut(tx, scope, keys::kRedirectUri, redirect_uri, now));
    MLC_RETURN_IF_ERROR(store::KvDelete(tx, scope, keys::kRefreshStarted));
    // auth_resolve runs again only when something other than expiry changed (e.g. Zoho's api_domain).
    MLC_ASSIGN_OR_RETURN(auto previous, store::KvGet(tx, scope, keys::kTokenResponse));
    bool changed = true;
    if (previous) {
      auto prev = json::parse(*previous, nullptr, /*allow_exceptions=*/false);
      if (prev.is_object()) {
        json prev_stable = json::object();
        for (const auto& [k, v] : prev.items()) {
          if (!IsVolatileMember(k)) prev_stable[k] = v;
        }
        changed = prev_stable != stable;
      }
    }
    MLC_ASSIGN_OR_RETURN(auto resolved_at, store::KvGet(tx, scope, keys::kResolvedAt));
    MLC_RETURN_IF_ERROR(store::KvPut(tx, scope, keys::kTokenResponse, sanitized.dump(), now));
    if (changed || !resolved_at)
      MLC_RETURN_IF_ERROR(store::KvPut(tx, scope, keys::kResolvePending, "1", now));
    if (release_lease) {
      int64_t released = 0;
      MLC_RETURN_IF_ERROR(tx.Exec("DELETE FROM auth_lease WHERE connection = $1 AND owner = $2",
                                  {c.auth.name, lease_owner_}, &released));
      if (released == 0) {
        // Our lease expired during the request and another process took it over; our pair is the one the
        // vendor answered last to us, so it is still stored (the other refresher's token, if any, will be
        // rejected or will replace it).
        Log().warn("connection {}: the refresh lease expired before the new tokens were committed",
                   c.auth.name);
      }
    }
    if (options_.test_hook) options_.test_hook(c.auth.name, "pair_written");
    return Status::Ok();
  };
  // The vendor has already rotated: a busy store (another process past its busy timeout) is worth a few
  // more tries before the new pair is given up. The callback recomputes everything it writes.
  Status s;
  for (int attempt = 0; attempt < 3; ++attempt) {
    s = store_.Transaction(write_pair);
    if (s.code() != Code::kRetry) break;
  }
  if (!s.ok()) {
    return Status(s.code() == Code::kRetry ? Code::kRetry : Code::kError,
                  "connection " + c.auth.name +
                      ": could not save the new tokens (the previous ones are kept): " + s.message());
  }
  return token;
}

// ---- the token endpoint -------------------------------------------------------------------------

Result<TokenManager::TokenResponse> TokenManager::CallTokenEndpoint(
    Conn& c, const std::map<std::string, std::string>& grant, bool idempotent, std::string_view purpose) {
  const AuthSpec& spec = c.auth.spec;
  MLC_ASSIGN_OR_RETURN(auto vars, Vars(c, spec.token_url));
  MLC_ASSIGN_OR_RETURN(std::string url,
                       FillTemplate(spec.token_url, vars, "connection " + c.auth.name + " token_url"));
  auto client_id = Secret(c, "client_id");
  if (!client_id.ok()) {
    return Status::Invalid("connection " + c.auth.name +
                           " needs the secret client_id for its token endpoint (" +
                           client_id.status().message() + ")");
  }
  auto client_secret = Secret(c, "client_secret");
  if (!client_secret.ok() && client_secret.status().code() != Code::kNotFound) return client_secret.status();

  std::map<std::string, std::string> params = grant;
  http::HttpRequest req;
  req.method = "POST";
  req.url = url;
  req.idempotent = idempotent;
  req.headers.emplace_back("Accept", "application/json");
  if (spec.client_auth_basic) {
    // RFC 6749 2.3.1: id and secret are form-encoded before Basic encoding.
    const std::string pair =
        UrlEncode(*client_id) + ":" + (client_secret.ok() ? UrlEncode(*client_secret) : "");
    const std::string basic = Base64(reinterpret_cast<const unsigned char*>(pair.data()), pair.size(), false);
    redact::RegisterSecret(basic);
    req.headers.emplace_back("Authorization", "Basic " + basic);
  } else {
    params["client_id"] = *client_id;
    if (client_secret.ok()) params["client_secret"] = *client_secret;
  }
  if (spec.token_request_json) {
    json body = json::object();
    for (const auto& [k, v] : params) body[k] = v;
    req.body = body.dump();
    req.headers.emplace_back("Content-Type", "application/json");
  } else {
    req.body = FormEncode(params);
    req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  }

  const std::string where =
      "connection " + c.auth.name + ": " + std::string(purpose) + " at " + http::UrlForMessages(url);
  auto sent = http_.Send(req, options_.token_policy);
  if (!sent.ok()) {
    const Status& st = sent.status();
    if (st.code() == Code::kRetry || st.code() == Code::kUncertain) {
      return Status::Retry(where + " failed: " + VendorText(st.message()));
    }
    return Status(st.code(), where + " failed: " + VendorText(st.message()));
  }
  const http::HttpResponse& res = *sent;
  json doc = json::parse(res.body, nullptr, /*allow_exceptions=*/false);
  // Register secrets before anything could echo them.
  if (doc.is_object()) {
    for (const char* k : {"access_token", "refresh_token", "id_token"}) {
      if (auto it = doc.find(k); it != doc.end() && it->is_string())
        redact::RegisterSecret(it->get<std::string>());
    }
  }
  std::string error, description;
  if (doc.is_object()) {
    if (auto it = doc.find("error"); it != doc.end()) {
      error = it->is_string() ? it->get<std::string>() : it->dump();
    }
    if (auto it = doc.find("error_description"); it != doc.end() && it->is_string()) {
      description = it->get<std::string>();
    }
  }
  std::string said = error.empty() ? "HTTP " + std::to_string(res.status)
                                   : "HTTP " + std::to_string(res.status) + " " + VendorText(error);
  if (!description.empty()) said += ": " + VendorText(description);

  if (res.status == 429 || res.status >= 500) return Status::Retry(where + " is unavailable (" + said + ")");
  if (!error.empty()) {
    const std::string e = Lower(error);
    const std::string d = Lower(description);
    // Throttling and outages dressed as OAuth errors (Zoho: "Access Denied" / "too many requests").
    if (e == "temporarily_unavailable" || e == "slow_down" || e == "server_error" || e == "access denied" ||
        d.find("too many requests") != std::string::npos) {
      return Status::Retry(where + " is throttling or unavailable (" + said + ")");
    }
    return Status::Auth(said);  // rejected: invalid_grant, invalid_client, invalid_code, ...
  }
  if (res.status == 400 || res.status == 401 || res.status == 403) return Status::Auth(said);
  if (res.status < 200 || res.status >= 300) return Status::Error(where + " answered " + said);
  if (!doc.is_object()) return Status::Error(where + " answered with a body that is not a JSON object");

  TokenResponse out;
  auto at = doc.find("access_token");
  if (at == doc.end() || !at->is_string() || at->get<std::string>().empty()) {
    return Status::Error(where + " answered without an access_token");
  }
  out.access_token = at->get<std::string>();
  if (auto rt = doc.find("refresh_token"); rt != doc.end() && rt->is_string())
    out.refresh_token = rt->get<std::string>();
  if (auto ei = doc.find("expires_in"); ei != doc.end()) {
    if (ei->is_number_integer() || ei->is_number_unsigned()) {
      out.expires_in_s = ei->get<int64_t>();
    } else if (ei->is_number_float()) {
      out.expires_in_s = static_cast<int64_t>(ei->get<double>());
    } else if (ei->is_string()) {
      out.expires_in_s = ParseInt64(ei->get<std::string>());
    }
    if (out.expires_in_s && *out.expires_in_s <= 0) out.expires_in_s.reset();
  }
  out.doc = std::move(doc);
  if (options_.test_hook) options_.test_hook(c.auth.name, "token_response_received");
  return out;
}

Result<Token> TokenManager::RequestAndCommit(Conn& c, const std::map<std::string, std::string>& grant,
                                             bool rotating, std::string_view purpose, bool release_lease) {
  MLC_ASSIGN_OR_RETURN(TokenResponse response,
                       CallTokenEndpoint(c, grant, /*idempotent=*/!rotating, purpose));
  std::string redirect_uri;
  if (auto it = grant.find("redirect_uri"); it != grant.end()) redirect_uri = it->second;
  return Commit(c, response, redirect_uri, release_lease);
}

// ---- the cross-process refresh lease -------------------------------------------------------------

Result<bool> TokenManager::TryTakeLease(Conn& c, bool rotating, std::string* holder) {
  const int64_t now = NowMs();
  bool taken = false;
  Status s = store_.Transaction([&](store::Tx& tx) -> Status {
    MLC_ASSIGN_OR_RETURN(
        auto row,
        tx.QueryOne("SELECT owner, expires_at FROM auth_lease WHERE connection = $1", {c.auth.name}));
    if (row) {
      const std::string owner = row->Text(0);
      const bool expired = row->Int(1) <= now;
      if (owner != lease_owner_ && !expired && !HolderIsGone(owner)) {
        *holder = owner;
        return Status::Ok();
      }
      if (owner != lease_owner_) {
        Log().warn("connection {}: taking over the token refresh lease of {} ({})", c.auth.name, owner,
                   expired ? "expired" : "its process is gone");
      }
    }
    MLC_RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO auth_lease (connection, owner, acquired_at, expires_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (connection) DO UPDATE SET owner = excluded.owner, acquired_at = excluded.acquired_at, "
        "expires_at = excluded.expires_at",
        {c.auth.name, lease_owner_, now, now + options_.refresh_lease_ttl.count()}));
    if (rotating) {
      // Left behind only if this process dies before the commit; then the needs_reauth message explains it.
      MLC_RETURN_IF_ERROR(
          store::KvPut(tx, AuthScope(c.auth.name), keys::kRefreshStarted, std::to_string(now), now));
    }
    taken = true;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return taken;
}

Status TokenManager::TakeLease(Conn& c, bool rotating) {
  // Real time, not the manager's clock: this waits for another process's real progress.
  const auto deadline = std::chrono::steady_clock::now() + options_.lease_wait;
  std::string holder;
  for (;;) {
    auto taken = TryTakeLease(c, rotating, &holder);
    if (!taken.ok()) {
      if (taken.status().code() != Code::kRetry) return taken.status();
    } else if (*taken) {
      return Status::Ok();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Retry("connection " + c.auth.name + ": another process (" + holder +
                           ") is refreshing the tokens; try again shortly");
    }
    std::this_thread::sleep_for(options_.lease_poll);
  }
}

void TokenManager::ReleaseLease(Conn& c) {
  Status s =
      store_.Exec("DELETE FROM auth_lease WHERE connection = $1 AND owner = $2", {c.auth.name, lease_owner_});
  // Not fatal: the lease expires by itself (and this process's own lease is re-taken at once).
  if (!s.ok())
    Log().warn("connection {}: could not release the token refresh lease: {}", c.auth.name, s.message());
}

// Without c.mu held (the caller marked the flight). Gets a new token for any token-endpoint kind.
Result<Token> TokenManager::RunRefresh(Conn& c, const Token* failed) {
  const AuthSpec& spec = c.auth.spec;
  const std::string& name = c.auth.name;
  if (spec.kind == AuthKind::kClientCredentials) {
    std::map<std::string, std::string> grant{{"grant_type", "client_credentials"}};
    if (!spec.audience.empty()) {  // Procurify (Auth0 style): audience=https://api.procurify.com/
      MLC_ASSIGN_OR_RETURN(auto vars, Vars(c, spec.audience));
      MLC_ASSIGN_OR_RETURN(grant["audience"],
                           FillTemplate(spec.audience, vars, "connection " + name + " audience"));
    }
    if (!spec.scopes.empty()) grant["scope"] = JoinScopes(spec);  // Entra ID: <resource>/.default
    auto r = RequestAndCommit(c, grant, /*rotating=*/false, "client credentials request");
    if (!r.ok() && r.status().code() == Code::kAuth) {
      return Status::Auth("client credentials were rejected (" + r.status().message() +
                          "); fix the client_id/client_secret secrets, then run `mlc connect " + name + "`");
    }
    return r;
  }

  // Refresh grants: one refresher across every process sharing the store (the lease), which first looks
  // whether another process has refreshed already.
  MLC_RETURN_IF_ERROR(TakeLease(c, spec.refresh_rotates));
  bool committed = false;
  Result<Token> r = Status::Error("refresh did not run");
  try {
    r = RefreshWithToken(c, failed, &committed);
  } catch (...) {
    ReleaseLease(c);
    throw;
  }
  if (!committed) ReleaseLease(c);
  return r;
}

// With the connection's refresh lease held. `committed` tells whether the commit released the lease.
Result<Token> TokenManager::RefreshWithToken(Conn& c, const Token* failed, bool* committed) {
  const AuthSpec& spec = c.auth.spec;
  const std::string& name = c.auth.name;
  // Another process may have refreshed since we loaded: adopt its token instead of spending ours.
  MLC_ASSIGN_OR_RETURN(std::optional<Token> stored, LoadStored(c));
  if (stored) {
    const bool newer = !failed || stored->value != failed->value;
    const int64_t now = NowMs();
    const bool fresh = stored->refresh_at_ms == 0 ? stored->expires_at_ms == 0 || now < stored->expires_at_ms
                                                  : now < stored->refresh_at_ms;
    std::lock_guard lock(c.mu);
    const bool different = !c.token || c.token->value != stored->value;
    if (different && newer && fresh) return *stored;
  }

  std::string refresh_token;
  if (auto v = vault_->Get(name, "refresh_token"); v.ok()) {
    refresh_token = std::move(*v);
  } else if (v.status().code() != Code::kNotFound) {
    return v.status();
  } else if (auto s = Secret(c, "refresh_token"); s.ok()) {
    refresh_token = std::move(*s);
  }
  if (refresh_token.empty()) {
    return Status::Auth("connection is not authorized yet (no refresh token); run `mlc connect " + name +
                        "`");
  }
  std::map<std::string, std::string> grant{{"grant_type", "refresh_token"}, {"refresh_token", refresh_token}};
  MLC_ASSIGN_OR_RETURN(auto redirect_uri, store::KvGet(store_, AuthScope(name), keys::kRedirectUri));
  if (redirect_uri) grant["redirect_uri"] = *redirect_uri;  // FreshBooks expects it on refresh too

  const bool rotating = spec.refresh_rotates;
  auto r = RequestAndCommit(c, grant, rotating, "refresh", /*release_lease=*/true);
  *committed = r.ok();
  if (!r.ok() && r.status().code() == Code::kAuth) {
    if (rotating) {
      return Status::Auth(
          "refresh token was rejected (it may have been rotated by a request whose response was "
          "lost); run `mlc connect " +
          name + "` (token endpoint said: " + r.status().message() + ")");
    }
    return Status::Auth("refresh token was rejected (revoked, expired or replaced); run `mlc connect " +
                        name + "` (token endpoint said: " + r.status().message() + ")");
  }
  return r;
}

// With c.mu held through `lock`. Returns a usable token, joining or leading a single refresh flight.
Result<Token> TokenManager::AcquireLocked(std::unique_lock<std::mutex>& lock, Conn& c, const Token* failed) {
  for (;;) {
    if (c.refreshing) {
      c.cv.wait(lock, [&] { return !c.refreshing; });
      // Share the outcome of the flight we waited for; never start another one for the same need.
      if (c.last_status.ok() && c.token) return *c.token;
      if (c.last_status.code() == Code::kRetry && !failed && c.token && c.token->expires_at_ms != 0 &&
          NowMs() < c.token->expires_at_ms) {
        return *c.token;
      }
      if (!c.last_status.ok()) return c.last_status;
      continue;
    }
    MLC_RETURN_IF_ERROR(CheckBlockedLocked(c));
    if (!c.loaded) {
      MLC_ASSIGN_OR_RETURN(c.token, LoadStored(c));
      c.loaded = true;
    }
    const int64_t now = NowMs();
    bool need;
    if (failed) {
      need = !c.token || c.token->value == failed->value;
    } else if (!c.token) {
      need = true;
    } else if (c.token->refresh_at_ms != 0) {
      need = now >= c.token->refresh_at_ms;
    } else {
      need = c.token->expires_at_ms != 0 && now >= c.token->expires_at_ms;
    }
    if (!need) return *c.token;
    const bool still_valid =
        !failed && c.token && (c.token->expires_at_ms == 0 || now < c.token->expires_at_ms);
    if (now < c.retry_after_ms) {
      if (still_valid) return *c.token;
      return Status::Retry("connection " + c.auth.name +
                           ": token endpoint failed recently; next attempt in " +
                           std::to_string((c.retry_after_ms - now + 999) / 1000) + " s");
    }

    c.refreshing = true;
    lock.unlock();
    Result<Token> r = Status::Error("refresh did not run");
    try {
      r = RunRefresh(c, failed);
    } catch (const std::exception&) {
      r = Status::Error("connection " + c.auth.name + ": token refresh threw an exception");
    }
    lock.lock();
    c.refreshing = false;
    c.last_status = r.status();
    if (r.ok()) {
      c.token = *r;
      NoteSuccessLocked(c);
    } else if (r.status().code() == Code::kAuth) {
      (void)MarkNeedsReauthLocked(c, r.status().message());
      c.last_status = Status::Auth("connection " + c.auth.name + ": " + r.status().message());
    } else if (r.status().code() == Code::kRetry) {
      (void)NoteTransientFailureLocked(c, r.status());
    } else {
      Log().warn("connection {}: {}", c.auth.name, r.status().message());
      // Not transient, not a rejection (a wrong token URL, a broken response, a store failure): visible,
      // and cleared by the next success like the refresh_failing state.
      (void)SetConnectionStatus(store_, c.auth.name, "error", r.status().message(), NowMs());
      (void)RaiseAlert(
          store_, {c.auth.name, std::string(alert_kinds::kRefreshFailing), "warning", r.status().message()},
          NowMs());
      c.health_clean = false;
    }
    c.cv.notify_all();
    if (r.ok()) return r;
    if (r.status().code() == Code::kRetry && still_valid) return *c.token;
    return c.last_status;
  }
}

Result<Token> TokenManager::GetAccessToken(std::string_view connection) {
  MLC_FIND_CONN_OR_RETURN(c, connection);
  switch (c->auth.spec.kind) {
    case AuthKind::kNone:
    case AuthKind::kApiKeyInline:
      return Status::Invalid("connection " + c->auth.name + " (auth kind " +
                             std::string(AuthKindName(c->auth.spec.kind)) + ") has no access token");
    case AuthKind::kStaticBearer:
      return StaticToken(*c);
    default:
      break;
  }
  std::unique_lock lock(c->mu);
  return AcquireLocked(lock, *c, nullptr);
}

Result<Token> TokenManager::OnUnauthorized(std::string_view connection, const Token& failed) {
  MLC_FIND_CONN_OR_RETURN(c, connection);
  switch (c->auth.spec.kind) {
    case AuthKind::kNone:
    case AuthKind::kApiKeyInline:
      return Status::Auth("connection " + c->auth.name + ": credentials were rejected (HTTP 401)");
    case AuthKind::kStaticBearer: {
      std::lock_guard lock(c->mu);
      if (c->token && c->token->value != failed.value) return *c->token;
      std::string msg = "the static token was rejected (HTTP 401); it may have been revoked";
      if (c->auth.spec.idle_expiry_days > 0) {
        msg +=
            " or have expired after " +
            std::to_string(SettingInt(c->auth.settings, "idle_expiry_days", c->auth.spec.idle_expiry_days)) +
            " days without use";
        if (c->last_used_ms > 0) msg += " (last used " + FormatUtc(c->last_used_ms) + ")";
      }
      msg += "; store a new token in the vault and run `mlc connect " + c->auth.name + "`";
      (void)MarkNeedsReauthLocked(*c, msg);
      return Status::Auth("connection " + c->auth.name + ": " + msg);
    }
    default:
      break;
  }
  std::unique_lock lock(c->mu);
  return AcquireLocked(lock, *c, &failed);
}

// ---- consent ------------------------------------------------------------------------------------

Result<AuthorizationStart> TokenManager::BeginAuthorization(std::string_view connection,
                                                            std::string_view redirect_uri) {
  MLC_FIND_CONN_OR_RETURN(c, connection);
  const AuthSpec& spec = c->auth.spec;
  const bool consent = spec.kind == AuthKind::kOAuth2AuthorizationCode ||
                       (spec.kind == AuthKind::kOAuth2Refresh && !spec.authorize_url.empty());
  if (!consent) {
    return Status::Invalid("connection " + c->auth.name + " (auth kind " +
                           std::string(AuthKindName(spec.kind)) + ") is not authorized in a browser");
  }
  if (redirect_uri.empty()) return Status::Invalid("redirect URI is empty");
  MLC_ASSIGN_OR_RETURN(auto vars, Vars(*c, spec.authorize_url));
  MLC_ASSIGN_OR_RETURN(std::string url, FillTemplate(spec.authorize_url, vars,
                                                     "connection " + c->auth.name + " authorize_url"));
  auto client_id = Secret(*c, "client_id");
  if (!client_id.ok()) {
    return Status::Invalid("connection " + c->auth.name + " needs the secret client_id (" +
                           client_id.status().message() + ")");
  }
  MLC_ASSIGN_OR_RETURN(std::string state, RandomToken(24));
  const int64_t now = NowMs();
  const std::string scope = AuthScope(c->auth.name);

  std::map<std::string, std::string> q{{"client_id", *client_id},
                                       {"response_type", "code"},
                                       {"redirect_uri", std::string(redirect_uri)},
                                       {"state", state}};
  if (!spec.scopes.empty()) q["scope"] = JoinScopes(spec);
  std::string verifier;
  if (spec.pkce) {
    MLC_ASSIGN_OR_RETURN(verifier, RandomToken(48));  // 64 characters, inside RFC 7636's 43..128
    redact::RegisterSecret(verifier);
    q["code_challenge"] = PkceChallenge(verifier);
    q["code_challenge_method"] = "S256";
  }
  url += (url.find('?') == std::string::npos ? "?" : "&") + FormEncode(q);

  // Forget consents that were never completed.
  MLC_ASSIGN_OR_RETURN(auto pending,
                       store_.Query("SELECT key, value FROM kv_state WHERE scope = $1 AND key LIKE $2",
                                    {scope, std::string(keys::kAuthorizePrefix) + "%"}));
  for (const auto& row : pending) {
    auto doc = json::parse(row.Text(1), nullptr, false);
    const int64_t exp = doc.is_object() ? doc.value("expires_at_ms", int64_t{0}) : 0;
    if (exp <= now) {
      const std::string old_state = row.Text(0).substr(keys::kAuthorizePrefix.size());
      (void)store::KvDelete(store_, scope, row.Text(0));
      if (vault_ != nullptr) (void)vault_->Delete(c->auth.name, "pkce_verifier:" + old_state);
    }
  }
  const json record = {{"expires_at_ms", now + options_.authorize_ttl.count()},
                       {"redirect_uri", std::string(redirect_uri)},
                       {"pkce", spec.pkce}};
  if (spec.pkce) {
    // The verifier is a short-lived secret: sealed like every other secret.
    if (vault_ == nullptr) return Status::Invalid("PKCE needs the vault (no master key configured)");
    MLC_RETURN_IF_ERROR(vault_->Put(c->auth.name, "pkce_verifier:" + state, verifier));
  }
  MLC_RETURN_IF_ERROR(
      store::KvPut(store_, scope, std::string(keys::kAuthorizePrefix) + state, record.dump(), now));
  return AuthorizationStart{std::move(url), std::move(state)};
}

Result<Token> TokenManager::CompleteAuthorization(std::string_view connection, std::string_view code,
                                                  std::string_view state) {
  MLC_FIND_CONN_OR_RETURN(c, connection);
  if (code.empty()) return Status::Invalid("the authorization code is empty");
  const std::string scope = AuthScope(c->auth.name);
  const std::string key = std::string(keys::kAuthorizePrefix) + std::string(state);
  MLC_ASSIGN_OR_RETURN(auto record_text, state.empty() ? Result<std::optional<std::string>>(std::nullopt)
                                                       : store::KvGet(store_, scope, key));
  if (!record_text) {
    return Status::Invalid("unknown or already used authorization state for connection " + c->auth.name +
                           "; start again with `mlc connect " + c->auth.name + "`");
  }
  const json record = json::parse(*record_text, nullptr, false);
  const int64_t now = NowMs();
  std::string verifier;
  const bool pkce = record.is_object() && record.value("pkce", false);
  if (pkce && vault_ != nullptr) {
    auto v = vault_->Get(c->auth.name, "pkce_verifier:" + std::string(state));
    if (v.ok()) verifier = std::move(*v);
    (void)vault_->Delete(c->auth.name, "pkce_verifier:" + std::string(state));
  }
  // Single use, whatever happens next.
  MLC_RETURN_IF_ERROR(store::KvDelete(store_, scope, key));
  if (!record.is_object() || record.value("expires_at_ms", int64_t{0}) <= now) {
    return Status::Invalid("the authorization request for connection " + c->auth.name +
                           " expired; start again with `mlc connect " + c->auth.name + "`");
  }
  if (pkce && verifier.empty())
    return Status::Invalid("the PKCE verifier of this authorization request is gone");

  std::map<std::string, std::string> grant{{"grant_type", "authorization_code"},
                                           {"code", std::string(code)},
                                           {"redirect_uri", record.value("redirect_uri", std::string())}};
  if (pkce) grant["code_verifier"] = verifier;

  std::unique_lock lock(c->mu);
  c->cv.wait(lock, [&] { return !c->refreshing; });
  c->refreshing = true;
  lock.unlock();
  Result<Token> r = Status::Error("authorization did not run");
  try {
    r = RequestAndCommit(*c, grant, /*rotating=*/true, "authorization code exchange");
  } catch (const std::exception&) {
    r = Status::Error("connection " + c->auth.name + ": authorization code exchange threw an exception");
  }
  lock.lock();
  c->refreshing = false;
  if (r.ok()) {
    c->token = *r;
    c->loaded = true;
    c->blocked.reset();
    c->health_clean = false;
    c->last_status = Status::Ok();
    NoteSuccessLocked(*c);
  } else if (r.status().code() == Code::kAuth) {
    r = Status::Auth("connection " + c->auth.name + ": the authorization code was rejected (" +
                     r.status().message() + "); start again with `mlc connect " + c->auth.name + "`");
  }
  c->cv.notify_all();
  return r;
}

Result<std::optional<json>> TokenManager::PendingAuthResolve(std::string_view connection) {
  MLC_FIND_CONN_OR_RETURN(c, connection);
  const std::string scope = AuthScope(c->auth.name);
  if (!UsesTokenEndpoint(c->auth.spec.kind)) {
    MLC_ASSIGN_OR_RETURN(auto resolved, store::KvGet(store_, scope, keys::kResolvedAt));
    if (resolved) return std::optional<json>();
    return std::optional<json>(json::object());
  }
  MLC_ASSIGN_OR_RETURN(auto pending, store::KvGet(store_, scope, keys::kResolvePending));
  if (!pending || *pending != "1") return std::optional<json>();
  MLC_ASSIGN_OR_RETURN(auto response, store::KvGet(store_, scope, keys::kTokenResponse));
  json doc = response ? json::parse(*response, nullptr, false) : json::object();
  if (!doc.is_object()) doc = json::object();
  return std::optional<json>(std::move(doc));
}

Status TokenManager::MarkAuthResolved(std::string_view connection) {
  MLC_FIND_CONN_OR_RETURN(c, connection);
  const std::string scope = AuthScope(c->auth.name);
  const int64_t now = NowMs();
  return store_.Transaction([&](store::Tx& tx) -> Status {
    MLC_RETURN_IF_ERROR(store::KvDelete(tx, scope, keys::kResolvePending));
    return store::KvPut(tx, scope, keys::kResolvedAt, std::to_string(now), now);
  });
}

// ---- api_key_inline -----------------------------------------------------------------------------

Result<std::vector<InlineCredential>> TokenManager::InlineCredentials(std::string_view connection) {
  MLC_FIND_CONN_OR_RETURN(c, connection);
  if (c->auth.spec.kind != AuthKind::kApiKeyInline) {
    return Status::Invalid("connection " + c->auth.name + " does not use inline credentials");
  }
  {
    std::lock_guard lock(c->mu);
    MLC_RETURN_IF_ERROR(CheckBlockedLocked(*c));
    c->loaded = true;
  }
  std::vector<InlineCredential> out;
  for (const auto& f : c->auth.spec.inline_fields) {
    auto v = Secret(*c, f.secret);
    if (!v.ok()) {
      return Status::Invalid("connection " + c->auth.name + " needs the secret " + f.secret +
                             " (manifest inline_fields): " + v.status().message());
    }
    out.push_back({f, std::move(*v)});
  }
  return out;
}

// ---- static bearer ------------------------------------------------------------------------------

Result<Token> TokenManager::StaticToken(Conn& c) {
  std::lock_guard lock(c.mu);
  MLC_RETURN_IF_ERROR(CheckBlockedLocked(c));
  c.loaded = true;
  if (!c.token) {
    auto v = Secret(c, c.auth.spec.token_secret);
    if (!v.ok()) {
      return Status::Invalid("connection " + c.auth.name + " needs the secret " + c.auth.spec.token_secret +
                             " (its static token): " + v.status().message());
    }
    c.token = Token{std::move(*v), 0, 0, 0};
  }
  const int64_t days = SettingInt(c.auth.settings, "idle_expiry_days", c.auth.spec.idle_expiry_days);
  if (days > 0) {
    const int64_t now = NowMs();
    if (c.last_used_ms < 0) {
      MLC_ASSIGN_OR_RETURN(auto stored, store::KvGet(store_, AuthScope(c.auth.name), keys::kLastUsed));
      if (stored && ParseInt64(*stored)) {
        c.last_used_ms = *ParseInt64(*stored);
      } else {
        // Unknown history: count from the first time this host holds the token.
        c.last_used_ms = now;
        MLC_RETURN_IF_ERROR(
            store::KvPut(store_, AuthScope(c.auth.name), keys::kLastUsed, std::to_string(now), now));
      }
      c.last_used_written_ms = c.last_used_ms;
    }
    const int64_t warn = SettingInt(c.auth.settings, "warn_days", c.auth.spec.warn_days);
    const int64_t expires = c.last_used_ms + days * kMsPerDay;
    const auto state = now >= expires                      ? IdleExpiry::State::kExpired
                       : now >= expires - warn * kMsPerDay ? IdleExpiry::State::kWarning
                                                           : IdleExpiry::State::kOk;
    if (state != c.idle_reported) {
      // Alerts change only on transitions here; CheckIdleExpiry refreshes them unconditionally.
      const std::string msg = state == IdleExpiry::State::kExpired
                                  ? "the static token has not been used since " + FormatUtc(c.last_used_ms) +
                                        " and has probably expired (" + std::to_string(days) + " days idle)"
                                  : "the static token expires on " + FormatUtc(expires) +
                                        " unless it is used (" + std::to_string(days) + " days idle limit)";
      if (state == IdleExpiry::State::kOk) {
        (void)ResolveAlert(store_, c.auth.name, alert_kinds::kIdleExpiry, now);
      } else {
        (void)RaiseAlert(store_,
                         {c.auth.name, std::string(alert_kinds::kIdleExpiry),
                          state == IdleExpiry::State::kExpired ? "critical" : "warning", msg},
                         now);
      }
      c.idle_reported = state;
    }
  }
  return *c.token;
}

Status TokenManager::RecordSuccessfulUse(std::string_view connection) {
  MLC_FIND_CONN_OR_RETURN(c, connection);
  if (c->auth.spec.kind != AuthKind::kStaticBearer) return Status::Ok();
  std::lock_guard lock(c->mu);
  const int64_t now = NowMs();
  c->last_used_ms = std::max(c->last_used_ms, now);
  if (now - c->last_used_written_ms >= options_.last_used_write_interval.count() ||
      c->idle_reported != IdleExpiry::State::kOk) {
    MLC_RETURN_IF_ERROR(
        store::KvPut(store_, AuthScope(c->auth.name), keys::kLastUsed, std::to_string(now), now));
    c->last_used_written_ms = now;
  }
  if (c->idle_reported != IdleExpiry::State::kOk) {
    MLC_RETURN_IF_ERROR(ResolveAlert(store_, c->auth.name, alert_kinds::kIdleExpiry, now));
    c->idle_reported = IdleExpiry::State::kOk;
  }
  return Status::Ok();
}

Result<IdleExpiry> TokenManager::CheckIdleExpiry(std::string_view connection) {
  MLC_FIND_CONN_OR_RETURN(c, connection);
  const int64_t days = SettingInt(c->auth.settings, "idle_expiry_days", c->auth.spec.idle_expiry_days);
  if (c->auth.spec.kind != AuthKind::kStaticBearer || days <= 0) {
    return Status::Invalid("connection " + c->auth.name + " has no inactivity expiry");
  }
  const int64_t warn = SettingInt(c->auth.settings, "warn_days", c->auth.spec.warn_days);
  std::lock_guard lock(c->mu);
  const int64_t now = NowMs();
  if (c->last_used_ms < 0) {
    MLC_ASSIGN_OR_RETURN(auto stored, store::KvGet(store_, AuthScope(c->auth.name), keys::kLastUsed));
    if (stored && ParseInt64(*stored)) {
      c->last_used_ms = *ParseInt64(*stored);
    } else {
      c->last_used_ms = now;
      MLC_RETURN_IF_ERROR(
          store::KvPut(store_, AuthScope(c->auth.name), keys::kLastUsed, std::to_string(now), now));
    }
    c->last_used_written_ms = c->last_used_ms;
  }
  IdleExpiry out;
  out.last_used_ms = c->last_used_ms;
  out.expires_at_ms = out.last_used_ms + days * kMsPerDay;
  out.warn_at_ms = out.expires_at_ms - warn * kMsPerDay;
  out.keepalive_due = now >= out.last_used_ms + days * kMsPerDay / 2;
  out.state = now >= out.expires_at_ms ? IdleExpiry::State::kExpired
              : now >= out.warn_at_ms  ? IdleExpiry::State::kWarning
                                       : IdleExpiry::State::kOk;
  if (out.state == IdleExpiry::State::kOk) {
    MLC_RETURN_IF_ERROR(ResolveAlert(store_, c->auth.name, alert_kinds::kIdleExpiry, now));
  } else {
    const std::string msg = out.state == IdleExpiry::State::kExpired
                                ? "the static token has not been used since " + FormatUtc(out.last_used_ms) +
                                      " and has probably expired (" + std::to_string(days) + " days idle)"
                                : "the static token expires on " + FormatUtc(out.expires_at_ms) +
                                      " unless it is used (" + std::to_string(days) + " days idle limit)";
    MLC_RETURN_IF_ERROR(RaiseAlert(store_,
                                   {c->auth.name, std::string(alert_kinds::kIdleExpiry),
                                    out.state == IdleExpiry::State::kExpired ? "critical" : "warning", msg},
                                   now));
  }
  c->idle_reported = out.state;
  return out;
}

Status TokenManager::KeepAlive(std::string_view connection) {
  MLC_FIND_CONN_OR_RETURN(c, connection);
  const AuthSpec& spec = c->auth.spec;
  if (spec.keepalive.path.empty()) {
    return Status::Invalid("connection " + c->auth.name + ": the manifest declares no keepalive call");
  }
  MLC_ASSIGN_OR_RETURN(std::string base, BaseUrl(c->auth.name));
  std::string url = base;
  if (!url.empty() && url.back() == '/' && spec.keepalive.path.front() == '/') url.pop_back();
  if (spec.keepalive.path.front() != '/') url += '/';
  url += spec.keepalive.path;
  MLC_ASSIGN_OR_RETURN(Token token, GetAccessToken(c->auth.name));
  for (int attempt = 0; attempt < 2; ++attempt) {
    http::HttpRequest req;
    req.method = spec.keepalive.method;
    req.url = url;
    req.headers.emplace_back(spec.header, spec.HeaderValue(token.value));
    req.headers.emplace_back("Accept", "application/json");
    MLC_ASSIGN_OR_RETURN(http::HttpResponse res, http_.Send(req, options_.token_policy));
    if (res.status >= 200 && res.status < 300) return RecordSuccessfulUse(c->auth.name);
    if (res.status != 401 || attempt == 1) {
      return Status(res.status == 401 ? Code::kAuth : Code::kError,
                    "connection " + c->auth.name + ": keep-alive call " + http::UrlForMessages(url) +
                        " answered HTTP " + std::to_string(res.status));
    }
    MLC_ASSIGN_OR_RETURN(token, OnUnauthorized(c->auth.name, token));
  }
  return Status::Error("unreachable");
}

}  // namespace mlc::auth
