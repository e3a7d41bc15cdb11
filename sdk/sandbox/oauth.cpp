// OAuth 2.0 authorization-server emulation: authorization code (+PKCE), refresh (rotating or not),
// client credentials, revocation, expiry on the sandbox clock.
#include "mlc/sandbox/oauth.hpp"

#include "mlc/sandbox/crypto.hpp"

namespace mlc::sandbox {

std::string_view TokenStateName(TokenState state) {
  switch (state) {
    case TokenState::kValid:
      return "valid";
    case TokenState::kExpired:
      return "expired";
    case TokenState::kRevoked:
      return "revoked";
    case TokenState::kUnknown:
      return "unknown";
  }
  return "unknown";
}

namespace {
std::string Shorten(const std::string& token) {
  return token.substr(0, std::min<size_t>(token.size(), 10)) + "...";
}

std::string Get(const ParamList& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

bool Has(const ParamList& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) return true;
  }
  return false;
}

std::string AppendQuery(const std::string& uri, const ParamList& params) {
  std::string out = uri;
  out.push_back(uri.find('?') == std::string::npos ? '?' : '&');
  out += EncodeQueryString(params);
  return out;
}
}  // namespace

OAuthServer::OAuthServer(const Clock& clock, uint64_t seed, OAuthOptions options, Stats* stats)
    : clock_(clock), options_(std::move(options)), stats_(stats), rng_(seed ^ 0x0a07ULL) {}

void OAuthServer::AddClient(OAuthClient client) {
  std::lock_guard lock(mu_);
  std::string id = client.client_id;
  clients_.insert_or_assign(std::move(id), std::move(client));
}

void OAuthServer::Install(Router& router) {
  router.Add("GET", options_.authorize_path, [this](Request& r) { return HandleAuthorize(r); });
  router.Add("POST", options_.token_path, [this](Request& r) { return HandleToken(r); });
  if (!options_.revoke_path.empty()) {
    router.Add("POST", options_.revoke_path, [this](Request& r) { return HandleRevoke(r); });
  }
}

std::string OAuthServer::NewToken(std::string_view prefix) {
  return std::string(prefix) + rng_.Base62(options_.token_length);
}

Response OAuthServer::Error(int status, std::string_view error, std::string_view description) {
  if (options_.error_response) return options_.error_response(status, error, description);
  Response r = Response::Json(status, {{"error", error}, {"error_description", description}});
  r.SetHeader("Cache-Control", "no-store");
  return r;
}

Response OAuthServer::Reject(int status, std::string_view error, std::string_view description) {
  {
    std::lock_guard lock(mu_);
    ++counters_.rejected;
  }
  if (stats_) stats_->CountTokenRejected();
  return Error(status, error, description);
}

Response OAuthServer::HandleAuthorize(Request& req) {
  const ParamList& q = req.query;
  const std::string client_id = Get(q, "client_id");
  std::string redirect_uri = Get(q, "redirect_uri");
  const bool redirect_given = !redirect_uri.empty();
  OAuthClient client;
  {
    std::lock_guard lock(mu_);
    auto it = clients_.find(client_id);
    if (it == clients_.end()) return Error(400, "invalid_client", "unknown client_id");
    client = it->second;
  }
  // Problems with the client or redirect_uri must not redirect (RFC 6749 §4.1.2.1).
  if (!redirect_given) {
    if (client.redirect_uris.size() != 1) return Error(400, "invalid_request", "redirect_uri is required");
    redirect_uri = client.redirect_uris.front();
  } else if (!client.redirect_uris.empty()) {
    bool known = false;
    for (const auto& u : client.redirect_uris) known = known || u == redirect_uri;
    if (!known) return Error(400, "invalid_request", "redirect_uri is not registered for this client");
  }
  const std::string state = Get(q, "state");
  auto fail = [&](std::string_view error, std::string_view description) {
    ParamList p = {{"error", std::string(error)}, {"error_description", std::string(description)}};
    if (!state.empty()) p.emplace_back("state", state);
    return Response::Redirect(AppendQuery(redirect_uri, p));
  };
  if (Get(q, "response_type") != "code")
    return fail("unsupported_response_type", "response_type must be code");
  if (!options_.allow_authorization_code)
    return fail("unauthorized_client", "authorization code grant disabled");
  const std::string challenge = Get(q, "code_challenge");
  std::string method = Get(q, "code_challenge_method");
  if (!challenge.empty()) {
    if (method.empty()) method = "plain";
    if (method != "S256" && method != "plain")
      return fail("invalid_request", "unsupported code_challenge_method");
    if (challenge.size() < 43 || challenge.size() > 128)
      return fail("invalid_request", "malformed code_challenge");
  } else if (client.client_secret.empty()) {
    return fail("invalid_request", "public clients must use PKCE");
  }
  Code code;
  code.client_id = client_id;
  code.redirect_uri = redirect_given ? redirect_uri : "";
  code.scope = Get(q, "scope");
  code.subject = Has(q, "login_hint") ? Get(q, "login_hint") : options_.default_subject;
  code.challenge = challenge;
  code.challenge_method = challenge.empty() ? "" : method;
  code.expires_at = clock_.Now() + options_.code_ttl;
  std::string value;
  {
    std::lock_guard lock(mu_);
    value = NewToken(options_.code_prefix);
    codes_[value] = code;
  }
  ParamList p = {{"code", value}};
  if (!state.empty()) p.emplace_back("state", state);
  return Response::Redirect(AppendQuery(redirect_uri, p));
}

nlohmann::json OAuthServer::IssueLocked(TokenGrant grant, bool with_refresh,
                                        const std::string& refresh_to_reuse,
                                        const std::string& access_preset) {
  grant.issued_at = clock_.Now();
  grant.expires_at = grant.issued_at + options_.access_token_ttl;
  const std::string access = access_preset.empty() ? NewToken(options_.access_token_prefix) : access_preset;
  access_[access] = AccessToken{grant, false};
  nlohmann::json out = {
      {"access_token", access}, {"token_type", "Bearer"}, {"expires_in", options_.access_token_ttl.count()}};
  if (!grant.scope.empty()) out["scope"] = grant.scope;
  if (with_refresh) {
    std::string refresh = refresh_to_reuse;
    if (refresh.empty()) {
      refresh = NewToken(options_.refresh_token_prefix);
      refresh_[refresh] =
          RefreshToken{grant.client_id, grant.subject, grant.scope, grant.issued_at, false, false};
    }
    out["refresh_token"] = refresh;
  }
  if (options_.decorate_token_response) options_.decorate_token_response(out, grant);
  return out;
}

Response OAuthServer::HandleToken(Request& req) {
  // Parameters come as a form (RFC 6749) or, for vendors that take it, a JSON object.
  ParamList params;
  const std::string content_type = req.Header("Content-Type").value_or("");
  if (content_type.find("json") != std::string::npos) {
    if (!options_.accept_json_body) return Reject(400, "invalid_request", "JSON bodies are not accepted");
    auto doc = req.JsonBody();
    if (!doc.ok() || !doc->is_object()) return Reject(400, "invalid_request", "malformed JSON body");
    for (const auto& [k, v] : doc->items())
      params.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
  } else {
    params = req.FormBody();
  }

  // Client authentication: HTTP Basic or client_id/client_secret in the body, not both.
  std::string client_id = Get(params, "client_id");
  std::string secret = Get(params, "client_secret");
  bool used_basic = false;
  if (auto auth = req.Header("Authorization");
      auth && auth->size() > 6 && EqualsIgnoreCase(auth->substr(0, 6), "basic ")) {
    if (!options_.accept_basic_auth)
      return Reject(401, "invalid_client", "HTTP Basic client authentication is not accepted");
    auto decoded = Base64Decode(std::string_view(*auth).substr(6));
    const size_t colon = decoded.ok() ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) return Reject(401, "invalid_client", "malformed Basic credentials");
    if (Has(params, "client_secret"))
      return Reject(400, "invalid_request", "use one client authentication method");
    const std::string basic_id = UrlDecode(decoded->substr(0, colon));
    if (!client_id.empty() && client_id != basic_id)
      return Reject(401, "invalid_client", "client_id mismatch");
    client_id = basic_id;
    secret = UrlDecode(decoded->substr(colon + 1));
    used_basic = true;
  } else if (Has(params, "client_secret") && !options_.accept_body_auth) {
    return Reject(401, "invalid_client", "client credentials in the body are not accepted");
  }
  if (client_id.empty()) return Reject(401, "invalid_client", "client authentication required");
  OAuthClient client;
  bool known = false;
  {
    std::lock_guard lock(mu_);
    auto it = clients_.find(client_id);
    if (it != clients_.end()) {
      client = it->second;
      known = true;
    }
  }
  // Reject takes mu_ itself, so it runs after the lock above is released.
  if (!known) return Reject(401, "invalid_client", "unknown client");
  if (!client.client_secret.empty() && !ConstantTimeEquals(secret, client.client_secret)) {
    Response r = Reject(401, "invalid_client", "client authentication failed");
    if (used_basic) r.SetHeader("WWW-Authenticate", "Basic realm=\"sandbox\"");
    return r;
  }

  const std::string grant_type = Get(params, "grant_type");
  const TimePoint now = clock_.Now();
  if (grant_type == "authorization_code") {
    if (!options_.allow_authorization_code) return Reject(400, "unauthorized_client", "grant type disabled");
    std::optional<Code> found;
    {
      std::lock_guard lock(mu_);
      auto it = codes_.find(Get(params, "code"));
      if (it != codes_.end()) {
        found = it->second;
        codes_.erase(it);  // single use, even when the exchange below fails
      }
    }
    if (!found) return Reject(400, "invalid_grant", "authorization code is invalid or already used");
    const Code& code = *found;
    if (code.client_id != client_id) return Reject(400, "invalid_grant", "code was issued to another client");
    if (now >= code.expires_at) return Reject(400, "invalid_grant", "authorization code expired");
    if (!code.redirect_uri.empty() && Get(params, "redirect_uri") != code.redirect_uri) {
      return Reject(400, "invalid_grant", "redirect_uri does not match the authorization request");
    }
    if (!code.challenge.empty()) {
      const std::string verifier = Get(params, "code_verifier");
      if (verifier.size() < 43 || verifier.size() > 128) {
        return Reject(400, "invalid_grant", "code_verifier missing or malformed");
      }
      const std::string computed =
          code.challenge_method == "S256" ? Base64UrlEncodeNoPad(Sha256(verifier)) : verifier;
      if (!ConstantTimeEquals(computed, code.challenge)) {
        return Reject(400, "invalid_grant", "code_verifier does not match code_challenge");
      }
    }
    nlohmann::json body;
    {
      std::lock_guard lock(mu_);
      body = IssueLocked(TokenGrant{client_id, code.subject, code.scope, "", "authorization_code", {}, {}},
                         options_.issue_refresh_token, "");
      ++counters_.issued;
    }
    if (stats_) stats_->CountTokenIssued();
    return Response::Json(200, body).SetHeader("Cache-Control", "no-store");
  }

  if (grant_type == "refresh_token") {
    const std::string presented = Get(params, "refresh_token");
    nlohmann::json body;
    std::string problem;
    {
      std::lock_guard lock(mu_);
      auto it = refresh_.find(presented);
      if (it == refresh_.end()) {
        problem = "refresh token is invalid";
      } else if (it->second.client_id != client_id) {
        problem = "refresh token was issued to another client";
      } else if (it->second.revoked) {
        problem = "refresh token was revoked";
      } else if (it->second.used) {
        problem = "refresh token was already used";
      } else if (options_.refresh_token_idle_ttl &&
                 now - it->second.last_used >= *options_.refresh_token_idle_ttl) {
        problem = "refresh token expired";
      } else {
        RefreshToken& rt = it->second;
        TokenGrant grant{client_id, rt.subject, rt.scope, "", "refresh_token", {}, {}};
        if (options_.rotate_refresh_tokens) {
          rt.used = true;
          body = IssueLocked(grant, true, "");
        } else {
          rt.last_used = now;
          body = IssueLocked(grant, options_.refresh_response_includes_refresh_token, presented);
        }
        ++counters_.refreshed;
      }
    }
    if (!problem.empty()) return Reject(400, "invalid_grant", problem);
    if (stats_) stats_->CountTokenRefreshed();
    return Response::Json(200, body).SetHeader("Cache-Control", "no-store");
  }

  if (grant_type == "client_credentials") {
    if (!options_.allow_client_credentials) return Reject(400, "unauthorized_client", "grant type disabled");
    if (client.client_secret.empty())
      return Reject(400, "unauthorized_client", "public clients cannot use this grant");
    const std::string audience = Get(params, "audience");
    if (audience.empty() && options_.require_audience)
      return Reject(400, "invalid_request", "audience is required");
    if (!audience.empty() && !options_.audiences.empty()) {
      bool known = false;
      for (const auto& a : options_.audiences) known = known || a == audience;
      if (!known) return Reject(400, "invalid_request", "unknown audience");
    }
    nlohmann::json body;
    {
      std::lock_guard lock(mu_);
      body = IssueLocked(
          TokenGrant{client_id, client_id, Get(params, "scope"), audience, "client_credentials", {}, {}},
          false, "");
      ++counters_.issued;
    }
    if (stats_) stats_->CountTokenIssued();
    return Response::Json(200, body).SetHeader("Cache-Control", "no-store");
  }

  if (grant_type.empty()) return Reject(400, "invalid_request", "grant_type is required");
  return Reject(400, "unsupported_grant_type", "unsupported grant_type");
}

Response OAuthServer::HandleRevoke(Request& req) {
  const ParamList params = req.FormBody();
  const std::string token = Get(params, "token");
  if (token.empty()) return Error(400, "invalid_request", "token is required");
  // RFC 7009: answer 200 whether or not the token was known.
  RevokeAccessToken(token);
  RevokeRefreshToken(token);
  return Response::Empty(200);
}

TokenCheck OAuthServer::CheckAccessToken(std::string_view access_token) {
  TokenCheck check;
  {
    std::lock_guard lock(mu_);
    auto it = access_.find(access_token);
    if (it != access_.end()) {
      check.grant = it->second.grant;
      if (it->second.revoked) {
        check.state = TokenState::kRevoked;
      } else if (clock_.Now() >= it->second.grant.expires_at) {
        check.state = TokenState::kExpired;
      } else {
        check.state = TokenState::kValid;
      }
    }
    if (check.state != TokenState::kValid) ++counters_.rejected;
  }
  if (check.state != TokenState::kValid && stats_) stats_->CountTokenRejected();
  return check;
}

std::optional<TokenGrant> OAuthServer::FindAccessToken(std::string_view access_token) const {
  std::lock_guard lock(mu_);
  auto it = access_.find(access_token);
  if (it == access_.end() || it->second.revoked || clock_.Now() >= it->second.grant.expires_at)
    return std::nullopt;
  return it->second.grant;
}

Result<nlohmann::json> OAuthServer::IssueDirect(const std::string& client_id, const std::string& subject,
                                                const std::string& scope) {
  nlohmann::json body;
  {
    std::lock_guard lock(mu_);
    if (!clients_.count(client_id)) return Status::NotFound("unknown OAuth client '" + client_id + "'");
    body = IssueLocked(TokenGrant{client_id, subject, scope, "", "direct", {}, {}},
                       options_.issue_refresh_token, "");
    ++counters_.issued;
  }
  if (stats_) stats_->CountTokenIssued();
  return body;
}

Result<nlohmann::json> OAuthServer::IssueDirectWithTokens(const std::string& client_id,
                                                          const std::string& subject,
                                                          const std::string& scope,
                                                          const std::string& access_token,
                                                          const std::string& refresh_token) {
  if (access_token.empty() || refresh_token.empty())
    return Status::Invalid("preset tokens must not be empty");
  nlohmann::json body;
  {
    std::lock_guard lock(mu_);
    if (!clients_.count(client_id)) return Status::NotFound("unknown OAuth client '" + client_id + "'");
    if (access_.count(access_token) || refresh_.count(refresh_token)) {
      return Status::Invalid("preset token is already in use");
    }
    const TokenGrant grant{client_id, subject, scope, "", "direct", {}, {}};
    // Registered here so that IssueLocked reuses it instead of minting a new one.
    refresh_[refresh_token] = RefreshToken{client_id, subject, scope, clock_.Now(), false, false};
    body = IssueLocked(grant, true, refresh_token, access_token);
    ++counters_.issued;
  }
  if (stats_) stats_->CountTokenIssued();
  return body;
}

void OAuthServer::RevokeAccessToken(std::string_view token) {
  std::lock_guard lock(mu_);
  auto it = access_.find(token);
  if (it != access_.end()) it->second.revoked = true;
}

void OAuthServer::RevokeRefreshToken(std::string_view token) {
  std::lock_guard lock(mu_);
  auto it = refresh_.find(token);
  if (it != refresh_.end()) it->second.revoked = true;
}

OAuthCounters OAuthServer::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

nlohmann::json OAuthServer::ToJson() const {
  std::lock_guard lock(mu_);
  const TimePoint now = clock_.Now();
  nlohmann::json clients = nlohmann::json::array();
  for (const auto& [id, c] : clients_) {
    clients.push_back(
        {{"client_id", id}, {"redirect_uris", c.redirect_uris}, {"public", c.client_secret.empty()}});
  }
  nlohmann::json access = nlohmann::json::array();
  for (const auto& [token, t] : access_) {
    const TokenState state = t.revoked
                                 ? TokenState::kRevoked
                                 : (now >= t.grant.expires_at ? TokenState::kExpired : TokenState::kValid);
    access.push_back({{"token", Shorten(token)},
                      {"client_id", t.grant.client_id},
                      {"subject", t.grant.subject},
                      {"scope", t.grant.scope},
                      {"audience", t.grant.audience},
                      {"grant_type", t.grant.grant_type},
                      {"issued_at", FormatRfc3339(t.grant.issued_at)},
                      {"expires_at", FormatRfc3339(t.grant.expires_at)},
                      {"state", TokenStateName(state)}});
  }
  nlohmann::json refresh = nlohmann::json::array();
  for (const auto& [token, t] : refresh_) {
    refresh.push_back({{"token", Shorten(token)},
                       {"client_id", t.client_id},
                       {"subject", t.subject},
                       {"used", t.used},
                       {"revoked", t.revoked},
                       {"last_used", FormatRfc3339(t.last_used)}});
  }
  return {
      {"clients", clients},
      {"access_tokens", access},
      {"refresh_tokens", refresh},
      {"pending_codes", codes_.size()},
      {"counters",
       {{"issued", counters_.issued}, {"refreshed", counters_.refreshed}, {"rejected", counters_.rejected}}}};
}

void OAuthServer::Reset() {
  std::lock_guard lock(mu_);
  codes_.clear();
  access_.clear();
  refresh_.clear();
  counters_ = {};
}

}  // namespace mlc::sandbox
