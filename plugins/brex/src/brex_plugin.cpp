// The Brex connector plugin (a source): accounting records ready for export become canonical expenses (with
// merchant, card and receipts from the expenses and cards APIs), Payments API vendors become canonical
// vendors, `ack` reports export results back to Brex, and `webhook` verifies Standard Webhooks deliveries.
// Facts: shared/vendor-notes/brex.md; the emulator in ../sandbox serves the same shapes.
//
// Two builds from this file: brex.so (a `bxt_` user token, auth static_bearer) and brex_oauth.so
// (MLC_BREX_OAUTH: partner OAuth2 authorization code). All requests go through the host's `http` service with
// URLs relative to the base URL; the host adds the token, applies Brex's rate limit and retries 429/5xx.
//
// State (connection-scoped): base_url (the resolved API root, so the manifest's {base_url} works without the
// setting), receipt/<receipt id> (blob id and file name of a downloaded receipt).
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "brex_translate.hpp"
#include "mlc/json.hpp"
#include "mlc/plugin.h"
#include "mlc/plugin.hpp"
#include "mlc/status.hpp"
#include "mlc/text.hpp"

// Brex scopes per endpoint the plugin calls (brex.md §1.3, the specs' security blocks): GET
// /v3/accounting/records accounting.record.read, export results accounting.record.write, GET
// /v1/expenses/{id} expenses.card.readonly, GET /v1/vendors vendors.readonly, GET /v2/cards/{id}
// cards.readonly, GET /v2/company (check, i.e. `mlc connect`) companies.readonly; brex.so's keep-alive
// GET /v2/users/me users.readonly. docs/operator-guide.md lists exactly these (a unit test compares).
#define MLC_BREX_READ_SCOPES                                                                                      \
  R"json("accounting.record.read", "accounting.record.write", "expenses.card.readonly", "vendors.readonly",)json" \
  R"json( "cards.readonly", "companies.readonly")json"

#ifdef MLC_BREX_OAUTH
// Partner OAuth (brex.md §1.2-1.3): authorization code + refresh (offline_access), one-hour access tokens.
// Rotating refresh tokens are reported by third parties only; declaring rotation makes the host persist a new
// refresh token whenever one comes back, which is safe either way.
#define MLC_BREX_NAME "brex_oauth"
#define MLC_BREX_MANIFEST_AUTH                                                                  \
  R"json({"kind": "oauth2_authorization_code",)json"                                            \
  R"json( "authorize_url": "{auth_url}/v1/authorize", "token_url": "{auth_url}/v1/token",)json" \
  R"json( "scopes": ["openid", "offline_access", )json" MLC_BREX_READ_SCOPES R"json(],)json"    \
  R"json( "refresh_rotates": true, "access_ttl_s": 3600, "refresh_margin_s": 300,)json"         \
  R"json( "secret_fields": ["client_id", "client_secret", "refresh_token"]})json"
// The authorization server is its own host (accounts-api.brex.com, brex.md §1.2), so it is a setting of its
// own; the host needs it before the plugin first opens (consent, token exchange), hence required.
#define MLC_BREX_SETTINGS_REQUIRED R"json("required": ["auth_url"],)json"
#define MLC_BREX_MANIFEST_AUTH_SECRETS                                                                                                \
  R"json({"name": "client_id", "description": "Partner OAuth client id (issued by Brex developer support).", "required": true},)json" \
  R"json({"name": "client_secret", "description": "Partner OAuth client secret.", "required": true},)json"                            \
  R"json({"name": "refresh_token", "description": "Refresh token from the consent flow (offline_access).", "required": true},)json"
#else
// A user token (bxt_...) expires after 90 days without an API call (brex.md §1.1; the FAQ says 30: the
// idle_expiry_days setting overrides); the host's scheduler keeps it alive with GET /v2/users/me.
#define MLC_BREX_NAME "brex"
// `scopes` says what the token must be created with: the read scopes, users.readonly for the keep-alive, and
// openid + offline_access, which registering the webhook with the same token needs (brex.md §1.3).
#define MLC_BREX_MANIFEST_AUTH                                                                                  \
  R"json({"kind": "static_bearer", "secret_fields": ["token"], "idle_expiry_days": 90, "x-warn_days": 14,)json" \
  R"json( "keepalive": {"method": "GET", "path": "/v2/users/me"},)json"                                         \
  R"json( "scopes": [)json" MLC_BREX_READ_SCOPES                                                                \
  R"json(, "users.readonly", "openid", "offline_access"]})json"
#define MLC_BREX_SETTINGS_REQUIRED
#define MLC_BREX_MANIFEST_AUTH_SECRETS \
  R"json({"name": "token", "description": "Brex user token (bxt_...), created by an account or card admin.", "required": true},)json"
#endif

MLC_PLUGIN_MANIFEST(R"json({
  "name": ")json" MLC_BREX_NAME R"json(",
  "version": "1.0.0",
  "abi": "1.2",
  "vendor": "Brex",
  "description": "Brex source: accounting records ready for export as expenses (GL and dimensions from the accounting fields, receipts downloaded), vendors; export results reported back; Standard Webhooks.",
  "homepage": "https://developer.brex.com",
  "roles": ["source"],
  "auth": )json" MLC_BREX_MANIFEST_AUTH R"json(,
  "base_url": "{base_url}",
  "rate_limits": [{"requests": 1000, "per_seconds": 60}],
  "limit_headers": {"retry_after": "Retry-After"},
  "streams": [
    {"name": "expenses", "object": "expense", "cursor": "opaque", "incremental": true, "overlap": false,
     "description": "Card and reimbursement accounting records in READY_FOR_EXPORT (GET /v3/accounting/records), polled by updated_at; a pass resumes from its own start, so no host overlap."},
    {"name": "vendors", "object": "vendor", "cursor": "opaque", "incremental": false,
     "description": "Payments API vendors (GET /v1/vendors); every poll reads them all."}
  ],
  "webhook": {"scheme": "standard_webhooks", "signature_header": "webhook-signature", "tolerance_s": 300},
  "secrets": [
    )json" MLC_BREX_MANIFEST_AUTH_SECRETS R"json(
    {"name": "webhook_secret", "description": "Signing secret from GET /v1/webhooks/secrets (whsec_...).", "required": false},
    {"name": "webhook_secret_previous", "description": "The secret being rotated out (PENDING_REVOKE), accepted until removed.", "required": false}
  ],
  "settings_schema": {
    "type": "object",
    "additionalProperties": false,
    )json" MLC_BREX_SETTINGS_REQUIRED R"json(
    "properties": {
      "base_url": {"type": "string", "pattern": "^https?://[^\\s]+$", "maxLength": 400,
                   "description": "API root; default from environment (https://api.brex.com or https://api-staging.brex.com)."},
      "environment": {"enum": ["production", "staging"], "default": "production"},
      "auth_url": {"type": "string", "pattern": "^https?://[^\\s]+$", "maxLength": 400,
                   "description": "brex_oauth: the OAuth2 authorization server, https://accounts-api.brex.com/oauth2/default (staging: https://accounts-api.staging.brexapps.com/oauth2/default). brex (user tokens) does not use it."},
      "connection": {"type": "string", "minLength": 1, "maxLength": 100,
                     "description": "Written into source.connection (default: the plugin name)."},
      "page_size": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100,
                    "description": "Most accounting records or vendors per Brex request."},
      "gl_field": {"type": "string", "minLength": 1, "maxLength": 200, "default": "GL_ACCOUNT",
                   "description": "Accounting field (remote_field_id, brex_field_id or field_name) holding the GL account."},
      "dimension_keys": {"type": "object", "additionalProperties": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,63}$"},
                         "description": "Accounting field (remote_field_id, brex_field_id or field_name) -> canonical dimension key."},
      "reimbursement_basis": {"enum": ["accrual", "cash"], "default": "accrual",
                              "description": "Book a reimbursement at its approval (REIMBURSEMENT_EXPENSE_APPROVAL, accrual) or when it is paid (REIMBURSEMENT_EXPENSE_POST, cash); never both."},
      "record_types": {"type": "object", "additionalProperties": {"enum": ["expense", "reversal", "none"]},
                       "description": "Accounting record type -> how it books (expense, reversal = negative expense, none), over the default table."},
      "download_receipts": {"type": "boolean", "default": true},
      "card_last4": {"type": "boolean", "default": true,
                     "description": "Look up each card's last four digits (GET /v2/cards/{id}, scope cards.readonly)."},
      "deep_link_template": {"type": "string", "maxLength": 400,
                             "description": "Export results' deep_link_url, with {target_id} replaced."},
      "webhook_tolerance_s": {"type": "integer", "minimum": 1, "maximum": 86400, "default": 300},
      "idle_expiry_days": {"type": "integer", "minimum": 1, "maximum": 3650,
                           "description": "Overrides the user token's inactivity expiry (90 days)."},
      "warn_days": {"type": "integer", "minimum": 0, "maximum": 3650,
                    "description": "Warn this many days before the user token expires (14)."}
    }
  }
})json");

namespace mlc::plugins::brex {
namespace {

using nlohmann::json;
namespace mj = mlc::json;

constexpr std::string_view kSystem = MLC_BREX_NAME;
constexpr std::string_view kProduction = "https://api.brex.com";
constexpr std::string_view kStaging = "https://api-staging.brex.com";
constexpr int64_t kMaxPage = 1000;  // Brex: limit above 1000 is a 400
constexpr int64_t kMaxIds = 500;    // Brex: "ID size is limited to 500" (brex.md §3.1)
constexpr std::string_view kRecordsPath = "/v3/accounting/records";

struct Settings {
  std::string base_url;
  bool base_url_setting = false;
  std::string connection = std::string(kSystem);
  int64_t page_size = 100;
  FieldMapping mapping;
  RecordTypes types;
  bool download_receipts = true;
  bool card_last4 = true;
  std::string deep_link_template;
  int64_t webhook_tolerance_s = 300;
};

Result<Settings> ParseSettings(const json& doc) {
  static constexpr std::string_view kKnown[] = {
      "base_url",           "environment",      "connection",          "page_size",           "auth_url",
      "gl_field",           "dimension_keys",   "card_last4",          "download_receipts",   "warn_days",
      "deep_link_template", "idle_expiry_days", "webhook_tolerance_s", "reimbursement_basis", "record_types"};
  Settings s;
  for (const auto& [key, value] : doc.items()) {
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown))
      return Status::Invalid("unknown setting '" + key + "'");
  }
  auto text = [&](const char* key, std::string* out) -> Status {
    auto it = doc.find(key);
    if (it == doc.end()) return Status::Ok();
    if (!it->is_string()) return Status::Invalid(std::string("setting '") + key + "' must be a string");
    *out = it->get<std::string>();
    return Status::Ok();
  };
  auto integer = [&](const char* key, int64_t min, int64_t max, int64_t* out) -> Status {
    auto it = doc.find(key);
    if (it == doc.end()) return Status::Ok();
    if (!it->is_number_integer() || it->get<int64_t>() < min || it->get<int64_t>() > max) {
      return Status::Invalid(std::string("setting '") + key + "' must be an integer from " +
                             std::to_string(min) + " to " + std::to_string(max));
    }
    *out = it->get<int64_t>();
    return Status::Ok();
  };
  auto boolean = [&](const char* key, bool* out) -> Status {
    auto it = doc.find(key);
    if (it == doc.end()) return Status::Ok();
    if (!it->is_boolean()) return Status::Invalid(std::string("setting '") + key + "' must be true or false");
    *out = it->get<bool>();
    return Status::Ok();
  };
  std::string environment = "production";
  MLC_RETURN_IF_ERROR(text("environment", &environment));
  if (environment != "production" && environment != "staging")
    return Status::Invalid("setting 'environment' must be production or staging");
  s.base_url = std::string(environment == "staging" ? kStaging : kProduction);
  if (doc.contains("base_url")) {
    MLC_RETURN_IF_ERROR(text("base_url", &s.base_url));
    if (s.base_url.rfind("http://", 0) != 0 && s.base_url.rfind("https://", 0) != 0)
      return Status::Invalid("setting 'base_url' must be an http:// or https:// URL");
    s.base_url_setting = true;
  }
  while (!s.base_url.empty() && s.base_url.back() == '/') s.base_url.pop_back();
  // auth_url is read by the host's token manager (the manifest's {auth_url}); checked here too.
  std::string auth_url;
  MLC_RETURN_IF_ERROR(text("auth_url", &auth_url));
  if (!auth_url.empty() && auth_url.rfind("http://", 0) != 0 && auth_url.rfind("https://", 0) != 0)
    return Status::Invalid("setting 'auth_url' must be an http:// or https:// URL");
  MLC_RETURN_IF_ERROR(text("connection", &s.connection));
  if (s.connection.empty()) return Status::Invalid("setting 'connection' must not be empty");
  MLC_RETURN_IF_ERROR(integer("page_size", 1, kMaxPage, &s.page_size));
  MLC_RETURN_IF_ERROR(text("gl_field", &s.mapping.gl_field));
  if (s.mapping.gl_field.empty()) return Status::Invalid("setting 'gl_field' must not be empty");
  if (auto it = doc.find("dimension_keys"); it != doc.end()) {
    if (!it->is_object()) return Status::Invalid("setting 'dimension_keys' must be an object");
    for (const auto& [from, to] : it->items()) {
      if (!to.is_string() || DimensionKey(to.get<std::string>()) != to.get<std::string>()) {
        return Status::Invalid("setting 'dimension_keys." + from +
                               "' must be a dimension key (lower-case letters, digits, '_')");
      }
      s.mapping.dimension_keys[from] = to.get<std::string>();
    }
  }
  std::string basis = "accrual";
  MLC_RETURN_IF_ERROR(text("reimbursement_basis", &basis));
  if (basis != "accrual" && basis != "cash")
    return Status::Invalid("setting 'reimbursement_basis' must be accrual or cash");
  s.types.cash_basis = basis == "cash";
  if (auto it = doc.find("record_types"); it != doc.end()) {
    if (!it->is_object()) return Status::Invalid("setting 'record_types' must be an object");
    for (const auto& [type, booking] : it->items()) {
      const std::string where = "setting 'record_types." + type + "'";
      if (!booking.is_string()) return Status::Invalid(where + " must be expense, reversal or none");
      const std::string b = booking.get<std::string>();
      if (b == "none") {
        s.types.overrides[type] = Booking::kNone;
      } else if (b == "expense" || b == "reversal") {
        if (!ExpenseKind(type)) {
          return Status::Invalid(where + ": " + type +
                                 " is not a card or reimbursement expense type, so it can only be none");
        }
        s.types.overrides[type] = b == "expense" ? Booking::kExpense : Booking::kReversal;
      } else {
        return Status::Invalid(where + " must be expense, reversal or none");
      }
    }
  }
  MLC_RETURN_IF_ERROR(boolean("download_receipts", &s.download_receipts));
  MLC_RETURN_IF_ERROR(boolean("card_last4", &s.card_last4));
  MLC_RETURN_IF_ERROR(text("deep_link_template", &s.deep_link_template));
  MLC_RETURN_IF_ERROR(integer("webhook_tolerance_s", 1, 86400, &s.webhook_tolerance_s));
  int64_t ignored = 0;  // read by the host's token manager, validated here too
  MLC_RETURN_IF_ERROR(integer("idle_expiry_days", 1, 3650, &ignored));
  MLC_RETURN_IF_ERROR(integer("warn_days", 0, 3650, &ignored));
  return s;
}

// The scope the request `what` ("GET /v2/company") needs, for error messages; empty when unknown.
std::string_view ScopeFor(std::string_view what) {
  static constexpr std::pair<std::string_view, std::string_view> kScopes[] = {
      {"/v3/accounting/records/export-results", "accounting.record.write"},
      {"/v3/accounting/records", "accounting.record.read"},
      {"/v1/expenses", "expenses.card.readonly"},
      {"/v1/vendors", "vendors.readonly"},
      {"/v2/cards", "cards.readonly"},
      {"/v2/company", "companies.readonly"},
      {"/v2/users", "users.readonly"},
  };
  for (const auto& [path, scope] : kScopes) {
    if (what.find(path) != std::string_view::npos) return scope;
  }
  return {};
}

// What a Brex error response means. v1/v2 bodies are {"type", "message", "code"?}; the accounting API's are
// {"error_code", "message", "details"}. Messages are Brex's and carry no secret.
Status BrexError(const sdk::HttpResponse& r, std::string_view what) {
  std::string message = std::string(what) + ": HTTP " + std::to_string(r.status);
  if (auto doc = r.Json(); doc.ok() && doc->is_object()) {
    for (const char* key : {"error_code", "type", "code"}) {
      if (auto it = doc->find(key); it != doc->end() && it->is_string()) {
        message += " " + it->get<std::string>();
        break;
      }
    }
    if (auto it = doc->find("message"); it != doc->end() && it->is_string())
      message += ": " + it->get<std::string>().substr(0, 300);
  }
  // 403 is also how Brex reports an expired token ("Expired token") and a missing scope.
  if (r.status == 403) {
    if (const std::string_view scope = ScopeFor(what); !scope.empty())
      message += " (the token needs scope " + std::string(scope) + ", or it has expired)";
    return Status::Auth(message);
  }
  if (r.status == 401) return Status::Auth(message);
  if (r.status == 429 || r.status >= 500) return Status::Retry(message);
  if (r.status == 400 || r.status == 404 || r.status == 409 || r.status == 422)
    return Status::Invalid(message);
  return Status::Error(message);
}

// "?a=1&b%5B%5D=2" from name/value pairs. Repeated names (expand[], ids) are written into the URL this way:
// the host's `query` member would carry them as arrays, which its runtime does not accept yet.
std::string QueryString(const std::vector<std::pair<std::string, std::string>>& params) {
  return params.empty() ? std::string() : "?" + text::EncodeForm(params);
}

// The last path segment of a URL, without its query ("receipt-2025-04-24.pdf").
std::string FileNameOf(std::string_view url, std::string_view fallback) {
  url = url.substr(0, url.find_first_of("?#"));
  const size_t slash = url.rfind('/');
  std::string name(slash == std::string_view::npos ? url : url.substr(slash + 1));
  if (name.empty() || name.size() > 255) return std::string(fallback);
  return name;
}

using StatusMap = std::map<std::string, std::string>;  // record id -> review_status

class BrexPlugin : public sdk::Plugin {
 public:
  BrexPlugin(sdk::Host host, const json& settings) : Plugin(host), raw_settings_(settings) {}

  Status Open() override {
    MLC_ASSIGN_OR_RETURN(settings_, ParseSettings(raw_settings_));
    // The manifest's base_url is "{base_url}": without the setting, the environment's root is kept in state,
    // where the host's URL templates find it too.
    if (!settings_.base_url_setting) {
      MLC_ASSIGN_OR_RETURN(std::optional<std::string> stored, host().GetState("base_url"));
      if (!stored || *stored != settings_.base_url)
        MLC_RETURN_IF_ERROR(host().PutState("base_url", settings_.base_url));
    }
    return Status::Ok();
  }

  // `mlc connect` runs this: every request the connection will make must be allowed, so a 403 (Brex's answer
  // to a missing scope, and to an expired token) fails it naming the scope the token needs.
  Result<json> Check(const json& /*request*/) override {
    // The accounting API is what this plugin needs (and it is gated, alpha): the smallest page of it.
    MLC_ASSIGN_OR_RETURN(json records, GetJson(std::string(kRecordsPath), {{"limit", "1"}}));
    (void)records;
    MLC_ASSIGN_OR_RETURN(json company, GetJson("/v2/company", {}));
    json account = {{"name", "Brex"}};
    if (auto name = company.find("legal_name"); name != company.end() && name->is_string())
      account["name"] = *name;
    if (auto id = company.find("id"); id != company.end() && id->is_string()) account["company_id"] = *id;
#ifndef MLC_BREX_OAUTH
    // The host keeps the user token alive with this request; refused, it would keep nothing alive.
    MLC_ASSIGN_OR_RETURN(json me, GetJson("/v2/users/me", {}));
    (void)me;
#endif
    return json{{"ok", true}, {"account", std::move(account)}};
  }

  Result<json> Read(const json& request) override {
    MLC_ASSIGN_OR_RETURN(std::string stream, mj::StringField(request, "stream"));
    int64_t limit = settings_.page_size;
    if (auto it = request.find("limit"); it != request.end() && !it->is_null()) {
      if (!it->is_number_integer() || it->get<int64_t>() < 1)
        return Status::Invalid("limit must be a positive integer");
      limit = std::min(it->get<int64_t>(), settings_.page_size);
    }
    const json cursor = request.value("cursor", json());
    if (!cursor.is_null() && !cursor.is_string()) return Status::Invalid("cursor must be a string or null");
    if (stream == "expenses") return ReadExpenses(request, cursor, limit);
    if (stream == "vendors") return ReadVendors(cursor, limit);
    return Status::Invalid("unknown stream '" + stream + "' (brex serves expenses and vendors)");
  }

  Result<json> Ack(const json& request) override {
    MLC_ASSIGN_OR_RETURN(std::string stream, mj::StringField(request, "stream"));
    auto items = request.find("items");
    if (stream == "vendors") {
      // Brex has nothing to mark on a vendor that was copied elsewhere: the ack is recorded by the host only.
      if (items == request.end() || !items->is_array()) return Status::Invalid("items must be an array");
      return json{{"acked", items->size()}};
    }
    if (stream != "expenses")
      return Status::Invalid("acks apply to streams 'expenses' and 'vendors', not '" + stream + "'");
    if (items == request.end() || !items->is_array()) return Status::Invalid("items must be an array");
    // Validate the whole batch before telling Brex anything.
    std::vector<std::string> order;
    std::map<std::string, json> results;
    for (size_t i = 0; i < items->size(); ++i) {
      const json& item = (*items)[i];
      const std::string where = "items[" + std::to_string(i) + "]";
      auto source_id = mj::StringField(item, "source_id");
      if (!source_id.ok() || source_id->empty())
        return Status::Invalid(where + ": source_id must be a non-empty string");
      auto ok = item.find("ok");
      if (ok == item.end() || !ok->is_boolean()) return Status::Invalid(where + ": ok must be a boolean");
      json result = {{"accounting_record_id", *source_id}};
      if (ok->get<bool>()) {
        json success = {{"reference_id", nullptr}};
        if (auto t = item.find("target_id"); t != item.end() && !t->is_null()) {
          if (!t->is_string()) return Status::Invalid(where + ": target_id must be a string");
          success["reference_id"] = *t;
          if (!settings_.deep_link_template.empty())
            success["deep_link_url"] = DeepLink(t->get<std::string>());
        }
        result["success"] = std::move(success);
      } else {
        std::string reason = "export failed";
        if (auto r = item.find("reason");
            r != item.end() && r->is_string() && !r->get_ref<const std::string&>().empty())
          reason = r->get<std::string>().substr(0, 1000);
        result["failure"] = {{"error_message", reason}};
      }
      if (auto prior = results.find(*source_id); prior != results.end()) {
        // Brex refuses a batch naming one record twice; an exact repeat is merged, a contradiction refused.
        if (prior->second != result)
          return Status::Invalid(where + ": record " + *source_id +
                                 " is acked twice with different outcomes");
        continue;
      }
      order.push_back(*source_id);
      results.emplace(*source_id, std::move(result));
    }
    if (order.empty()) return json{{"acked", 0}};
    return ReportExportResults(order, results);
  }

  Result<json> Webhook(const json& request, std::string_view body) override {
    std::map<std::string, std::string> headers;
    if (auto h = request.find("headers"); h != request.end() && h->is_object()) {
      for (const auto& [name, value] : h->items()) {
        if (!value.is_string()) continue;
        headers[text::AsciiLower(name)] = value.get<std::string>();
      }
    }
    std::vector<std::string> secrets;
    for (const char* name : {"webhook_secret", "webhook_secret_previous"}) {
      auto secret = host().Secret(name);
      if (secret.ok()) {
        if (!secret->empty()) secrets.push_back(std::move(*secret));
      } else if (secret.status().code() != Code::kNotFound) {
        return secret.status();  // e.g. RETRY: the vault is busy; Brex will redeliver
      }
    }
    if (secrets.empty())
      return Status::Invalid("connection has no webhook_secret, so webhooks cannot be verified");
    int64_t received_at = host().NowMs();
    if (auto at = request.find("received_at_ms"); at != request.end() && at->is_number_integer())
      received_at = at->get<int64_t>();
    MLC_RETURN_IF_ERROR(VerifyWebhook(headers, body, secrets, received_at, settings_.webhook_tolerance_s));
    // The id VerifyWebhook signed over: a non-empty webhook-id, else svix-id (an empty webhook-id is absent).
    auto webhook_id = headers.find("webhook-id");
    const std::string id =
        webhook_id != headers.end() && !webhook_id->second.empty() ? webhook_id->second : headers["svix-id"];
    MLC_ASSIGN_OR_RETURN(json events, WebhookEvents(id, body));
    return json{{"events", std::move(events)}};
  }

 private:
  // GET `path` and parse the JSON answer; Brex errors become statuses.
  Result<json> GetJson(const std::string& path, std::multimap<std::string, std::string> query) const {
    sdk::HttpRequest req;
    req.url = path;
    req.query = std::move(query);
    MLC_ASSIGN_OR_RETURN(sdk::HttpResponse res, host().Http(req));
    if (!res.success()) return BrexError(res, "GET " + path);
    auto doc = res.Json();
    if (!doc.ok()) return Status::Error("GET " + path + ": " + doc.status().message());
    return doc;
  }

  // ---- expenses ----

  Result<json> ReadExpenses(const json& request, const json& cursor_doc, int64_t limit) {
    ExpenseCursor cursor;
    if (cursor_doc.is_string() && !cursor_doc.get_ref<const std::string&>().empty()) {
      MLC_ASSIGN_OR_RETURN(cursor, DecodeCursor(cursor_doc.get<std::string>()));
    } else if (auto since = request.find("since"); since != request.end() && !since->is_null()) {
      if (!since->is_string()) return Status::Invalid("'since' must be an RFC 3339 timestamp");
      auto micros = ParseTimestampMicros(since->get<std::string>());
      if (!micros.ok()) return micros.status().Wrap("since");
      cursor.since_us = *micros - 1;  // `since` is inclusive, Brex's updated_at[gt] is not
    }
    if (!cursor.brex) {
      // A new pass over what changed since the last one.
      cursor.high_us.reset();
      cursor.pass_us = host().NowMs() * 1000;
    }
    std::multimap<std::string, std::string> query = {{"review_status", "READY_FOR_EXPORT"},
                                                     {"limit", std::to_string(limit)}};
    if (cursor.brex) query.emplace("cursor", *cursor.brex);
    if (cursor.since_us) query.emplace("updated_at[gt]", FormatTimestampMicros(*cursor.since_us));
    MLC_ASSIGN_OR_RETURN(json page, GetJson(std::string(kRecordsPath), query));
    const std::string what = "GET " + std::string(kRecordsPath);
    if (!page.is_object() || !page.contains("items") || !page["items"].is_array())
      return Status::Error(what + ": the response has no items array");
    const json next = page.value("next_cursor", json());
    if (!next.is_null() && !next.is_string()) return Status::Error(what + ": next_cursor is not a string");
    bool more = next.is_string() && !next.get_ref<const std::string&>().empty();
    if (auto h = page.find("has_next_page"); h != page.end() && h->is_boolean())
      more = more && h->get<bool>();

    json records = json::array();
    for (size_t i = 0; i < page["items"].size(); ++i) {
      const json& item = page["items"][i];
      const std::string where = what + " items[" + std::to_string(i) + "]";
      // The watermark moves past every record that has an update time, rejected ones included: one bad record
      // must not hold the stream back.
      if (auto updated = ParseTimestampMicros(item.value("updated_at", std::string())); updated.ok())
        cursor.high_us = std::max(cursor.high_us.value_or(*updated), *updated);
      MLC_ASSIGN_OR_RETURN(std::optional<json> expense, ExpenseOf(item, where));
      if (expense) records.push_back(std::move(*expense));
    }

    ExpenseCursor after;
    if (more) {
      after = cursor;
      after.brex = next.get<std::string>();
    } else {
      // End of the pass: resume after the newest change seen, but never after the pass began, so a record
      // changed while the pass was paging is read again next time.
      after.since_us = cursor.since_us;
      if (cursor.high_us) {
        int64_t bound = *cursor.high_us;
        if (cursor.pass_us) bound = std::min(bound, *cursor.pass_us);
        after.since_us = std::max(cursor.since_us.value_or(bound), bound);
      }
    }
    return json{{"records", std::move(records)}, {"next_cursor", EncodeCursor(after)}, {"has_more", more}};
  }

  // A record the plugin cannot translate is left out of the page with its reason in the host's log, and the
  // page goes on (issue 13: one bad record must not stall the stream). The read ABI has no per-record
  // rejection channel, so this is the plugin's existing skip path (as for non-expense record types); the
  // record stays READY_FOR_EXPORT at Brex, unacked, and is read again once Brex changes it.
  void Reject(std::string_view what, const std::string& id, const Status& why) const {
    host().Log(MLC_LOG_WARN, std::string(what) + " " + id + " rejected, not exported: " + why.message());
  }

  // One accounting record -> a canonical expense; nullopt when it is not an expense or was rejected. Errors
  // that are not about the record's content (HTTP trouble, credentials) fail the page as before.
  Result<std::optional<json>> ExpenseOf(const json& item, const std::string& where) {
    const std::string id = item.is_object() && item.contains("id") && item["id"].is_string()
                               ? item["id"].get<std::string>()
                               : where;
    auto type = mj::StringField(item, "type");
    if (!type.ok()) {
      Reject("accounting record", id, type.status());
      return std::optional<json>();
    }
    if (BookingOf(*type, settings_.types) == Booking::kNone) {
      // Card payments, money movements, rewards, bills, the reimbursement basis not used, types Brex adds
      // later: not expenses here (README, "Record types").
      host().Log(MLC_LOG_DEBUG, "skipping accounting record of type " + *type);
      return std::optional<json>();
    }
    // Translate once without the extras first: a malformed record (an amount with more decimals than its
    // currency has, an exponent, a missing field) is refused before any request is spent on it.
    if (auto bare = ExpenseFromRecord(item, RecordExtras{}, settings_.mapping, kSystem, settings_.connection,
                                      settings_.types);
        !bare.ok()) {
      if (bare.status().code() != Code::kInvalid) return bare.status();
      Reject("accounting record", id, bare.status());
      return std::optional<json>();
    }
    auto extras = Extras(item);
    if (!extras.ok()) {
      if (extras.status().code() != Code::kInvalid) return extras.status();
      Reject("accounting record", id, extras.status());
      return std::optional<json>();
    }
    auto expense =
        ExpenseFromRecord(item, *extras, settings_.mapping, kSystem, settings_.connection, settings_.types);
    if (!expense.ok()) {
      if (expense.status().code() != Code::kInvalid) return expense.status();
      Reject("accounting record", id, expense.status());
      return std::optional<json>();
    }
    return std::optional<json>(std::move(*expense));
  }

  // The expense behind a record (merchant, card, custom fields), its card's last four digits and its
  // receipts.
  Result<RecordExtras> Extras(const json& record) {
    RecordExtras extras;
    const json source_id = record.value("source_id", json());
    if (source_id.is_string() && !source_id.get_ref<const std::string&>().empty()) {
      sdk::HttpRequest req;
      req.url =
          "/v1/expenses/" + text::PercentEncode(source_id.get<std::string>()) +
          QueryString({{"expand[]", "merchant"}, {"expand[]", "payment"}, {"load_custom_fields", "true"}});
      MLC_ASSIGN_OR_RETURN(sdk::HttpResponse res, host().Http(req));
      if (res.status == 404) {
        host().Log(MLC_LOG_WARN, "expense " + source_id.get<std::string>() + " not found: no merchant data");
      } else if (!res.success()) {
        return BrexError(res, "GET /v1/expenses/{id}");
      } else {
        auto doc = res.Json();
        if (!doc.ok() || !doc->is_object())
          return Status::Error("GET /v1/expenses/{id}: the response is not a JSON object");
        extras.expense = std::move(*doc);
      }
    }
    if (settings_.card_last4 && extras.expense.is_object()) {
      const json payment = extras.expense.value("payment", json());
      const json instrument = payment.is_object() ? payment.value("payment_instrument", json()) : json();
      if (instrument.is_object() && instrument.value("type", json()) == "CARD" && instrument.contains("id") &&
          instrument["id"].is_string()) {
        MLC_ASSIGN_OR_RETURN(extras.last4, CardLast4(instrument["id"].get<std::string>()));
      }
    }
    if (settings_.download_receipts) {
      MLC_ASSIGN_OR_RETURN(extras.receipts, Receipts(record));
    }
    return extras;
  }

  Result<std::optional<std::string>> CardLast4(const std::string& card_id) {
    if (auto it = last4_.find(card_id); it != last4_.end()) return it->second;
    sdk::HttpRequest req;
    req.url = "/v2/cards/" + card_id;
    MLC_ASSIGN_OR_RETURN(sdk::HttpResponse res, host().Http(req));
    std::optional<std::string> last4;
    if (res.success()) {
      auto doc = res.Json();
      if (doc.ok() && doc->is_object() && doc->contains("last_four") && (*doc)["last_four"].is_string())
        last4 = (*doc)["last_four"].get<std::string>();
    } else if (res.status == 429 || res.status >= 500) {
      return BrexError(res, "GET /v2/cards/{id}");
    } else {
      // No cards.readonly scope, or a closed card: the expense goes without its last four digits.
      host().Log(MLC_LOG_INFO,
                 "card " + card_id + ": HTTP " + std::to_string(res.status) + ", no last four digits");
    }
    last4_[card_id] = last4;
    return last4;
  }

  // Downloads each receipt once into the host's blob store (Brex links are presigned and expire in 15 min).
  Result<json> Receipts(const json& record) {
    json out = json::array();
    const json receipts = record.value("receipts", json());
    if (!receipts.is_array()) return out;
    for (size_t i = 0; i < receipts.size(); ++i) {
      const json& r = receipts[i];
      if (!r.is_object() || !r.contains("id") || !r["id"].is_string() ||
          r["id"].get_ref<const std::string&>().empty())
        return Status::Invalid("accounting record receipts[" + std::to_string(i) +
                               "].id missing or not a string");
      const std::string id = r["id"].get<std::string>();
      const std::string key = "receipt/" + id;
      MLC_ASSIGN_OR_RETURN(std::optional<std::string> cached, host().GetState(key));
      if (cached) {
        auto doc = mj::Parse(*cached);
        if (doc.ok() && doc->is_object() && doc->contains("blob_id")) {
          out.push_back(
              {{"id", id}, {"file_name", doc->value("file_name", id)}, {"blob_id", (*doc)["blob_id"]}});
          continue;
        }
      }
      json ref = {{"id", id}};
      const json uris = r.value("download_uris", json());
      if (!uris.is_array() || uris.empty() || !uris[0].is_string()) {
        out.push_back(std::move(ref));
        continue;
      }
      const std::string url = uris[0].get<std::string>();
      const std::string file_name = FileNameOf(url, id);
      ref["file_name"] = file_name;
      sdk::HttpRequest req;
      req.url = url;
      req.auth = false;  // a presigned link carries its own signature; the token must not leave for it
      req.response_blob = true;
      MLC_ASSIGN_OR_RETURN(sdk::HttpResponse res, host().Http(req));
      if (res.success() && res.blob) {
        ref["blob_id"] = *res.blob;
        MLC_RETURN_IF_ERROR(
            host().PutState(key, json{{"blob_id", *res.blob}, {"file_name", file_name}}.dump()));
      } else if (res.status == 429 || res.status >= 500) {
        return Status::Retry("receipt " + id + ": HTTP " + std::to_string(res.status));
      } else {
        host().Log(MLC_LOG_WARN, "receipt " + id + ": download answered HTTP " + std::to_string(res.status));
      }
      out.push_back(std::move(ref));
    }
    return out;
  }

  // ---- vendors ----

  Result<json> ReadVendors(const json& cursor, int64_t limit) const {
    std::multimap<std::string, std::string> query = {{"limit", std::to_string(limit)}};
    if (cursor.is_string() && !cursor.get_ref<const std::string&>().empty())
      query.emplace("cursor", cursor.get<std::string>());
    MLC_ASSIGN_OR_RETURN(json page, GetJson("/v1/vendors", query));
    if (!page.is_object() || !page.contains("items") || !page["items"].is_array())
      return Status::Error("GET /v1/vendors: the response has no items array");
    const json next = page.value("next_cursor", json());
    if (!next.is_null() && !next.is_string())
      return Status::Error("GET /v1/vendors: next_cursor is not a string");
    const std::string seen_at = FormatTimestampMicros(host().NowMs() * 1000);
    json records = json::array();
    for (size_t i = 0; i < page["items"].size(); ++i) {
      const json& item = page["items"][i];
      auto vendor = VendorFromBrex(item, kSystem, settings_.connection, seen_at);
      if (!vendor.ok()) {
        // Brex: VendorResponse.company_name is nullable (brex.md §3.4); such a vendor cannot be a canonical
        // vendor (name is required), so it is rejected alone and the page goes on.
        const std::string id = item.is_object() && item.contains("id") && item["id"].is_string()
                                   ? item["id"].get<std::string>()
                                   : "GET /v1/vendors items[" + std::to_string(i) + "]";
        if (vendor.status().code() != Code::kInvalid) return vendor.status();
        Reject("vendor", id, vendor.status());
        continue;
      }
      records.push_back(std::move(*vendor));
    }
    const bool more = next.is_string() && !next.get_ref<const std::string&>().empty();
    return json{{"records", std::move(records)}, {"next_cursor", more ? next : json()}, {"has_more", more}};
  }

  // ---- export results ----

  std::string DeepLink(const std::string& target_id) const {
    std::string out = settings_.deep_link_template;
    for (size_t pos = out.find("{target_id}"); pos != std::string::npos;
         pos = out.find("{target_id}", pos + target_id.size()))
      out.replace(pos, 11, target_id);
    return out;
  }

  // POST /v3/accounting/records/export-results. Brex applies a batch all or nothing; a repeat after a lost
  // answer is refused as "not ready for export", so those records are looked up: already exported counts as
  // done, and the rest of the batch is sent again.
  Result<json> ReportExportResults(std::vector<std::string> order,
                                   const std::map<std::string, json>& results) {
    const std::string path = std::string(kRecordsPath) + "/export-results";
    int64_t settled = 0;  // records Brex already had the outcome of
    for (int attempt = 0; attempt < 2 && !order.empty(); ++attempt) {
      json batch = json::array();
      for (const auto& id : order) batch.push_back(results.at(id));
      sdk::HttpRequest req;
      req.method = "POST";
      req.url = path;
      req.headers["Content-Type"] = "application/json";
      req.body = json{{"results", batch}}.dump();
      req.idempotent = true;  // repeating a report is harmless (see above)
      MLC_ASSIGN_OR_RETURN(sdk::HttpResponse res, host().Http(req));
      if (res.success()) return json{{"acked", settled + static_cast<int64_t>(order.size())}};
      auto doc = res.Json();
      const json body = doc.ok() && doc->is_object() ? *doc : json::object();
      if (res.status != 422 || body.value("error_code", json()) != "ACCOUNTING_RECORD_NOT_READY_FOR_EXPORT")
        return BrexError(res, "POST " + path);
      const json details = body.value("details", json::object());
      const json not_ready =
          details.is_object() ? details.value("not_ready_for_export_accounting_record_ids", json()) : json();
      if (!not_ready.is_array() || not_ready.empty()) return BrexError(res, "POST " + path);
      std::vector<std::string> ids;
      for (const json& id : not_ready) {
        if (id.is_string()) ids.push_back(id.get<std::string>());
      }
      MLC_ASSIGN_OR_RETURN(StatusMap statuses, ReviewStatuses(ids));
      for (const auto& id : ids) {
        const std::string status = statuses.count(id) ? statuses[id] : "";
        if (status != "EXPORTED") {
          return Status::Invalid("record " + id + " is " + (status.empty() ? "unknown" : status) +
                                 " at Brex, not READY_FOR_EXPORT: its export result cannot be reported");
        }
        order.erase(std::remove(order.begin(), order.end(), id), order.end());
        ++settled;
      }
    }
    if (!order.empty()) return Status::Retry("POST " + path + ": Brex kept refusing the batch; try again");
    return json{{"acked", settled}};
  }

  // review_status of each record (GET /v3/accounting/records?ids=...). Brex: "ID size is limited to 500"
  // (brex.md §3.1); the v3 maximum `limit` is not documented (§10.5), so each request names at most
  // page_size ids and asks for page_size records, which the default (100) and the setting keep documented.
  Result<StatusMap> ReviewStatuses(const std::vector<std::string>& ids) const {
    std::map<std::string, std::string> out;
    const size_t chunk = static_cast<size_t>(std::min<int64_t>(settings_.page_size, kMaxIds));
    for (size_t start = 0; start < ids.size(); start += chunk) {
      std::vector<std::pair<std::string, std::string>> params = {
          {"limit", std::to_string(settings_.page_size)}};
      for (size_t i = start; i < ids.size() && i < start + chunk; ++i) params.emplace_back("ids", ids[i]);
      MLC_ASSIGN_OR_RETURN(json page, GetJson(std::string(kRecordsPath) + QueryString(params), {}));
      for (const json& item : page.value("items", json::array())) {
        if (item.is_object() && item.contains("id") && item["id"].is_string() &&
            item.contains("review_status") && item["review_status"].is_string()) {
          out[item["id"].get<std::string>()] = item["review_status"].get<std::string>();
        }
      }
    }
    return out;
  }

  json raw_settings_;
  Settings settings_;
  std::map<std::string, std::optional<std::string>> last4_;  // card id -> last four (this instance's cache)
};

}  // namespace
}  // namespace mlc::plugins::brex

MLC_DEFINE_PLUGIN(mlc::plugins::brex::BrexPlugin);
