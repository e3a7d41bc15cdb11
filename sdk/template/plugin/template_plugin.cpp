// The template plugin: a complete connector to copy when writing a new one, and the stand-in source and
// target that the host's engine, crash and harness tests drive. It has two modes, chosen by settings:
//
//   generated (no `base_url` setting): no network. As a source it generates `records` deterministic expenses
//     from `seed`; as a target it keeps what it is asked to write in the host's durable state, with native
//     idempotency, so tests can count exactly-once delivery by reading the `written` stream back.
//   http (`base_url` set): a real connector for "Template Co", the fictional vendor emulated in
//     sdk/template/sandbox/. Every request goes through the host's `http` service with a relative URL; the
//     host adds the bearer token (auth kind static_bearer, secret `token`), applies the rate limits and
//     retries. This is the mode to copy for a real vendor.
//
// Reference data (manifest `reference_data`): streams `accounts` and `vendors`, which the host reads to
// resolve a write's refs — from the `accounts`/`vendors` settings in generated mode (empty by default), or
// from GET /v1/accounts and /v1/vendors in http mode.
//
// Both modes verify webhooks the same way: HMAC-SHA256 (hex) of the raw body in `x-template-signature`,
// keyed by the connection secret `webhook_secret`. The manifest describes the http mode (auth, base_url,
// rate limits); its secrets are marked not required because the generated mode needs none.
//
// State layout (all keys start with the `store` setting, default "template"):
//   <store>/obj/<idempotency_key>   the written object and its target id (present = the write landed)
//   <store>/ack/<source_id>         the latest ack of a source record
//   <store>/written/slot/<n>        n-th idempotency key written, in order (see StateLog)
//   <store>/acked/slot/<n>          n-th source id acked, in order
//   <store>/{written,acked}/next    where the next append starts probing
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/crypto.hpp"
#include "mlc/json.hpp"
#include "mlc/money.hpp"
#include "mlc/plugin.h"
#include "mlc/plugin.hpp"
#include "mlc/status.hpp"
#include "mlc/text.hpp"
#include "mlc/time.hpp"
#include "mlc/webhook_signature.hpp"

// How the host authenticates http-mode requests. The tree also builds a variant with OAuth client
// credentials (host/harness/CMakeLists.txt defines MLC_TEMPLATE_CLIENT_CREDENTIALS) so the harness can check
// a token refresh against the emulator; a copy of the template keeps just the one auth block it needs.
#ifdef MLC_TEMPLATE_CLIENT_CREDENTIALS
#define MLC_TEMPLATE_MANIFEST_AUTH \
  R"json({"kind": "client_credentials", "token_url": "{base_url}/oauth/token", "secret_fields": ["client_id", "client_secret"], "refresh_margin_s": 60})json"
#define MLC_TEMPLATE_MANIFEST_AUTH_SECRETS                                                              \
  R"json({"name": "client_id", "description": "OAuth client id (http mode).", "required": false},)json" \
  R"json({"name": "client_secret", "description": "OAuth client secret (http mode).", "required": false},)json"
#else
#define MLC_TEMPLATE_MANIFEST_AUTH R"json({"kind": "static_bearer", "secret_fields": ["token"]})json"
#define MLC_TEMPLATE_MANIFEST_AUTH_SECRETS \
  R"json({"name": "token", "description": "Template Co API token (http mode only).", "required": false},)json"
#endif

MLC_PLUGIN_MANIFEST(R"json({
  "name": "template",
  "version": "1.0.0",
  "abi": "1.2",
  "vendor": "Template (example connector)",
  "description": "Example connector: generates expenses as a source, keeps what it is asked to write in host state as a target.",
  "roles": ["source", "target"],
  "auth": )json" MLC_TEMPLATE_MANIFEST_AUTH R"json(,
  "base_url": "{base_url}",
  "rate_limits": [{"requests": 100, "per_seconds": 10}],
  "limit_headers": {"retry_after": "Retry-After"},
  "streams": [
    {"name": "expenses", "object": "expense", "cursor": "opaque", "incremental": true,
     "description": "Card expenses: Template Co's expense list in change order (http mode), or generated from the seed setting."},
    {"name": "written", "object": "expense", "cursor": "opaque", "incremental": true,
     "description": "Every object written through this connection, once per idempotency key, with x-template bookkeeping (for tests)."},
    {"name": "accounts", "object": "account", "cursor": "page", "incremental": false,
     "description": "GL accounts (reference data): Template Co's chart of accounts, or the accounts setting."},
    {"name": "vendors", "object": "vendor", "cursor": "page", "incremental": false,
     "description": "Vendors (reference data): Template Co's vendor list, or the vendors setting."}
  ],
  "reference_data": ["accounts", "vendors"],
  "writes": [
    {"object": "expense", "idempotency": "native"}
  ],
  "webhook": {"scheme": "custom", "signature_header": "x-template-signature", "tolerance_s": 300},
  "secrets": [
    )json" MLC_TEMPLATE_MANIFEST_AUTH_SECRETS R"json(
    {"name": "webhook_secret", "description": "Key of the HMAC-SHA256 signature in x-template-signature.", "required": false}
  ],
  "settings_schema": {
    "type": "object",
    "additionalProperties": false,
    "properties": {
      "base_url": {"type": "string", "pattern": "^https?://[^\\s]+$", "maxLength": 400,
                   "description": "Root of the Template Co API (e.g. the emulator's http://127.0.0.1:PORT). Set: http mode; absent: generated mode."},
      "seed": {"type": "integer", "description": "Generated mode (required there): seed of the expenses; the same seed gives the same records."},
      "records": {"type": "integer", "minimum": 0, "maximum": 1000000,
                  "description": "Generated mode (required there): how many expenses the expenses stream holds."},
      "fail_every": {"type": "integer", "minimum": 0, "default": 0,
                     "description": "Every Nth write call of an instance fails with RETRY before storing anything (0: never)."},
      "uncertain_every": {"type": "integer", "minimum": 0, "default": 0,
                          "description": "Every Nth write call of an instance stores the object, then reports UNCERTAIN (0: never)."},
      "store": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_.-]+$",
                "default": "template", "description": "Prefix of this connection's state keys."},
      "connection": {"type": "string", "minLength": 1, "maxLength": 100, "default": "template",
                     "description": "Connection name written into source.connection of generated records."},
      "accounts": {"type": "array", "maxItems": 10000,
                   "items": {"type": "object", "required": ["id", "name"], "additionalProperties": false,
                             "properties": {"id": {"type": "string", "minLength": 1}, "code": {"type": "string", "minLength": 1},
                                            "name": {"type": "string", "minLength": 1}}},
                   "description": "Generated mode: the accounts reference stream (default: none)."},
      "vendors": {"type": "array", "maxItems": 100000,
                  "items": {"type": "object", "required": ["id", "name"], "additionalProperties": false,
                            "properties": {"id": {"type": "string", "minLength": 1}, "name": {"type": "string", "minLength": 1}}},
                  "description": "Generated mode: the vendors reference stream (default: none)."}
    }
  },
  "x-test-streams": {"acked": "Acks received, one record per source id; not canonical objects, so not a declared stream."}
})json");

namespace mlc::plugins::template_plugin {
namespace {

using nlohmann::json;
namespace mj = mlc::json;  // ParseExact and typed getters (nlohmann::json is `json` here)

constexpr std::string_view kSystem = "template";
constexpr int64_t kMaxRecords = 1000000;
constexpr int64_t kDefaultPageSize = 100;
constexpr int64_t kMaxPageSize = 1000;
// Generated expenses are updated one minute apart, starting 2024-01-01T00:00:00Z.
constexpr int64_t kEpochSeconds = 1704067200;
constexpr int64_t kRecordSpacingSeconds = 60;
// Webhook deliveries whose sent_at_ms is further than this from the receive time are stale.
constexpr int64_t kWebhookToleranceMs = 5 * 60 * 1000;
constexpr std::string_view kSignatureHeader = "x-template-signature";

// ---- Deterministic data ------------------------------------------------------------------------------

// SplitMix64: tiny, well-mixed, and identical on every platform (std:: distributions are not).
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::string Pad(int64_t v, int width) {
  std::string s = std::to_string(v);
  if (static_cast<int>(s.size()) < width) s.insert(0, static_cast<size_t>(width) - s.size(), '0');
  return s;
}

// RFC 3339 ("2024-01-01T00:00:00Z", "2024-01-01T01:00:00.5+01:00") -> whole seconds since the epoch
// (fractions are dropped: `since` only needs minute resolution here).
Result<int64_t> ParseTimestamp(std::string_view s) {
  const auto seconds = time::ParseRfc3339Seconds(s);
  if (!seconds) {
    return Status::Invalid("'since' is not an RFC 3339 timestamp: '" + std::string(s.substr(0, 40)) + "'");
  }
  return *seconds;
}

struct Named {
  std::string_view code;
  std::string_view name;
};

// One generated card expense, a canonical `expense` (sdk/schemas/expense.schema.json).
json MakeExpense(int64_t seed, int64_t index, const std::string& connection) {
  static constexpr std::string_view kMerchants[] = {"Blue Bottle Coffee",
                                                    "Delta Air Lines",
                                                    "Hilton Hotels",
                                                    "Uber",
                                                    "Staples",
                                                    "Amazon Web Services",
                                                    "WeWork",
                                                    "United Airlines",
                                                    "Lyft",
                                                    "Office Depot",
                                                    "Marriott",
                                                    "Zoom Video",
                                                    "FedEx",
                                                    "Chipotle",
                                                    "GitHub"};
  static constexpr Named kAccounts[] = {{"6100", "Meals and Entertainment"},
                                        {"6200", "Travel"},
                                        {"6300", "Office Supplies"},
                                        {"6400", "Software"},
                                        {"6500", "Shipping"}};
  static constexpr Named kDepartments[] = {
      {"ENG", "Engineering"}, {"SAL", "Sales"}, {"FIN", "Finance"}, {"OPS", "Operations"}};

  const uint64_t r0 = Mix(static_cast<uint64_t>(seed) * 0x2545f4914f6cdd1dull + static_cast<uint64_t>(index));
  const uint64_t r1 = Mix(r0);
  const uint64_t r2 = Mix(r1);
  const std::string id = "exp_" + std::to_string(seed) + "_" + std::to_string(index);
  const int64_t updated = kEpochSeconds + index * kRecordSpacingSeconds;
  // Spent on one of the 30 days before the record was last updated.
  const int64_t spent_day = updated / 86400 - static_cast<int64_t>(r2 % 30);
  const Named& account = kAccounts[r1 % std::size(kAccounts)];
  const Named& department = kDepartments[r2 % std::size(kDepartments)];
  // 1.00 .. 999.99 USD, in cents.
  const int64_t amount_minor = 100 + static_cast<int64_t>(r0 % 99900);

  return json{
      {"type", "expense"},
      {"source",
       {{"system", std::string(kSystem)},
        {"connection", connection},
        {"id", id},
        {"version", "1"},
        {"updated_at", time::FormatRfc3339(updated)}}},
      {"links", json::object()},
      {"kind", "card"},
      {"amount", {{"amount_minor", amount_minor}, {"currency", "USD"}}},
      {"merchant", std::string(kMerchants[r0 % std::size(kMerchants)])},
      {"account", {{"code", std::string(account.code)}, {"name", std::string(account.name)}}},
      {"dimensions",
       {{"department", {{"code", std::string(department.code)}, {"name", std::string(department.name)}}}}},
      {"memo", "Template expense " + std::to_string(index) + " (seed " + std::to_string(seed) + ")"},
      {"spent_at", time::FormatDate(spent_day)},
      {"card_last4", Pad(static_cast<int64_t>(r1 % 10000), 4)},
      {"status", "posted"},
  };
}

// ---- Cursors -----------------------------------------------------------------------------------------

// Cursors are opaque to the host: base64 of a decimal offset.
std::string EncodeCursor(int64_t offset) { return crypto::Base64Encode(std::to_string(offset)); }

Result<int64_t> DecodeCursor(const json& cursor) {
  if (cursor.is_null()) return int64_t{0};
  if (!cursor.is_string()) return Status::Invalid("cursor must be a string or null");
  auto raw = crypto::Base64Decode(cursor.get<std::string>());
  if (!raw.ok()) return Status::Invalid("malformed cursor");
  const std::string& text = *raw;
  if (text.empty() || text.size() > 18) return Status::Invalid("malformed cursor");
  int64_t offset = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return Status::Invalid("malformed cursor");
    offset = offset * 10 + (c - '0');
  }
  return offset;
}

Result<int64_t> PageLimit(const json& request) {
  auto it = request.find("limit");
  if (it == request.end() || it->is_null()) return kDefaultPageSize;
  if (!it->is_number_integer() && !it->is_number_unsigned())
    return Status::Invalid("limit must be an integer");
  const int64_t limit = it->get<int64_t>();
  if (limit < 1) return Status::Invalid("limit must be at least 1");
  return limit < kMaxPageSize ? limit : kMaxPageSize;
}

// ---- Settings ----------------------------------------------------------------------------------------

struct Settings {
  int64_t seed = 0;
  int64_t records = 0;
  int64_t fail_every = 0;
  int64_t uncertain_every = 0;
  std::string store = "template";
  std::string connection = "template";
  std::string base_url;           // non-empty: http mode
  json accounts = json::array();  // generated mode reference data: [{id, code?, name}]
  json vendors = json::array();   // [{id, name}]

  bool http() const { return !base_url.empty(); }
};

// Mirrors the manifest's settings_schema: the host validates against it too, but a plugin must not trust
// that it did (a test or an older host may not).
Result<Settings> ParseSettings(const json& doc) {
  Settings s;
  for (const auto& [key, value] : doc.items()) {
    if (key != "seed" && key != "records" && key != "fail_every" && key != "uncertain_every" &&
        key != "store" && key != "connection" && key != "base_url" && key != "accounts" && key != "vendors") {
      return Status::Invalid("unknown setting '" + key + "'");
    }
  }
  auto integer = [&](const char* name, bool required, int64_t min, int64_t max, int64_t* out) -> Status {
    auto it = doc.find(name);
    if (it == doc.end()) {
      return required ? Status::Invalid(std::string("setting '") + name + "' is required") : Status::Ok();
    }
    if (!it->is_number_integer())
      return Status::Invalid(std::string("setting '") + name + "' must be an integer");
    const int64_t v = it->get<int64_t>();
    if (v < min || v > max) {
      return Status::Invalid(std::string("setting '") + name + "' must be between " + std::to_string(min) +
                             " and " + std::to_string(max));
    }
    *out = v;
    return Status::Ok();
  };
  if (auto it = doc.find("base_url"); it != doc.end()) {
    const bool ok = it->is_string() && (it->get_ref<const std::string&>().rfind("http://", 0) == 0 ||
                                        it->get_ref<const std::string&>().rfind("https://", 0) == 0);
    if (!ok) return Status::Invalid("setting 'base_url' must be an http:// or https:// URL");
    s.base_url = it->get<std::string>();
  }
  // seed and records describe the generated data, so only the generated mode needs them.
  constexpr int64_t kAny = INT64_MAX;
  MLC_RETURN_IF_ERROR(integer("seed", !s.http(), INT64_MIN, kAny, &s.seed));
  MLC_RETURN_IF_ERROR(integer("records", !s.http(), 0, kMaxRecords, &s.records));
  MLC_RETURN_IF_ERROR(integer("fail_every", false, 0, kAny, &s.fail_every));
  MLC_RETURN_IF_ERROR(integer("uncertain_every", false, 0, kAny, &s.uncertain_every));
  if (auto it = doc.find("store"); it != doc.end()) {
    if (!it->is_string()) return Status::Invalid("setting 'store' must be a string");
    s.store = it->get<std::string>();
    if (s.store.empty() || s.store.size() > 64)
      return Status::Invalid("setting 'store' must be 1 to 64 characters");
    for (char c : s.store) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '.' || c == '-';
      if (!ok) return Status::Invalid("setting 'store' may hold only letters, digits, '_', '.' and '-'");
    }
  }
  for (const char* list : {"accounts", "vendors"}) {
    auto it = doc.find(list);
    if (it == doc.end()) continue;
    if (!it->is_array()) return Status::Invalid(std::string("setting '") + list + "' must be an array");
    for (const auto& item : *it) {
      const bool ok = item.is_object() && item.contains("id") && item["id"].is_string() &&
                      item.contains("name") && item["name"].is_string() &&
                      (!item.contains("code") || item["code"].is_string());
      if (!ok) {
        return Status::Invalid(std::string("setting '") + list + "': every item needs string id and name" +
                               (std::string(list) == "accounts" ? " (and optionally code)" : ""));
      }
    }
    (std::string(list) == "accounts" ? s.accounts : s.vendors) = *it;
  }
  if (auto it = doc.find("connection"); it != doc.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
      return Status::Invalid("setting 'connection' must be a non-empty string");
    }
    s.connection = it->get<std::string>();
  }
  return s;
}

// ---- Durable lists in host state ---------------------------------------------------------------------

// An append-only list of keys in host state, which offers only get/put. Slot n holds the n-th key; `next`
// is a hint of the first free slot. Appends probe forward from the hint, so a crash between writing a
// slot and advancing the hint loses nothing. Two instances appending at the very same moment may both
// claim one slot (the state service has no compare-and-swap): concurrent writers that are counted need
// their own `store`.
class StateLog {
 public:
  StateLog(const sdk::Host& host, std::string prefix) : host_(host), prefix_(std::move(prefix)) {}

  // Appends `key`; returns its slot.
  Result<int64_t> Append(std::string_view key) const {
    MLC_ASSIGN_OR_RETURN(std::optional<std::string> hint, host_.GetState(prefix_ + "/next"));
    int64_t slot = 0;
    if (hint) {
      auto parsed = mj::IntField(mj::Parse(*hint).value_or(json()), "next");
      if (!parsed.ok() || *parsed < 0) return Status::Error("corrupt state at " + prefix_ + "/next");
      slot = *parsed;
    }
    for (;; ++slot) {
      MLC_ASSIGN_OR_RETURN(std::optional<std::string> taken, host_.GetState(SlotKey(slot)));
      if (!taken) break;
    }
    MLC_RETURN_IF_ERROR(host_.PutState(SlotKey(slot), key));
    MLC_RETURN_IF_ERROR(host_.PutState(prefix_ + "/next", json{{"next", slot + 1}}.dump()));
    return slot;
  }

  // The key in `slot`, or nullopt past the end.
  Result<std::optional<std::string>> At(int64_t slot) const { return host_.GetState(SlotKey(slot)); }

 private:
  std::string SlotKey(int64_t slot) const { return prefix_ + "/slot/" + std::to_string(slot); }

  const sdk::Host& host_;
  std::string prefix_;
};

// ---- Template Co over HTTP (http mode) ---------------------------------------------------------------

// Template Co answers at most 100 items per page.
constexpr int64_t kVendorMaxPage = 100;

// What a Template Co error response means for the operation that received it. Its body is
// {"error": {"code", "message"}}; the message is the vendor's and holds no secret.
Status VendorError(const sdk::HttpResponse& r, std::string_view what) {
  std::string message = std::string(what) + ": HTTP " + std::to_string(r.status);
  if (auto doc = r.Json(); doc.ok() && doc->is_object()) {
    const json error = doc->value("error", json::object());
    if (error.is_object() && error.contains("message") && error["message"].is_string())
      message += ": " + error["message"].get<std::string>();
  }
  if (r.status == 401 || r.status == 403) return Status::Auth(message);
  if (r.status == 429 || r.status >= 500) return Status::Retry(message);
  if (r.status == 400 || r.status == 404 || r.status == 409 || r.status == 422)
    return Status::Invalid(message);
  return Status::Error(message);
}

// A reference the host resolved (refs.account = "6100" or {"id"|"code": ...}), else the object's own.
std::string RefCode(const json& ref) {
  if (ref.is_string()) return ref.get<std::string>();
  if (ref.is_object()) {
    for (const char* key : {"id", "code"}) {
      if (auto it = ref.find(key); it != ref.end() && it->is_string()) return it->get<std::string>();
    }
  }
  return {};
}

// A Template Co expense -> a canonical expense.
Result<json> ExpenseFromVendor(const json& item, const std::string& connection) {
  if (!item.is_object()) return Status::Error("Template Co returned an expense that is not an object");
  MLC_ASSIGN_OR_RETURN(std::string id, mj::StringField(item, "id"));
  MLC_ASSIGN_OR_RETURN(std::string amount, mj::StringField(item, "amount"));
  MLC_ASSIGN_OR_RETURN(std::string currency, mj::StringField(item, "currency"));
  // Template Co amounts are decimal strings in the currency's major unit ("12.50").
  auto minor = money::ParseDecimal(amount, currency);
  if (!minor.ok()) return minor.status().Wrap("expense " + id + " amount");
  MLC_ASSIGN_OR_RETURN(std::string spent_on, mj::StringField(item, "spent_on"));
  MLC_ASSIGN_OR_RETURN(std::string updated_at, mj::StringField(item, "updated_at"));
  json out = {{"type", "expense"},
              {"source",
               {{"system", std::string(kSystem)},
                {"connection", connection},
                {"id", id},
                // seq grows with every change, so it is a version the host can compare.
                {"version", std::to_string(item.value("seq", int64_t{0}))},
                {"updated_at", updated_at}}},
              {"links", json::object()},
              {"kind", "card"},
              {"amount", {{"amount_minor", *minor}, {"currency", currency}}},
              {"spent_at", spent_on},
              {"status", "posted"}};
  auto text = [&](const char* key) {
    auto it = item.find(key);
    return it != item.end() && it->is_string() && !it->get_ref<const std::string&>().empty()
               ? std::optional<std::string>(it->get<std::string>())
               : std::nullopt;
  };
  if (auto v = text("merchant")) out["merchant"] = *v;
  if (auto v = text("gl_code")) out["account"] = {{"code", *v}};
  if (auto v = text("department")) out["dimensions"] = {{"department", {{"code", *v}}}};
  if (auto v = text("memo")) out["memo"] = *v;
  if (auto v = text("card_last4")) out["card_last4"] = *v;
  return out;
}

// A canonical expense (+ the host's refs) -> the body of POST /v1/expenses. `marker` is the idempotency
// key, stored by Template Co so `lookup` can find the expense again.
Result<json> ExpenseToVendor(const json& object, const json& refs, const std::string& marker) {
  const json& amount = object["amount"];
  MLC_ASSIGN_OR_RETURN(int64_t minor, mj::IntField(amount, "amount_minor"));
  MLC_ASSIGN_OR_RETURN(std::string currency, mj::StringField(amount, "currency"));
  auto decimal = money::FormatDecimal(minor, currency);
  if (!decimal.ok()) return decimal.status().Wrap("amount");
  std::string merchant = object.value("merchant", std::string());
  if (merchant.empty() && object.contains("vendor")) merchant = object["vendor"].value("name", std::string());
  if (merchant.empty())
    return Status::Invalid("Template Co needs a merchant (or a vendor name) on every expense");
  auto spent = object.find("spent_at");
  if (spent == object.end() || !spent->is_string())
    return Status::Invalid("expense needs spent_at (YYYY-MM-DD)");
  json body = {{"amount", *decimal},
               {"currency", currency},
               {"merchant", merchant},
               {"spent_on", *spent},
               {"memo", object.value("memo", std::string())},
               {"marker", marker}};
  const json no_refs = json::object();
  const json& r = refs.is_object() ? refs : no_refs;
  std::string gl = RefCode(r.value("account", json()));
  if (gl.empty() && object.contains("account")) gl = RefCode(object["account"]);
  if (!gl.empty()) body["gl_code"] = gl;
  std::string department;
  if (auto dims = r.find("dimensions"); dims != r.end() && dims->is_object())
    department = RefCode(dims->value("department", json()));
  if (department.empty() && object.contains("dimensions") && object["dimensions"].is_object())
    department = RefCode(object["dimensions"].value("department", json()));
  if (!department.empty()) body["department"] = department;
  return body;
}

// ---- The plugin --------------------------------------------------------------------------------------

class TemplatePlugin : public sdk::Plugin {
 public:
  TemplatePlugin(sdk::Host host, const json& settings) : Plugin(host), raw_settings_(settings) {}

  Status Open() override {
    MLC_ASSIGN_OR_RETURN(settings_, ParseSettings(raw_settings_));
    return Status::Ok();
  }

  Result<json> Check(const json& /*request*/) override {
    if (settings_.http()) {
      // One cheap authenticated request: the host answers AUTH itself when the token is rejected.
      sdk::HttpRequest req;
      req.url = "/v1/me";
      MLC_ASSIGN_OR_RETURN(sdk::HttpResponse res, host().Http(req));
      if (!res.success()) return VendorError(res, "GET /v1/me");
      MLC_ASSIGN_OR_RETURN(json me, res.Json());
      return json{{"ok", true},
                  {"account",
                   {{"name", me.value("company", std::string("Template Co"))},
                    {"account_id", me.value("account_id", std::string())}}}};
    }
    return json{
        {"ok", true},
        {"account", {{"name", "Template"}, {"seed", settings_.seed}, {"records", settings_.records}}}};
  }

  Result<json> Read(const json& request) override {
    MLC_ASSIGN_OR_RETURN(std::string stream, mj::StringField(request, "stream"));
    MLC_ASSIGN_OR_RETURN(int64_t limit, PageLimit(request));
    auto cursor_it = request.find("cursor");
    const json cursor = cursor_it == request.end() ? json() : *cursor_it;
    if (settings_.http()) return HttpRead(stream, request, cursor, limit);
    MLC_ASSIGN_OR_RETURN(int64_t offset, DecodeCursor(cursor));
    if (stream == "expenses") return ReadExpenses(request, cursor, offset, limit);
    if (stream == "written") return ReadLog("written", offset, limit);
    if (stream == "acked") return ReadLog("acked", offset, limit);
    if (stream == "accounts" || stream == "vendors") return ReadReference(stream, offset, limit);
    return Status::Invalid("unknown stream '" + stream + "'");
  }

  Result<json> Write(const json& request) override {
    MLC_ASSIGN_OR_RETURN(std::string object_type, mj::StringField(request, "object_type"));
    if (object_type != "expense")
      return Status::Invalid("this plugin writes only 'expense', not '" + object_type + "'");
    MLC_ASSIGN_OR_RETURN(std::string key, mj::StringField(request, "idempotency_key"));
    if (key.empty()) return Status::Invalid("idempotency_key must not be empty");
    auto object_it = request.find("object");
    if (object_it == request.end() || !object_it->is_object())
      return Status::Invalid("object must be a JSON object");
    MLC_RETURN_IF_ERROR(ValidateExpense(*object_it));
    if (settings_.http()) return HttpWrite(request, *object_it, key);
    const std::string target_id = TargetId(key);
    if (auto dry = request.find("dry_run"); dry != request.end() && dry->is_boolean() && dry->get<bool>()) {
      return json{{"target_id", target_id}, {"dry_run", true}};
    }

    // Injected faults count every write call of this instance, repeats included.
    ++write_calls_;
    if (settings_.fail_every > 0 && write_calls_ % settings_.fail_every == 0) {
      return Status::Retry("injected failure: write call " + std::to_string(write_calls_) +
                           " (fail_every=" + std::to_string(settings_.fail_every) + ")");
    }

    const std::string obj_key = ObjKey(key);
    MLC_ASSIGN_OR_RETURN(std::optional<std::string> existing, host().GetState(obj_key));
    if (existing) {
      // Native idempotency: the first write under a key wins; repeats return its id and are counted.
      auto stored = mj::ParseExact(*existing);
      if (!stored.ok() || !stored->is_object()) return Status::Error("corrupt state at " + obj_key);
      (*stored)["writes"] = stored->value("writes", int64_t{1}) + 1;
      MLC_RETURN_IF_ERROR(host().PutState(obj_key, stored->dump()));
      return json{{"target_id", stored->value("target_id", target_id)}};
    }

    // Index first, object second: the object's presence is what makes the write count as landed, and a
    // crash in between leaves only a slot that ReadLog skips.
    MLC_ASSIGN_OR_RETURN(int64_t slot, StateLog(host(), Prefix("written")).Append(key));
    json record = {{"idempotency_key", key},
                   {"target_id", target_id},
                   {"object_type", object_type},
                   {"object", *object_it},
                   {"refs", request.value("refs", json::object())},
                   {"slot", slot},
                   {"writes", 1},
                   {"written_at_ms", host().NowMs()}};
    MLC_RETURN_IF_ERROR(host().PutState(obj_key, record.dump()));

    if (settings_.uncertain_every > 0 && write_calls_ % settings_.uncertain_every == 0) {
      return Status::Uncertain("injected uncertainty: write call " + std::to_string(write_calls_) +
                               " landed but reports UNCERTAIN (uncertain_every=" +
                               std::to_string(settings_.uncertain_every) + ")");
    }
    return json{{"target_id", target_id}};
  }

  Result<json> Lookup(const json& request) override {
    MLC_ASSIGN_OR_RETURN(std::string object_type, mj::StringField(request, "object_type"));
    if (object_type != "expense")
      return Status::Invalid("this plugin writes only 'expense', not '" + object_type + "'");
    MLC_ASSIGN_OR_RETURN(std::string key, mj::StringField(request, "idempotency_key"));
    if (settings_.http()) return HttpLookup(key);
    MLC_ASSIGN_OR_RETURN(std::optional<std::string> existing, host().GetState(ObjKey(key)));
    if (!existing) return Status::NotFound("no write with idempotency key '" + key + "'");
    auto stored = mj::ParseExact(*existing);
    if (!stored.ok() || !stored->is_object() || !stored->contains("target_id")) {
      return Status::Error("corrupt state at " + ObjKey(key));
    }
    return json{{"target_id", (*stored)["target_id"]}};
  }

  Result<json> Ack(const json& request) override {
    MLC_ASSIGN_OR_RETURN(std::string stream, mj::StringField(request, "stream"));
    if (stream != "expenses") return Status::Invalid("acks apply to stream 'expenses', not '" + stream + "'");
    auto items = request.find("items");
    if (items == request.end() || !items->is_array()) return Status::Invalid("items must be an array");
    // Validate everything before recording anything, so a bad item never leaves a half-applied batch.
    for (const json& item : *items) {
      auto source_id = mj::StringField(item, "source_id");
      if (!source_id.ok() || source_id->empty())
        return Status::Invalid("every item needs a non-empty source_id");
      if (auto ok = item.find("ok"); ok == item.end() || !ok->is_boolean()) {
        return Status::Invalid("item '" + *source_id + "': 'ok' must be a boolean");
      }
    }
    if (settings_.http()) return HttpAck(*items);
    int64_t acked = 0;
    for (const json& item : *items) {
      const std::string source_id = item["source_id"].get<std::string>();
      const std::string key = settings_.store + "/ack/" + source_id;
      MLC_ASSIGN_OR_RETURN(std::optional<std::string> existing, host().GetState(key));
      json record;
      if (existing) {
        auto stored = mj::ParseExact(*existing);
        if (!stored.ok() || !stored->is_object()) return Status::Error("corrupt state at " + key);
        record = std::move(*stored);
        record["acks"] = record.value("acks", int64_t{1}) + 1;
      } else {
        MLC_ASSIGN_OR_RETURN(int64_t slot, StateLog(host(), Prefix("acked")).Append(source_id));
        record = {{"type", "template_ack"},
                  {"source_id", source_id},
                  {"stream", stream},
                  {"slot", slot},
                  {"acks", 1}};
      }
      record["ok"] = item["ok"];
      record["target_id"] = item.value("target_id", json());
      record["reason"] = item.value("reason", json());
      record["acked_at_ms"] = host().NowMs();
      MLC_RETURN_IF_ERROR(host().PutState(key, record.dump()));
      ++acked;
    }
    return json{{"acked", acked}};
  }

  // Body: {"sent_at_ms"?: int, "events": [{"id": string, "expense_id": string}]}, signed as
  // hex(HMAC-SHA256(webhook_secret, raw body)) in x-template-signature.
  Result<json> Webhook(const json& request, std::string_view body) override {
    std::string signature;
    if (auto headers = request.find("headers"); headers != request.end() && headers->is_object()) {
      auto h = headers->find(std::string(kSignatureHeader));
      if (h != headers->end() && h->is_string()) signature = h->get<std::string>();
    }
    if (signature.empty()) return Status::Auth("missing " + std::string(kSignatureHeader) + " header");
    auto secret = host().Secret("webhook_secret");
    if (!secret.ok()) {
      if (secret.status().code() == Code::kNotFound) {
        return Status::Invalid("connection has no webhook_secret, so webhooks cannot be verified");
      }
      return secret.status();
    }
    // Hex digits of either case are accepted.
    if (!webhook::VerifyHmacSha256(*secret, body, text::AsciiLower(signature), webhook::Encoding::kHex))
      return Status::Auth("webhook signature does not match");

    // Only a verified body is parsed.
    auto doc = mj::ParseExact(body);
    if (!doc.ok()) return doc.status().Wrap("webhook body");
    if (!doc->is_object()) return Status::Invalid("webhook body must be a JSON object");
    if (auto sent = doc->find("sent_at_ms"); sent != doc->end()) {
      if (!sent->is_number_integer()) return Status::Invalid("webhook sent_at_ms must be an integer");
      int64_t received = host().NowMs();
      if (auto at = request.find("received_at_ms"); at != request.end() && at->is_number_integer()) {
        received = at->get<int64_t>();
      }
      const int64_t skew = received - sent->get<int64_t>();
      if (skew > kWebhookToleranceMs || skew < -kWebhookToleranceMs) {
        return Status::Invalid("stale webhook: sent " + std::to_string(skew / 1000) + " s from its receipt");
      }
    }
    auto events = doc->find("events");
    if (events == doc->end() || !events->is_array())
      return Status::Invalid("webhook body has no events array");
    json out = json::array();
    for (const json& event : *events) {
      auto id = mj::StringField(event, "id");
      auto expense_id = mj::StringField(event, "expense_id");
      if (!id.ok() || id->empty() || !expense_id.ok() || expense_id->empty()) {
        return Status::Invalid("every webhook event needs a non-empty id and expense_id");
      }
      // Template Co names the event (expense.created, expense.updated); older senders did not.
      const std::string type = event.contains("type") && event["type"].is_string()
                                   ? event["type"].get<std::string>()
                                   : "expense.updated";
      out.push_back({{"id", *id}, {"type", type}, {"stream", "expenses"}, {"source_id", *expense_id}});
    }
    return json{{"events", std::move(out)}};
  }

 private:
  // ---- http mode ----

  // `expenses`: Template Co's list in change order; `written`: the expenses created through the API. The
  // cursor is Template Co's own next_cursor, passed back verbatim.
  Result<json> HttpRead(const std::string& stream, const json& request, const json& cursor,
                        int64_t limit) const {
    if (stream == "accounts" || stream == "vendors") return HttpReadReference(stream, cursor, limit);
    if (stream != "expenses" && stream != "written") {
      return Status::Invalid(stream == "acked" ? "stream 'acked' exists only in generated mode"
                                               : "unknown stream '" + stream + "'");
    }
    if (!cursor.is_null() && !cursor.is_string()) return Status::Invalid("cursor must be a string or null");
    sdk::HttpRequest req;
    req.url = "/v1/expenses";
    req.query.emplace("limit", std::to_string(limit < kVendorMaxPage ? limit : kVendorMaxPage));
    if (cursor.is_string() && !cursor.get_ref<const std::string&>().empty()) {
      req.query.emplace("cursor", cursor.get<std::string>());
    } else if (auto since = request.find("since"); since != request.end() && since->is_string()) {
      req.query.emplace("updated_since", since->get<std::string>());
    }
    if (stream == "written") req.query.emplace("origin", "api");
    MLC_ASSIGN_OR_RETURN(sdk::HttpResponse res, host().Http(req));
    if (!res.success()) return VendorError(res, "GET /v1/expenses");
    MLC_ASSIGN_OR_RETURN(json page, res.Json());
    auto data = page.find("data");
    if (!page.is_object() || data == page.end() || !data->is_array())
      return Status::Error("GET /v1/expenses: the response has no data array");
    json records = json::array();
    for (const json& item : *data) {
      MLC_ASSIGN_OR_RETURN(json record, ExpenseFromVendor(item, settings_.connection));
      if (stream == "written") {
        record["x-template"] = {{"idempotency_key", item.value("marker", json())},
                                {"target_id", item["id"]},
                                {"object_type", "expense"}};
      }
      records.push_back(std::move(record));
    }
    return json{{"records", std::move(records)},
                {"next_cursor", page.value("next_cursor", json())},
                {"has_more", page.value("has_more", false)}};
  }

  // POST /v1/expenses with the idempotency key (the host sends it as Idempotency-Key, which also makes the
  // POST safe for the host to repeat) and the key as `marker`, so lookup finds the expense again.
  Result<json> HttpWrite(const json& request, const json& object, const std::string& key) {
    MLC_ASSIGN_OR_RETURN(json body, ExpenseToVendor(object, request.value("refs", json::object()), key));
    if (auto dry = request.find("dry_run"); dry != request.end() && dry->is_boolean() && dry->get<bool>()) {
      return json{{"target_id", nullptr},
                  {"dry_run", true},
                  {"request", {{"method", "POST"}, {"url", "/v1/expenses"}, {"body", body}}}};
    }
    ++write_calls_;
    if (settings_.fail_every > 0 && write_calls_ % settings_.fail_every == 0) {
      return Status::Retry("injected failure: write call " + std::to_string(write_calls_) +
                           " (fail_every=" + std::to_string(settings_.fail_every) + ")");
    }
    sdk::HttpRequest req;
    req.method = "POST";
    req.url = "/v1/expenses";
    req.headers["Content-Type"] = "application/json";
    req.body = body.dump();
    req.idempotency_key = key;
    auto res = host().Http(req);
    if (!res.ok()) {
      // The create may have reached Template Co before the connection failed: the host must look it up
      // before writing again, so a transient failure is UNCERTAIN here, never RETRY.
      const Code code = res.status().code();
      if (code == Code::kRetry || code == Code::kUncertain)
        return Status::Uncertain("POST /v1/expenses: " + res.status().message());
      return res.status();
    }
    if (res->status >= 500) {
      return Status::Uncertain("POST /v1/expenses: HTTP " + std::to_string(res->status) +
                               " may follow a create");
    }
    if (!res->success()) return VendorError(*res, "POST /v1/expenses");
    MLC_ASSIGN_OR_RETURN(json created, res->Json());
    MLC_ASSIGN_OR_RETURN(std::string id, mj::StringField(created, "id"));
    if (settings_.uncertain_every > 0 && write_calls_ % settings_.uncertain_every == 0) {
      return Status::Uncertain("injected uncertainty: write call " + std::to_string(write_calls_) +
                               " landed but reports UNCERTAIN (uncertain_every=" +
                               std::to_string(settings_.uncertain_every) + ")");
    }
    return json{{"target_id", id}};
  }

  Result<json> HttpLookup(const std::string& key) const {
    sdk::HttpRequest req;
    req.url = "/v1/expenses";
    req.query.emplace("marker", key);
    req.query.emplace("limit", "1");
    MLC_ASSIGN_OR_RETURN(sdk::HttpResponse res, host().Http(req));
    if (!res.success()) return VendorError(res, "GET /v1/expenses?marker");
    MLC_ASSIGN_OR_RETURN(json page, res.Json());
    const json data = page.is_object() ? page.value("data", json::array()) : json::array();
    if (!data.is_array() || data.empty())
      return Status::NotFound("no Template Co expense has marker '" + key + "'");
    MLC_ASSIGN_OR_RETURN(std::string id, mj::StringField(data[0], "id"));
    return json{{"target_id", id}};
  }

  // Marks the expenses exported at Template Co; marking one again just overwrites, so the host may repeat it.
  Result<json> HttpAck(const json& items) const {
    json batch = json::array();
    for (const json& item : items) {
      batch.push_back({{"expense_id", item["source_id"]},
                       {"ok", item["ok"]},
                       {"target_id", item.value("target_id", json())},
                       {"reason", item.value("reason", json())}});
    }
    sdk::HttpRequest req;
    req.method = "POST";
    req.url = "/v1/exports";
    req.headers["Content-Type"] = "application/json";
    req.body = json{{"items", batch}}.dump();
    req.idempotent = true;
    MLC_ASSIGN_OR_RETURN(sdk::HttpResponse res, host().Http(req));
    if (!res.success()) return VendorError(res, "POST /v1/exports");
    return json{{"acked", static_cast<int64_t>(batch.size())}};
  }

  // GET /v1/accounts or /v1/vendors, one page, as canonical account / vendor records.
  Result<json> HttpReadReference(const std::string& stream, const json& cursor, int64_t limit) const {
    if (!cursor.is_null() && !cursor.is_string()) return Status::Invalid("cursor must be a string or null");
    sdk::HttpRequest req;
    req.url = "/v1/" + stream;
    req.query.emplace("limit", std::to_string(limit < kVendorMaxPage ? limit : kVendorMaxPage));
    if (cursor.is_string() && !cursor.get_ref<const std::string&>().empty())
      req.query.emplace("cursor", cursor.get<std::string>());
    MLC_ASSIGN_OR_RETURN(sdk::HttpResponse res, host().Http(req));
    if (!res.success()) return VendorError(res, "GET " + req.url);
    MLC_ASSIGN_OR_RETURN(json page, res.Json());
    auto data = page.find("data");
    if (!page.is_object() || data == page.end() || !data->is_array())
      return Status::Error("GET " + req.url + ": the response has no data array");
    json records = json::array();
    for (const json& item : *data) {
      if (!item.is_object() || !item.contains("id") || !item["id"].is_string() || !item.contains("name") ||
          !item["name"].is_string())
        return Status::Error("GET " + req.url + ": an item has no id or name");
      records.push_back(ReferenceRecord(stream, item));
    }
    return json{{"records", std::move(records)},
                {"next_cursor", page.value("next_cursor", json())},
                {"has_more", page.value("has_more", false)}};
  }

  // A reference item {id, code?, name} as a canonical account or vendor of this connection.
  json ReferenceRecord(const std::string& stream, const json& item) const {
    json record = {{"type", stream == "accounts" ? "account" : "vendor"},
                   {"source",
                    {{"system", std::string(kSystem)},
                     {"connection", settings_.connection},
                     {"id", item["id"]},
                     {"version", "1"},
                     {"updated_at", "2024-01-01T00:00:00Z"}}},
                   {"links", json::object()},
                   {"name", item["name"]}};
    if (stream == "accounts") {
      record["classification"] = "expense";
      if (item.contains("code")) record["code"] = item["code"];
    } else {
      record["status"] = "active";
    }
    return record;
  }

  // ---- generated mode ----

  // `accounts` / `vendors` from the settings, paged by offset.
  Result<json> ReadReference(const std::string& stream, int64_t offset, int64_t limit) const {
    const json& all = stream == "accounts" ? settings_.accounts : settings_.vendors;
    const int64_t total = static_cast<int64_t>(all.size());
    json records = json::array();
    const int64_t end = offset + limit < total ? offset + limit : total;
    for (int64_t i = offset; i < end; ++i)
      records.push_back(ReferenceRecord(stream, all[static_cast<size_t>(i)]));
    return json{{"records", std::move(records)},
                {"next_cursor", EncodeCursor(end > offset ? end : offset)},
                {"has_more", end < total}};
  }

  Result<json> ReadExpenses(const json& request, const json& cursor, int64_t offset, int64_t limit) const {
    // `since` without a cursor starts at the first record updated at or after it.
    if (auto since = request.find("since"); cursor.is_null() && since != request.end() && !since->is_null()) {
      if (!since->is_string()) return Status::Invalid("'since' must be an RFC 3339 timestamp string");
      MLC_ASSIGN_OR_RETURN(int64_t since_s, ParseTimestamp(since->get<std::string>()));
      if (since_s > kEpochSeconds) {
        offset = (since_s - kEpochSeconds + kRecordSpacingSeconds - 1) / kRecordSpacingSeconds;
      }
    }
    json records = json::array();
    if (offset >= settings_.records) {
      // At or past the end (a cursor from the future included): nothing now, same place next time.
      return json{{"records", std::move(records)},
                  {"next_cursor", cursor.is_null() ? json(EncodeCursor(offset)) : cursor},
                  {"has_more", false}};
    }
    const int64_t end = offset + limit < settings_.records ? offset + limit : settings_.records;
    for (int64_t i = offset; i < end; ++i)
      records.push_back(MakeExpense(settings_.seed, i, settings_.connection));
    return json{{"records", std::move(records)},
                {"next_cursor", EncodeCursor(end)},
                {"has_more", end < settings_.records}};
  }

  // Pages through `written` or `acked`. Slots whose record does not point back at them are leftovers of a
  // crash between claiming the slot and storing the record, and are skipped.
  Result<json> ReadLog(std::string_view log, int64_t offset, int64_t limit) const {
    const StateLog list(host(), Prefix(log));
    json records = json::array();
    int64_t slot = offset;
    bool more = false;
    for (;; ++slot) {
      MLC_ASSIGN_OR_RETURN(std::optional<std::string> key, list.At(slot));
      if (!key) break;
      if (static_cast<int64_t>(records.size()) == limit) {
        more = true;
        break;
      }
      const std::string record_key = log == "written" ? ObjKey(*key) : settings_.store + "/ack/" + *key;
      MLC_ASSIGN_OR_RETURN(std::optional<std::string> stored, host().GetState(record_key));
      if (!stored) continue;
      auto record = mj::ParseExact(*stored);
      if (!record.ok() || !record->is_object()) return Status::Error("corrupt state at " + record_key);
      if (record->value("slot", int64_t{-1}) != slot) continue;
      records.push_back(log == "written" ? AsWrittenRecord(std::move(*record)) : std::move(*record));
    }
    return json{{"records", std::move(records)}, {"next_cursor", EncodeCursor(slot)}, {"has_more", more}};
  }

  // A `written` record is the object as it was written, plus what the target did with it under
  // "x-template" (an extension field the canonical schemas allow).
  static json AsWrittenRecord(json stored) {
    json record = stored["object"];
    record["x-template"] = {{"idempotency_key", stored["idempotency_key"]},
                            {"target_id", stored["target_id"]},
                            {"object_type", stored["object_type"]},
                            {"refs", stored["refs"]},
                            {"writes", stored["writes"]},
                            {"written_at_ms", stored["written_at_ms"]}};
    return record;
  }

  Status ValidateExpense(const json& object) const {
    if (auto type = object.find("type"); type != object.end() && *type != "expense") {
      return Status::Invalid("object.type must be 'expense'");
    }
    auto amount = object.find("amount");
    if (amount == object.end() || !amount->is_object())
      return Status::Invalid("expense needs an amount object");
    MLC_ASSIGN_OR_RETURN(int64_t minor, mj::IntField(*amount, "amount_minor"));
    (void)minor;
    MLC_ASSIGN_OR_RETURN(std::string currency, mj::StringField(*amount, "currency"));
    if (!money::IsCurrencyCode(currency))
      return Status::Invalid("amount.currency '" + currency + "' is not ISO 4217");
    return Status::Ok();
  }

  // Target ids are derived from the key so the same key yields the same id on every host and after
  // every restart, like a vendor's idempotent create.
  std::string TargetId(std::string_view key) const {
    return "tpl_" +
           crypto::HexEncode(crypto::Sha256Digest(settings_.store + "\n" + std::string(key))).substr(0, 20);
  }
  std::string ObjKey(std::string_view key) const { return settings_.store + "/obj/" + std::string(key); }
  std::string Prefix(std::string_view log) const { return settings_.store + "/" + std::string(log); }

  json raw_settings_;
  Settings settings_;
  int64_t write_calls_ = 0;
};

}  // namespace
}  // namespace mlc::plugins::template_plugin

MLC_DEFINE_PLUGIN(mlc::plugins::template_plugin::TemplatePlugin);
