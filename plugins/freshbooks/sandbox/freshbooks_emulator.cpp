// FreshBooks emulator wiring: settings, OAuth and identity, the bearer-token guard with rate limiting, each
// API area's error shape, credentials, the /_sandbox objects and reset.
#include "freshbooks_emulator.hpp"

#include <algorithm>
#include <chrono>

#include "freshbooks_internal.hpp"
#include "mlc/sandbox/crypto.hpp"
#include "mlc/sandbox/multipart.hpp"

namespace mlc::sandbox::freshbooks {

namespace {

int64_t UnixOf(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

Family FamilyOfPath(std::string_view path) {
  if (path.rfind("/accounting/businesses/", 0) == 0) return Family::kLedger;
  if (path.rfind("/accounting/", 0) == 0) return Family::kAccounting;
  if (path.rfind("/events/", 0) == 0) return Family::kEvents;
  if (path.rfind("/uploads/", 0) == 0) return Family::kUploads;
  return Family::kAuth;
}

Result<Settings> Settings::FromJson(const nlohmann::json& options) {
  Settings s;
  if (options.is_null()) return s;
  if (!options.is_object()) return Status::Invalid("freshbooks options must be a JSON object");
  static const std::set<std::string> kKnown = {"redirect_uris",      "rate_limit",        "validation_status",
                                               "token_error_status", "sign_verification", "seed_start_date",
                                               "list_order"};
  for (const auto& [key, value] : options.items()) {
    if (!kKnown.count(key)) return Status::Invalid("unknown freshbooks option '" + key + "'");
  }
  if (auto it = options.find("redirect_uris"); it != options.end()) {
    if (!it->is_array() || it->empty()) return Status::Invalid("redirect_uris must be a non-empty array");
    s.redirect_uris.clear();
    for (const auto& u : *it) {
      if (!u.is_string() || u.get<std::string>().find("://") == std::string::npos) {
        return Status::Invalid("redirect_uris entries must be absolute URLs");
      }
      // FB-DOCS: redirect URIs cannot carry query strings (state goes in the state parameter instead).
      if (u.get<std::string>().find('?') != std::string::npos) {
        return Status::Invalid("redirect_uris cannot contain query strings");
      }
      // FB-DOCS authentication: redirect URIs must be HTTPS (a loopback listener needs a TLS front or the
      // paste-the-code path; see the operator guide).
      if (u.get<std::string>().rfind("https://", 0) != 0) {
        return Status::Invalid("redirect_uris must be https:// URLs (FreshBooks requires HTTPS)");
      }
      s.redirect_uris.push_back(u.get<std::string>());
    }
  }
  if (auto it = options.find("rate_limit"); it != options.end()) {
    if (!it->is_object()) return Status::Invalid("rate_limit must be {\"limit\": N, \"window_s\": S}");
    if (it->contains("limit")) {
      if (!(*it)["limit"].is_number_integer() || (*it)["limit"].get<int64_t>() < 0)
        return Status::Invalid("rate_limit.limit must be a non-negative integer");
      s.rate_limit = (*it)["limit"].get<int64_t>();
    }
    if (it->contains("window_s")) {
      if (!(*it)["window_s"].is_number_integer() || (*it)["window_s"].get<int64_t>() < 1)
        return Status::Invalid("rate_limit.window_s must be a positive integer");
      s.rate_window_s = (*it)["window_s"].get<int64_t>();
    }
  }
  for (const char* key : {"validation_status", "token_error_status"}) {
    if (auto it = options.find(key); it != options.end()) {
      if (!it->is_number_integer() || it->get<int>() < 400 || it->get<int>() > 499)
        return Status::Invalid(std::string(key) + " must be a 4xx status");
      (std::string_view(key) == "validation_status" ? s.validation_status : s.token_error_status) =
          it->get<int>();
    }
  }
  if (auto it = options.find("sign_verification"); it != options.end()) {
    if (!it->is_boolean()) return Status::Invalid("sign_verification must be a boolean");
    s.sign_verification = it->get<bool>();
  }
  if (auto it = options.find("seed_start_date"); it != options.end()) {
    if (!it->is_string() || !ParseCivilDate(it->get<std::string>()))
      return Status::Invalid("seed_start_date must be YYYY-MM-DD");
    s.seed_start_date = it->get<std::string>();
  }
  if (auto it = options.find("list_order"); it != options.end()) {
    if (*it != "id" && *it != "shuffled") return Status::Invalid("list_order must be \"id\" or \"shuffled\"");
    s.shuffled_lists = *it == "shuffled";
  }
  return s;
}

FreshBooksEmulator::FreshBooksEmulator(const EmulatorOptions& options)
    : options_(options), rng_(options.seed), events_rng_(options.seed ^ 0xE7E17ULL) {
  auto settings = Settings::FromJson(options.vendor);
  if (settings.ok()) {
    settings_ = *settings;
  } else {
    settings_status_ = settings.status();
  }
  SeedIdentity();
  std::lock_guard lock(mu_);
  SeedLocked();
}

FreshBooksEmulator::~FreshBooksEmulator() = default;

TimePoint FreshBooksEmulator::Now() const {
  // Seeding runs in the constructor, before the kit's clock is attached.
  return ctx_ ? ctx_->clock.Now() : std::chrono::system_clock::now();
}

Status FreshBooksEmulator::Install(Router& router, EmulatorContext& ctx) {
  if (!settings_status_.ok()) return settings_status_;
  ctx_ = &ctx;
  if (settings_.rate_limit > 0) {
    RateLimitOptions rl;
    rl.limit = settings_.rate_limit;
    rl.window = std::chrono::seconds(settings_.rate_window_s);
    // X-RateLimit-Reset in the captures is an epoch second, i.e. a fixed window.
    rl.kind = RateLimitOptions::Window::kFixed;
    ctx.rate_limiter.Configure(rl);
  }

  OAuthOptions o;
  o.authorize_path = "/oauth/authorize";
  o.token_path = "/auth/oauth/token";
  o.revoke_path = "/auth/oauth/revoke";
  o.access_token_ttl = std::chrono::hours(12);  // FB-DOCS: "The Access Token expires after 12 hours"
  o.code_ttl = std::chrono::minutes(5);         // FB-DOCS: "the authorization code expires in 5 minutes"
  o.rotate_refresh_tokens = true;               // "never expires, but can only be used once"
  o.allow_client_credentials = false;
  o.access_token_prefix = "";
  o.refresh_token_prefix = "";
  o.code_prefix = "";
  o.token_length = 64;
  o.default_subject = std::to_string(identity_.identity_id);
  const std::string jwt_key = identity_.jwt_key;
  const std::string default_scope(kDefaultScope);
  const int64_t identity_id = identity_.identity_id;
  o.decorate_token_response = [jwt_key, default_scope, identity_id](nlohmann::json& r, const TokenGrant& g) {
    // FB-PY auth_token_response.json: created_at (epoch seconds) + expires_in give the expiry.
    const int64_t created = UnixOf(g.issued_at);
    r["created_at"] = created;
    if (!r.contains("scope")) r["scope"] = g.scope.empty() ? default_scope : g.scope;
    const std::string header = Base64Url(R"({"typ":"JWT","alg":"HS256"})");
    const std::string payload = Base64Url(nlohmann::json{
        {"iss", "https://auth.freshbooks.com"},
        {"sub", std::to_string(identity_id)},
        {"aud", g.client_id},
        {"iat", created},
        {"exp", UnixOf(g.expires_at)}}.dump());
    r["id_token"] = header + "." + payload + "." + Base64Url(HmacSha256(jwt_key, header + "." + payload));
  };
  const int grant_status = settings_.token_error_status;
  o.error_response = [grant_status](int status, std::string_view error, std::string_view description) {
    const int s = error == "invalid_grant" ? grant_status : status;
    return AuthError(s, error, description).SetHeader("Cache-Control", "no-store");
  };
  oauth_ = std::make_unique<OAuthServer>(ctx.clock, options_.seed, std::move(o), &ctx.stats);
  oauth_->AddClient({identity_.client_id, identity_.client_secret, settings_.redirect_uris});
  IssueReadyTokens();

  router.Add("GET", "/oauth/authorize", [this](Request& r) { return oauth_->HandleAuthorize(r); });
  // The FB-DOCS tutorial links the authorize page with a trailing slash.
  router.Add("GET", "/oauth/authorize/", [this](Request& r) { return oauth_->HandleAuthorize(r); });
  router.Add("POST", "/auth/oauth/token", [this](Request& r) { return HandleToken(r); });
  router.Add("POST", "/auth/oauth/revoke", [this](Request& r) { return oauth_->HandleRevoke(r); });
  router.Add("GET", "/auth/api/v1/users/me",
             Guard(
                 Family::kAuth, [this](Request& r, const TokenGrant& g) { return HandleMe(r, g); },
                 // "user:profile:read is added to all new apps by default" (FB-DOCS /api/scopes).
                 "user:profile:read"));

  DefineResources();
  for (const auto& def : resources_) InstallResource(router, def);
  router.Add(
      "GET", "/accounting/account/{account_id}/journal_entry_accounts/journal_entry_accounts",
      Guard(
          Family::kAccounting, [this](Request& r, const TokenGrant&) { return ListJournalEntryAccounts(r); },
          // The chart of accounts is read under the journal_entries object (FB-DOCS /api/scopes).
          "user:journal_entries:read"));
  InstallLedger(router);
  InstallUploads(router);
  InstallCallbacks(router);
  return Status::Ok();
}

void FreshBooksEmulator::IssueReadyTokens() {
  auto issued =
      oauth_->IssueDirectWithTokens(identity_.client_id, std::to_string(identity_.identity_id),
                                    identity_.scope, identity_.access_token, identity_.refresh_token);
  (void)issued;  // only fails for an unknown client or a reused token, neither possible right after Reset
}

Response FreshBooksEmulator::HandleToken(Request& req) {
  // FB-DOCS' tutorial posts the token request with curl -F (multipart); the kit's token endpoint reads forms
  // and JSON, so a multipart body is re-encoded as a form first.
  const std::string content_type = req.Header("Content-Type").value_or("");
  if (IsMultipartFormData(content_type)) {
    auto parts = ParseMultipart(content_type, req.body);
    if (!parts.ok()) return AuthError(400, "invalid_request", parts.status().message());
    ParamList params;
    for (const auto& p : *parts) params.emplace_back(p.name, p.body);
    req.body = EncodeQueryString(params);
    for (auto& [k, v] : req.headers) {
      if (EqualsIgnoreCase(k, "Content-Type")) v = "application/x-www-form-urlencoded";
    }
  }
  return oauth_->HandleToken(req);
}

namespace {
bool GrantHasScope(const std::string& granted, const std::string& scope) {
  size_t start = 0;
  while (start <= granted.size()) {
    size_t end = granted.find_first_of(" +", start);
    if (end == std::string::npos) end = granted.size();
    if (granted.compare(start, end - start, scope) == 0) return true;
    start = end + 1;
  }
  return false;
}
}  // namespace

Handler FreshBooksEmulator::Guard(Family family, AuthedHandler handler, std::string scope) {
  return [this, family, handler = std::move(handler), scope = std::move(scope)](Request& req) -> Response {
    const auto token = req.BearerToken();
    if (!token) return Unauthenticated(family, TokenState::kUnknown, false);
    const TokenCheck check = oauth_->CheckAccessToken(*token);
    if (check.state != TokenState::kValid) return Unauthenticated(family, check.state, true);
    std::optional<RateDecision> decision;
    if (ctx_->rate_limiter.enabled()) {
      // Counted per user and application, as the captured X-RateLimit headers suggest.
      decision = ctx_->rate_limiter.Admit(check.grant.client_id + "/" + check.grant.subject);
      if (!decision->allowed) return TooManyRequests(req, *decision);
    }
    Response res;
    const std::string account = req.Param("account_id");
    const std::string business = req.Param("business_uuid");
    if (req.params.count("account_id") && account != identity_.account_id) {
      // Not the caller's account: AccessDenied (1003) in the area's shape. [UNCONFIRMED status; 403 chosen]
      switch (family) {
        case Family::kEvents:
          res = EventsError(403, 403, "The requested action is forbidden for this account.");
          break;
        case Family::kUploads:
          res = UploadsError(403, "Access denied.");
          break;
        default:
          res = AccountingErrors(403, {FieldError{kErrAccessDenied, "accountid", "Access denied.", "account",
                                                  nlohmann::json(account)}});
          break;
      }
    } else if (req.params.count("business_uuid") && business != identity_.business_uuid) {
      res = LedgerError(403, {{"", "You do not have permission to perform this action."}});
    } else if (!scope.empty() && !GrantHasScope(check.grant.scope, scope)) {
      // The token was granted without the scope this resource documents. [UNCONFIRMED body: the legacy
      // AccessDenied (1003) shape with HTTP 403]
      if (family == Family::kAuth) {
        res = AuthError(403, "insufficient_scope", "This action requires the scope " + scope + ".");
      } else {
        res = AccountingErrors(
            403, {FieldError{kErrAccessDenied, "scope", "This action requires the scope " + scope + ".",
                             "scope", nlohmann::json(scope)}});
      }
    } else {
      res = handler(req, check.grant);
    }
    if (decision) AddRateHeaders(res, *decision);
    return res;
  };
}

void FreshBooksEmulator::AddRateHeaders(Response& res, const RateDecision& d) const {
  const int64_t window_s = settings_.rate_window_s;
  res.SetHeader("X-RateLimit-Limit", std::to_string(d.limit));
  res.SetHeader("X-RateLimit-Remaining", std::to_string(std::max<int64_t>(0, d.remaining)));
  res.SetHeader("X-RateLimit-Reset", std::to_string(ctx_->clock.NowUnix() + window_s));
}

Response FreshBooksEmulator::Unauthenticated(Family family, TokenState state, bool token_given) const {
  switch (family) {
    case Family::kEvents:
      // FB-PY get_callback_response__no_auth.json
      return EventsError(401, 401, "invalid_token: The request token failed to authenticate or validate.");
    case Family::kLedger:
      return LedgerError(
          401, {{"", token_given ? "Invalid token." : "Authentication credentials were not provided."}});
    default:
      break;
  }
  if (!token_given) {
    // FB-PY auth_me_response__no_auth.json
    return AuthError(401, "unauthenticated", "This action requires authentication to continue.")
        .SetHeader("WWW-Authenticate", "Bearer");
  }
  // FB-NODE Error.test.ts: {"error": "invalid_token", "error_description": ..., "state": "unauthorized"}
  return AuthError(401, "invalid_token",
                   state == TokenState::kExpired ? "The access token expired" : "The access token is invalid",
                   /*with_state=*/true)
      .SetHeader("WWW-Authenticate", "Bearer error=\"invalid_token\"");
}

Response FreshBooksEmulator::AuthError(int status, std::string_view error, std::string_view description,
                                       bool with_state) {
  nlohmann::json body = {{"error", error}, {"error_description", description}};
  if (with_state) body["state"] = "unauthorized";
  return Response::Json(status, body);
}

Response FreshBooksEmulator::AccountingErrors(int status, const std::vector<FieldError>& errors) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& e : errors) {
    list.push_back(
        {{"errno", e.code},
         {"field", e.field.empty() ? nlohmann::json() : nlohmann::json(e.field)},
         {"message", e.message},
         {"object", e.object.empty() ? nlohmann::json() : nlohmann::json(e.object)},
         {"value", e.value.is_null()
                       ? nlohmann::json()
                       : nlohmann::json(e.value.is_string() ? e.value.get<std::string>() : e.value.dump())}});
  }
  // FB-NODE treats {"response": {"errors": [...]}} as an error "regardless of status code": while the
  // control API asks for it, the same body goes out with HTTP 200.
  int64_t left = errors_with_200_.load();
  while (left > 0 && !errors_with_200_.compare_exchange_weak(left, left - 1)) {
  }
  return Response::Json(left > 0 ? 200 : status, {{"response", {{"errors", list}}}});
}

Response FreshBooksEmulator::AccountingNotFound(const std::string& object, const std::string& field,
                                                const std::string& noun, const std::string& value) {
  // FB-PY get_client_response__not_found.json
  return AccountingErrors(404, {FieldError{kErrUnknownResource, field, noun + " not found.", object, value}});
}

Response FreshBooksEmulator::EventsError(int status, int errno_code, std::string_view message,
                                         const std::vector<std::string>& details) {
  nlohmann::json body = {{"errno", errno_code}, {"message", message}};
  if (!details.empty()) body["details"] = details;
  return Response::Json(status, body);
}

Response FreshBooksEmulator::UploadsError(int status, std::string_view message) {
  return Response::Json(status, {{"error", message}});
}

Response FreshBooksEmulator::LedgerError(int status,
                                         const std::vector<std::pair<std::string, std::string>>& details) {
  // FB-PY create_ledger_account_response__validation_errors.json /
  // get_ledger_account_response__not_found.json
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [field, message] : details) {
    list.push_back(
        {{"reason", field.empty() ? message : field + ": " + message},
         {"metadata",
          {{"message", message}, {"field", field.empty() ? nlohmann::json() : nlohmann::json(field)}}}});
  }
  return Response::Json(status, {{"errors",
                                  {{"message", "Request failed with status code " + std::to_string(status)},
                                   {"status", status},
                                   {"details", list}}}});
}

Response FreshBooksEmulator::ErrorResponse(const Request& req, int status, std::string_view message) const {
  switch (FamilyOfPath(req.path)) {
    case Family::kAccounting: {
      // 500 is FreshAlchemyUnexpected in FB-DOCS' error list; an unknown path is an unknown resource.
      const int code = status == 404 ? kErrUnknownResource : status;
      nlohmann::json e = {
          {"errno", code}, {"field", nullptr}, {"message", message}, {"object", nullptr}, {"value", nullptr}};
      return Response::Json(status, {{"response", {{"errors", nlohmann::json::array({e})}}}});
    }
    case Family::kEvents:
      return EventsError(
          status, status,
          status == 404 ? std::string_view("Requested resource could not be found.") : message);
    case Family::kUploads:
      return UploadsError(status, message);
    case Family::kLedger:
      return LedgerError(status, {{"", status == 404 ? std::string("Not found.") : std::string(message)}});
    case Family::kAuth:
      break;
  }
  return AuthError(status, status == 404 ? "not_found" : (status >= 500 ? "server_error" : "invalid_request"),
                   message);
}

Response FreshBooksEmulator::TooManyRequests(const Request& req, const RateDecision& decision) const {
  // FB-POSTMAN captured Retry-After and X-RateLimit-* headers; the 429 body is [UNCONFIRMED]. Limits sit in
  // front of every API area, so one OAuth-style body serves them all.
  const int64_t retry_s = std::max<int64_t>(1, (decision.retry_after.count() + 999) / 1000);
  Response r = AuthError(429, "too_many_requests",
                         "Rate limit exceeded. Retry after " + std::to_string(retry_s) + " seconds.");
  r.SetHeader("Retry-After", std::to_string(retry_s));
  r.SetHeader("X-RateLimit-Limit", std::to_string(decision.limit));
  r.SetHeader("X-RateLimit-Remaining", "0");
  if (ctx_) r.SetHeader("X-RateLimit-Reset", std::to_string(ctx_->clock.NowUnix() + retry_s));
  return r;
}

Response FreshBooksEmulator::HandleMe(Request&, const TokenGrant&) {
  const Identity& id = identity_;
  const nlohmann::json business = {
      {"id", id.business_id},
      {"business_uuid", id.business_uuid},
      {"name", id.business_name},
      {"account_id", id.account_id},
      {"date_format", "mm/dd/yyyy"},
      {"address",
       {{"id", id.business_id + 17},
        {"street", "548 Market St"},
        {"city", "San Francisco"},
        {"province", "California"},
        {"country", "United States"},
        {"postal_code", "94104"}}},
      {"phone_number", {{"id", id.business_id + 23}, {"phone_number", "4155550142"}}},
      {"business_clients", nlohmann::json::array()}};
  const std::string created = "2021-03-02T15:04:05Z";
  nlohmann::json me = {
      {"id", id.identity_id},
      {"identity_id", id.identity_id},
      {"identity_uuid", id.identity_uuid},
      {"first_name", id.first_name},
      {"last_name", id.last_name},
      {"email", id.email},
      {"language", "en"},
      {"confirmed_at", created},
      {"created_at", created},
      {"unconfirmed_email", nullptr},
      {"setup_complete", true},
      {"phone_numbers", nlohmann::json::array({{{"title", ""}, {"phone_number", nullptr}}})},
      {"addresses", nlohmann::json::array({nullptr})},
      {"profile",
       {{"setup_complete", true},
        {"first_name", id.first_name},
        {"last_name", id.last_name},
        {"phone_number", nullptr},
        {"address", nullptr},
        {"professions", nlohmann::json::array({{{"id", id.membership_id + 1},
                                                {"business_id", nullptr},
                                                {"title", "Managing Director"},
                                                {"company", id.business_name},
                                                {"designation", nullptr}}})},
        {"has_password", true}}},
      {"profession",
       {{"id", id.membership_id + 1},
        {"business_id", nullptr},
        {"title", "Managing Director"},
        {"company", id.business_name},
        {"designation", nullptr}}},
      {"links",
       {{"me", "/service/auth/api/v1/users?id=" + std::to_string(id.identity_id)},
        {"roles", "/service/auth/api/v1/users/role/" + std::to_string(id.identity_id)}}},
      {"permissions", {{id.account_id, nlohmann::json::object()}}},
      {"groups", nlohmann::json::array({{{"id", id.membership_id + 2},
                                         {"group_id", id.membership_id + 3},
                                         {"role", "owner"},
                                         {"identity_id", id.identity_id},
                                         {"identity_uuid", id.identity_uuid},
                                         {"business_id", id.business_id},
                                         {"active", true}}})},
      {"subscription_statuses", {{id.account_id, "active"}}},
      {"integrations", nlohmann::json::object()},
      {"business_memberships", nlohmann::json::array({{{"id", id.membership_id},
                                                       {"role", "owner"},
                                                       {"unacknowledged_change", false},
                                                       {"business", business}}})},
      {"identity_origin", nullptr},
      {"roles",
       nlohmann::json::array(
           {{{"id", id.membership_id + 4},
             {"role", "admin"},
             {"systemid", id.business_id + 5},
             {"userid", id.user_id},
             {"created_at", created},
             {"links",
              {{"destroy", "/service/auth/api/v1/users/role/" + std::to_string(id.membership_id + 4)}}},
             {"accountid", id.account_id}}})}};
  // Identity responses have no "result" level (FB-PY auth_me_response.json).
  return Response::Json(200, {{"response", me}});
}

nlohmann::json FreshBooksEmulator::Credentials() const {
  const std::string base = ctx_ ? ctx_->base_url : "";
  nlohmann::json out = {{"client_id", identity_.client_id},
                        {"client_secret", identity_.client_secret},
                        {"redirect_uri", settings_.redirect_uris.front()},
                        {"authorize_url", base + "/oauth/authorize"},
                        {"token_url", base + "/auth/oauth/token"},
                        {"api_base_url", base},
                        {"access_token", identity_.access_token},
                        {"refresh_token", identity_.refresh_token},
                        {"expires_in", 43200},
                        {"scope", identity_.scope},
                        {"account_id", identity_.account_id},
                        {"business_id", identity_.business_id},
                        {"business_uuid", identity_.business_uuid},
                        {"identity_id", identity_.identity_id}};
  std::lock_guard lock(mu_);
  nlohmann::json callbacks = nlohmann::json::array();
  for (const auto& [id, cb] : callbacks_) {
    if (cb.uri == options_.webhook_url && !options_.webhook_url.empty()) {
      callbacks.push_back(
          {{"callbackid", cb.id}, {"event", cb.event}, {"uri", cb.uri}, {"verifier", cb.verifier}});
    }
  }
  if (!callbacks.empty()) {
    out["callbacks"] = callbacks;
    // Named like the plugin's secret: the keys of X-FreshBooks-Hmac-SHA256 for these callbacks.
    std::string verifiers;
    for (const auto& cb : callbacks)
      verifiers += (verifiers.empty() ? "" : ",") + cb["verifier"].get<std::string>();
    out["webhook_verifier"] = verifiers;
  }
  return out;
}

std::vector<std::string> FreshBooksEmulator::ObjectTypes() const {
  return {"expenses",        "categories",  "bills",     "bill_vendors",
          "bill_payments",   "payments",    "invoices",  "journal_entry_accounts",
          "ledger_accounts", "attachments", "callbacks", "identity",
          "tokens"};
}

Result<nlohmann::json> FreshBooksEmulator::Objects(std::string_view type) {
  if (type == "tokens") {
    if (!oauth_) return nlohmann::json::object();
    return oauth_->ToJson();
  }
  std::lock_guard lock(mu_);
  nlohmann::json out = nlohmann::json::array();
  const Includes all = {"attachment", "category", "vendor"};
  auto dump = [&](const std::map<int64_t, Record>& store, auto render) {
    for (const auto& [id, r] : store) out.push_back(render(r));
  };
  if (type == "expenses") {
    dump(expenses_, [&](const Record& r) { return RenderExpense(r, all); });
  } else if (type == "categories") {
    dump(categories_, [&](const Record& r) { return RenderCategory(r, true); });
  } else if (type == "bills") {
    dump(bills_, [&](const Record& r) { return RenderBill(r, all); });
  } else if (type == "bill_vendors") {
    dump(vendors_, [&](const Record& r) { return RenderVendor(r); });
  } else if (type == "bill_payments") {
    dump(bill_payments_, [&](const Record& r) { return RenderBillPayment(r); });
  } else if (type == "payments") {
    dump(payments_, [&](const Record& r) { return RenderPayment(r); });
  } else if (type == "invoices") {
    for (const auto& [id, inv] : invoices_) {
      out.push_back({{"id", inv.id},
                     {"invoice_number", inv.invoice_number},
                     {"clientid", inv.clientid},
                     {"client", inv.client},
                     {"amount", MoneyJson(inv.amount.minor, inv.amount.currency)}});
    }
  } else if (type == "journal_entry_accounts") {
    for (const auto& a : journal_entry_accounts_) out.push_back(RenderJournalEntryAccount(a));
  } else if (type == "ledger_accounts") {
    for (const auto& a : ledger_accounts_) out.push_back(RenderLedger(a));
  } else if (type == "attachments") {
    for (const auto& [id, a] : attachments_) {
      out.push_back({{"attachmentid", a.id},
                     {"jwt", a.jwt},
                     {"uuid", a.uuid},
                     {"filename", a.filename},
                     {"original_filename", a.original_filename},
                     {"media_type", a.media_type},
                     {"kind", a.image ? "image" : "attachment"},
                     {"length", a.bytes.size()},
                     {"sha256", HexEncode(Sha256(a.bytes))},
                     {"content_base64", Base64Encode(a.bytes)}});
    }
  } else if (type == "callbacks") {
    for (const auto& [id, cb] : callbacks_) {
      nlohmann::json j = RenderCallback(cb);
      j["verifier"] = cb.verifier;  // the sandbox shows it so tests can verify signatures
      out.push_back(j);
    }
  } else if (type == "identity") {
    out = {{"account_id", identity_.account_id},       {"business_id", identity_.business_id},
           {"business_uuid", identity_.business_uuid}, {"business_name", identity_.business_name},
           {"identity_id", identity_.identity_id},     {"email", identity_.email}};
  } else {
    return Status::NotFound("no freshbooks object type '" + std::string(type) + "'");
  }
  return out;
}

Result<nlohmann::json> FreshBooksEmulator::TriggerEvents(const nlohmann::json& request) {
  const std::string type = request.value("type", "");
  const int64_t count = request.value("count", int64_t{1});
  if (type == "errors_with_http_200") {
    errors_with_200_ = count;
    return nlohmann::json{{"type", type}, {"count", count}};
  }
  std::lock_guard lock(mu_);
  return MakeChangesLocked(type, count);
}

void FreshBooksEmulator::Reset() {
  {
    std::lock_guard lock(mu_);
    SeedLocked();
  }
  errors_with_200_ = 0;
  // "Same credentials": tokens issued before the reset stay valid. FreshBooks refresh tokens rotate on every
  // use, so forgetting them would strand any client that refreshed since start (the harness resets the
  // sandbox mid-run). The announced tokens keep working until they are used or expire.
}

nlohmann::json FreshBooksEmulator::HarnessInfo() const {
  std::lock_guard lock(mu_);
  // The sample expense posts to the seeded "Software" category; the harness writes it as given.
  int64_t category = 0;
  for (const auto& [id, c] : categories_) {
    if (c.vis_state == kActive && c.data["category"] == "Software") category = id;
  }
  const nlohmann::json sample = {{"type", "expense"},
                                 {"source",
                                  {{"system", "brex"},
                                   {"connection", "brex-main"},
                                   {"id", "expense_harness_1"},
                                   {"version", "1"},
                                   {"updated_at", "2025-03-01T10:00:00Z"}}},
                                 {"links", nlohmann::json::object()},
                                 {"kind", "card"},
                                 {"amount", {{"amount_minor", 4999}, {"currency", "USD"}}},
                                 {"merchant", "FIGMA"},
                                 {"memo", "Design seats"},
                                 {"dimensions", {{"department", {{"code", "ENG"}, {"name", "Engineering"}}}}},
                                 {"spent_at", "2025-03-01"},
                                 {"status", "posted"}};
  std::string verifier;
  for (const auto& [id, cb] : callbacks_) {
    if (cb.verified && cb.uri == options_.webhook_url && !options_.webhook_url.empty() &&
        cb.event == "bill") {
      verifier = cb.verifier;
    }
  }
  nlohmann::json info = {
      {"streams",
       {{"bills", {{"objects", "bills"}, {"event", {{"type", "bill.create"}, {"count", 3}}}}},
        {"payments", {{"objects", "bill_payments"}}},
        {"vendors", {{"objects", "bill_vendors"}, {"event", {{"type", "bill_vendor.create"}, {"count", 2}}}}},
        {"expense_categories", {{"objects", "categories"}}}}},
      {"writes",
       {{"expense",
         {{"route", "POST /accounting/account/{account_id}/expenses/expenses"},
          {"objects", "expenses"},
          {"sample", sample},
          {"refs",
           {{"category", {{"id", std::to_string(category)}, {"name", "Software"}}},
            {"dimensions", {{"department", {{"name", "Engineering"}}}}}}}}},
        {"vendor",
         {{"route", "POST /accounting/account/{account_id}/bill_vendors/bill_vendors"},
          {"objects", "bill_vendors"}}}}},
      {"settings", {{"auth_url", ctx_ ? ctx_->base_url : std::string()}}},
      {"access_token_ttl_s", 43200}};
  if (!verifier.empty())
    info["webhook"] = {{"secret", verifier}, {"event", {{"type", "bill.create"}, {"count", 1}}}};
  return info;
}

nlohmann::json FreshBooksEmulator::ExtraStats() const {
  std::lock_guard lock(mu_);
  int64_t verified = 0;
  for (const auto& [id, cb] : callbacks_) verified += cb.verified ? 1 : 0;
  return {{"expenses", expenses_.size()},      {"bills", bills_.size()},
          {"bill_vendors", vendors_.size()},   {"bill_payments", bill_payments_.size()},
          {"payments", payments_.size()},      {"attachments", attachments_.size()},
          {"callbacks", callbacks_.size()},    {"callbacks_verified", verified},
          {"events_emitted", events_emitted_}, {"errors_with_http_200_pending", errors_with_200_.load()}};
}

std::unique_ptr<Emulator> MakeFreshBooksEmulator(const EmulatorOptions& options) {
  return std::make_unique<FreshBooksEmulator>(options);
}

void RegisterFreshBooksEmulator(EmulatorRegistry& registry) {
  registry.Register("freshbooks",
                    [](const EmulatorOptions& options) { return MakeFreshBooksEmulator(options); });
}

}  // namespace mlc::sandbox::freshbooks
