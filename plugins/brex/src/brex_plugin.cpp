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

#ifdef MLC_BREX_OAUTH
// Partner OAuth (brex.md §1.2-1.3): authorization code + refresh (offline_access), one-hour access tokens.
// Rotating refresh tokens are reported by third parties only; declaring rotation makes the host persist a new
// refresh token whenever one comes back, which is safe either way.
#define MLC_BREX_NAME "brex_oauth"
#define MLC_BREX_MANIFEST_AUTH                                                                              \
  R"json({"kind": "oauth2_authorization_code",)json"                                                        \
  R"json( "authorize_url": "https://accounts-api.brex.com/oauth2/default/v1/authorize",)json"               \
  R"json( "token_url": "https://accounts-api.brex.com/oauth2/default/v1/token",)json"                       \
  R"json( "scopes": ["openid", "offline_access", "accounting.record.read", "accounting.record.write",)json" \
  R"json(   "expenses.card.readonly", "vendors.readonly", "cards.readonly", "companies.readonly"],)json"    \
  R"json( "refresh_rotates": true, "access_ttl_s": 3600, "refresh_margin_s": 300,)json"                     \
  R"json( "secret_fields": ["client_id", "client_secret", "refresh_token"]})json"
#define MLC_BREX_MANIFEST_AUTH_SECRETS                                                                                                \
  R"json({"name": "client_id", "description": "Partner OAuth client id (issued by Brex developer support).", "required": true},)json" \
  R"json({"name": "client_secret", "description": "Partner OAuth client secret.", "required": true},)json"                            \
  R"json({"name": "refresh_token", "description": "Refresh token from the consent flow (offline_access).", "required": true},)json"
#else
// A user token (bxt_...) expires after 90 days without an API call (brex.md §1.1; the FAQ says 30: the
// idle_expiry_days setting overrides); the host's scheduler keeps it alive with GET /v2/users/me.
#define MLC_BREX_NAME "brex"
#define MLC_BREX_MANIFEST_AUTH                                                                                  \
  R"json({"kind": "static_bearer", "secret_fields": ["token"], "idle_expiry_days": 90, "x-warn_days": 14,)json" \
  R"json( "keepalive": {"method": "GET", "path": "/v2/users/me"}})json"
#define MLC_BREX_MANIFEST_AUTH_SECRETS \
  R"json({"name": "token", "description": "Brex user token (bxt_...), created by an account or card admin.", "required": true},)json"
#endif

MLC_PLUGIN_MANIFEST(R"json({
  "name": ")json" MLC_BREX_NAME R"json(",
  "version": "1.0.0",
  "abi": "1.0",
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
    "properties": {
      "base_url": {"type": "string", "pattern": "^https?://[^\\s]+$", "maxLength": 400,
                   "description": "API root; default from environment (https://api.brex.com or https://api-staging.brex.com)."},
      "environment": {"enum": ["production", "staging"], "default": "production"},
      "connection": {"type": "string", "minLength": 1, "maxLength": 100,
                     "description": "Written into source.connection (default: the plugin name)."},
      "page_size": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100,
                    "description": "Most accounting records or vendors per Brex request."},
      "gl_field": {"type": "string", "minLength": 1, "maxLength": 200, "default": "GL_ACCOUNT",
                   "description": "Accounting field (remote_field_id, brex_field_id or field_name) holding the GL account."},
      "dimension_keys": {"type": "object", "additionalProperties": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,63}$"},
                         "description": "Accounting field (remote_field_id, brex_field_id or field_name) -> canonical dimension key."},
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
constexpr std::string_view kRecordsPath = "/v3/accounting/records";

struct Settings {
  std::string base_url;
  bool base_url_setting = false;
  std::string connection = std::string(kSystem);
  int64_t page_size = 100;
  FieldMapping mapping;
  bool download_receipts = true;
  bool card_last4 = true;
  std::string deep_link_template;
  int64_t webhook_tolerance_s = 300;
};

Result<Settings> ParseSettings(const json& doc) {
  static constexpr std::string_view kKnown[] = {
      "base_url",  "environment",        "connection",       "page_size",
      "gl_field",  "dimension_keys",     "card_last4",       "download_receipts",
      "warn_days", "deep_link_template", "idle_expiry_days", "webhook_tolerance_s"};
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
  MLC_RETURN_IF_ERROR(boolean("download_receipts", &s.download_receipts));
  MLC_RETURN_IF_ERROR(boolean("card_last4", &s.card_last4));
  MLC_RETURN_IF_ERROR(text("deep_link_template", &s.deep_link_template));
  MLC_RETURN_IF_ERROR(integer("webhook_tolerance_s", 1, 86400, &s.webhook_tolerance_s));
  int64_t ignored = 0;  // read by the host's token manager, validated here too
  MLC_RETURN_IF_ERROR(integer("idle_expiry_days", 1, 3650, &ignored));
  MLC_RETURN_IF_ERROR(integer("warn_days", 0, 3650, &ignored));
  return s;
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
  if (r.status == 401 || r.status == 403) return Status::Auth(message);
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

  Result<json> Check(const json& /*request*/) override {
    // The accounting API is what this plugin needs (and it is gated, alpha): the smallest page of it.
    MLC_ASSIGN_OR_RETURN(json records, GetJson(std::string(kRecordsPath), {{"limit", "1"}}));
    (void)records;
    // The company is display information only; a token without companies.readonly still passes.
    json account = {{"name", "Brex"}};
    sdk::HttpRequest req;
    req.url = "/v2/company";
    MLC_ASSIGN_OR_RETURN(sdk::HttpResponse res, host().Http(req));
    if (res.success()) {
      if (auto company = res.Json(); company.ok() && company->is_object()) {
        if (auto name = company->find("legal_name"); name != company->end() && name->is_string())
          account["name"] = *name;
        if (auto id = company->find("id"); id != company->end() && id->is_string())
          account["company_id"] = *id;
      }
    } else if (res.status != 403 && res.status != 404) {
      return BrexError(res, "GET /v2/company");
    }
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
      auto updated = mj::StringField(item, "updated_at");
      if (!updated.ok()) return updated.status().Wrap(where);
      auto updated_us = ParseTimestampMicros(*updated);
      if (!updated_us.ok()) return updated_us.status().Wrap(where + ".updated_at");
      cursor.high_us = std::max(cursor.high_us.value_or(*updated_us), *updated_us);
      auto type = mj::StringField(item, "type");
      if (!type.ok()) return type.status().Wrap(where);
      if (!ExpenseKind(*type)) {
        // Card payments, rewards, bills and types Brex adds later are not expenses; another export owns them.
        host().Log(MLC_LOG_DEBUG, "skipping accounting record of type " + *type);
        continue;
      }
      MLC_ASSIGN_OR_RETURN(RecordExtras extras, Extras(item));
      MLC_ASSIGN_OR_RETURN(json expense,
                           ExpenseFromRecord(item, extras, settings_.mapping, kSystem, settings_.connection));
      records.push_back(std::move(expense));
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
      auto vendor = VendorFromBrex(page["items"][i], kSystem, settings_.connection, seen_at);
      if (!vendor.ok()) return vendor.status().Wrap("GET /v1/vendors items[" + std::to_string(i) + "]");
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

  // review_status of each record (GET /v3/accounting/records?ids=...; 500 ids per request at most).
  Result<StatusMap> ReviewStatuses(const std::vector<std::string>& ids) const {
    std::map<std::string, std::string> out;
    for (size_t start = 0; start < ids.size(); start += 500) {
      std::vector<std::pair<std::string, std::string>> params = {{"limit", "1000"}};
      for (size_t i = start; i < ids.size() && i < start + 500; ++i) params.emplace_back("ids", ids[i]);
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
