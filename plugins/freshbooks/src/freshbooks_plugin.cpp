// The FreshBooks connector plugin (freshbooks.so): a target for expenses (with their receipt) and bill
// vendors, and a source of bills, bill payments and the reference data a pipeline maps onto (expense
// categories, journal entry accounts, bill vendors). Every request goes through the host's `http` service:
// the host runs the OAuth authorization-code flow with FreshBooks' single-use rotating refresh tokens, and
// auth_resolve learns the account and business ids from /auth/api/v1/users/me.
//
// Idempotency of expense writes: the key travels as the last line of the expense notes ("mlc:<key>");
// before creating, the plugin searches the notes for it, and lookup does the same. Vendors are found by
// their exact name first. FreshBooks has no "exported" flag, so ack records nothing at the vendor.
//
// State (connection-scoped, host-owned): account_id, business_id, business_uuid (from auth_resolve);
// webhook/verifiers: {callback id: verifier} learned from verifier handshakes that FreshBooks confirmed.
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "freshbooks_translate.hpp"
#include "mlc/crypto.hpp"
#include "mlc/json.hpp"
#include "mlc/money.hpp"
#include "mlc/plugin.h"
#include "mlc/plugin.hpp"
#include "mlc/status.hpp"
#include "mlc/text.hpp"
#include "mlc/webhook_signature.hpp"

MLC_PLUGIN_MANIFEST(R"json({
  "name": "freshbooks",
  "version": "1.0.0",
  "abi": "1.2",
  "vendor": "FreshBooks",
  "description": "FreshBooks accounting: writes expenses (with receipts) and bill vendors; reads bills, bill payments, expense categories, journal entry accounts and bill vendors.",
  "homepage": "https://www.freshbooks.com/api",
  "roles": ["source", "target"],
  "auth": {
    "kind": "oauth2_authorization_code",
    "authorize_url": "{auth_url}/oauth/authorize",
    "token_url": "{base_url}/auth/oauth/token",
    "scopes": ["user:profile:read", "user:expenses:read", "user:expenses:write", "user:bills:read",
               "user:bill_vendors:read", "user:bill_vendors:write", "user:bill_payments:read",
               "user:journal_entries:read"],
    "refresh_rotates": true,
    "refresh_margin_s": 300,
    "secret_fields": ["client_id", "client_secret", "refresh_token"]
  },
  "base_url": "{base_url}/accounting/account/{account_id}",
  "rate_limits": [{"requests": 600, "per_seconds": 60}],
  "limit_headers": {"retry_after": "Retry-After", "remaining": "X-RateLimit-Remaining",
                    "reset": "X-RateLimit-Reset", "reset_kind": "epoch"},
  "streams": [
    {"name": "bills", "object": "bill", "cursor": "opaque", "incremental": true,
     "scopes": ["user:bills:read"],
     "description": "Bills changed since the last read (search[updated_min] by day, any order); soft-deleted bills come as status void."},
    {"name": "payments", "object": "payment", "cursor": "opaque", "incremental": true,
     "scopes": ["user:bill_payments:read"],
     "description": "New bill payments (bill payments carry no update time), in any order."},
    {"name": "vendors", "object": "vendor", "cursor": "opaque", "incremental": true,
     "scopes": ["user:bill_vendors:read"],
     "description": "Bill vendors changed since the last read; deleted or archived vendors come as status inactive."},
    {"name": "expense_categories", "object": "category", "cursor": "opaque", "incremental": true,
     "scopes": ["user:expenses:read"],
     "description": "Expense categories (what an expense posts to): full sweeps, changes since the last sweep."},
    {"name": "accounts", "object": "account", "cursor": "opaque", "incremental": false,
     "scopes": ["user:journal_entries:read"],
     "description": "Journal entry accounts and their sub-accounts (the legacy chart of accounts), read in full."}
  ],
  "writes": [
    {"object": "expense", "idempotency": "marker", "marker_field": "notes",
     "scopes": ["user:expenses:read", "user:expenses:write"]},
    {"object": "vendor", "idempotency": "marker", "marker_field": "vendor_name",
     "scopes": ["user:bill_vendors:read", "user:bill_vendors:write"]}
  ],
  "reference_data": ["expense_categories", "accounts", "vendors"],
  "webhook": {"scheme": "freshbooks_hmac", "signature_header": "X-FreshBooks-Hmac-SHA256"},
  "secrets": [
    {"name": "client_id", "description": "OAuth client id of the FreshBooks app.", "required": true},
    {"name": "client_secret", "description": "OAuth client secret of the FreshBooks app.", "required": true},
    {"name": "refresh_token", "description": "Set by `mlc connect`; single use, rotated by every refresh.", "required": false},
    {"name": "webhook_verifier", "description": "Verifier(s) of registered callbacks (comma-separated), the HMAC keys of X-FreshBooks-Hmac-SHA256; handshakes this plugin completes are remembered without it.", "required": false},
    {"name": "webhook_verifiers_learned", "description": "Written by the plugin itself after a verified handshake (callback id -> verifier, JSON); do not set it by hand.", "required": false}
  ],
  "settings_schema": {
    "type": "object",
    "required": ["base_url", "auth_url"],
    "additionalProperties": false,
    "properties": {
      "base_url": {"type": "string", "pattern": "^https?://[^\\s/]+(:[0-9]+)?$", "maxLength": 300,
                   "description": "API root without a trailing slash: https://api.freshbooks.com (an emulator's http://127.0.0.1:PORT in tests)."},
      "auth_url": {"type": "string", "pattern": "^https?://[^\\s/]+(:[0-9]+)?$", "maxLength": 300,
                   "description": "Authorization host: https://auth.freshbooks.com."},
      "account_id": {"type": "string", "pattern": "^[A-Za-z0-9]{1,40}$",
                     "description": "Pin the FreshBooks account (business_memberships[].business.account_id) when the user belongs to several; otherwise the first business with an account is used."},
      "page_size": {"type": "integer", "minimum": 1, "maximum": 100, "default": 100,
                    "description": "per_page of list requests (FreshBooks caps it at 100)."},
      "connection": {"type": "string", "minLength": 1, "maxLength": 100, "default": "freshbooks",
                     "description": "Written into source.connection of records read."},
      "staff_id": {"type": "integer", "minimum": 1,
                   "description": "staffid of the expenses written; default: the authorising user's (users/me roles[].userid of the account)."},
      "vendor_currency": {"type": "string", "pattern": "^[A-Z]{3}$", "default": "USD",
                          "description": "currency_code of bill vendors created when the vendor names none (set the business's home currency)."},
      "vendor_language": {"type": "string", "pattern": "^[a-z]{2}(-[A-Za-z]{2})?$", "default": "en",
                          "description": "language of bill vendors created."},
      "refund_category_id": {"type": "string", "pattern": "^[0-9]{1,18}$",
                             "description": "Expense category refunds (negative amounts) post to, as a positive amount marked 'refund: true'; unset: refunds are refused (FreshBooks refuses negative expenses)."}
    }
  }
})json");

namespace mlc::plugins::freshbooks {
namespace {

using nlohmann::json;
namespace mj = mlc::json;

// Verifiers learned from handshakes (callback id -> verifier, JSON) live in this secret, in the host's vault.
constexpr std::string_view kLearnedSecret = "webhook_verifiers_learned";
// Where earlier versions kept them, in plaintext connection state: read once, moved to the vault, emptied.
constexpr std::string_view kLegacyVerifiersKey = "webhook/verifiers";
constexpr std::string_view kSignatureHeader = "x-freshbooks-hmac-sha256";

struct Settings {
  std::string base_url;
  std::string auth_url;
  std::string account_id;  // pinned; empty: resolved
  int64_t page_size = 100;
  std::string connection = "freshbooks";
  std::string staff_id;  // empty: the authorising user's
  std::string vendor_currency = "USD";
  std::string vendor_language = "en";
  std::string refund_category_id;
};

bool IsRootUrl(const std::string& s) {
  if (s.rfind("http://", 0) != 0 && s.rfind("https://", 0) != 0) return false;
  const size_t host = s.find("://") + 3;
  return s.size() > host && s.find('/', host) == std::string::npos &&
         s.find_first_of(" \t\r\n") == std::string::npos;
}

Result<Settings> ParseSettings(const json& doc) {
  Settings s;
  for (const auto& [key, value] : doc.items()) {
    static const std::set<std::string> kKnown = {"base_url",        "auth_url",        "account_id",
                                                 "page_size",       "connection",      "staff_id",
                                                 "vendor_currency", "vendor_language", "refund_category_id"};
    if (!kKnown.count(key)) {
      return Status::Invalid("unknown setting '" + key + "'");
    }
  }
  for (const char* key : {"base_url", "auth_url"}) {
    auto it = doc.find(key);
    if (it == doc.end() || !it->is_string() || !IsRootUrl(it->get<std::string>())) {
      return Status::Invalid(std::string("setting '") + key +
                             "' must be an http(s) URL without a path or trailing slash");
    }
    (std::string_view(key) == "base_url" ? s.base_url : s.auth_url) = it->get<std::string>();
  }
  if (auto it = doc.find("account_id"); it != doc.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>().empty())
      return Status::Invalid("setting 'account_id' must be a non-empty string");
    s.account_id = it->get<std::string>();
  }
  if (auto it = doc.find("page_size"); it != doc.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 100)
      return Status::Invalid("setting 'page_size' must be an integer from 1 to 100");
    s.page_size = it->get<int64_t>();
  }
  if (auto it = doc.find("connection"); it != doc.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>().empty())
      return Status::Invalid("setting 'connection' must be a non-empty string");
    s.connection = it->get<std::string>();
  }
  if (auto it = doc.find("staff_id"); it != doc.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1)
      return Status::Invalid("setting 'staff_id' must be a positive integer");
    s.staff_id = std::to_string(it->get<int64_t>());
  }
  if (auto it = doc.find("vendor_currency"); it != doc.end()) {
    if (!it->is_string() || !money::IsCurrencyCode(it->get<std::string>()))
      return Status::Invalid("setting 'vendor_currency' must be an ISO 4217 code");
    s.vendor_currency = it->get<std::string>();
  }
  if (auto it = doc.find("vendor_language"); it != doc.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>().empty() ||
        it->get_ref<const std::string&>().size() > 8)
      return Status::Invalid("setting 'vendor_language' must be a language code such as \"en\"");
    s.vendor_language = it->get<std::string>();
  }
  if (auto it = doc.find("refund_category_id"); it != doc.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>().empty() ||
        it->get_ref<const std::string&>().find_first_not_of("0123456789") != std::string::npos)
      return Status::Invalid("setting 'refund_category_id' must be a category id (digits)");
    s.refund_category_id = it->get<std::string>();
  }
  return s;
}

bool DryRun(const json& request) {
  auto it = request.find("dry_run");
  return it != request.end() && it->is_boolean() && it->get<bool>();
}

// The member at `path` through nested objects, or null when any step is missing or not an object. (json's
// value(json_pointer) throws when a step is an array or a primitive; FreshBooks bodies are not trusted.)
json Nested(const json& doc, std::initializer_list<const char*> path) {
  const json* at = &doc;
  for (const char* key : path) {
    if (!at->is_object()) return json();
    auto it = at->find(key);
    if (it == at->end()) return json();
    at = &*it;
  }
  return *at;
}

// The record list of a paged accounting response ({"response": {"result": {<key>: [...], "page", "pages"}}}).
struct Page {
  json items = json::array();
  int64_t page = 1;
  int64_t pages = 0;
};

Result<Page> PageOf(const json& doc, const std::string& key, std::string_view what) {
  const json result = Nested(doc, {"response", "result"});
  if (!result.is_object() || !result.contains(key) || !result[key].is_array())
    return Status::Error(std::string(what) + ": the response has no " + key + " list");
  Page p;
  p.items = result[key];
  auto page = IntMember(result, "page", std::string(what) + ": the response", 1);
  auto pages = IntMember(result, "pages", std::string(what) + ": the response", 0);
  if (!page.ok()) return page.status();
  if (!pages.ok()) return pages.status();
  p.page = *page;
  p.pages = *pages;
  return p;
}

// ---- read cursors ------------------------------------------------------------------------------------
//
// FreshBooks documents no default list order, and no sort or update filter for categories, so a read must
// be correct whatever order the pages come in. A sweep reads every page of a list (pages of a fixed size);
// the cursor keeps the page and the offset already handled in it, and per pass (the default list, which is
// active + archived records, then `search[vis_state]=1` for deleted ones: the only documented vis_state
// form) what was delivered:
//   kTime / kId  positions are update times / ids. `t`: everything below was delivered by earlier sweeps;
//                `m`: the highest position seen in this sweep; `seen`: (id, position) delivered at or above
//                m - overlap. When a sweep ends, t = m - overlap. A record changed while the sweep ran has
//                a position within the sweep's duration of m, so the overlap (longer than any sweep) keeps
//                it above t, and `seen` keeps what was already delivered from coming again.
//   kFull        (categories: no documented filter or order) `seen`: every (id, version position) of the
//                previous sweep, `cur`: of this one; a record is new when it is in neither; cur replaces
//                seen when the sweep ends.
// A set that would outgrow kMaxSeen stops growing: the cost is a record delivered twice, never one lost.
enum class Mode { kTime, kId, kFull };
inline constexpr size_t kMaxSeen = 2000;
inline constexpr int kPasses = 2;  // 0: the default list; 1: search[vis_state]=1

using Seen = std::set<std::pair<std::string, int64_t>>;  // (id, position)

struct PassState {
  std::optional<int64_t> t;  // delivered below this position
  std::optional<int64_t> m;  // highest position seen in the running sweep
  Seen seen;
  Seen cur;  // kFull only
};

json SeenToJson(const Seen& s) {
  json out = json::array();
  for (const auto& [id, pos] : s) out.push_back(json::array({id, pos}));
  return out;
}

Result<Seen> SeenFromJson(const json& v) {
  Seen s;
  if (!v.is_array() || v.size() > kMaxSeen) return Status::Invalid("malformed cursor (seen set)");
  for (const json& e : v) {
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number_integer())
      return Status::Invalid("malformed cursor (seen set)");
    s.emplace(e[0].get<std::string>(), e[1].get<int64_t>());
  }
  return s;
}

struct Cursor {
  int64_t per_page = 0;
  int pass = 0;
  int64_t page = 1;
  int64_t offset = 0;  // items of `page` already handled
  PassState passes[kPasses];

  std::string Encode() const {
    json states = json::array();
    for (const auto& p : passes) {
      json s = {{"seen", SeenToJson(p.seen)}, {"cur", SeenToJson(p.cur)}};
      if (p.t) s["t"] = *p.t;
      if (p.m) s["m"] = *p.m;
      states.push_back(std::move(s));
    }
    json doc = {{"v", 2}, {"n", per_page}, {"q", pass}, {"p", page}, {"k", offset}, {"s", states}};
    return crypto::Base64Encode(doc.dump(), crypto::Base64Alphabet::kUrlSafe);
  }
  static Result<Cursor> Decode(const json& value, Mode mode, int64_t overlap) {
    Cursor c;
    if (value.is_null()) return c;
    const Status bad = Status::Invalid("malformed cursor (not one this plugin wrote)");
    if (!value.is_string()) return Status::Invalid("cursor must be a string or null");
    auto raw = crypto::Base64Decode(value.get<std::string>(), crypto::Base64Alphabet::kUrlSafe);
    if (!raw.ok()) return bad;
    auto doc = mj::Parse(*raw);
    if (!doc.ok() || !doc->is_object() || !doc->contains("v")) return bad;
    try {
      c.per_page = doc->at("n").get<int64_t>();
      if ((*doc)["v"] == 1) {
        // A cursor of the sorted reads before issue 13: resume a fresh sweep from its position, less the
        // overlap (what comes again is delivered twice, nothing is lost).
        // Full sweeps (categories) start over: everything comes once more.
        c.page = 1;
        if (doc->contains("at") && mode != Mode::kFull) {
          const int64_t at = doc->at("at").get<int64_t>();
          c.passes[0].t = at - overlap;
          for (const auto& id : doc->at("ids").get<std::vector<std::string>>()) {
            if (c.passes[0].seen.size() < kMaxSeen) c.passes[0].seen.emplace(id, at);
          }
        }
      } else if ((*doc)["v"] == 2) {
        c.pass = doc->at("q").get<int>();
        c.page = doc->at("p").get<int64_t>();
        c.offset = doc->at("k").get<int64_t>();
        const json& states = doc->at("s");
        if (!states.is_array() || states.size() != kPasses) return bad;
        for (int i = 0; i < kPasses; ++i) {
          const json& s = states[i];
          if (s.contains("t")) c.passes[i].t = s.at("t").get<int64_t>();
          if (s.contains("m")) c.passes[i].m = s.at("m").get<int64_t>();
          MLC_ASSIGN_OR_RETURN(c.passes[i].seen, SeenFromJson(s.at("seen")));
          MLC_ASSIGN_OR_RETURN(c.passes[i].cur, SeenFromJson(s.at("cur")));
        }
      } else {
        return bad;
      }
    } catch (const std::exception&) {
      return bad;
    }
    if (c.per_page < 1 || c.per_page > 100 || c.page < 1 || c.offset < 0 || c.pass < 0 || c.pass >= kPasses)
      return Status::Invalid("malformed cursor (values out of range)");
    return c;
  }
};

// How a stream is listed and translated.
struct StreamDef {
  std::string name;
  std::string path;      // relative to the base URL
  std::string list_key;  // "bills"
  Mode mode = Mode::kTime;
  bool eastern = true;         // zone of updated_at / updated
  bool updated_filter = true;  // kTime: narrow with search[updated_min] (day granularity, FB-DOCS parameters)
  int64_t overlap = 3600;      // kTime: seconds; kId: ids; longer than a sweep takes
};

const std::vector<StreamDef>& Streams() {
  static const std::vector<StreamDef> kStreams = {
      {"bills", "bills/bills", "bills", Mode::kTime, false, true, 3600},
      // Bill payments carry no update time: by id, so only new payments are seen.
      {"payments", "bill_payments/bill_payments", "bill_payments", Mode::kId, false, false, 1000},
      {"vendors", "bill_vendors/bill_vendors", "bill_vendors", Mode::kTime, true, true, 3600},
      // FB-DOCS /api/expense_categories: no update filter, no sort: full sweeps, compared with the last.
      {"expense_categories", "expenses/categories", "categories", Mode::kFull, true, false, 0},
      {"accounts", "journal_entry_accounts/journal_entry_accounts", "journal_entry_accounts", Mode::kFull,
       true, false, 0},
  };
  return kStreams;
}

// ---- the plugin ----------------------------------------------------------------------------------------

class FreshBooksPlugin : public sdk::Plugin {
 public:
  FreshBooksPlugin(sdk::Host host, const json& settings) : Plugin(host), raw_settings_(settings) {}

  Status Open() override {
    MLC_ASSIGN_OR_RETURN(settings_, ParseSettings(raw_settings_));
    return Status::Ok();
  }

  Result<json> Check(const json& /*request*/) override {
    MLC_ASSIGN_OR_RETURN(json me, Me());
    const json business = PickBusiness(me);
    if (business.is_null()) return Status::Invalid("this FreshBooks user has no business with an account");
    MLC_ASSIGN_OR_RETURN(std::string name, StringMember(business, "name", "the FreshBooks business"));
    json account = {{"account_id", business["account_id"]},
                    {"business_id", business.contains("id") ? business["id"].dump() : std::string()},
                    {"name", name}};
    return json{{"ok", true}, {"account", account}};
  }

  Result<json> AuthResolve(const json& /*request*/) override {
    MLC_ASSIGN_OR_RETURN(json me, Me());
    const json business = PickBusiness(me);
    if (business.is_null()) {
      return Status::Invalid(settings_.account_id.empty()
                                 ? "this FreshBooks user belongs to no business with an account"
                                 : "this FreshBooks user has no business with account_id '" +
                                       settings_.account_id + "'");
    }
    json state = {{"account_id", business["account_id"]}};
    if (business.contains("id")) state["business_id"] = business["id"].dump();
    if (business.contains("business_uuid") && business["business_uuid"].is_string())
      state["business_uuid"] = business["business_uuid"];
    if (auto staff = StaffOf(me, business["account_id"].get<std::string>())) state["staff_id"] = *staff;
    return json{{"state", state}};
  }

  Result<json> Read(const json& request) override {
    MLC_ASSIGN_OR_RETURN(std::string stream, mj::StringField(request, "stream"));
    const StreamDef* def = nullptr;
    for (const auto& s : Streams()) {
      if (s.name == stream) def = &s;
    }
    if (def == nullptr) return Status::Invalid("unknown stream '" + stream + "'");
    int64_t limit = 100;
    if (auto it = request.find("limit"); it != request.end() && !it->is_null()) {
      if (!it->is_number_integer() || it->get<int64_t>() < 1)
        return Status::Invalid("limit must be a positive integer");
      limit = it->get<int64_t>();
    }
    const json cursor_value = request.value("cursor", json());
    MLC_ASSIGN_OR_RETURN(Cursor cursor, Cursor::Decode(cursor_value, def->mode, def->overlap));
    if (cursor_value.is_null()) {
      cursor.per_page = std::min<int64_t>(settings_.page_size, limit);
      if (auto since = request.find("since");
          since != request.end() && since->is_string() && def->mode != Mode::kId) {
        auto at = ParseRfc3339(since->get<std::string>());
        if (!at) return Status::Invalid("'since' is not an RFC 3339 timestamp");
        // Positions at or after `since` are wanted.
        for (auto& p : cursor.passes) p.t = *at;
      }
    }
    if (def->name == "accounts") return ReadAccounts(*def, cursor, limit);
    return ReadSweep(*def, cursor, limit);
  }

  Result<json> Write(const json& request) override {
    MLC_ASSIGN_OR_RETURN(std::string object_type, mj::StringField(request, "object_type"));
    MLC_ASSIGN_OR_RETURN(std::string key, mj::StringField(request, "idempotency_key"));
    if (key.empty()) return Status::Invalid("idempotency_key must not be empty");
    if (key.size() > 200 || key.find_first_of("\r\n") != std::string::npos)
      return Status::Invalid("idempotency_key must be one line of at most 200 characters");
    auto object = request.find("object");
    if (object == request.end() || !object->is_object())
      return Status::Invalid("object must be a JSON object");
    const json refs = request.value("refs", json::object());
    // The host says when no earlier write with this key was ever started (ABI 1.2 `first_write`): the marker
    // search that makes a repeat safe is then a wasted request per expense.
    const bool first_write = request.value("first_write", json()) == true;
    if (object_type == "expense") return WriteExpense(*object, refs, key, DryRun(request), first_write);
    if (object_type == "vendor") return WriteVendor(*object, DryRun(request));
    return Status::Invalid("freshbooks writes 'expense' and 'vendor', not '" + object_type + "'");
  }

  Result<json> Lookup(const json& request) override {
    MLC_ASSIGN_OR_RETURN(std::string object_type, mj::StringField(request, "object_type"));
    MLC_ASSIGN_OR_RETURN(std::string key, mj::StringField(request, "idempotency_key"));
    if (object_type == "expense") {
      // The marker is found among the expenses of the written date and amount (documented filters).
      const json object = request.value("object", json());
      auto narrow = ExpenseNarrowing(object);
      if (!narrow.ok()) return Status::Retry("expense lookup: " + narrow.status().message());
      MLC_ASSIGN_OR_RETURN(std::optional<std::string> id, FindExpenseByMarker(key, *narrow));
      if (!id) return Status::NotFound("no FreshBooks expense carries marker '" + MarkerLine(key) + "'");
      return json{{"target_id", *id}};
    }
    if (object_type == "vendor") {
      const json object = request.value("object", json());
      auto name = mj::StringField(object, "name");
      if (!name.ok() || name->empty())
        return Status::Retry("vendor lookup needs the written object's name to search for");
      MLC_ASSIGN_OR_RETURN(std::optional<std::string> id, FindVendorByName(*name));
      if (!id) return Status::NotFound("no FreshBooks bill vendor is named '" + *name + "'");
      return json{{"target_id", *id}};
    }
    return Status::Invalid("freshbooks writes 'expense' and 'vendor', not '" + object_type + "'");
  }

  // FreshBooks has no "exported" mark on bills or payments: nothing is sent; the batch is validated and
  // counted so the host's bookkeeping completes.
  Result<json> Ack(const json& request) override {
    MLC_ASSIGN_OR_RETURN(std::string stream, mj::StringField(request, "stream"));
    bool known = false;
    for (const auto& s : Streams()) known = known || s.name == stream;
    if (!known) return Status::Invalid("unknown stream '" + stream + "'");
    auto items = request.find("items");
    if (items == request.end() || !items->is_array()) return Status::Invalid("items must be an array");
    for (const json& item : *items) {
      auto id = mj::StringField(item, "source_id");
      if (!id.ok() || id->empty()) return Status::Invalid("every item needs a non-empty source_id");
      if (auto ok = item.find("ok"); ok == item.end() || !ok->is_boolean())
        return Status::Invalid("item '" + *id + "': 'ok' must be a boolean");
    }
    return json{{"acked", static_cast<int64_t>(items->size())}};
  }

  Result<json> Webhook(const json& request, std::string_view body) override {
    const auto fields = ParseForm(body);
    std::map<std::string, std::string> form;
    for (const auto& [k, v] : fields) form.emplace(k, v);
    std::string signature;
    if (auto h = request.find("headers"); h != request.end() && h->is_object()) {
      for (const auto& [name, value] : h->items()) {
        if (text::AsciiLower(name) == kSignatureHeader && value.is_string())
          signature = value.get<std::string>();
      }
    }
    // The verification handshake: FreshBooks posts verifier + object_id (the callback id) once, unsigned
    // [UNCONFIRMED whether it is signed]. The verifier is sent back with PUT; FreshBooks accepting it is
    // what proves the handshake genuine, and only then is the verifier kept as the callback's HMAC key.
    if (form.count("verifier")) return Handshake(form);
    if (signature.empty()) return Status::Auth("missing X-FreshBooks-Hmac-SHA256 header");
    MLC_ASSIGN_OR_RETURN(std::vector<std::string> verifiers, KnownVerifiers());
    if (verifiers.empty())
      return Status::Invalid(
          "no webhook verifier is known: set secret webhook_verifier or re-register the callback");
    bool good = false;
    for (const auto& v : verifiers) good = webhook::freshbooks::Verify(v, fields, signature) || good;
    if (!good) return Status::Auth("X-FreshBooks-Hmac-SHA256 does not match any known verifier");
    // Only a verified body is interpreted.
    auto name = form.find("name");
    auto object_id = form.find("object_id");
    if (name == form.end() || name->second.empty() || object_id == form.end() || object_id->second.empty())
      return Status::Invalid("webhook body needs name and object_id");
    // Deliveries carry no id: the digest of the signed body names the event, so a replay names the same one.
    json event = {{"id", "fb_" + crypto::HexEncode(crypto::Sha256Digest(body)).substr(0, 40)},
                  {"type", name->second},
                  {"source_id", object_id->second}};
    const std::string stream = StreamForEvent(name->second);
    if (!stream.empty()) event["stream"] = stream;
    return json{{"events", json::array({event})}};
  }

 private:
  // ---- HTTP ----

  // One request; a response that is an error (by status or by a 200 carrying errors) becomes its Status.
  Result<json> Call(sdk::HttpRequest req, std::string_view what) const {
    MLC_ASSIGN_OR_RETURN(sdk::HttpResponse res, host().Http(req));
    return Interpret(res, what);
  }
  static Result<json> Interpret(const sdk::HttpResponse& res, std::string_view what) {
    json doc = json::object();
    if (!res.body.empty()) {
      auto parsed = res.Json();
      if (parsed.ok()) {
        doc = std::move(*parsed);
      } else if (res.success()) {
        return Status::Error(std::string(what) + ": HTTP " + std::to_string(res.status) +
                             " with a body that is not JSON");
      }
    }
    if (auto err = ResponseError(res.status, doc, what)) return *err;
    return doc;
  }

  Result<json> Me() const {
    sdk::HttpRequest req;
    req.url = settings_.base_url + "/auth/api/v1/users/me";
    MLC_ASSIGN_OR_RETURN(json doc, Call(req, "GET /auth/api/v1/users/me"));
    auto me = doc.find("response");
    if (me == doc.end() || !me->is_object())
      return Status::Error("users/me: the response has no 'response' object");
    return *me;
  }

  // The business of the membership to use: the pinned account, else the first with an account id.
  json PickBusiness(const json& me) const {
    const json memberships = Nested(me, {"business_memberships"});
    if (!memberships.is_array()) return json();
    for (const json& m : memberships) {
      if (!m.is_object() || !m.contains("business") || !m["business"].is_object()) continue;
      const json& b = m["business"];
      if (!b.contains("account_id") || !b["account_id"].is_string() ||
          b["account_id"].get<std::string>().empty())
        continue;
      if (settings_.account_id.empty() || b["account_id"] == settings_.account_id) return b;
    }
    return json();
  }

  Result<std::string> AccountId() const {
    if (!settings_.account_id.empty()) return settings_.account_id;
    MLC_ASSIGN_OR_RETURN(std::optional<std::string> id, host().GetState("account_id"));
    if (!id || id->empty())
      return Status::Auth("the FreshBooks account id is not resolved yet (re-authorize)");
    return *id;
  }

  // ---- reads ----

  std::string DayFilter(const StreamDef& def, int64_t at) const {
    // The filter has day-level granularity (FB-DOCS); starting a day early in the field's zone loses nothing.
    return FormatDate(def.eastern ? at - 5 * 3600 : at);
  }

  Result<json> Translate(const StreamDef& def, const json& item) const {
    if (def.name == "bills") return BillFromVendor(item, settings_.connection);
    if (def.name == "payments") return PaymentFromVendor(item, settings_.connection);
    if (def.name == "vendors") return VendorFromVendor(item, settings_.connection);
    return CategoryFromVendor(item, settings_.connection);
  }

  // One page of a pass, with documented parameters only: page, per_page, search[vis_state]=1 (pass 1),
  // search[updated_min] where the stream narrows by update day; never sort (no order is relied on).
  Result<Page> ListPage(const StreamDef& def, const Cursor& c) const {
    sdk::HttpRequest req;
    req.url = def.path;
    req.query.emplace("page", std::to_string(c.page));
    req.query.emplace("per_page", std::to_string(c.per_page));
    if (c.pass == 1) req.query.emplace("search[vis_state]", "1");
    const PassState& st = c.passes[c.pass];
    if (def.mode == Mode::kTime && def.updated_filter && st.t)
      req.query.emplace("search[updated_min]", DayFilter(def, *st.t));
    if (def.name == "bills") req.query.emplace("include[]", "vendor");
    MLC_ASSIGN_OR_RETURN(json doc, Call(req, "GET " + def.path));
    return PageOf(doc, def.list_key, "GET " + def.path);
  }

  Result<int64_t> Position(const StreamDef& def, const json& record) const {
    const std::string id = record["source"]["id"].get<std::string>();
    if (def.mode == Mode::kId) {
      const auto digits = id.find_first_not_of("0123456789");
      if (id.empty() || id.size() > 18 || digits != std::string::npos)
        return Status::Error(def.name + " " + id + ": id is not numeric");
      return std::stoll(id);
    }
    auto at = ParseRfc3339(record["source"]["updated_at"].get<std::string>());
    if (!at) return Status::Error(def.name + " " + id + ": unreadable update time");
    return *at;
  }

  static bool Delivered(const StreamDef& def, const PassState& st, const std::string& id, int64_t pos) {
    if (st.t && pos < *st.t) return true;
    const auto key = std::make_pair(id, pos);
    if (st.seen.count(key)) return true;
    return def.mode == Mode::kFull && st.cur.count(key);
  }

  // Drops what a finished sweep no longer needs to remember (kTime / kId): positions below m - overlap.
  static void Prune(const StreamDef& def, PassState& st) {
    if (def.mode == Mode::kFull || !st.m) return;
    const int64_t floor = *st.m - def.overlap;
    for (auto it = st.seen.begin(); it != st.seen.end();) {
      it = it->second < floor ? st.seen.erase(it) : std::next(it);
    }
  }

  Result<json> ReadSweep(const StreamDef& def, Cursor c, int64_t limit) const {
    json records = json::array();
    MLC_ASSIGN_OR_RETURN(Page page, ListPage(def, c));
    PassState& st = c.passes[c.pass];
    bool stopped = false;
    for (int64_t i = c.offset; i < static_cast<int64_t>(page.items.size()); ++i) {
      if (static_cast<int64_t>(records.size()) == limit) {
        stopped = true;
        c.offset = i;  // the rest of this page next time
        break;
      }
      MLC_ASSIGN_OR_RETURN(json record, Translate(def, page.items[static_cast<size_t>(i)]));
      const std::string id = record["source"]["id"].get<std::string>();
      MLC_ASSIGN_OR_RETURN(int64_t pos, Position(def, record));
      if (def.mode != Mode::kFull && (!st.m || pos > *st.m)) st.m = pos;
      const bool delivered = Delivered(def, st, id, pos);
      if (def.mode == Mode::kFull) {
        if (st.cur.size() < kMaxSeen) st.cur.emplace(id, pos);
      } else if (!delivered && st.seen.size() < kMaxSeen && pos >= *st.m - def.overlap) {
        st.seen.emplace(id, pos);
      }
      if (!delivered) records.push_back(std::move(record));
    }
    Prune(def, st);
    if (stopped)
      return json{{"records", std::move(records)}, {"next_cursor", c.Encode()}, {"has_more", true}};
    c.offset = 0;
    if (page.page < page.pages) {
      c.page += 1;
      return json{{"records", std::move(records)}, {"next_cursor", c.Encode()}, {"has_more", true}};
    }
    // This pass's sweep is complete.
    if (def.mode == Mode::kFull) {
      st.seen = std::move(st.cur);
      st.cur.clear();
    } else if (st.m) {
      st.t = std::max(st.t.value_or(*st.m - def.overlap), *st.m - def.overlap);
      st.m.reset();
      Prune(def, st);  // with m gone nothing is dropped; entries below t are covered by t
      for (auto it = st.seen.begin(); it != st.seen.end();) {
        it = it->second < *st.t ? st.seen.erase(it) : std::next(it);
      }
    }
    c.page = 1;
    if (c.pass + 1 < kPasses) {
      c.pass += 1;  // the deleted records next, in the same poll
      return json{{"records", std::move(records)}, {"next_cursor", c.Encode()}, {"has_more", true}};
    }
    c.pass = 0;
    return json{{"records", std::move(records)}, {"next_cursor", c.Encode()}, {"has_more", false}};
  }

  // The chart is small and has no update time: a full read in pages, starting over each poll.
  Result<json> ReadAccounts(const StreamDef& def, Cursor c, int64_t limit) const {
    c.per_page = std::min<int64_t>(c.per_page, std::max<int64_t>(1, limit));
    MLC_ASSIGN_OR_RETURN(Page page, ListPage(def, c));
    json records = json::array();
    for (const json& item : page.items) {
      MLC_ASSIGN_OR_RETURN(std::vector<json> accounts, AccountsFromVendor(item, settings_.connection));
      for (auto& a : accounts) records.push_back(std::move(a));
    }
    // One account may bring its sub-accounts: a page can hold more records than `limit` asked for only when
    // limit < the number of sub-accounts, so pages are one parent each then.
    if (static_cast<int64_t>(records.size()) > limit && c.per_page > 1) {
      c.per_page = 1;
      c.page = 1;
      return ReadAccounts(def, c, limit);
    }
    if (page.page < page.pages) {
      c.page += 1;
      return json{{"records", std::move(records)}, {"next_cursor", c.Encode()}, {"has_more", true}};
    }
    return json{{"records", std::move(records)}, {"next_cursor", nullptr}, {"has_more", false}};
  }

  // ---- writes ----

  // The documented expense filters (FB-DOCS /api/expenses: Between date_min/date_max and
  // amount_min/amount_max, max exclusive) that narrow a marker search to the written expense's day and
  // amount. FreshBooks documents no notes filter, so the marker itself is checked in the notes.
  struct Narrowing {
    std::string date_min, date_max, amount_min, amount_max;
  };
  static Result<Narrowing> ExpenseNarrowing(const json& object) {
    if (!object.is_object())
      return Status::Invalid("the written object is needed to search by date and amount");
    auto spent = StringMember(object, "spent_at", "expense");
    if (!spent.ok() || spent->size() != 10) return Status::Invalid("the written expense has no spent_at");
    auto day = ParseUtcNaive(*spent);
    if (!day) return Status::Invalid("the written expense has a malformed spent_at");
    const json amount = Nested(object, {"amount"});
    auto minor = mj::IntField(amount, "amount_minor");
    auto currency = mj::StringField(amount, "currency");
    if (!minor.ok() || !currency.ok() || *minor == std::numeric_limits<int64_t>::min())
      return Status::Invalid("the written expense has no amount");
    const int64_t written = *minor < 0 ? -*minor : *minor;  // refunds are written positive
    auto low = money::FormatDecimal(written, *currency);
    auto high = money::FormatDecimal(written + 1, *currency);
    if (!low.ok() || !high.ok()) return Status::Invalid("the written expense has an unreadable amount");
    return Narrowing{*spent, FormatDate(*day + 86400), *low, *high};
  }

  // Pages through the expenses of that day and amount, active and archived (the default list) then
  // deleted (search[vis_state]=1), and returns the id of the one whose last notes line is exactly the
  // marker. Deleted expenses count: a write that landed stays landed. Bounded: more than kMaxPages pages of
  // expenses with the same day and amount is an error, never a "not found".
  Result<std::optional<std::string>> FindExpenseByMarker(const std::string& key, const Narrowing& n) const {
    constexpr int64_t kMaxPages = 50;
    for (int pass = 0; pass < 2; ++pass) {
      for (int64_t page = 1;; ++page) {
        if (page > kMaxPages) {
          return Status::Error("more than " + std::to_string(kMaxPages * 100) + " FreshBooks expenses on " +
                               n.date_min + " for " + n.amount_min + ": cannot check the marker");
        }
        sdk::HttpRequest req;
        req.url = "expenses/expenses";
        req.query.emplace("search[date_min]", n.date_min);
        req.query.emplace("search[date_max]", n.date_max);
        req.query.emplace("search[amount_min]", n.amount_min);
        req.query.emplace("search[amount_max]", n.amount_max);
        if (pass == 1) req.query.emplace("search[vis_state]", "1");
        req.query.emplace("per_page", "100");
        req.query.emplace("page", std::to_string(page));
        MLC_ASSIGN_OR_RETURN(json doc, Call(req, "GET expenses/expenses (marker search)"));
        MLC_ASSIGN_OR_RETURN(Page p, PageOf(doc, "expenses", "GET expenses/expenses"));
        for (const json& e : p.items) {
          if (!e.is_object() || !e.contains("notes") || !e["notes"].is_string()) continue;
          if (NotesCarryMarker(e["notes"].get<std::string>(), key)) {
            auto id = e.contains("id") ? e["id"] : Nested(e, {"expenseid"});
            if (id.is_number_integer()) return std::optional<std::string>(id.dump());
            if (id.is_string()) return std::optional<std::string>(id.get<std::string>());
          }
        }
        if (p.page >= p.pages) break;
      }
    }
    return std::optional<std::string>();
  }

  // The staff id of the user on `account_id`: roles[].userid of the role on that account (FB-PY fixture
  // auth_me_response.json: {"role": "admin", "userid": 1, "accountid": "ABC123"}; the example expense's
  // staffid is 1). Client roles are not staff.
  static std::optional<std::string> StaffOf(const json& me, const std::string& account_id) {
    const json roles = Nested(me, {"roles"});
    if (!roles.is_array()) return std::nullopt;
    for (const json& r : roles) {
      if (!r.is_object() || r.value("accountid", json()) != account_id || r.value("role", json()) == "client")
        continue;
      const json id = r.value("userid", json());
      if (id.is_number_integer() && id.get<int64_t>() > 0) return id.dump();
    }
    return std::nullopt;
  }

  // The staff id expenses are written with: the setting, else the one auth_resolve found, else users/me
  // read now (connections resolved before this was kept) and remembered in state.
  Result<std::string> StaffId() const {
    if (!settings_.staff_id.empty()) return settings_.staff_id;
    MLC_ASSIGN_OR_RETURN(std::optional<std::string> known, host().GetState("staff_id"));
    if (known && !known->empty()) return *known;
    MLC_ASSIGN_OR_RETURN(std::string account, AccountId());
    MLC_ASSIGN_OR_RETURN(json me, Me());
    auto staff = StaffOf(me, account);
    if (!staff) {
      return Status::Invalid("the authorising FreshBooks user has no staff role on account " + account +
                             ": set the freshbooks setting staff_id");
    }
    MLC_RETURN_IF_ERROR(host().PutState("staff_id", *staff));
    return *staff;
  }

  Result<std::optional<std::string>> FindVendorByName(const std::string& name) const {
    sdk::HttpRequest req;
    req.url = "bill_vendors/bill_vendors";
    req.query.emplace("search[vendor_name]", name);
    req.query.emplace("per_page", "100");
    MLC_ASSIGN_OR_RETURN(json doc, Call(req, "GET bill_vendors/bill_vendors (name search)"));
    MLC_ASSIGN_OR_RETURN(Page p, PageOf(doc, "bill_vendors", "GET bill_vendors/bill_vendors"));
    for (const json& v : p.items) {
      if (v.is_object() && v.contains("vendor_name") && v["vendor_name"] == name) {
        const json id = v.contains("vendorid") ? v["vendorid"] : Nested(v, {"id"});
        if (id.is_number_integer()) return std::optional<std::string>(id.dump());
        if (id.is_string()) return std::optional<std::string>(id.get<std::string>());
      }
    }
    return std::optional<std::string>();
  }

  // A create: a transient failure may follow a create that landed, so it is UNCERTAIN (never RETRY), except
  // a 429, which FreshBooks answers before doing anything.
  Result<json> Create(const sdk::HttpRequest& req, std::string_view what) const {
    auto res = host().Http(req);
    if (!res.ok()) {
      const Code code = res.status().code();
      if (code == Code::kRetry || code == Code::kUncertain)
        return Status::Uncertain(std::string(what) + ": " + res.status().message());
      return res.status();
    }
    if (res->status >= 500) {
      return Status::Uncertain(std::string(what) + ": HTTP " + std::to_string(res->status) +
                               " may follow a create");
    }
    return Interpret(*res, what);
  }

  Result<json> WriteExpense(const json& object, const json& refs, const std::string& key, bool dry_run,
                            bool first_write) {
    ExpenseOptions options;
    options.refund_category_id = settings_.refund_category_id;
    options.staff_id = settings_.staff_id;
    MLC_ASSIGN_OR_RETURN(json body, ExpenseToVendor(object, refs, key, options));
    if (!dry_run && options.staff_id.empty()) {
      // Only a valid expense costs a users/me read (when the staff id is not known yet).
      MLC_ASSIGN_OR_RETURN(options.staff_id, StaffId());
      MLC_ASSIGN_OR_RETURN(body, ExpenseToVendor(object, refs, key, options));
    }
    // FreshBooks holds one attachment per expense: the first receipt with bytes in the host's blob store.
    std::optional<std::pair<std::string, std::string>> receipt;  // blob id, file name
    int64_t extra_receipts = 0;
    if (auto receipts = object.find("receipts"); receipts != object.end() && receipts->is_array()) {
      for (const json& r : *receipts) {
        auto blob = mj::StringField(r, "blob_id");
        if (!blob.ok() || blob->empty()) continue;
        if (receipt) {
          ++extra_receipts;
          continue;
        }
        auto stored = host().GetBlob(*blob);
        if (!stored.ok()) {
          if (stored.status().code() == Code::kNotFound)
            return Status::Invalid("receipt blob '" + *blob + "' is not in the host's blob store");
          return stored.status();
        }
        auto file_name = StringMember(r, "file_name", "receipt '" + *blob + "'", "receipt");
        if (!file_name.ok()) return Status::Invalid(file_name.status().message());
        receipt.emplace(*blob, file_name->empty() ? std::string("receipt") : *file_name);
      }
    }
    if (dry_run) {
      json would = {{"method", "POST"}, {"url", "expenses/expenses"}, {"body", body}};
      json out = {{"target_id", nullptr}, {"dry_run", true}, {"request", would}};
      if (receipt) {
        out["upload"] = {{"method", "POST"},
                         {"url", "/uploads/account/{account_id}/attachments"},
                         {"multipart", json::array({{{"name", "content"}, {"blob", receipt->first}}})}};
      }
      return out;
    }
    // The marker first: a repeated write returns the expense the first one created.
    if (!first_write) {
      MLC_ASSIGN_OR_RETURN(Narrowing narrow, ExpenseNarrowing(object));
      MLC_ASSIGN_OR_RETURN(std::optional<std::string> existing, FindExpenseByMarker(key, narrow));
      if (existing) return json{{"target_id", *existing}};
    }

    if (receipt) {
      MLC_ASSIGN_OR_RETURN(std::string account, AccountId());
      sdk::HttpRequest up;
      up.method = "POST";
      up.url = settings_.base_url + "/uploads/account/" + account + "/attachments";
      sdk::MultipartPart part;
      part.name = "content";
      part.filename = receipt->second;
      part.blob = receipt->first;
      up.multipart.push_back(part);
      auto res = host().Http(up);
      // No expense exists yet, so a lost upload is only an orphan file: RETRY is safe.
      if (!res.ok()) {
        const Code code = res.status().code();
        if (code == Code::kUncertain) return Status::Retry("receipt upload: " + res.status().message());
        return res.status();
      }
      MLC_ASSIGN_OR_RETURN(json uploaded, Interpret(*res, "POST /uploads/.../attachments"));
      const json attachment = Nested(uploaded, {"attachment"});
      if (!attachment.is_object() || !attachment.contains("jwt") || !attachment["jwt"].is_string())
        return Status::Error("receipt upload: the response has no attachment jwt");
      body["expense"]["attachment"] = {
          {"jwt", attachment["jwt"]},
          {"media_type", attachment.contains("media_type") && attachment["media_type"].is_string()
                             ? attachment["media_type"]
                             : json("")}};
    }
    if (extra_receipts > 0) {
      host().Log(MLC_LOG_WARN,
                 "FreshBooks keeps one attachment per expense: " + std::to_string(extra_receipts) +
                     " further receipt(s) of this expense were not uploaded");
    }
    sdk::HttpRequest req;
    req.method = "POST";
    req.url = "expenses/expenses";
    req.headers["Content-Type"] = "application/json";
    req.body = body.dump();
    MLC_ASSIGN_OR_RETURN(json created, Create(req, "POST expenses/expenses"));
    const json expense = Nested(created, {"response", "result", "expense"});
    const json id = expense.is_object()
                        ? (expense.contains("id") ? expense["id"] : Nested(expense, {"expenseid"}))
                        : json();
    if (!id.is_number_integer() && !id.is_string())
      return Status::Uncertain("POST expenses/expenses: the response names no expense id");
    return json{{"target_id", id.is_string() ? id.get<std::string>() : id.dump()}};
  }

  // Vendors are found by exact name first (the refs contract for {"create": true, "name"}), then created.
  Result<json> WriteVendor(const json& object, bool dry_run) {
    VendorOptions options;
    options.currency_code = settings_.vendor_currency;
    options.language = settings_.vendor_language;
    MLC_ASSIGN_OR_RETURN(json body, VendorToVendor(object, options));
    if (dry_run) {
      return json{{"target_id", nullptr},
                  {"dry_run", true},
                  {"request", {{"method", "POST"}, {"url", "bill_vendors/bill_vendors"}, {"body", body}}}};
    }
    const std::string name = body["bill_vendor"]["vendor_name"].get<std::string>();
    MLC_ASSIGN_OR_RETURN(std::optional<std::string> existing, FindVendorByName(name));
    if (existing) return json{{"target_id", *existing}};
    sdk::HttpRequest req;
    req.method = "POST";
    req.url = "bill_vendors/bill_vendors";
    req.headers["Content-Type"] = "application/json";
    req.body = body.dump();
    MLC_ASSIGN_OR_RETURN(json created, Create(req, "POST bill_vendors/bill_vendors"));
    const json vendor = Nested(created, {"response", "result", "bill_vendor"});
    const json id = vendor.is_object()
                        ? (vendor.contains("vendorid") ? vendor["vendorid"] : Nested(vendor, {"id"}))
                        : json();
    if (!id.is_number_integer() && !id.is_string())
      return Status::Uncertain("POST bill_vendors/bill_vendors: the response names no vendor id");
    return json{{"target_id", id.is_string() ? id.get<std::string>() : id.dump()}};
  }

  // ---- webhooks ----

  Result<std::vector<std::string>> KnownVerifiers() const {
    std::vector<std::string> out;
    auto secret = host().Secret("webhook_verifier");
    if (secret.ok()) {
      std::string cur;
      for (char ch : *secret + ",") {
        if (ch == ',' || ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r') {
          if (!cur.empty()) out.push_back(cur);
          cur.clear();
        } else {
          cur.push_back(ch);
        }
      }
    } else if (secret.status().code() != Code::kNotFound) {
      return secret.status();
    }
    auto learned = LearnedVerifiers();
    if (!learned.ok()) {
      if (learned.status().code() != Code::kInvalid) return learned.status();
      // A malformed learned map must not stop deliveries signed with a configured verifier.
      host().Log(MLC_LOG_WARN, learned.status().message());
      return out;
    }
    for (const auto& [id, v] : learned->items()) {
      if (v.is_string() && !v.get<std::string>().empty()) out.push_back(v.get<std::string>());
    }
    return out;
  }

  // The verifiers learned from handshakes (callback id -> verifier), read from the vault. A map left in the
  // old plaintext state key is moved into the vault once and the state key emptied; when the host cannot
  // store secrets it is still read (it is already there) and the operator is told to set webhook_verifier.
  // INVALID when the secret holds something other than a JSON object.
  Result<json> LearnedVerifiers() const {
    json learned = json::object();
    auto secret = host().Secret(kLearnedSecret);
    if (secret.ok()) {
      auto doc = mj::Parse(*secret);
      if (!doc.ok() || !doc->is_object())
        return Status::Invalid(
            "secret " + std::string(kLearnedSecret) +
            " is not a JSON object of callback id -> verifier (the plugin writes it; unset it "
            "and re-register the callbacks)");
      learned = std::move(*doc);
    } else if (secret.status().code() != Code::kNotFound) {
      return secret.status();
    }
    MLC_ASSIGN_OR_RETURN(std::optional<std::string> old, host().GetState(kLegacyVerifiersKey));
    if (!old) return learned;
    auto doc = mj::Parse(*old);
    if (!doc.ok() || !doc->is_object() || doc->empty()) return learned;
    json merged = std::move(*doc);
    merged.update(learned);  // what the vault holds is newer
    const Status put = host().SecretPut(kLearnedSecret, merged.dump());
    if (!put.ok()) {
      if (!warned_legacy_) {
        warned_legacy_ = true;
        host().Log(
            MLC_LOG_WARN,
            "FreshBooks webhook verifiers learned earlier are in plaintext connection state and the host "
            "cannot move them into the vault (" +
                put.message() +
                "): set secret webhook_verifier to the callbacks' verifiers, then re-register the callbacks");
      }
      return merged;
    }
    MLC_RETURN_IF_ERROR(host().PutState(kLegacyVerifiersKey, "{}"));
    host().Log(MLC_LOG_INFO, "FreshBooks webhook verifiers moved from connection state into secret " +
                                 std::string(kLearnedSecret));
    return merged;
  }

  Result<json> Handshake(const std::map<std::string, std::string>& form) {
    const std::string verifier = form.at("verifier");
    auto cb = form.find("object_id");
    if (cb == form.end() || cb->second.empty() ||
        cb->second.find_first_not_of("0123456789") != std::string::npos)
      return Status::Invalid("verification request without a numeric object_id (callback id)");
    if (verifier.empty() || verifier.size() > 200)
      return Status::Invalid("verification request with a malformed verifier");
    MLC_ASSIGN_OR_RETURN(std::string account, AccountId());
    sdk::HttpRequest req;
    req.method = "PUT";
    req.url = settings_.base_url + "/events/account/" + account + "/events/callbacks/" + cb->second;
    req.headers["Content-Type"] = "application/json";
    req.body = json{{"callback", {{"verifier", verifier}}}}.dump();
    // A refused verifier (INVALID) means the request did not come from FreshBooks for this callback.
    MLC_ASSIGN_OR_RETURN(json confirmed, Call(req, "PUT /events/.../callbacks/" + cb->second));
    (void)confirmed;
    MLC_ASSIGN_OR_RETURN(json verifiers, LearnedVerifiers());
    verifiers[cb->second] = verifier;
    // Only into the vault: never plaintext state. Without it the handshake is still answered (FreshBooks
    // has accepted the verifier) and the operator supplies the verifier as a configured secret.
    const Status put = host().SecretPut(kLearnedSecret, verifiers.dump());
    if (put.ok()) {
      host().Log(MLC_LOG_INFO, "FreshBooks callback " + cb->second +
                                   " verified; its verifier is kept in secret " +
                                   std::string(kLearnedSecret));
    } else {
      host().Log(MLC_LOG_WARN, "FreshBooks callback " + cb->second +
                                   " verified, but the host could not store its verifier (" + put.message() +
                                   "): set secret webhook_verifier to this callback's verifier, "
                                   "or its deliveries will not verify");
    }
    return json{{"reply", {{"status", 200}, {"content_type", "text/plain"}, {"body", ""}}},
                {"events", json::array()}};
  }

  json raw_settings_;
  Settings settings_;
  mutable bool warned_legacy_ = false;  // the unmovable-legacy-verifiers warning is logged once per instance
};

}  // namespace
}  // namespace mlc::plugins::freshbooks

MLC_DEFINE_PLUGIN(mlc::plugins::freshbooks::FreshBooksPlugin);
