// The Brex emulator: bearer auth (bxt_ user tokens, OAuth access tokens), the accounting, expenses, card
// transactions, vendors, transfers and webhooks APIs in Brex's shapes, and the sandbox events that drive it.
#include "brex_emulator.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "brex_model.hpp"
#include "mlc/sandbox/crypto.hpp"
#include "mlc/sandbox/idempotency.hpp"
#include "mlc/sandbox/oauth.hpp"
#include "mlc/text.hpp"

namespace mlc::sandbox::brex {

namespace {

using json = nlohmann::json;

constexpr const char* kEventTypes[] = {
    "REFERRAL_CREATED",
    "REFERRAL_ACTIVATED",
    "REFERRAL_APPLICATION_STATUS_CHANGED",
    "TRANSFER_PROCESSED",
    "TRANSFER_FAILED",
    "EXPENSE_PAYMENT_UPDATED",
    "USER_UPDATED",
    "EMBEDDED_CARD_TRANSACTION_UPDATED",
    "EMBEDDED_CARD_UPDATED",
    "EMBEDDED_ACCOUNT_UPDATED",
    "EMBEDDED_CARD_SHIPPING_UPDATED",
    "EMBEDDED_DISPUTE_UPDATED",
    "PARTNERSHIP_INTEGRATION_CONNECTION_UPDATED",
    "EMBEDDED_CARD_AUTHORIZATION",
    "EMBEDDED_FRAUD_ALERT",
    "EMBEDDED_BILLING_GROUP_UPDATED",
    "EMBEDDED_LEGAL_ENTITY_UPDATED",
    "EMBEDDED_BILLING_STATEMENT_UPDATED",
    "EMBEDDED_USER_STATUS_UPDATED",
    "ACCOUNTING_RECORD_READY_FOR_EXPORT",
};

// What the brex_oauth plugin's consent asks for (its manifest's auth.scopes).
constexpr char kReadyGrantScope[] =
    "openid offline_access accounting.record.read accounting.record.write expenses.card.readonly "
    "vendors.readonly cards.readonly companies.readonly";

bool IsAccountingPath(std::string_view path) { return path.rfind("/v3/accounting", 0) == 0; }

std::string_view V1Type(int status) {
  switch (status) {
    case 400:
      return "BAD_REQUEST";
    case 401:
      return "UNAUTHORIZED";
    case 403:
      return "FORBIDDEN";
    case 404:
      return "NOT_FOUND";
    case 405:
      return "METHOD_NOT_ALLOWED";
    case 409:
      return "CONFLICT";
    case 413:
      return "PAYLOAD_TOO_LARGE";
    case 422:
      return "UNPROCESSABLE_ENTITY";
    case 429:
      return "TOO_MANY_REQUESTS";
    case 502:
      return "BAD_GATEWAY";
    case 503:
      return "SERVICE_UNAVAILABLE";
    case 504:
      return "GATEWAY_TIMEOUT";
    default:
      return status >= 500 ? "INTERNAL_SERVER_ERROR" : "BAD_REQUEST";
  }
}

std::string_view AccountingCode(int status) {
  switch (status) {
    case 401:
      return "UNAUTHORIZED";
    case 403:
      return "FORBIDDEN";
    case 404:
      return "NOT_FOUND";
    default:
      return status >= 500 ? "INTERNAL_ERROR" : "INVALID_REQUEST";
  }
}

// v1/v2 error body: {"type", "message", optional "code"}.
Response V1Error(int status, std::string_view message, std::string_view code = {}) {
  json body = {{"type", V1Type(status)}, {"message", message}};
  if (!code.empty()) body["code"] = code;
  return Response::Json(status, body);
}

// Accounting (v3) error body: {"error_code", "message", "details"}.
Response AcctError(int status, std::string_view code, std::string_view message, json details = nullptr) {
  return Response::Json(status,
                        {{"error_code", code}, {"message", message}, {"details", std::move(details)}});
}

bool IsAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::optional<bool> ParseBool(std::string_view v) {
  if (EqualsIgnoreCase(v, "true")) return true;
  if (EqualsIgnoreCase(v, "false")) return false;
  return std::nullopt;
}

std::string EncodeCursor(size_t offset) { return Base64Encode(json{{"offset", offset}}.dump()); }

std::optional<size_t> DecodeCursor(const std::string& cursor) {
  auto raw = Base64Decode(cursor);
  if (!raw.ok()) return std::nullopt;
  json doc = json::parse(*raw, nullptr, false);
  if (!doc.is_object() || !doc.contains("offset") || !doc["offset"].is_number_unsigned()) return std::nullopt;
  return doc["offset"].get<size_t>();
}

struct Page {
  size_t start = 0;
  int64_t limit = 100;
};

// Builds {items, next_cursor} over indexes [0, size) that `match`; items rendered by `render`.
template <typename Match, typename Render>
json Paginate(size_t size, const Page& page, Match match, Render render, bool with_totals) {
  json items = json::array();
  size_t i = page.start;
  for (; i < size && static_cast<int64_t>(items.size()) < page.limit; ++i) {
    if (match(i)) items.push_back(render(i));
  }
  bool more = false;
  for (size_t k = i; k < size && !more; ++k) more = match(k);
  json out = {{"items", items}, {"next_cursor", more ? json(EncodeCursor(i)) : json(nullptr)}};
  if (with_totals) {
    int64_t total = 0;
    for (size_t k = 0; k < size; ++k) total += match(k) ? 1 : 0;
    out["has_next_page"] = more;
    out["total_count"] = total;
  }
  return out;
}

bool ValidWebhookUrl(const std::string& url) {
  // Brex requires HTTPS; loopback HTTP is let through so local receivers can be used in tests.
  for (const char* prefix : {"https://", "http://127.0.0.1", "http://localhost", "http://[::1]"}) {
    const std::string p(prefix);
    if (url.rfind(p, 0) == 0 && url.size() > p.size()) {
      if (p == "https://") return url.find_first_of(" \t\r\n") == std::string::npos;
      const char next = url[p.size()];
      return next == ':' || next == '/';
    }
  }
  return false;
}

bool AllDigits(const std::string& s, size_t min, size_t max) {
  return s.size() >= min && s.size() <= max &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string Str(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

class BrexEmulator : public Emulator {
 public:
  explicit BrexEmulator(const EmulatorOptions& options)
      : seed_(options.seed), records_(options.records), data_(options.seed) {}

  std::string Name() const override { return "brex"; }
  Status Install(Router& router, EmulatorContext& ctx) override;
  json Credentials() const override;
  std::vector<std::string> ObjectTypes() const override;
  Result<json> Objects(std::string_view type) override;
  Result<json> TriggerEvents(const json& request) override;
  void Reset() override;
  json ExtraStats() const override;
  json HarnessInfo() const override;
  Response ErrorResponse(const Request& req, int status, std::string_view message) const override;
  std::optional<std::string> RateLimitKey(const Request& req) const override;
  Response TooManyRequests(const Request& req, const RateDecision& decision) const override;

 private:
  using Method = Response (BrexEmulator::*)(Request&);
  // `scopes`: a bearer token must hold any one of them (Brex's per-operation OAuth2 security, brex.md §1.3;
  // empty: any valid token, as the spec lists none); `auth` false: no token at all (presigned links).
  void Route(Router& router, const char* method, const char* path, Method fn, std::vector<std::string> scopes,
             bool auth = true);
  std::string TraceId() const;
  void SeedLocked();
  // The partner grant the emulator announces (a consent already given); a Reset keeps every token.
  void IssueReadyGrant();

  // Auth; mu_ held.
  std::optional<Response> Authenticate(const Request& req, const std::vector<std::string>& scopes);
  Response Forbidden(const Request& req) const;
  Response Unauthorized(const Request& req) const;
  Response Expired(const Request& req) const;
  // Pagination arguments; mu_ held.
  std::optional<Response> ParsePage(const Request& req, int64_t max_limit, Page* page) const;
  Response BadRequest(const Request& req, std::string_view message) const;
  // Queues `body` to every active subscription for `event_type` and to --webhook-url; mu_ held.
  json Deliver(const std::string& event_type, const json& body);

  // Handlers; mu_ held.
  Response OpenIdConfiguration(Request& req);
  Response GetCompany(Request& req);
  Response GetMe(Request& req);
  Response ListUsers(Request& req);
  Response GetUser(Request& req);
  Response ListRecords(Request& req);
  Response GetRecord(Request& req);
  Response ExportResults(Request& req);
  Response CreateIntegration(Request& req);
  Response DisconnectIntegration(Request& req);
  Response ReactivateIntegration(Request& req);
  Response ListExpenses(Request& req);
  Response ListCardExpenses(Request& req);
  Response ListExpensesImpl(Request& req, bool card_only);
  Response GetExpense(Request& req);
  Response UpdateCardExpense(Request& req);
  Response DownloadReceipt(Request& req);
  Response ListCardTransactions(Request& req);
  Response GetCard(Request& req);
  Response ListVendors(Request& req);
  Response CreateVendor(Request& req);
  Response GetVendor(Request& req);
  Response UpdateVendor(Request& req);
  Response DeleteVendor(Request& req);
  Response ListTransfers(Request& req);
  Response CreateTransfer(Request& req);
  Response GetTransfer(Request& req);
  Response ListWebhooks(Request& req);
  Response CreateWebhook(Request& req);
  Response ListWebhookSecrets(Request& req);
  Response GetWebhook(Request& req);
  Response UpdateWebhook(Request& req);
  Response DeleteWebhook(Request& req);

  Result<json> PaymentAccounts(const json& accounts, const Vendor* existing);
  Subscription* FindSubscription(const std::string& id);
  ExpenseView ViewFor(const Request& req, std::optional<Response>* error) const;

  const uint64_t seed_;
  const int records_;
  EmulatorContext* ctx_ = nullptr;
  BrexOptions opts_;
  TimePoint month_start_{};
  std::unique_ptr<OAuthServer> oauth_;
  std::string ready_access_token_, ready_refresh_token_;
  IdempotencyStore idempotency_;
  mutable std::atomic<uint64_t> trace_counter_{0};

  mutable std::mutex mu_;
  BrexData data_;
  TimePoint user_token_last_used_{};
  bool user_token_revoked_ = false;
};

void BrexEmulator::SeedLocked() {
  data_ = BrexData(seed_);
  const TimePoint now = ctx_->clock.Now();
  Seed(data_, opts_, records_, month_start_, now);
  user_token_last_used_ = now;
  user_token_revoked_ = false;
}

Status BrexEmulator::Install(Router& router, EmulatorContext& ctx) {
  ctx_ = &ctx;
  MLC_ASSIGN_OR_RETURN(opts_, BrexOptions::FromJson(ctx.options.vendor));
  if (opts_.month) {
    month_start_ = FromCivil(opts_.month->first, opts_.month->second, 1);
  } else {
    const std::string today = FormatDate(ctx.clock.Now());
    int y = std::stoi(today.substr(0, 4)), m = std::stoi(today.substr(5, 2));
    month_start_ = m == 1 ? FromCivil(y - 1, 12, 1) : FromCivil(y, m - 1, 1);
  }
  {
    std::lock_guard lock(mu_);
    SeedLocked();
  }

  OAuthOptions oauth;
  oauth.authorize_path = "/oauth2/default/v1/authorize";
  oauth.token_path = "/oauth2/default/v1/token";
  oauth.revoke_path = "/oauth2/default/v1/revoke";
  oauth.access_token_ttl = std::chrono::seconds(opts_.access_token_ttl_s);
  oauth.rotate_refresh_tokens = opts_.rotate_refresh_tokens;
  oauth.refresh_token_idle_ttl = std::chrono::hours(24 * opts_.refresh_token_idle_days);
  oauth.access_token_prefix = "";
  oauth.refresh_token_prefix = "";
  oauth.code_prefix = "";
  oauth.token_length = 48;
  oauth_ = std::make_unique<OAuthServer>(ctx.clock, seed_, oauth, &ctx.stats);
  oauth_->AddClient({data_.oauth_client_id, data_.oauth_client_secret, {}});
  oauth_->Install(router);
  {
    // A stream of its own, so the seeded data does not depend on it.
    SeededRng rng(seed_ ^ 0x6272657841757468ULL);
    ready_access_token_ = rng.Base62(48);
    ready_refresh_token_ = rng.Base62(48);
  }
  IssueReadyGrant();

  RateLimitOptions limits;
  limits.limit = opts_.rate_limit;
  limits.window = std::chrono::seconds(opts_.rate_window_s);
  limits.kind = opts_.rate_window_kind;
  ctx.rate_limiter.Configure(limits);

  ctx.webhooks.SetSigner([this](const WebhookMessage& m, int64_t ts) {
    std::vector<std::string> secrets;
    {
      std::lock_guard lock(mu_);
      secrets = data_.SigningSecrets();
    }
    auto headers = standard_webhooks::Headers(secrets, m.id, ts, m.body);
    return headers.ok() ? *headers : HeaderList{};
  });

  // Scopes per operation from the specs' security blocks (brex.md §1.3; vendor-specs/brex/*): the "readonly"
  // scope or its read-write sibling where the spec lists both.
  const std::vector<std::string> kUsers = {"users", "users.readonly"};
  const std::vector<std::string> kRecordsRead = {"accounting.record.read", "accounting.record.write"};
  const std::vector<std::string> kExpensesRead = {"expenses.card.readonly", "expenses.card"};
  const std::vector<std::string> kTransfersRead = {"transfers.readonly", "incoming_transfers"};
  Route(router, "GET", "/oauth2/default/.well-known/openid-configuration", &BrexEmulator::OpenIdConfiguration,
        {}, false);
  Route(router, "GET", "/v2/company", &BrexEmulator::GetCompany, {"companies.readonly"});
  Route(router, "GET", "/v2/users/me", &BrexEmulator::GetMe, kUsers);
  Route(router, "GET", "/v2/users", &BrexEmulator::ListUsers, kUsers);
  Route(router, "GET", "/v2/users/{id}", &BrexEmulator::GetUser, kUsers);
  Route(router, "GET", "/v3/accounting/records", &BrexEmulator::ListRecords, kRecordsRead);
  Route(router, "GET", "/v3/accounting/records/{record_id}", &BrexEmulator::GetRecord, kRecordsRead);
  Route(router, "POST", "/v3/accounting/records/export-results", &BrexEmulator::ExportResults,
        {"accounting.record.write"});
  Route(router, "POST", "/v3/accounting/integration", &BrexEmulator::CreateIntegration,
        {"accounting.integration.write"});
  Route(router, "POST", "/v3/accounting/integration/{integration_id}/disconnect",
        &BrexEmulator::DisconnectIntegration, {"accounting.integration.write"});
  Route(router, "POST", "/v3/accounting/integration/{integration_id}/reactivate",
        &BrexEmulator::ReactivateIntegration, {"accounting.integration.write"});
  Route(router, "GET", "/v1/expenses", &BrexEmulator::ListExpenses, kExpensesRead);
  Route(router, "GET", "/v1/expenses/card", &BrexEmulator::ListCardExpenses, kExpensesRead);
  Route(router, "GET", "/v1/expenses/{expense_id}", &BrexEmulator::GetExpense, kExpensesRead);
  Route(router, "GET", "/v1/expenses/card/{expense_id}", &BrexEmulator::GetExpense, kExpensesRead);
  Route(router, "PUT", "/v1/expenses/card/{expense_id}", &BrexEmulator::UpdateCardExpense, {"expenses.card"});
  // Presigned receipt links carry their own signature, like S3's; no bearer token.
  Route(router, "GET", "/receipts/{receipt_id}/{file_name}", &BrexEmulator::DownloadReceipt, {}, false);
  Route(router, "GET", "/v2/transactions/card/primary", &BrexEmulator::ListCardTransactions,
        {"transactions.card.readonly"});
  Route(router, "GET", "/v2/cards/{id}", &BrexEmulator::GetCard, {"cards", "cards.readonly"});
  Route(router, "GET", "/v1/vendors", &BrexEmulator::ListVendors, {"vendors.readonly"});
  Route(router, "POST", "/v1/vendors", &BrexEmulator::CreateVendor, {"vendors"});
  Route(router, "GET", "/v1/vendors/{id}", &BrexEmulator::GetVendor, {"vendors.readonly"});
  Route(router, "PUT", "/v1/vendors/{id}", &BrexEmulator::UpdateVendor, {"vendors"});
  Route(router, "DELETE", "/v1/vendors/{id}", &BrexEmulator::DeleteVendor, {"vendors"});
  Route(router, "GET", "/v1/transfers", &BrexEmulator::ListTransfers, kTransfersRead);
  Route(router, "POST", "/v1/transfers", &BrexEmulator::CreateTransfer, {"transfers"});
  Route(router, "GET", "/v1/transfers/{id}", &BrexEmulator::GetTransfer, kTransfersRead);
  Route(router, "GET", "/v1/webhooks", &BrexEmulator::ListWebhooks, {});
  Route(router, "POST", "/v1/webhooks", &BrexEmulator::CreateWebhook, {});
  Route(router, "GET", "/v1/webhooks/secrets", &BrexEmulator::ListWebhookSecrets, {});
  Route(router, "GET", "/v1/webhooks/{id}", &BrexEmulator::GetWebhook, {});
  Route(router, "PUT", "/v1/webhooks/{id}", &BrexEmulator::UpdateWebhook, {});
  Route(router, "DELETE", "/v1/webhooks/{id}", &BrexEmulator::DeleteWebhook, {});
  return Status::Ok();
}

void BrexEmulator::Route(Router& router, const char* method, const char* path, Method fn,
                         std::vector<std::string> scopes, bool auth) {
  router.Add(method, path, [this, fn, auth, scopes = std::move(scopes)](Request& req) {
    Response res;
    {
      std::lock_guard lock(mu_);
      std::optional<Response> denied;
      if (auth) denied = Authenticate(req, scopes);
      res = denied ? std::move(*denied) : (this->*fn)(req);
    }
    res.SetHeader("X-Brex-Trace-Id", TraceId());
    return res;
  });
}

std::string BrexEmulator::TraceId() const {
  uint64_t x = (trace_counter_++ + 1) * 0x9e3779b97f4a7c15ULL ^ seed_;
  x = (x ^ (x >> 31)) * 0xbf58476d1ce4e5b9ULL;
  std::string bytes;
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>(x >> (8 * i)));
  return HexEncode(bytes);
}

json BrexEmulator::Credentials() const {
  std::lock_guard lock(mu_);
  const std::string base = ctx_ ? ctx_->base_url : "";
  // "token" and "webhook_secret" repeat the user token and the active signing secret under the secret names
  // the brex plugin declares, so generic clients (the acceptance harness) can fill them by name.
  // "client_id", "client_secret" and "refresh_token" are the brex_oauth plugin's secrets: a partner grant
  // whose consent is already given, so the harness can run that build without a browser.
  return {{"user_token", data_.user_token},
          {"token", data_.user_token},
          {"client_id", data_.oauth_client_id},
          {"client_secret", data_.oauth_client_secret},
          {"refresh_token", ready_refresh_token_},
          {"access_token", ready_access_token_},
          {"webhook_secret", data_.secrets.empty() ? std::string() : data_.secrets.front().secret},
          {"revoked_user_token", data_.revoked_user_token},
          {"oauth",
           {{"client_id", data_.oauth_client_id},
            {"client_secret", data_.oauth_client_secret},
            {"authorize_url", base + "/oauth2/default/v1/authorize"},
            {"token_url", base + "/oauth2/default/v1/token"},
            {"revoke_url", base + "/oauth2/default/v1/revoke"},
            {"scopes",
             "openid offline_access accounting.record.read accounting.record.write expenses.card.readonly "
             "transactions.card.readonly vendors transfers"}}},
          {"company_id", data_.company_id},
          {"cash_account_id", data_.cash_account_id}};
}

// ---- Errors and auth ------------------------------------------------------------------------------------

Response BrexEmulator::ErrorResponse(const Request& req, int status, std::string_view message) const {
  Response r = IsAccountingPath(req.path) ? AcctError(status, AccountingCode(status), message)
                                          : V1Error(status, message);
  r.SetHeader("X-Brex-Trace-Id", TraceId());
  return r;
}

Response BrexEmulator::BadRequest(const Request& req, std::string_view message) const {
  return IsAccountingPath(req.path) ? AcctError(400, "INVALID_REQUEST", message) : V1Error(400, message);
}

Response BrexEmulator::Unauthorized(const Request& req) const {
  if (IsAccountingPath(req.path) && !opts_.v1_auth_errors_on_accounting) {
    return AcctError(401, "UNAUTHORIZED", "Authentication credentials are missing or invalid.");
  }
  return V1Error(401, "PERMISSION_DENIED: Invalid or Revoked Token");
}

Response BrexEmulator::Expired(const Request& req) const {
  if (opts_.expired_token_status != 403) return Unauthorized(req);
  if (IsAccountingPath(req.path) && !opts_.v1_auth_errors_on_accounting) {
    return AcctError(403, "FORBIDDEN", "Expired token");
  }
  return V1Error(403, "Expired token");
}

Response BrexEmulator::Forbidden(const Request& req) const {
  // Brex documents no wording for a missing scope; the body names none, so a client cannot lean on it.
  if (IsAccountingPath(req.path) && !opts_.v1_auth_errors_on_accounting) {
    return AcctError(403, "FORBIDDEN", "You do not have permission to perform this action.");
  }
  return V1Error(403, "Forbidden");
}

bool HoldsAnyScope(const std::set<std::string>& held, const std::vector<std::string>& any_of) {
  if (any_of.empty()) return true;
  return std::any_of(any_of.begin(), any_of.end(), [&](const std::string& s) { return held.count(s) > 0; });
}

std::set<std::string> SplitScopes(const std::string& scope) {
  std::set<std::string> out;
  size_t pos = 0;
  while (pos < scope.size()) {
    size_t end = scope.find(' ', pos);
    if (end == std::string::npos) end = scope.size();
    if (end > pos) out.insert(scope.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

std::optional<Response> BrexEmulator::Authenticate(const Request& req,
                                                   const std::vector<std::string>& scopes) {
  const auto token = req.BearerToken();
  if (!token) {
    ctx_->stats.CountTokenRejected();
    return Unauthorized(req);
  }
  if (token->rfind("bxt_", 0) == 0) {
    if (*token != data_.user_token || user_token_revoked_) {
      ctx_->stats.CountTokenRejected();
      return Unauthorized(req);
    }
    // User tokens expire after a stretch without API calls; every accepted call restarts the stretch.
    const TimePoint now = ctx_->clock.Now();
    if (now - user_token_last_used_ > std::chrono::hours(24 * opts_.user_token_idle_days)) {
      ctx_->stats.CountTokenRejected();
      return Expired(req);
    }
    // A call the token's scopes refuse is not counted as use: Brex does not say it would be (brex.md §1.1
    // speaks of tokens "used to make an API call"), so a keep-alive outside the scopes keeps nothing alive.
    if (!opts_.all_user_token_scopes && !HoldsAnyScope(opts_.user_token_scopes, scopes))
      return Forbidden(req);
    user_token_last_used_ = now;
    return std::nullopt;
  }
  const TokenCheck check = oauth_->CheckAccessToken(*token);  // counts its own rejections
  if (check.state == TokenState::kExpired) return Expired(req);
  if (check.state != TokenState::kValid) return Unauthorized(req);
  if (!HoldsAnyScope(SplitScopes(check.grant.scope), scopes)) return Forbidden(req);
  return std::nullopt;
}

std::optional<std::string> BrexEmulator::RateLimitKey(const Request& req) const {
  if (req.path.rfind("/oauth2/", 0) == 0 || req.path.rfind("/receipts/", 0) == 0) return std::nullopt;
  const auto token = req.BearerToken();
  if (!token) return std::nullopt;
  // Brex counts per client id and account: user tokens stand for themselves, OAuth tokens for their client.
  if (token->rfind("bxt_", 0) == 0) return "token:" + *token;
  if (auto grant = oauth_->FindAccessToken(*token)) return "client:" + grant->client_id;
  return std::nullopt;
}

Response BrexEmulator::TooManyRequests(const Request& req, const RateDecision& decision) const {
  Response r = V1Error(429, "Too many requests: up to " + std::to_string(opts_.rate_limit) + " requests in " +
                                std::to_string(opts_.rate_window_s) + " seconds");
  if (opts_.send_retry_after) {
    r.SetHeader("Retry-After",
                std::to_string(std::max<int64_t>(1, (decision.retry_after.count() + 999) / 1000)));
  }
  r.SetHeader("X-Brex-Trace-Id", TraceId());
  return r;
}

std::optional<Response> BrexEmulator::ParsePage(const Request& req, int64_t max_limit, Page* page) const {
  if (auto limit = req.Query("limit")) {
    if (!AllDigits(*limit, 1, 9)) return BadRequest(req, "limit must be a positive integer");
    const int64_t n = std::stoll(*limit);
    if (n < 1) return BadRequest(req, "limit must be at least 1");
    if (n > max_limit) return BadRequest(req, "limit must not exceed " + std::to_string(max_limit));
    page->limit = n;
  }
  if (auto cursor = req.Query("cursor"); cursor && !cursor->empty()) {
    auto offset = DecodeCursor(*cursor);
    if (!offset) return BadRequest(req, "cursor is invalid");
    page->start = *offset;
  }
  return std::nullopt;
}

json BrexEmulator::Deliver(const std::string& event_type, const json& body) {
  std::vector<std::string> targets;
  for (const auto& s : data_.subscriptions) {
    if (s.deleted || s.status != "ACTIVE") continue;
    if (std::find(s.event_types.begin(), s.event_types.end(), event_type) == s.event_types.end()) continue;
    if (std::find(targets.begin(), targets.end(), s.url) == targets.end()) targets.push_back(s.url);
  }
  const std::string& extra = ctx_->options.webhook_url;
  if (!extra.empty() && std::find(targets.begin(), targets.end(), extra) == targets.end())
    targets.push_back(extra);
  json ids = json::array();
  for (const auto& url : targets) ids.push_back(ctx_->webhooks.Enqueue(url, body.dump(), event_type));
  return ids;
}

// ---- OAuth discovery, company, users ---------------------------------------------------------------------

Response BrexEmulator::OpenIdConfiguration(Request&) {
  const std::string issuer = ctx_->base_url + "/oauth2/default";
  return Response::Json(
      200, {{"issuer", issuer},
            {"authorization_endpoint", issuer + "/v1/authorize"},
            {"token_endpoint", issuer + "/v1/token"},
            {"revocation_endpoint", issuer + "/v1/revoke"},
            {"response_types_supported", {"code"}},
            {"grant_types_supported", {"authorization_code", "refresh_token", "client_credentials"}},
            {"code_challenge_methods_supported", {"S256", "plain"}},
            {"token_endpoint_auth_methods_supported", {"client_secret_basic", "client_secret_post"}},
            {"scopes_supported", {"openid", "offline_access"}}});
}

Response BrexEmulator::GetCompany(Request&) { return Response::Json(200, CompanyJson(data_)); }

Response BrexEmulator::GetMe(Request&) { return Response::Json(200, TeamUserJson(data_.users.front())); }

Response BrexEmulator::ListUsers(Request& req) {
  Page page;
  if (auto e = ParsePage(req, 1000, &page)) return *e;
  const std::string email = req.Query("email").value_or("");
  return Response::Json(
      200, Paginate(
               data_.users.size(), page,
               [&](size_t i) { return email.empty() || EqualsIgnoreCase(data_.users[i].email, email); },
               [&](size_t i) { return TeamUserJson(data_.users[i]); }, false));
}

Response BrexEmulator::GetUser(Request& req) {
  const User* u = data_.FindUser(req.Param("id"));
  if (!u) return V1Error(404, "Not Found", "USER_NOT_FOUND");
  return Response::Json(200, TeamUserJson(*u));
}

// ---- Accounting (v3) -----------------------------------------------------------------------------------

Response BrexEmulator::ListRecords(Request& req) {
  Page page;
  if (auto e = ParsePage(req, opts_.accounting_max_limit, &page)) return *e;
  std::vector<std::string> ids = req.QueryAll("ids");
  for (auto& id : req.QueryAll("ids[]")) ids.push_back(id);
  if (ids.size() > 500) return AcctError(400, "INVALID_REQUEST", "ids is limited to 500 values");
  std::vector<std::string> statuses = req.QueryAll("review_status");
  for (const auto& s : statuses) {
    if (s != "PREPARE" && s != "REVIEW" && s != "READY_FOR_EXPORT" && s != "EXPORTED") {
      return AcctError(400, "INVALID_REQUEST",
                       "review_status '" + s +
                           "' is not one of PREPARE, REVIEW, "
                           "READY_FOR_EXPORT, EXPORTED");
    }
  }
  const std::string source = req.Query("source_type").value_or("");
  if (!source.empty() && source != "CARD" && source != "REIMBURSEMENT" && source != "BILL") {
    return AcctError(400, "INVALID_REQUEST", "source_type must be CARD, REIMBURSEMENT or BILL");
  }
  if (source == "BILL" && !statuses.empty()) {
    return AcctError(400, "INVALID_REQUEST",
                     "review_status is only supported with CARD and REIMBURSEMENT source types");
  }
  std::optional<TimePoint> updated_after;
  auto updated = req.Query("updated_at[gt]");
  if (!updated) updated = req.Query("updated_at");
  if (updated) {
    updated_after = ParseRfc3339(*updated);
    if (!updated_after) return AcctError(400, "INVALID_REQUEST", "updated_at must be an RFC 3339 date-time");
  }
  bool single_entry = false;
  if (auto v = req.Query("single_entry")) {
    auto b = ParseBool(*v);
    if (!b) return AcctError(400, "INVALID_REQUEST", "single_entry must be true or false");
    single_entry = *b;
  }
  const TimePoint now = ctx_->clock.Now();
  auto match = [&](size_t i) {
    const AccountingRecord& r = data_.records[i];
    if (!ids.empty() && std::find(ids.begin(), ids.end(), r.id) == ids.end()) return false;
    if (!statuses.empty() && std::find(statuses.begin(), statuses.end(), r.review_status) == statuses.end()) {
      return false;
    }
    if (!source.empty() && r.source_type != source) return false;
    // Brex timestamps carry microseconds: compare at the precision the records are rendered with, or a
    // client passing back the newest updated_at it saw would get that record again.
    if (updated_after &&
        !(std::chrono::time_point_cast<std::chrono::microseconds>(r.updated_at) > *updated_after)) {
      return false;
    }
    return true;
  };
  auto render = [&](size_t i) {
    return RecordJson(data_, data_.records[i], opts_, single_entry, ctx_->base_url, now);
  };
  return Response::Json(200, Paginate(data_.records.size(), page, match, render, true));
}

Response BrexEmulator::GetRecord(Request& req) {
  const AccountingRecord* r = data_.FindRecord(req.Param("record_id"));
  if (!r) return AcctError(404, "NOT_FOUND", "Accounting record not found: " + req.Param("record_id"));
  bool single_entry = false;
  if (auto v = req.Query("single_entry")) {
    auto b = ParseBool(*v);
    if (!b) return AcctError(400, "INVALID_REQUEST", "single_entry must be true or false");
    single_entry = *b;
  }
  return Response::Json(200, RecordJson(data_, *r, opts_, single_entry, ctx_->base_url, ctx_->clock.Now()));
}

Response BrexEmulator::ExportResults(Request& req) {
  auto body = req.JsonBody();
  if (!body.ok())
    return AcctError(400, "INVALID_REQUEST", "The request is malformed or contains invalid data.");
  if (!body->is_object() || !body->contains("results") || !(*body)["results"].is_array() ||
      (*body)["results"].empty()) {
    return AcctError(400, "INVALID_REQUEST", "results must be a non-empty array");
  }
  struct Item {
    std::string id;
    bool success;
    std::string reference, deep_link, error;
  };
  std::vector<Item> items;
  for (const auto& entry : (*body)["results"]) {
    const std::string id = entry.is_object() ? Str(entry, "accounting_record_id") : "";
    if (id.empty()) return AcctError(400, "INVALID_REQUEST", "each result needs an accounting_record_id");
    const bool has_success = entry.contains("success") && entry["success"].is_object();
    const bool has_failure = entry.contains("failure") && entry["failure"].is_object();
    if (has_success == has_failure) {
      return AcctError(400, "INVALID_REQUEST",
                       "result for " + id + " must have exactly one of success or failure");
    }
    Item item{id, has_success, "", "", ""};
    if (has_success) {
      const json& s = entry["success"];
      if (s.contains("reference_id") && !s["reference_id"].is_null() && !s["reference_id"].is_string()) {
        return AcctError(400, "INVALID_REQUEST", "success.reference_id must be a string or null");
      }
      if (s.contains("deep_link_url") && !s["deep_link_url"].is_string()) {
        return AcctError(400, "INVALID_REQUEST", "success.deep_link_url must be a string");
      }
      item.reference = Str(s, "reference_id");
      item.deep_link = Str(s, "deep_link_url");
    } else {
      item.error = Str(entry["failure"], "error_message");
      if (item.error.empty()) return AcctError(400, "INVALID_REQUEST", "failure.error_message is required");
    }
    items.push_back(std::move(item));
  }
  // All-or-nothing: duplicates, then unknown ids, then records not ready.
  std::vector<std::string> duplicates;
  for (size_t i = 0; i < items.size(); ++i) {
    for (size_t k = 0; k < i; ++k) {
      if (items[k].id == items[i].id &&
          std::find(duplicates.begin(), duplicates.end(), items[i].id) == duplicates.end()) {
        duplicates.push_back(items[i].id);
      }
    }
  }
  if (!duplicates.empty()) {
    return AcctError(422, "DUPLICATE_ACCOUNTING_RECORD_IDS",
                     "Duplicate accounting record ids found across success and failure results.",
                     {{"duplicate_accounting_record_ids", duplicates}});
  }
  std::vector<std::string> missing, not_ready;
  for (const auto& item : items) {
    const AccountingRecord* r = data_.FindRecord(item.id);
    if (!r) {
      missing.push_back(item.id);
    } else if (r->review_status != "READY_FOR_EXPORT") {
      not_ready.push_back(item.id);
    }
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& id : missing) list += (list.empty() ? "" : ", ") + id;
    return AcctError(404, "NOT_FOUND", "Accounting record source IDs not found: " + list,
                     {{"not_found_export_entry_source_ids", missing}});
  }
  if (!not_ready.empty()) {
    return AcctError(
        422, "ACCOUNTING_RECORD_NOT_READY_FOR_EXPORT",
        "Only accounting records with review status READY_FOR_EXPORT can be updated via this endpoint.",
        {{"not_ready_for_export_accounting_record_ids", not_ready}});
  }
  const TimePoint now = ctx_->clock.Now();
  json updated = json::array();
  for (const auto& item : items) {
    AccountingRecord* r = data_.FindRecord(item.id);
    if (item.success) {
      r->review_status = "EXPORTED";
      r->export_reference = item.reference;
      r->export_deep_link = item.deep_link;
      r->export_error.clear();
    } else {
      r->review_status = opts_.failed_export_status;
      r->export_error = item.error;
    }
    ++r->version;
    r->updated_at = now;
    updated.push_back(item.id);
  }
  return Response::Json(200, {{"updated_accounting_record_ids", updated}});
}

Response BrexEmulator::CreateIntegration(Request& req) {
  auto body = req.JsonBody();
  if (!body.ok() || !body->is_object()) {
    return AcctError(400, "INVALID_REQUEST", "The request is malformed or contains invalid data.");
  }
  const std::string vendor = Str(*body, "vendor"), account = Str(*body, "vendor_account_id");
  if (vendor.empty() || account.empty()) {
    return AcctError(400, "INVALID_REQUEST", "vendor and vendor_account_id are required");
  }
  for (const auto& i : data_.integrations) {
    if (i.status != "ACTIVE") continue;
    if (i.vendor != vendor) {
      return AcctError(409, "ACTIVE_INTEGRATION_EXISTS", "An active integration with another vendor exists.",
                       {{"integration_id", i.id}});
    }
    if (i.vendor_account_id != account) {
      return AcctError(409, "VENDOR_ACCOUNT_ID_MISMATCH",
                       "The active integration is tied to another vendor_account_id.",
                       {{"integration_id", i.id}});
    }
    return Response::Json(200, IntegrationJson(i));
  }
  data_.integrations.push_back({data_.rng.Id("int_"), vendor, account, "ACTIVE", ctx_->clock.Now()});
  return Response::Json(200, IntegrationJson(data_.integrations.back()));
}

Response BrexEmulator::DisconnectIntegration(Request& req) {
  for (auto& i : data_.integrations) {
    if (i.id != req.Param("integration_id")) continue;
    if (i.status != "ACTIVE") {
      return AcctError(409, "INTEGRATION_NOT_ACTIVE", "Integration is not active.",
                       {{"integration_id", i.id}, {"current_status", i.status}});
    }
    i.status = "DISABLED";
    return Response::Json(200, IntegrationJson(i));
  }
  return AcctError(404, "NOT_FOUND", "Integration not found: " + req.Param("integration_id"));
}

Response BrexEmulator::ReactivateIntegration(Request& req) {
  Integration* target = nullptr;
  for (auto& i : data_.integrations) {
    if (i.id == req.Param("integration_id")) target = &i;
  }
  if (!target) return AcctError(404, "NOT_FOUND", "Integration not found: " + req.Param("integration_id"));
  for (const auto& i : data_.integrations) {
    if (&i != target && i.status == "ACTIVE") {
      return AcctError(409, "ACTIVE_INTEGRATION_EXISTS", "Another integration is active.",
                       {{"integration_id", i.id}});
    }
  }
  target->status = "ACTIVE";
  return Response::Json(200, IntegrationJson(*target));
}

// ---- Expenses and receipts
// ---------------------------------------------------------------------------------

ExpenseView BrexEmulator::ViewFor(const Request& req, std::optional<Response>* error) const {
  static const std::set<std::string> kExpand = {
      "location", "department",      "merchant", "receipts.download_uris", "user", "budget",
      "payment",  "spending_entity", "policy"};
  ExpenseView view;
  for (const auto& e : req.QueryAll("expand[]")) {
    if (!kExpand.count(e)) {
      *error = V1Error(400, "expand[] value '" + e + "' is invalid");
      return view;
    }
    view.expand.insert(e);
  }
  if (auto v = req.Query("load_custom_fields")) {
    auto b = ParseBool(*v);
    if (!b) {
      *error = V1Error(400, "load_custom_fields must be true or false");
      return view;
    }
    view.custom_fields = *b;
  }
  return view;
}

Response BrexEmulator::ListExpenses(Request& req) { return ListExpensesImpl(req, false); }
Response BrexEmulator::ListCardExpenses(Request& req) { return ListExpensesImpl(req, true); }

Response BrexEmulator::ListExpensesImpl(Request& req, bool card_only) {
  Page page;
  if (auto e = ParsePage(req, 1000, &page)) return *e;
  std::optional<Response> error;
  const ExpenseView view = ViewFor(req, &error);
  if (error) return *error;

  struct SetFilter {
    const char* name;
    std::vector<std::string> allowed;  // empty: any value
    std::vector<std::string> values;
  };
  std::vector<SetFilter> filters = {
      {"expense_type[]", {"CARD", "BILLPAY", "REIMBURSEMENT", "CLAWBACK", "UNSET"}, {}},
      {"status[]",
       {"DRAFT", "SUBMITTED", "APPROVED", "OUT_OF_POLICY", "VOID", "CANCELED", "SPLIT", "SETTLED"},
       {}},
      {"payment_status[]",
       {"NOT_STARTED", "PROCESSING", "CANCELED", "DECLINED", "CLEARED", "REFUNDING", "REFUNDED",
        "CASH_ADVANCE", "CREDITED", "AWAITING_PAYMENT", "SCHEDULED"},
       {}},
      {"user_id[]", {}, {}},
      {"budget_id[]", {}, {}},
      {"parent_expense_id[]", {}, {}},
      {"spending_entity_id[]", {}, {}},
  };
  for (auto& f : filters) {
    f.values = req.QueryAll(f.name);
    for (const auto& v : f.values) {
      if (!f.allowed.empty() && std::find(f.allowed.begin(), f.allowed.end(), v) == f.allowed.end()) {
        return V1Error(400, std::string(f.name) + " value '" + v + "' is invalid");
      }
    }
  }
  struct Range {
    const char* start;
    const char* end;
    std::optional<TimePoint> from, to;
  };
  Range ranges[] = {{"purchased_at_start", "purchased_at_end", {}, {}},
                    {"updated_at_start", "updated_at_end", {}, {}},
                    {"payment_posted_at_start", "payment_posted_at_end", {}, {}}};
  for (auto& r : ranges) {
    for (auto [name, slot] : {std::pair{r.start, &r.from}, std::pair{r.end, &r.to}}) {
      if (auto v = req.Query(name)) {
        *slot = ParseRfc3339(*v);
        if (!*slot) return V1Error(400, std::string(name) + " must be an RFC 3339 date-time");
      }
    }
  }
  auto in = [](const std::vector<std::string>& values, const std::string& v) {
    return values.empty() || std::find(values.begin(), values.end(), v) != values.end();
  };
  auto within = [](const Range& r, TimePoint t) {
    return (!r.from || t >= *r.from) && (!r.to || t <= *r.to);
  };
  auto match = [&](size_t i) {
    const Expense& e = data_.expenses[i];
    if (card_only && e.expense_type != "CARD") return false;
    if (!in(filters[0].values, e.expense_type) || !in(filters[1].values, e.status) ||
        !in(filters[2].values, e.payment_status) || !in(filters[3].values, e.user_id) ||
        !in(filters[4].values, e.budget_id)) {
      return false;
    }
    // Seeded expenses have no parent and no spending entity, so those filters match nothing when set.
    if (!filters[5].values.empty() || !filters[6].values.empty()) return false;
    if (!within(ranges[0], e.purchased_at) || !within(ranges[1], e.updated_at)) return false;
    if ((ranges[2].from || ranges[2].to) &&
        (e.payment_status != "CLEARED" || !within(ranges[2], e.posted_at))) {
      return false;
    }
    return true;
  };
  const TimePoint now = ctx_->clock.Now();
  auto render = [&](size_t i) {
    return ExpenseJson(data_, data_.expenses[i], view, ctx_->base_url, now, opts_.receipt_url_ttl_s);
  };
  return Response::Json(200, Paginate(data_.expenses.size(), page, match, render, false));
}

Response BrexEmulator::GetExpense(Request& req) {
  std::optional<Response> error;
  const ExpenseView view = ViewFor(req, &error);
  if (error) return *error;
  const Expense* e = data_.FindExpense(req.Param("expense_id"));
  const bool card_path = req.path.rfind("/v1/expenses/card/", 0) == 0;
  if (!e || (card_path && e->expense_type != "CARD"))
    return V1Error(404, "Expense not found", "EXPENSE_NOT_FOUND");
  return Response::Json(
      200, ExpenseJson(data_, *e, view, ctx_->base_url, ctx_->clock.Now(), opts_.receipt_url_ttl_s));
}

Response BrexEmulator::UpdateCardExpense(Request& req) {
  Expense* e = data_.FindExpense(req.Param("expense_id"));
  if (!e || e->expense_type != "CARD") return V1Error(404, "Expense not found", "EXPENSE_NOT_FOUND");
  auto body = req.JsonBody();
  if (!body.ok() || !body->is_object()) return V1Error(400, "Request body must be a JSON object");
  if (!body->contains("memo") || !((*body)["memo"].is_string() || (*body)["memo"].is_null())) {
    return V1Error(400, "memo must be a string or null");
  }
  const std::string memo = (*body)["memo"].is_null() ? "" : (*body)["memo"].get<std::string>();
  if (!IsAscii(memo)) return V1Error(400, "memo is invalid: can only accept ASCII characters");
  e->memo = memo;
  e->updated_at = ctx_->clock.Now();
  for (auto& r : data_.records) {
    if (r.expense_id == e->id) {
      r.memo = memo;
      r.updated_at = e->updated_at;
      ++r.version;
    }
  }
  ExpenseView view;
  return Response::Json(
      200, ExpenseJson(data_, *e, view, ctx_->base_url, ctx_->clock.Now(), opts_.receipt_url_ttl_s));
}

Response BrexEmulator::DownloadReceipt(Request& req) {
  auto s3_error = [](int status, const char* code, const char* message) {
    return Response::Raw(status, "application/xml",
                         std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>") + code +
                             "</Code><Message>" + message + "</Message></Error>");
  };
  const Receipt* r = data_.FindReceipt(req.Param("receipt_id"));
  if (!r || r->file_name != req.Param("file_name")) {
    return s3_error(404, "NoSuchKey", "The specified key does not exist.");
  }
  const std::string expires = req.Query("Expires").value_or("");
  const std::string signature = req.Query("Signature").value_or("");
  if (!AllDigits(expires, 1, 12) || signature.empty()) {
    return s3_error(403, "AccessDenied",
                    "Query-string authentication requires the Signature and Expires parameters");
  }
  if (!ConstantTimeEquals(signature, ReceiptSignature(data_, r->id, std::stoll(expires)))) {
    return s3_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match.");
  }
  if (ctx_->clock.NowUnix() > std::stoll(expires))
    return s3_error(403, "AccessDenied", "Request has expired");
  return Response::Raw(200, "application/pdf", ReceiptPdf(data_, *r));
}

// ---- Card transactions ---------------------------------------------------------------------------------

Response BrexEmulator::ListCardTransactions(Request& req) {
  Page page;
  if (auto e = ParsePage(req, 1000, &page)) return *e;
  std::vector<std::string> users = req.QueryAll("user_ids");
  for (auto& u : req.QueryAll("user_ids[]")) users.push_back(u);
  std::optional<TimePoint> posted_start;
  if (auto v = req.Query("posted_at_start")) {
    posted_start = ParseRfc3339(*v);
    if (!posted_start) return V1Error(400, "posted_at_start must be an RFC 3339 date-time");
  }
  bool expand_expense = false;
  for (const auto& e : req.QueryAll("expand[]")) {
    if (e != "expense_id") return V1Error(400, "expand[] value '" + e + "' is invalid");
    expand_expense = true;
  }
  auto match = [&](size_t i) {
    const CardTransaction& t = data_.transactions[i];
    if (!users.empty() && std::find(users.begin(), users.end(), t.user_id) == users.end()) return false;
    // posted_at_start filters on the posting date.
    if (posted_start && FromCivil(std::stoi(FormatDate(t.posted_at).substr(0, 4)),
                                  std::stoi(FormatDate(t.posted_at).substr(5, 2)),
                                  std::stoi(FormatDate(t.posted_at).substr(8, 2))) <
                            FromCivil(std::stoi(FormatDate(*posted_start).substr(0, 4)),
                                      std::stoi(FormatDate(*posted_start).substr(5, 2)),
                                      std::stoi(FormatDate(*posted_start).substr(8, 2)))) {
      return false;
    }
    return true;
  };
  auto render = [&](size_t i) { return TransactionJson(data_.transactions[i], expand_expense); };
  return Response::Json(200, Paginate(data_.transactions.size(), page, match, render, false));
}

// GET /v2/cards/{id} (Team API): the card's owner and last four digits; the rest of Card is not emulated.
Response BrexEmulator::GetCard(Request& req) {
  const std::string id = req.Param("id");
  for (const auto& u : data_.users) {
    if (u.card_id != id || id.empty()) continue;
    // Last four digits derived from the card id (FNV-1a), stable across resets.
    uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : id) h = (h ^ c) * 0x100000001b3ULL;
    char last_four[8];
    std::snprintf(last_four, sizeof last_four, "%04u", static_cast<unsigned>(h % 10000));
    return Response::Json(200, {{"id", id},
                                {"owner", {{"type", "USER"}, {"user_id", u.id}}},
                                {"status", "ACTIVE"},
                                {"last_four", last_four},
                                {"card_name", u.first_name + "'s card"},
                                {"card_type", "VIRTUAL"},
                                {"limit_type", "USER"},
                                {"metadata", json::object()},
                                {"budget_id", nullptr}});
  }
  return V1Error(404, "Card not found", "CARD_NOT_FOUND");
}

// ---- Vendors -------------------------------------------------------------------------------------------

Result<json> BrexEmulator::PaymentAccounts(const json& accounts, const Vendor* existing) {
  if (!accounts.is_array()) return Status::Invalid("payment_accounts must be an array");
  json out = json::array();
  std::set<std::string> types;
  for (size_t i = 0; i < accounts.size(); ++i) {
    const std::string where = "payment_accounts[" + std::to_string(i) + "].details";
    const json& a = accounts[i];
    if (!a.is_object() || !a.contains("details") || !a["details"].is_object()) {
      return Status::Invalid(where + " is required");
    }
    const json& d = a["details"];
    const std::string type = Str(d, "type");
    if (!types.insert(type).second) {
      return Status::Invalid("Each vendor can only have one payment account per payment instrument type");
    }
    json details = {{"type", type}};
    if (type == "ACH" || type == "DOMESTIC_WIRE") {
      const std::string routing = Str(d, "routing_number"), account = Str(d, "account_number");
      if (!AllDigits(routing, 9, 9)) return Status::Invalid(where + ".routing_number is invalid");
      if (!AllDigits(account, 4, 17)) return Status::Invalid(where + ".account_number is invalid");
      details["routing_number"] = routing;
      details["account_number"] = account;
      if (type == "ACH") {
        const std::string account_type = Str(d, "account_type"), account_class = Str(d, "account_class");
        if (account_type != "CHECKING" && account_type != "SAVING") {
          return Status::Invalid(where + ".account_type must be CHECKING or SAVING");
        }
        if (account_class != "BUSINESS" && account_class != "PERSONAL") {
          return Status::Invalid(where + ".account_class must be BUSINESS or PERSONAL");
        }
        details["account_type"] = account_type;
        details["account_class"] = account_class;
      } else {
        if (!d.contains("address") || !d["address"].is_object())
          return Status::Invalid(where + ".address is required");
        details["address"] = d["address"];
      }
    } else if (type == "CHEQUE") {
      const std::string recipient = Str(d, "recipient_name");
      if (recipient.empty() || recipient.size() > 40 || !IsAscii(recipient)) {
        return Status::Invalid(where + ".recipient_name is invalid");
      }
      if (!d.contains("mailing_address") || !d["mailing_address"].is_object()) {
        return Status::Invalid(where + ".mailing_address is required");
      }
      details["recipient_name"] = recipient;
      details["mailing_address"] = d["mailing_address"];
    } else {
      return Status::Invalid(where + ".type is invalid");
    }
    // An updated instrument keeps its payment_instrument_id.
    std::string instrument;
    if (existing) {
      for (const auto& old : existing->payment_accounts) {
        if (old["details"]["type"] == type) instrument = old["details"]["payment_instrument_id"];
      }
    }
    details["payment_instrument_id"] = instrument.empty() ? data_.rng.Id("pi_") : instrument;
    if (d.contains("beneficiary_name") && d["beneficiary_name"].is_string()) {
      details["beneficiary_name"] = d["beneficiary_name"];
    }
    out.push_back({{"details", details}});
  }
  return out;
}

Response BrexEmulator::ListVendors(Request& req) {
  Page page;
  if (auto e = ParsePage(req, 1000, &page)) return *e;
  const std::string name = req.Query("name").value_or("");
  auto match = [&](size_t i) {
    const Vendor& v = data_.vendors[i];
    if (v.deleted) return false;
    if (name.empty()) return true;
    return opts_.vendor_name_contains ? text::ContainsIgnoreCase(v.company_name, name)
                                      : EqualsIgnoreCase(v.company_name, name);
  };
  return Response::Json(200, Paginate(
                                 data_.vendors.size(), page, match,
                                 [&](size_t i) { return VendorJson(data_.vendors[i]); }, false));
}

Response BrexEmulator::CreateVendor(Request& req) {
  static constexpr char kScope[] = "POST /v1/vendors";
  const std::string key = req.Header("Idempotency-Key").value_or("");
  if (key.empty()) return V1Error(400, "Idempotency-Key header is required");
  if (auto prior = idempotency_.Find(kScope, key)) {
    ctx_->stats.CountIdempotentReplay();
    return *prior;
  }
  auto body = req.JsonBody();
  if (!body.ok() || !body->is_object()) return V1Error(400, "Request body must be a JSON object");
  const std::string name = Str(*body, "company_name");
  if (name.empty()) return V1Error(400, "company_name is required");
  if (!IsAscii(name)) return V1Error(400, "company_name is invalid: can only accept ASCII characters");
  for (const auto& v : data_.vendors) {
    if (!v.deleted && EqualsIgnoreCase(v.company_name, name)) {
      return V1Error(opts_.duplicate_vendor_status,
                     "Vendor company_name must be unique: '" + name + "' exists");
    }
  }
  Vendor v;
  v.company_name = name;
  v.email = nullptr;
  v.phone = nullptr;
  if (body->contains("email") && !(*body)["email"].is_null()) {
    const std::string email = Str(*body, "email");
    if (email.find('@') == std::string::npos || email.find(' ') != std::string::npos) {
      return V1Error(400, "email is invalid");
    }
    v.email = email;
  }
  if (body->contains("phone") && !(*body)["phone"].is_null()) {
    if (!(*body)["phone"].is_string()) return V1Error(400, "phone is invalid");
    v.phone = (*body)["phone"];
  }
  v.payment_accounts = json::array();
  if (body->contains("payment_accounts") && !(*body)["payment_accounts"].is_null()) {
    auto accounts = PaymentAccounts((*body)["payment_accounts"], nullptr);
    if (!accounts.ok()) return V1Error(400, accounts.status().message());
    v.payment_accounts = *accounts;
  }
  v.id = data_.rng.Id("vendor_");
  data_.vendors.push_back(v);
  Response r = Response::Json(200, VendorJson(v));
  idempotency_.Remember(kScope, key, r);
  return r;
}

Response BrexEmulator::GetVendor(Request& req) {
  const Vendor* v = data_.FindVendor(req.Param("id"));
  if (!v) return V1Error(404, "Vendor not found", "VENDOR_NOT_FOUND");
  return Response::Json(200, VendorJson(*v));
}

Response BrexEmulator::UpdateVendor(Request& req) {
  const std::string key = req.Header("Idempotency-Key").value_or("");
  const std::string scope = "PUT /v1/vendors/" + req.Param("id");
  if (!key.empty()) {
    if (auto prior = idempotency_.Find(scope, key)) {
      ctx_->stats.CountIdempotentReplay();
      return *prior;
    }
  }
  Vendor* v = data_.FindVendor(req.Param("id"));
  if (!v) return V1Error(404, "Vendor not found", "VENDOR_NOT_FOUND");
  auto body = req.JsonBody();
  if (!body.ok() || !body->is_object()) return V1Error(400, "Request body must be a JSON object");
  Vendor updated = *v;
  if (body->contains("company_name") && !(*body)["company_name"].is_null()) {
    const std::string name = Str(*body, "company_name");
    if (name.empty() || !IsAscii(name)) return V1Error(400, "company_name is invalid");
    for (const auto& other : data_.vendors) {
      if (!other.deleted && other.id != v->id && EqualsIgnoreCase(other.company_name, name)) {
        return V1Error(opts_.duplicate_vendor_status,
                       "Vendor company_name must be unique: '" + name + "' exists");
      }
    }
    updated.company_name = name;
  }
  if (body->contains("email")) {
    const json& email = (*body)["email"];
    if (!email.is_null() && (!email.is_string() || email.get<std::string>().find('@') == std::string::npos)) {
      return V1Error(400, "email is invalid");
    }
    updated.email = email;
  }
  if (body->contains("phone")) {
    if (!(*body)["phone"].is_null() && !(*body)["phone"].is_string()) return V1Error(400, "phone is invalid");
    updated.phone = (*body)["phone"];
  }
  if (body->contains("payment_accounts") && !(*body)["payment_accounts"].is_null()) {
    auto accounts = PaymentAccounts((*body)["payment_accounts"], v);
    if (!accounts.ok()) return V1Error(400, accounts.status().message());
    updated.payment_accounts = *accounts;
  }
  *v = updated;
  Response r = Response::Json(200, VendorJson(*v));
  if (!key.empty()) idempotency_.Remember(scope, key, r);
  return r;
}

Response BrexEmulator::DeleteVendor(Request& req) {
  Vendor* v = data_.FindVendor(req.Param("id"));
  if (!v) return V1Error(404, "Vendor not found", "VENDOR_NOT_FOUND");
  v->deleted = true;
  return Response::Empty(200);
}

// ---- Transfers -----------------------------------------------------------------------------------------

Response BrexEmulator::ListTransfers(Request& req) {
  Page page;
  if (auto e = ParsePage(req, 1000, &page)) return *e;
  return Response::Json(200, Paginate(
                                 data_.transfers.size(), page, [](size_t) { return true; },
                                 [&](size_t i) { return data_.transfers[i]; }, false));
}

Response BrexEmulator::CreateTransfer(Request& req) {
  static constexpr char kScope[] = "POST /v1/transfers";
  const std::string key = req.Header("Idempotency-Key").value_or("");
  if (key.empty()) return V1Error(400, "Idempotency-Key header is required");
  if (auto prior = idempotency_.Find(kScope, key)) {
    ctx_->stats.CountIdempotentReplay();
    return *prior;
  }
  auto body = req.JsonBody();
  if (!body.ok() || !body->is_object()) return V1Error(400, "Request body must be a JSON object");
  const json& b = *body;
  if (!b.contains("counterparty") || !b["counterparty"].is_object())
    return V1Error(400, "counterparty is required");
  const json& cp = b["counterparty"];
  if (Str(cp, "type") == "BOOK_TRANSFER")
    return V1Error(400, "BOOK_TRANSFER is not enabled for this account");
  if (Str(cp, "type") != "VENDOR") return V1Error(400, "counterparty.type is invalid");
  const std::string instrument = Str(cp, "payment_instrument_id");
  const Vendor* vendor = nullptr;
  const json* details = nullptr;
  for (const auto& v : data_.vendors) {
    if (v.deleted) continue;
    for (const auto& a : v.payment_accounts) {
      if (a["details"]["payment_instrument_id"] == instrument) {
        vendor = &v;
        details = &a["details"];
      }
    }
  }
  if (!vendor) return V1Error(400, "counterparty.payment_instrument_id is invalid");
  if (!b.contains("amount") || !b["amount"].is_object() || !b["amount"].contains("amount") ||
      !b["amount"]["amount"].is_number_integer()) {
    return V1Error(400, "amount.amount must be an integer number of cents");
  }
  const int64_t cents = b["amount"]["amount"].get<int64_t>();
  if (cents <= 0) return V1Error(400, "amount should be positive");
  const json currency = b["amount"].value("currency", json(nullptr));
  if (!currency.is_null() && currency != "USD")
    return V1Error(400, "Currently only USD transfers are supported");
  const std::string description = Str(b, "description");
  if (description.empty()) return V1Error(400, "description is required");
  const std::string memo = Str(b, "external_memo");
  const std::string payment_type = (*details)["type"];
  const size_t memo_max = payment_type == "CHEQUE" ? 40 : 90;
  if (memo.empty() || memo.size() > memo_max || !IsAscii(memo)) {
    return V1Error(400, "external_memo is invalid (required, ASCII, at most " + std::to_string(memo_max) +
                            " characters)");
  }
  if (!b.contains("originating_account") || Str(b["originating_account"], "type") != "BREX_CASH" ||
      Str(b["originating_account"], "id") != data_.cash_account_id) {
    return V1Error(400, "originating_account is invalid");
  }
  const bool manual = Str(b, "approval_type") == "MANUAL";
  const TimePoint now = ctx_->clock.Now();
  json counterparty = {{"type", "VENDOR"}, {"id", vendor->id}, {"payment_instrument_id", instrument}};
  counterparty["routing_number"] = details->value("routing_number", json(nullptr));
  counterparty["account_number"] = details->value("account_number", json(nullptr));
  json t = {{"id", data_.rng.Id("transfer_")},
            {"counterparty", counterparty},
            {"description", description},
            {"payment_type", payment_type},
            {"amount", MoneyCents(cents)},
            {"process_date", FormatDate(now)},
            {"originating_account", {{"type", "BREX_CASH"}, {"id", data_.cash_account_id}}},
            {"status", manual ? "PENDING_APPROVAL" : "PROCESSING"},
            {"cancellation_reason", nullptr},
            {"estimated_delivery_date", FormatDate(now + std::chrono::hours(72))},
            {"creator_user_id", data_.users.front().id},
            {"created_at", FormatDate(now)},
            {"display_name", vendor->company_name},
            {"external_memo", memo}};
  data_.transfers.push_back(t);
  Response r = Response::Json(200, t);
  idempotency_.Remember(kScope, key, r);
  return r;
}

Response BrexEmulator::GetTransfer(Request& req) {
  for (const auto& t : data_.transfers) {
    if (t["id"] == req.Param("id")) return Response::Json(200, t);
  }
  return V1Error(404, "Transfer not found", "TRANSFER_NOT_FOUND");
}

// ---- Webhooks ------------------------------------------------------------------------------------------

Subscription* BrexEmulator::FindSubscription(const std::string& id) {
  for (auto& s : data_.subscriptions) {
    if (s.id == id && !s.deleted) return &s;
  }
  return nullptr;
}

namespace {
Result<std::vector<std::string>> EventTypes(const json& body) {
  if (!body.contains("event_types") || !body["event_types"].is_array() || body["event_types"].empty()) {
    return Status::Invalid("event_types must be a non-empty array");
  }
  std::vector<std::string> out;
  for (const auto& t : body["event_types"]) {
    const bool known = t.is_string() && std::find(std::begin(kEventTypes), std::end(kEventTypes),
                                                  t.get<std::string>()) != std::end(kEventTypes);
    if (!known) return Status::Invalid("event_types contains an unknown event type: " + t.dump());
    if (std::find(out.begin(), out.end(), t.get<std::string>()) == out.end())
      out.push_back(t.get<std::string>());
  }
  return out;
}
}  // namespace

Response BrexEmulator::ListWebhooks(Request& req) {
  Page page;
  if (auto e = ParsePage(req, 1000, &page)) return *e;
  return Response::Json(
      200, Paginate(
               data_.subscriptions.size(), page, [&](size_t i) { return !data_.subscriptions[i].deleted; },
               [&](size_t i) { return SubscriptionJson(data_.subscriptions[i]); }, false));
}

Response BrexEmulator::CreateWebhook(Request& req) {
  static constexpr char kScope[] = "POST /v1/webhooks";
  const std::string key = req.Header("Idempotency-Key").value_or("");
  if (key.empty()) return V1Error(400, "Idempotency-Key header is required");
  if (auto prior = idempotency_.Find(kScope, key)) {
    ctx_->stats.CountIdempotentReplay();
    return *prior;
  }
  auto body = req.JsonBody();
  if (!body.ok() || !body->is_object()) return V1Error(400, "Request body must be a JSON object");
  const std::string url = Str(*body, "url");
  if (!ValidWebhookUrl(url)) return V1Error(400, "url must be a valid HTTPS URL");
  auto types = EventTypes(*body);
  if (!types.ok()) return V1Error(400, types.status().message());
  Subscription s;
  s.id = data_.rng.Id("wsub_");
  s.url = url;
  s.event_types = *types;
  s.status = "ACTIVE";
  data_.subscriptions.push_back(s);
  Response r = Response::Json(200, SubscriptionJson(s));
  idempotency_.Remember(kScope, key, r);
  return r;
}

Response BrexEmulator::ListWebhookSecrets(Request&) {
  // A bare array, not a page: one secret, or two while a rotation is in progress.
  json out = json::array();
  for (const auto& s : data_.secrets) out.push_back({{"secret", s.secret}, {"status", s.status}});
  return Response::Json(200, out);
}

Response BrexEmulator::GetWebhook(Request& req) {
  const Subscription* s = FindSubscription(req.Param("id"));
  if (!s) return V1Error(404, "Webhook subscription not found", "WEBHOOK_SUBSCRIPTION_NOT_FOUND");
  return Response::Json(200, SubscriptionJson(*s));
}

Response BrexEmulator::UpdateWebhook(Request& req) {
  Subscription* s = FindSubscription(req.Param("id"));
  if (!s) return V1Error(404, "Webhook subscription not found", "WEBHOOK_SUBSCRIPTION_NOT_FOUND");
  auto body = req.JsonBody();
  if (!body.ok() || !body->is_object()) return V1Error(400, "Request body must be a JSON object");
  const std::string url = Str(*body, "url");
  if (!ValidWebhookUrl(url)) return V1Error(400, "url must be a valid HTTPS URL");
  auto types = EventTypes(*body);
  if (!types.ok()) return V1Error(400, types.status().message());
  const std::string status = Str(*body, "status");
  if (status != "ACTIVE" && status != "INACTIVE") return V1Error(400, "status must be ACTIVE or INACTIVE");
  s->url = url;
  s->event_types = *types;
  s->status = status;
  return Response::Json(200, SubscriptionJson(*s));
}

Response BrexEmulator::DeleteWebhook(Request& req) {
  Subscription* s = FindSubscription(req.Param("id"));
  if (!s) return V1Error(404, "Webhook subscription not found", "WEBHOOK_SUBSCRIPTION_NOT_FOUND");
  s->deleted = true;
  return Response::Empty(200);
}

// ---- Control API ---------------------------------------------------------------------------------------

std::vector<std::string> BrexEmulator::ObjectTypes() const {
  return {"accounting_records",
          "export_queue",
          "expenses",
          "card_transactions",
          "receipts",
          "vendors",
          "transfers",
          "webhook_subscriptions",
          "webhook_secrets",
          "users",
          "gl_accounts",
          "departments",
          "clients",
          "integrations",
          "oauth",
          "options",
          "company"};
}

Result<json> BrexEmulator::Objects(std::string_view type) {
  std::lock_guard lock(mu_);
  const TimePoint now = ctx_->clock.Now();
  json out = json::array();
  if (type == "accounting_records") {
    for (const auto& r : data_.records) {
      json j = RecordJson(data_, r, opts_, false, ctx_->base_url, now);
      j["_export"] = {{"reference_id", r.export_reference},
                      {"deep_link_url", r.export_deep_link},
                      {"error_message", r.export_error}};
      j["_amount_cents"] = r.cents;
      out.push_back(std::move(j));
    }
  } else if (type == "export_queue") {
    // The accounting records a connector has yet to export: what a READY_FOR_EXPORT poll returns.
    for (const auto& r : data_.records) {
      if (r.review_status == "READY_FOR_EXPORT")
        out.push_back(RecordJson(data_, r, opts_, false, ctx_->base_url, now));
    }
  } else if (type == "expenses") {
    ExpenseView all;
    all.expand = {
        "merchant", "user", "department", "location", "budget", "payment", "receipts.download_uris"};
    all.custom_fields = true;
    for (const auto& e : data_.expenses)
      out.push_back(ExpenseJson(data_, e, all, ctx_->base_url, now, opts_.receipt_url_ttl_s));
  } else if (type == "card_transactions") {
    for (const auto& t : data_.transactions) out.push_back(TransactionJson(t, true));
  } else if (type == "receipts") {
    for (const auto& r : data_.receipts) {
      out.push_back({{"id", r.id},
                     {"expense_id", r.expense_id},
                     {"file_name", r.file_name},
                     {"download_uri", ReceiptUrl(data_, r, ctx_->base_url, now, opts_.receipt_url_ttl_s)},
                     {"sha256", HexEncode(Sha256(ReceiptPdf(data_, r)))}});
    }
  } else if (type == "vendors") {
    for (const auto& v : data_.vendors) {
      json j = VendorJson(v);
      j["_deleted"] = v.deleted;
      out.push_back(std::move(j));
    }
  } else if (type == "transfers") {
    out = data_.transfers;
  } else if (type == "webhook_subscriptions") {
    for (const auto& s : data_.subscriptions) {
      json j = SubscriptionJson(s);
      j["_deleted"] = s.deleted;
      out.push_back(std::move(j));
    }
  } else if (type == "webhook_secrets") {
    for (const auto& s : data_.secrets) out.push_back({{"secret", s.secret}, {"status", s.status}});
  } else if (type == "users") {
    for (const auto& u : data_.users) out.push_back(TeamUserJson(u));
  } else if (type == "gl_accounts") {
    for (const auto& g : data_.gl_accounts) {
      out.push_back({{"brex_field_id", data_.gl_field_id},
                     {"brex_field_value_id", g.value_id},
                     {"remote_field_value_id", g.remote_value_id},
                     {"name", g.name},
                     {"known_to_ledger", g.known_to_ledger}});
    }
  } else if (type == "departments" || type == "clients") {
    const bool dep = type == "departments";
    for (const auto& v : dep ? data_.department_values : data_.clients) {
      out.push_back({{"brex_field_id", dep ? data_.department_field_id : data_.client_field_id},
                     {"brex_field_value_id", v.value_id},
                     {"remote_field_value_id", v.remote_value_id},
                     {"name", v.name}});
    }
  } else if (type == "integrations") {
    for (const auto& i : data_.integrations) out.push_back(IntegrationJson(i));
  } else if (type == "oauth") {
    out = oauth_->ToJson();
  } else if (type == "options") {
    out = opts_.ToJson();
  } else if (type == "company") {
    out = CompanyJson(data_);
  } else {
    return Status::NotFound("unknown object type '" + std::string(type) + "'");
  }
  return out;
}

Result<json> BrexEmulator::TriggerEvents(const json& request) {
  std::lock_guard lock(mu_);
  const std::string type = request["type"];
  const int64_t count = request["count"];
  const TimePoint now = ctx_->clock.Now();
  json result = {{"type", type}};

  if (type == "ACCOUNTING_RECORD_READY_FOR_EXPORT") {
    std::vector<AccountingRecord*> chosen;
    if (request.contains("record_ids")) {
      if (!request["record_ids"].is_array()) return Status::Invalid("record_ids must be an array");
      for (const auto& id : request["record_ids"]) {
        AccountingRecord* r = id.is_string() ? data_.FindRecord(id.get<std::string>()) : nullptr;
        if (!r) return Status::Invalid("unknown accounting record " + id.dump());
        if (r->review_status != "PREPARE" && r->review_status != "REVIEW") {
          return Status::Invalid("record " + r->id + " is " + r->review_status + ", not pending");
        }
        chosen.push_back(r);
      }
    } else {
      for (auto& r : data_.records) {
        if (static_cast<int64_t>(chosen.size()) >= count) break;
        if (r.review_status == "PREPARE" || r.review_status == "REVIEW") chosen.push_back(&r);
      }
    }
    json ids = json::array();
    for (AccountingRecord* r : chosen) {
      // Coding: keep what auto-coding already set, fill the rest (sometimes with an unknown GL code).
      const int pre_coded_gl = r->gl;
      CodeRecord(data_, opts_, *r);
      if (pre_coded_gl >= 0) r->gl = pre_coded_gl;
      r->review_status = "READY_FOR_EXPORT";
      ++r->version;
      r->updated_at = now;
      ids.push_back(r->id);
    }
    json webhooks = json::array();
    for (size_t i = 0; i < ids.size(); i += static_cast<size_t>(opts_.ready_event_batch_size)) {
      json batch = json::array();
      for (size_t k = i; k < ids.size() && k < i + static_cast<size_t>(opts_.ready_event_batch_size); ++k) {
        batch.push_back(ids[k]);
      }
      // The event's fields are camelCase, unlike every other Brex event.
      json body = {{"event_type", type}, {"accountingRecordIds", batch}, {"companyId", data_.company_id}};
      for (auto& id : Deliver(type, body)) webhooks.push_back(id);
    }
    result["record_ids"] = ids;
    result["webhook_ids"] = webhooks;
    return result;
  }

  if (type == "EXPENSE_PAYMENT_UPDATED") {
    json expenses = json::array(), webhooks = json::array();
    for (int64_t i = 0; i < count; ++i) {
      const size_t index = AddCardExpense(data_, opts_, now - std::chrono::minutes(2));
      const Expense& e = data_.expenses[index];
      json body = {{"event_type", type},
                   {"expense_id", e.id},
                   {"payment_status", "PENDING"},
                   {"payment_type", "PURCHASE"},
                   {"payment_status_reason", "APPROVED"},
                   {"company_id", data_.company_id},
                   {"purchased_at", FormatRfc3339(e.purchased_at, true)},
                   {"original_amount", MoneyCents(e.cents)},
                   {"billing_amount", MoneyCents(e.cents)},
                   {"card_id", e.card_id},
                   {"merchant", {{"raw_descriptor", e.descriptor}, {"mcc", e.mcc}, {"country", "USA"}}},
                   {"payment_authorization_code", data_.rng.Digits(6)},
                   {"amount", MoneyCents(e.cents)},
                   {"payment_description", e.descriptor}};
      expenses.push_back(e.id);
      for (auto& id : Deliver(type, body)) webhooks.push_back(id);
    }
    result["expense_ids"] = expenses;
    result["webhook_ids"] = webhooks;
    return result;
  }

  if (type == "TRANSFER_PROCESSED" || type == "TRANSFER_FAILED") {
    json transfers = json::array(), webhooks = json::array();
    for (auto& t : data_.transfers) {
      if (static_cast<int64_t>(transfers.size()) >= count) break;
      const std::string status = t["status"];
      if (status != "PROCESSING" && status != "SCHEDULED" && status != "PENDING_APPROVAL") continue;
      const bool ok = type == "TRANSFER_PROCESSED";
      t["status"] = ok ? "PROCESSED" : "FAILED";
      if (!ok) t["cancellation_reason"] = "INSUFFICIENT_FUNDS";
      transfers.push_back(t["id"]);
      json body = {{"event_type", type},
                   {"transfer_id", t["id"]},
                   {"payment_type", t["payment_type"]},
                   {"company_id", data_.company_id},
                   {"return_for_id", nullptr}};
      for (auto& id : Deliver(type, body)) webhooks.push_back(id);
    }
    result["transfer_ids"] = transfers;
    result["webhook_ids"] = webhooks;
    return result;
  }

  if (type == "ROTATE_WEBHOOK_SECRET") {
    if (data_.secrets.size() > 1) return Status::Invalid("a secret rotation is already in progress");
    data_.secrets.front().status = "PENDING_REVOKE";
    data_.secrets.insert(data_.secrets.begin(), {standard_webhooks::GenerateSecret(data_.rng), "ACTIVE"});
    result["secrets"] = data_.secrets.size();
    return result;
  }
  if (type == "FINISH_WEBHOOK_SECRET_ROTATION") {
    data_.secrets.erase(std::remove_if(data_.secrets.begin(), data_.secrets.end(),
                                       [](const WebhookSecret& s) { return s.status != "ACTIVE"; }),
                        data_.secrets.end());
    result["secrets"] = data_.secrets.size();
    return result;
  }
  if (type == "REVOKE_USER_TOKEN") {
    user_token_revoked_ = true;
    result["revoked"] = true;
    return result;
  }
  return Status::NotFound(
      "unknown event type '" + type +
      "'; known: ACCOUNTING_RECORD_READY_FOR_EXPORT, EXPENSE_PAYMENT_UPDATED, TRANSFER_PROCESSED, "
      "TRANSFER_FAILED, ROTATE_WEBHOOK_SECRET, FINISH_WEBHOOK_SECRET_ROTATION, REVOKE_USER_TOKEN");
}

void BrexEmulator::Reset() {
  std::lock_guard lock(mu_);
  SeedLocked();
  idempotency_.Clear();
  // Same credentials: tokens issued before the reset stay valid. Refresh tokens rotate on every use, so
  // forgetting them would strand a client that refreshed since start (the harness resets mid-run).
}

void BrexEmulator::IssueReadyGrant() {
  // The scopes the brex_oauth plugin asks for at consent (its manifest), with offline_access: a refresh
  // token, which Brex issues only for that scope (brex.md §1.2) and rotates on use (§1.2, third-party).
  auto issued = oauth_->IssueDirectWithTokens(data_.oauth_client_id, data_.users.front().id, kReadyGrantScope,
                                              ready_access_token_, ready_refresh_token_);
  (void)issued;  // fails only for an unknown client or a token in use, neither possible at Install
}

json BrexEmulator::HarnessInfo() const {
  std::lock_guard lock(mu_);
  const json ready = {{"type", "ACCOUNTING_RECORD_READY_FOR_EXPORT"}, {"count", 3}};
  const json sample = {
      {"event_type", "ACCOUNTING_RECORD_READY_FOR_EXPORT"},
      {"accountingRecordIds",
       json::array({data_.records.empty() ? std::string("accr_sample") : data_.records.front().id})},
      {"companyId", data_.company_id}};
  return {{"streams",
           {{"expenses", {{"objects", "export_queue"}, {"event", ready}}},
            {"vendors", {{"objects", "vendors"}}}}},
          {"webhook",
           {{"secret", data_.secrets.empty() ? std::string() : data_.secrets.front().secret},
            {"sample_body", sample.dump()},
            {"event", {{"type", "ACCOUNTING_RECORD_READY_FOR_EXPORT"}, {"count", 1}}}}},
          {"access_token_ttl_s", opts_.access_token_ttl_s},
          // The brex_oauth build's authorization server (its token_url is {auth_url}/v1/token).
          {"settings", {{"auth_url", ctx_->base_url + "/oauth2/default"}}}};
}

json BrexEmulator::ExtraStats() const {
  std::lock_guard lock(mu_);
  json by_status = json::object();
  for (const auto& r : data_.records) by_status[r.review_status] = by_status.value(r.review_status, 0) + 1;
  return {{"accounting_records", by_status},
          {"expenses", data_.expenses.size()},
          {"vendors", std::count_if(data_.vendors.begin(), data_.vendors.end(),
                                    [](const Vendor& v) { return !v.deleted; })},
          {"transfers", data_.transfers.size()},
          {"idempotency_keys", idempotency_.size()}};
}

}  // namespace

std::unique_ptr<Emulator> MakeBrexEmulator(const EmulatorOptions& options) {
  return std::make_unique<BrexEmulator>(options);
}

void RegisterBrexEmulator(EmulatorRegistry& registry) { registry.Register("brex", MakeBrexEmulator); }

}  // namespace mlc::sandbox::brex
