// The Template Co emulator: bearer auth (a static token or client-credentials OAuth tokens), a paged,
// incremental expenses list, idempotent creates, exports and HMAC-signed webhooks, on the sandbox kit.
#include "template_emulator.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mlc/money.hpp"
#include "mlc/sandbox/crypto.hpp"
#include "mlc/sandbox/oauth.hpp"
#include "mlc/sandbox/seed.hpp"
#include "mlc/webhook_signature.hpp"

namespace mlc::sandbox::template_co {

namespace {

using json = nlohmann::json;

constexpr int64_t kDefaultLimit = 50;
constexpr int64_t kMaxLimit = 100;
constexpr char kSignatureHeader[] = "x-template-signature";
constexpr char kCreateRoute[] = "POST /v1/expenses";

const std::vector<std::string> kMerchants = {
    "Blue Bottle Coffee",  "Delta Air Lines", "Hilton Hotels", "Uber",  "Staples",
    "Amazon Web Services", "WeWork",          "FedEx",         "GitHub"};
const std::vector<std::string> kGlCodes = {"6100", "6200", "6300", "6400", "6500"};
const std::vector<std::string> kDepartments = {"ENG", "SAL", "FIN", "OPS"};
// Reference data (GET /v1/accounts, /v1/vendors): fixed, so tests can name ids.
const std::vector<std::vector<std::string>> kAccounts = {{"acc_6100", "6100", "Meals and Entertainment"},
                                                         {"acc_6200", "6200", "Travel"},
                                                         {"acc_6300", "6300", "Office Supplies"},
                                                         {"acc_6400", "6400", "Software"},
                                                         {"acc_6500", "6500", "Shipping"}};

struct Options {
  int64_t access_token_ttl_s = 3600;
  int64_t rate_limit = 100;
  int64_t rate_window_s = 10;

  static Result<Options> FromJson(const json& doc) {
    Options o;
    if (doc.is_null()) return o;
    if (!doc.is_object()) return Status::Invalid("template emulator options must be a JSON object");
    for (const auto& [key, value] : doc.items()) {
      int64_t* slot = key == "access_token_ttl_s" ? &o.access_token_ttl_s
                      : key == "rate_limit"       ? &o.rate_limit
                      : key == "rate_window_s"    ? &o.rate_window_s
                                                  : nullptr;
      if (slot == nullptr) return Status::Invalid("unknown template emulator option '" + key + "'");
      if (!value.is_number_integer() || value.get<int64_t>() < 0) {
        return Status::Invalid("template emulator option '" + key + "' must be a non-negative integer");
      }
      *slot = value.get<int64_t>();
    }
    if (o.access_token_ttl_s < 1) return Status::Invalid("access_token_ttl_s must be at least 1");
    if (o.rate_window_s < 1) return Status::Invalid("rate_window_s must be at least 1");
    return o;
  }
};

struct Expense {
  std::string id;
  int64_t seq = 0;  // position in change order; bumped by every change
  int64_t amount_minor = 0;
  std::string currency = "USD";
  std::string merchant;
  std::string gl_code;
  std::string department;
  std::string spent_on;
  std::string memo;
  std::string card_last4;
  std::string origin;  // "seed", "api" or "event"
  std::string marker;  // empty: none
  json exported;       // null until exported
  TimePoint created_at{};
  TimePoint updated_at{};
};

json ExpenseJson(const Expense& e) {
  return json{{"id", e.id},
              {"seq", e.seq},
              {"amount", money::FormatDecimal(e.amount_minor, e.currency).value_or("0")},
              {"currency", e.currency},
              {"merchant", e.merchant},
              {"gl_code", e.gl_code.empty() ? json() : json(e.gl_code)},
              {"department", e.department.empty() ? json() : json(e.department)},
              {"spent_on", e.spent_on},
              {"memo", e.memo},
              {"card_last4", e.card_last4.empty() ? json() : json(e.card_last4)},
              {"status", "posted"},
              {"origin", e.origin},
              {"marker", e.marker.empty() ? json() : json(e.marker)},
              {"exported", e.exported},
              {"created_at", FormatRfc3339(e.created_at)},
              {"updated_at", FormatRfc3339(e.updated_at)}};
}

Response ApiError(int status, std::string_view code, std::string_view message, std::string_view field = {}) {
  json error = {{"code", code}, {"message", message}};
  if (!field.empty()) error["field"] = field;
  return Response::Json(status, {{"error", std::move(error)}});
}

std::string_view CodeForStatus(int status) {
  switch (status) {
    case 400:
      return "invalid_request";
    case 401:
      return "unauthorized";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 409:
      return "conflict";
    case 413:
      return "too_large";
    case 422:
      return "invalid_request";
    case 429:
      return "rate_limited";
    default:
      return status >= 500 ? "server_error" : "error";
  }
}

// "s<seq>": the position after which a page starts.
std::optional<int64_t> ParseCursor(std::string_view cursor) {
  if (cursor.size() < 2 || cursor.size() > 19 || cursor[0] != 's') return std::nullopt;
  int64_t v = 0;
  for (char c : cursor.substr(1)) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

bool IsDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return ParseRfc3339(s).has_value();
}

class TemplateEmulator final : public Emulator {
 public:
  explicit TemplateEmulator(const EmulatorOptions& options) : seed_(options.seed), records_(options.records) {
    SeededRng rng(seed_ ^ 0x7e3a'1c0d'5eedULL);
    static_token_ = "tco_" + rng.Alnum(32);
    client_id_ = "tco_client_" + rng.Alnum(8);
    client_secret_ = rng.Alnum(40);
    webhook_secret_ = "tco_whsec_" + rng.Alnum(32);
  }

  std::string Name() const override { return "template"; }

  Status Install(Router& router, EmulatorContext& ctx) override {
    ctx_ = &ctx;
    MLC_ASSIGN_OR_RETURN(opts_, Options::FromJson(ctx.options.vendor));
    {
      std::lock_guard lock(mu_);
      SeedLocked();
    }
    OAuthOptions oauth;
    oauth.token_path = "/oauth/token";
    oauth.access_token_ttl = std::chrono::seconds(opts_.access_token_ttl_s);
    oauth.allow_authorization_code = false;
    oauth.access_token_prefix = "tco_at_";
    oauth.error_response = [](int status, std::string_view error, std::string_view description) {
      return ApiError(status, error, description);
    };
    oauth_ = std::make_unique<OAuthServer>(ctx.clock, seed_, oauth, &ctx.stats);
    oauth_->AddClient({client_id_, client_secret_, {}});
    oauth_->Install(router);

    RateLimitOptions limits;
    limits.limit = opts_.rate_limit;
    limits.window = std::chrono::seconds(opts_.rate_window_s);
    ctx.rate_limiter.Configure(limits);

    Route(router, "GET", "/v1/me", &TemplateEmulator::GetMe);
    Route(router, "GET", "/v1/expenses", &TemplateEmulator::ListExpenses);
    Route(router, "POST", "/v1/expenses", &TemplateEmulator::CreateExpense);
    Route(router, "POST", "/v1/exports", &TemplateEmulator::Export);
    Route(router, "GET", "/v1/accounts", &TemplateEmulator::ListAccounts);
    Route(router, "GET", "/v1/vendors", &TemplateEmulator::ListVendors);
    return Status::Ok();
  }

  json Credentials() const override {
    return json{{"token", static_token_},
                {"client_id", client_id_},
                {"client_secret", client_secret_},
                {"webhook_secret", webhook_secret_},
                {"token_url", ctx_ ? ctx_->base_url + "/oauth/token" : std::string()}};
  }

  std::vector<std::string> ObjectTypes() const override {
    return {"expenses", "exports", "accounts", "vendors"};
  }

  Result<json> Objects(std::string_view type) override {
    std::lock_guard lock(mu_);
    json out = json::array();
    if (type == "expenses") {
      for (const Expense& e : expenses_) out.push_back(ExpenseJson(e));
    } else if (type == "accounts") {
      for (const auto& a : kAccounts) out.push_back(json{{"id", a[0]}, {"code", a[1]}, {"name", a[2]}});
    } else if (type == "vendors") {
      for (size_t i = 0; i < kMerchants.size(); ++i) out.push_back(VendorJson(i));
    } else if (type == "exports") {
      for (const Expense& e : expenses_) {
        if (!e.exported.is_null()) out.push_back(json{{"expense_id", e.id}, {"export", e.exported}});
      }
    } else {
      return Status::NotFound("no object type '" + std::string(type) +
                              "'; known: expenses, exports, accounts, vendors");
    }
    return out;
  }

  Result<json> TriggerEvents(const json& request) override {
    const std::string type = request.value("type", std::string());
    const int64_t count = request.value("count", int64_t{1});
    std::lock_guard lock(mu_);
    json ids = json::array();
    json events = json::array();
    if (type == "expense.created") {
      for (int64_t i = 0; i < count; ++i) {
        Expense e = RandomExpenseLocked(static_cast<int64_t>(expenses_.size()), ctx_->clock.Now());
        e.origin = "event";
        ids.push_back(e.id);
        events.push_back(
            {{"id", "evt_" + std::to_string(next_event_++)}, {"type", type}, {"expense_id", e.id}});
        expenses_.push_back(std::move(e));
      }
    } else if (type == "expense.updated") {
      if (count > static_cast<int64_t>(expenses_.size())) {
        return Status::Invalid("only " + std::to_string(expenses_.size()) + " expenses exist to update");
      }
      // The oldest changes are updated: they move to the end of the change order.
      for (int64_t i = 0; i < count; ++i) {
        Expense e = std::move(expenses_.front());
        expenses_.erase(expenses_.begin());
        e.seq = ++last_seq_;
        e.updated_at = ctx_->clock.Now();
        e.memo += " (updated)";
        ids.push_back(e.id);
        events.push_back(
            {{"id", "evt_" + std::to_string(next_event_++)}, {"type", type}, {"expense_id", e.id}});
        expenses_.push_back(std::move(e));
      }
    } else {
      return Status::NotFound("unknown event type '" + type + "'; known: expense.created, expense.updated");
    }
    json result = {{type == "expense.created" ? "created" : "updated", ids}};
    result["webhook_ids"] = DeliverLocked(type, events);
    return result;
  }

  void Reset() override {
    std::lock_guard lock(mu_);
    SeedLocked();
    if (oauth_) oauth_->Reset();
  }

  json ExtraStats() const override {
    std::lock_guard lock(mu_);
    return json{{"expenses", expenses_.size()}, {"idempotency_keys", idempotency_.size()}};
  }

  json HarnessInfo() const override {
    std::lock_guard lock(mu_);
    const std::string sample_id = expenses_.empty() ? "exp_sample" : expenses_.front().id;
    const json sample_body = {
        {"sent_at_ms", 0},
        {"events",
         json::array({{{"id", "evt_sample"}, {"type", "expense.updated"}, {"expense_id", sample_id}}})}};
    return json{
        {"streams",
         {{"expenses", {{"objects", "expenses"}, {"event", {{"type", "expense.created"}, {"count", 3}}}}},
          {"accounts", {{"objects", "accounts"}}},
          {"vendors", {{"objects", "vendors"}}}}},
        {"writes", {{"expense", {{"route", kCreateRoute}, {"objects", "expenses"}}}}},
        {"webhook",
         {{"secret", webhook_secret_},
          {"sample_body", sample_body.dump()},
          {"event", {{"type", "expense.created"}, {"count", 1}}}}},
        {"access_token_ttl_s", opts_.access_token_ttl_s}};
  }

  Response ErrorResponse(const Request& /*req*/, int status, std::string_view message) const override {
    return ApiError(status, CodeForStatus(status), message);
  }

  std::optional<std::string> RateLimitKey(const Request& req) const override { return req.BearerToken(); }

  Response TooManyRequests(const Request& /*req*/, const RateDecision& decision) const override {
    const int64_t wait_s = std::max<int64_t>(1, (decision.retry_after.count() + 999) / 1000);
    Response r = ApiError(429, "rate_limited",
                          "Too many requests: at most " + std::to_string(opts_.rate_limit) + " per " +
                              std::to_string(opts_.rate_window_s) + " s per token");
    r.SetHeader("Retry-After", std::to_string(wait_s));
    return r;
  }

 private:
  using Method = Response (TemplateEmulator::*)(Request&);

  void Route(Router& router, const char* method, const char* path, Method fn) {
    router.Add(method, path, [this, fn](Request& req) {
      std::lock_guard lock(mu_);
      if (std::optional<Response> denied = AuthenticateLocked(req)) return std::move(*denied);
      return (this->*fn)(req);
    });
  }

  std::optional<Response> AuthenticateLocked(const Request& req) {
    const std::optional<std::string> token = req.BearerToken();
    if (!token || token->empty()) return ApiError(401, "unauthorized", "missing bearer token");
    if (*token == static_token_) return std::nullopt;
    const TokenCheck check = oauth_->CheckAccessToken(*token);
    if (check.state == TokenState::kValid) return std::nullopt;
    if (check.state == TokenState::kExpired)
      return ApiError(401, "token_expired", "the access token has expired");
    return ApiError(401, "unauthorized", "unknown or revoked token");
  }

  // Deterministic seed data: `records_` expenses, one minute apart from 2024-01-01.
  void SeedLocked() {
    expenses_.clear();
    idempotency_.clear();
    last_seq_ = 0;
    next_event_ = 1;
    rng_ = std::make_unique<SeededRng>(seed_);
    const TimePoint start = FromCivil(2024, 1, 1);
    for (int i = 0; i < records_; ++i) {
      Expense e = RandomExpenseLocked(i, start + std::chrono::minutes(i));
      e.origin = "seed";
      expenses_.push_back(std::move(e));
    }
  }

  Expense RandomExpenseLocked(int64_t index, TimePoint at) {
    Expense e;
    e.id = "exp_" + rng_->Alnum(12);
    e.seq = ++last_seq_;
    e.amount_minor = rng_->Uniform(100, 99999);
    e.merchant = rng_->Pick(kMerchants);
    e.gl_code = rng_->Pick(kGlCodes);
    e.department = rng_->Pick(kDepartments);
    e.spent_on = FormatDate(at - std::chrono::hours(24 * rng_->Uniform(0, 20)));
    e.memo = "Template Co expense " + std::to_string(index);
    e.card_last4 = rng_->Digits(4);
    e.created_at = at;
    e.updated_at = at;
    return e;
  }

  json DeliverLocked(const std::string& type, const json& events) {
    json ids = json::array();
    if (ctx_->options.webhook_url.empty() || events.empty()) return ids;
    const int64_t now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(ctx_->clock.Now().time_since_epoch()).count();
    WebhookMessage message;
    message.url = ctx_->options.webhook_url;
    message.body = json{{"sent_at_ms", now_ms}, {"events", events}}.dump();
    message.event_type = type;
    // Signed once: a redelivery repeats the same bytes and signature.
    message.headers = {
        {kSignatureHeader, webhook::SignHmacSha256(webhook_secret_, message.body, webhook::Encoding::kHex)}};
    ids.push_back(ctx_->webhooks.Enqueue(std::move(message)));
    return ids;
  }

  Response GetMe(Request& /*req*/) {
    return Response::Json(200, {{"company", "Template Co"}, {"account_id", "acct_" + std::to_string(seed_)}});
  }

  Response ListExpenses(Request& req) {
    int64_t limit = kDefaultLimit;
    if (auto text = req.Query("limit")) {
      char* end = nullptr;
      const long long v = std::strtoll(text->c_str(), &end, 10);
      if (text->empty() || *end != '\0' || v < 1 || v > kMaxLimit) {
        return ApiError(400, "invalid_request", "limit must be an integer from 1 to 100", "limit");
      }
      limit = v;
    }
    int64_t after = 0;
    std::optional<std::string> cursor = req.Query("cursor");
    if (cursor && !cursor->empty()) {
      auto parsed = ParseCursor(*cursor);
      if (!parsed) return ApiError(400, "invalid_cursor", "cursor is not one this API returned", "cursor");
      after = *parsed;
    }
    std::optional<TimePoint> since;
    if (auto text = req.Query("updated_since")) {
      since = ParseRfc3339(*text);
      if (!since)
        return ApiError(400, "invalid_request", "updated_since must be an RFC 3339 time", "updated_since");
    }
    const std::optional<std::string> marker = req.Query("marker");
    const std::optional<std::string> origin = req.Query("origin");

    json data = json::array();
    int64_t last = after;
    bool more = false;
    for (const Expense& e : expenses_) {  // kept in seq order
      if (e.seq <= after) continue;
      if (marker && e.marker != *marker) continue;
      if (origin && e.origin != *origin) continue;
      if (since && e.updated_at < *since) continue;
      if (static_cast<int64_t>(data.size()) == limit) {
        more = true;
        break;
      }
      data.push_back(ExpenseJson(e));
      last = e.seq;
    }
    // At the end the cursor stays put, so the next call returns only what changes after now; a cursor past
    // every change ("from the future") comes back unchanged.
    return Response::Json(
        200, {{"data", std::move(data)}, {"next_cursor", "s" + std::to_string(last)}, {"has_more", more}});
  }

  // GET /v1/accounts and /v1/vendors: the whole (small, fixed) list in pages of `limit`; the cursor is the
  // offset of the next page ("o<n>").
  Response ListReference(Request& req, const std::vector<json>& all) {
    int64_t limit = kDefaultLimit;
    if (auto text = req.Query("limit")) {
      char* end = nullptr;
      const long long v = std::strtoll(text->c_str(), &end, 10);
      if (text->empty() || *end != '\0' || v < 1 || v > kMaxLimit) {
        return ApiError(400, "invalid_request", "limit must be an integer from 1 to 100", "limit");
      }
      limit = v;
    }
    int64_t offset = 0;
    if (auto cursor = req.Query("cursor"); cursor && !cursor->empty()) {
      char* end = nullptr;
      const long long v =
          cursor->size() > 1 && (*cursor)[0] == 'o' ? std::strtoll(cursor->c_str() + 1, &end, 10) : -1;
      if (v < 0 || end == nullptr || *end != '\0') {
        return ApiError(400, "invalid_cursor", "cursor is not one this API returned", "cursor");
      }
      offset = v;
    }
    json data = json::array();
    const int64_t total = static_cast<int64_t>(all.size());
    for (int64_t i = offset; i < total && i < offset + limit; ++i)
      data.push_back(all[static_cast<size_t>(i)]);
    const int64_t next = std::min(total, std::max(offset, offset + limit));
    return Response::Json(
        200,
        {{"data", std::move(data)}, {"next_cursor", "o" + std::to_string(next)}, {"has_more", next < total}});
  }

  Response ListAccounts(Request& req) {
    std::vector<json> all;
    for (const auto& a : kAccounts) all.push_back(json{{"id", a[0]}, {"code", a[1]}, {"name", a[2]}});
    return ListReference(req, all);
  }

  Response ListVendors(Request& req) {
    std::vector<json> all;
    for (size_t i = 0; i < kMerchants.size(); ++i) all.push_back(VendorJson(i));
    return ListReference(req, all);
  }

  static json VendorJson(size_t i) {
    return json{{"id", "ven_" + std::to_string(i + 1)}, {"name", kMerchants[i]}};
  }

  Response CreateExpense(Request& req) {
    const std::optional<std::string> key = req.Header("Idempotency-Key");
    const std::string body_digest = HexEncode(Sha256(req.body));
    if (key && !key->empty()) {
      auto it = idempotency_.find(*key);
      if (it != idempotency_.end()) {
        if (it->second.first != body_digest) {
          return ApiError(409, "idempotency_conflict", "this Idempotency-Key was used with a different body");
        }
        ctx_->stats.CountIdempotentReplay();
        Response replay = it->second.second;
        replay.SetHeader("Idempotent-Replayed", "true");
        return replay;
      }
    }
    auto doc = req.JsonBody();
    if (!doc.ok() || !doc->is_object())
      return ApiError(400, "invalid_request", "the body must be a JSON object");
    auto text = [&](const char* name, bool required, size_t max_len,
                    std::string* out) -> std::optional<Response> {
      auto it = doc->find(name);
      if (it == doc->end() || it->is_null()) {
        if (required) return ApiError(422, "invalid_request", std::string(name) + " is required", name);
        return std::nullopt;
      }
      if (!it->is_string() || it->get_ref<const std::string&>().size() > max_len) {
        return ApiError(
            422, "invalid_request",
            std::string(name) + " must be a string of at most " + std::to_string(max_len) + " characters",
            name);
      }
      *out = it->get<std::string>();
      return std::nullopt;
    };
    Expense e;
    std::string amount;
    for (auto problem :
         {text("amount", true, 32, &amount), text("currency", true, 3, &e.currency),
          text("merchant", true, 300, &e.merchant), text("spent_on", true, 10, &e.spent_on),
          text("gl_code", false, 100, &e.gl_code), text("department", false, 100, &e.department),
          text("memo", false, 4000, &e.memo), text("marker", false, 200, &e.marker)}) {
      if (problem) return std::move(*problem);
    }
    if (!money::IsCurrencyCode(e.currency)) {
      return ApiError(422, "invalid_request", "currency must be an ISO 4217 code", "currency");
    }
    auto minor = money::ParseDecimal(amount, e.currency);
    if (!minor.ok()) return ApiError(422, "invalid_request", "amount must be a decimal string", "amount");
    if (e.merchant.empty()) return ApiError(422, "invalid_request", "merchant must not be empty", "merchant");
    if (!IsDate(e.spent_on))
      return ApiError(422, "invalid_request", "spent_on must be YYYY-MM-DD", "spent_on");
    e.amount_minor = *minor;
    e.id = "exp_" + rng_->Alnum(12);
    e.seq = ++last_seq_;
    e.origin = "api";
    e.created_at = e.updated_at = ctx_->clock.Now();
    Response created = Response::Json(201, ExpenseJson(e));
    expenses_.push_back(std::move(e));
    if (key && !key->empty()) idempotency_[*key] = {body_digest, created};
    return created;
  }

  Response Export(Request& req) {
    auto doc = req.JsonBody();
    if (!doc.ok() || !doc->is_object() || !doc->contains("items") || !(*doc)["items"].is_array()) {
      return ApiError(400, "invalid_request", "the body must be {\"items\": [...]}");
    }
    const json& items = (*doc)["items"];
    // The whole batch is checked before anything is marked.
    std::vector<Expense*> targets;
    for (const json& item : items) {
      if (!item.is_object() || !item.contains("expense_id") || !item["expense_id"].is_string() ||
          !item.contains("ok") || !item["ok"].is_boolean()) {
        return ApiError(422, "invalid_request", "every item needs expense_id (string) and ok (boolean)",
                        "items");
      }
      const std::string id = item["expense_id"].get<std::string>();
      auto it =
          std::find_if(expenses_.begin(), expenses_.end(), [&](const Expense& e) { return e.id == id; });
      if (it == expenses_.end()) return ApiError(422, "invalid_request", "unknown expense " + id, "items");
      targets.push_back(&*it);
    }
    for (size_t i = 0; i < targets.size(); ++i) {
      const json& item = items[i];
      targets[i]->exported = {{"ok", item["ok"]},
                              {"target_id", item.value("target_id", json())},
                              {"reason", item.value("reason", json())},
                              {"at", FormatRfc3339(ctx_->clock.Now())}};
    }
    return Response::Json(200, {{"exported", targets.size()}});
  }

  const uint64_t seed_;
  const int records_;
  std::string static_token_, client_id_, client_secret_, webhook_secret_;
  Options opts_;
  EmulatorContext* ctx_ = nullptr;
  std::unique_ptr<OAuthServer> oauth_;

  mutable std::mutex mu_;
  std::unique_ptr<SeededRng> rng_;
  std::vector<Expense> expenses_;  // in seq order
  int64_t last_seq_ = 0;
  int64_t next_event_ = 1;
  std::map<std::string, std::pair<std::string, Response>> idempotency_;  // key -> (body digest, response)
};

}  // namespace

std::unique_ptr<Emulator> MakeTemplateEmulator(const EmulatorOptions& options) {
  return std::make_unique<TemplateEmulator>(options);
}

void RegisterTemplateEmulator(EmulatorRegistry& registry) {
  registry.Register("template", [](const EmulatorOptions& options) { return MakeTemplateEmulator(options); });
}

}  // namespace mlc::sandbox::template_co
