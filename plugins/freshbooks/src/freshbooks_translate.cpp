// FreshBooks <-> canonical translation (see freshbooks_translate.hpp). Facts from the vendor notes
// (freshbooks-expensify.md part A): money objects {"amount": "12.30", "code": "USD"} with decimal text,
// zone-less Eastern timestamps (bills in UTC), vis_state 0/1/2 = active/deleted/archived, legacy error
// bodies that may arrive with HTTP 200, and the X-FreshBooks-Hmac-SHA256 webhook signature.
#include "freshbooks_translate.hpp"

#include <limits>

#include "mlc/crypto.hpp"
#include "mlc/json.hpp"
#include "mlc/money.hpp"
#include "mlc/text.hpp"
#include "mlc/time.hpp"
#include "mlc/webhook_signature.hpp"

namespace mlc::plugins::freshbooks {

namespace {

using nlohmann::json;

// A non-empty string member, else nullopt.
std::optional<std::string> Text(const json& obj, const char* key) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) return std::nullopt;
  return it->get<std::string>();
}

// An id given as an integer or a string of digits, as text.
std::optional<std::string> IdText(const json& v) {
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_string() && !v.get_ref<const std::string&>().empty()) return v.get<std::string>();
  return std::nullopt;
}

Result<std::string> RequiredId(const json& item, const char* key, std::string_view what) {
  auto it = item.find(key);
  if (it == item.end()) return Status::Error(std::string(what) + " without '" + key + "'");
  auto id = IdText(*it);
  if (!id) return Status::Error(std::string(what) + " has a malformed '" + key + "'");
  return *id;
}

// {"amount": "12.30", "code": "USD"} -> canonical money; `fallback_code` when the code is missing.
Result<json> MoneyFromVendor(const json& v, std::string_view field, const std::string& fallback_code = "") {
  if (!v.is_object() || !v.contains("amount"))
    return Status::Error(std::string(field) + " is not a money object");
  std::string code = fallback_code;
  if (auto c = Text(v, "code")) code = *c;
  if (!money::IsCurrencyCode(code)) return Status::Error(std::string(field) + " has no ISO currency code");
  MLC_ASSIGN_OR_RETURN(int64_t minor, mlc::json::MoneyField(v["amount"], field, code));
  return json{{"amount_minor", minor}, {"currency", code}};
}

json Source(const std::string& id, const std::string& version, int64_t updated_s,
            const std::string& connection) {
  return json{{"system", std::string(kSystem)},
              {"connection", connection},
              {"id", id},
              {"version", version},
              {"updated_at", FormatRfc3339(updated_s)}};
}

// A version for records without an update timestamp: a digest of the record as FreshBooks sent it.
std::string ContentVersion(const json& item) {
  return "sha256:" + crypto::HexEncode(crypto::Sha256Digest(item.dump())).substr(0, 32);
}

// The message list of a legacy {"response": {"errors": [...]}} body; empty when it is not one.
std::vector<json> LegacyErrors(const json& body) {
  std::vector<json> out;
  if (!body.is_object()) return out;
  auto r = body.find("response");
  if (r == body.end() || !r->is_object()) return out;
  auto e = r->find("errors");
  if (e == r->end() || !e->is_array()) return out;
  for (const json& err : *e) out.push_back(err);
  return out;
}

// Legacy error numbers that mean "the request content is wrong" (FB-DOCS /api/errors).
bool ValidationErrno(int64_t n) {
  if (n == 1003 || n == 1038 || n == 1042) return false;  // access denied, write denied, inactive account
  return n == 409 || (n >= 1001 && n <= 1040);
}

}  // namespace

// ---- time ------------------------------------------------------------------------------------------

namespace {

std::optional<int64_t> InRange(std::optional<int64_t> t) {
  if (!t || *t < kMinInstant || *t > kMaxInstant) return std::nullopt;
  return t;
}

}  // namespace

std::string FormatRfc3339(int64_t unix_s) { return time::FormatRfc3339(unix_s); }

std::string FormatDate(int64_t unix_s) { return time::FormatDateOf(unix_s); }

std::optional<int64_t> ParseUtcNaive(std::string_view text) { return InRange(time::ParseWall(text)); }

std::optional<int64_t> ParseEasternNaive(std::string_view text) {
  return InRange(time::ParseWallInZone(text, time::kUsEastern));
}

// An offset can carry a year-0001 or year-9999 wall time out of the four-digit years: InRange refuses it.
std::optional<int64_t> ParseRfc3339(std::string_view s) { return InRange(time::ParseRfc3339Seconds(s)); }

// ---- type-safe member reads -------------------------------------------------------------------------

Result<std::string> StringMember(const json& obj, std::string_view key, std::string_view what,
                                 std::string fallback) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_string())
    return Status::Error(std::string(what) + " has a non-text '" + std::string(key) + "'");
  return it->get<std::string>();
}

Result<int64_t> IntMember(const json& obj, std::string_view key, std::string_view what, int64_t fallback) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (it->is_number_integer() && !it->is_number_unsigned()) return it->get<int64_t>();
  if (it->is_number_unsigned() &&
      it->get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return static_cast<int64_t>(it->get<uint64_t>());
  return Status::Error(std::string(what) + " has a non-integer '" + std::string(key) + "'");
}

// ---- errors ----------------------------------------------------------------------------------------

std::optional<Status> ResponseError(int http_status, const json& body, std::string_view what) {
  const std::vector<json> legacy = LegacyErrors(body);
  const bool ok_status = http_status >= 200 && http_status < 300;
  if (ok_status && legacy.empty()) return std::nullopt;

  std::string message;
  bool validation = false;
  bool denied = false;
  for (const json& e : legacy) {
    if (!e.is_object()) continue;
    // A message of another type than text is left out: the error stands either way.
    const std::string text = Text(e, "message").value_or(std::string());
    std::string field;
    if (auto f = e.find("field"); f != e.end() && f->is_string()) field = f->get<std::string>();
    if (!message.empty()) message += "; ";
    message += text.empty() ? std::string("error") : text;
    if (!field.empty()) message += " (" + field + ")";
    int64_t n = 0;
    if (auto no = e.find("errno"); no != e.end() && no->is_number_integer()) n = no->get<int64_t>();
    if (n != 0) message += " [errno " + std::to_string(n) + "]";
    validation = validation || ValidationErrno(n);
    denied = denied || n == 1003 || n == 1038;
  }
  if (message.empty() && body.is_object()) {
    // {"error", "error_description"} (auth), {"error": "..."} (uploads), {"errno", "message"} (events),
    // {"errors": {"message", "details": [{"reason"}]}} (ledger accounts), {"message"} (new style).
    if (auto d = Text(body, "error_description")) {
      message = *d;
    } else if (auto m = Text(body, "message")) {
      message = *m;
    } else if (auto e = Text(body, "error")) {
      message = *e;
    } else if (auto errs = body.find("errors"); errs != body.end() && errs->is_object()) {
      if (auto details = errs->find("details"); details != errs->end() && details->is_array()) {
        for (const json& d : *details) {
          if (auto r = Text(d, "reason")) message += (message.empty() ? "" : "; ") + *r;
        }
      }
      if (message.empty()) message = Text(*errs, "message").value_or(std::string());
    }
    if (auto details = body.find("details"); details != body.end() && details->is_array()) {
      for (const json& d : *details) {
        if (d.is_string()) message += "; " + d.get<std::string>();
      }
    }
  }
  if (message.size() > 600) message = message.substr(0, 600) + "...";
  const std::string text = std::string(what) + ": HTTP " + std::to_string(http_status) +
                           (message.empty() ? std::string() : ": " + message);
  if (ok_status) {
    // A 200 that carries errors (FB-NODE: "regardless of status code").
    if (denied) return Status::Auth(text);
    return validation ? Status::Invalid(text) : Status::Error(text);
  }
  if (http_status == 401 || http_status == 403) return Status::Auth(text);
  if (http_status == 429 || http_status >= 500) return Status::Retry(text);
  if (http_status == 400 || http_status == 404 || http_status == 409 || http_status == 422)
    return Status::Invalid(text);
  return Status::Error(text);
}

// ---- marker and notes ------------------------------------------------------------------------------

std::string MarkerLine(std::string_view key) { return std::string(kMarkerPrefix) + std::string(key); }

bool NotesCarryMarker(std::string_view notes, std::string_view key) {
  while (!notes.empty() && (notes.back() == '\n' || notes.back() == '\r' || notes.back() == ' '))
    notes.remove_suffix(1);
  const size_t nl = notes.rfind('\n');
  std::string_view last = nl == std::string_view::npos ? notes : notes.substr(nl + 1);
  if (!last.empty() && last.back() == '\r') last.remove_suffix(1);
  return last == MarkerLine(key);
}

std::string BuildNotes(std::string_view memo, const std::vector<std::pair<std::string, std::string>>& dims,
                       std::string_view key) {
  std::string tail;
  for (const auto& [k, v] : dims) tail += k + ": " + v + "\n";
  tail += MarkerLine(key);
  std::string head(memo);
  while (!head.empty() && (head.back() == '\n' || head.back() == ' ')) head.pop_back();
  if (!head.empty()) {
    const size_t room = kMaxNotes > tail.size() + 1 ? kMaxNotes - tail.size() - 1 : 0;
    if (head.size() > room) {
      head.resize(room > 3 ? room - 3 : 0);
      // Never cut a UTF-8 sequence in half.
      while (!head.empty() && (static_cast<unsigned char>(head.back()) & 0xC0) == 0x80) head.pop_back();
      if (!head.empty() && (static_cast<unsigned char>(head.back()) & 0x80) != 0) head.pop_back();
      head += "...";
    }
    return head + "\n" + tail;
  }
  return tail;
}

// ---- writes ----------------------------------------------------------------------------------------

Result<json> ExpenseToVendor(const json& object, const json& refs, std::string_view key,
                             const ExpenseOptions& options) {
  if (!object.is_object()) return Status::Invalid("object must be a JSON object");
  if (auto t = object.find("type"); t != object.end() && *t != "expense")
    return Status::Invalid("object.type must be 'expense'");
  if (key.empty()) return Status::Invalid("idempotency_key must not be empty");
  const json no_refs = json::object();
  const json& r = refs.is_object() ? refs : no_refs;

  auto amount_it = object.find("amount");
  if (amount_it == object.end() || !amount_it->is_object()) return Status::Invalid("expense needs an amount");
  auto minor = mlc::json::IntField(*amount_it, "amount_minor");
  if (!minor.ok()) return Status::Invalid("amount.amount_minor must be an integer");
  auto currency = mlc::json::StringField(*amount_it, "currency");
  if (!currency.ok() || !money::IsCurrencyCode(*currency))
    return Status::Invalid("amount.currency must be an ISO 4217 code");
  // FreshBooks refuses negative amounts (errno 1025 InvalidNegativeValue, FB-DOCS /api/errors): a refund
  // is the positive amount in the configured refund (credit) category, marked in the notes.
  const bool refund = *minor < 0;
  if (refund && options.refund_category_id.empty()) {
    return Status::Invalid(
        "FreshBooks refuses negative expense amounts (errno 1025 InvalidNegativeValue): set the "
        "freshbooks setting refund_category_id to the expense category refunds post to");
  }
  if (refund && *minor == std::numeric_limits<int64_t>::min())
    return Status::Invalid("amount.amount_minor is out of range");
  auto decimal = money::FormatDecimal(refund ? -*minor : *minor, *currency);
  if (!decimal.ok()) return decimal.status().Wrap("amount");

  // The category is what a FreshBooks expense posts to: without one nothing is sent.
  std::optional<std::string> category;
  if (refund) {
    category = options.refund_category_id;
  } else if (auto c = r.find("category"); c != r.end() && c->is_object() && c->contains("id")) {
    category = IdText((*c)["id"]);
  }
  if (!category) {
    return Status::Invalid(
        "FreshBooks needs an expense category: refs.category.id is missing (map the source account or "
        "category to one of the expense_categories reference records)");
  }

  auto spent = Text(object, "spent_at");
  if (!spent || !time::ParseDate(*spent)) return Status::Invalid("expense needs spent_at (YYYY-MM-DD)");

  // The FreshBooks expense vendor is free text: a resolved or to-be-created vendor is used by name.
  std::optional<std::string> vendor;
  if (auto v = r.find("vendor"); v != r.end() && v->is_object()) vendor = Text(*v, "name");
  if (!vendor) vendor = Text(object, "merchant");
  if (!vendor && object.contains("vendor")) vendor = Text(object["vendor"], "name");

  // Dimensions as "key: value" lines: the host's resolved values, else (no refs at all) the object's own.
  std::vector<std::pair<std::string, std::string>> dims;
  const json* dim_source = nullptr;
  if (auto d = r.find("dimensions"); d != r.end() && d->is_object()) {
    dim_source = &*d;
  } else if (r.empty() && object.contains("dimensions") && object["dimensions"].is_object()) {
    dim_source = &object["dimensions"];
  }
  if (dim_source != nullptr) {
    for (const auto& [k, v] : dim_source->items()) {
      std::optional<std::string> value = Text(v, "name");
      if (!value) value = Text(v, "code");
      if (!value) value = Text(v, "id");
      if (value) dims.emplace_back(k, *value);
    }
  }
  if (refund) dims.emplace_back("refund", "true");
  auto memo = StringMember(object, "memo", "expense");
  if (!memo.ok()) return Status::Invalid(memo.status().message());
  json body = {{"amount", {{"amount", *decimal}, {"code", *currency}}},
               {"categoryid", *category},
               {"date", *spent},
               {"notes", BuildNotes(*memo, dims, key)}};
  if (!options.staff_id.empty()) {
    // FB-POSTMAN "Create Expense with Receipt" sends "staffid": 1 (a number).
    const bool digits = options.staff_id.size() <= 18 &&
                        options.staff_id.find_first_not_of("0123456789") == std::string::npos;
    body["staffid"] = digits ? json(std::stoll(options.staff_id)) : json(options.staff_id);
  }
  if (vendor) body["vendor"] = vendor->size() > 255 ? vendor->substr(0, 255) : *vendor;
  return json{{"expense", std::move(body)}};
}

Result<json> VendorToVendor(const json& object, const VendorOptions& options) {
  if (!object.is_object()) return Status::Invalid("object must be a JSON object");
  if (auto t = object.find("type"); t != object.end() && *t != "vendor")
    return Status::Invalid("object.type must be 'vendor'");
  auto name = Text(object, "name");
  if (!name) return Status::Invalid("vendor needs a name");
  if (name->size() > 255) return Status::Invalid("FreshBooks vendor names are at most 255 characters");
  json v = {{"vendor_name", *name}};
  if (auto e = Text(object, "email")) v["primary_contact_email"] = *e;
  if (auto p = Text(object, "phone")) v["phone"] = *p;
  if (auto w = Text(object, "website")) v["website"] = *w;
  // FB-POSTMAN "Add Vendor" sends currency_code and language: the object's currency, else the setting.
  auto c = Text(object, "currency");
  v["currency_code"] = c && money::IsCurrencyCode(*c) ? *c : options.currency_code;
  v["language"] = options.language;
  if (auto n = Text(object, "notes")) v["note"] = *n;
  if (auto a = object.find("address"); a != object.end() && a->is_object()) {
    if (auto s = Text(*a, "line1")) v["street"] = *s;
    if (auto s = Text(*a, "line2")) v["street2"] = *s;
    if (auto s = Text(*a, "city")) v["city"] = *s;
    if (auto s = Text(*a, "region")) v["province"] = *s;
    if (auto s = Text(*a, "postal_code")) v["postal_code"] = *s;
    if (auto s = Text(*a, "country")) v["country"] = *s;
  }
  return json{{"bill_vendor", std::move(v)}};
}

// ---- reads -----------------------------------------------------------------------------------------

Result<json> CategoryFromVendor(const json& item, const std::string& connection) {
  if (!item.is_object()) return Status::Error("FreshBooks returned a category that is not an object");
  MLC_ASSIGN_OR_RETURN(std::string id,
                       RequiredId(item, item.contains("categoryid") ? "categoryid" : "id", "category"));
  auto name = Text(item, "category");
  if (!name) return Status::Error("category " + id + " has no name");
  const std::string what = "category " + id;
  MLC_ASSIGN_OR_RETURN(std::string updated, StringMember(item, "updated_at", what));
  auto at = ParseEasternNaive(updated);
  if (!at) return Status::Error(what + " has a malformed updated_at");
  MLC_ASSIGN_OR_RETURN(int64_t vis, IntMember(item, "vis_state", what, 0));
  json out = {{"type", "category"},
              {"source", Source(id, FormatRfc3339(*at), *at, connection)},
              {"links", json::object()},
              {"name", *name},
              {"active", vis == 0}};
  if (auto p = item.find("parentid"); p != item.end()) {
    if (auto pid = IdText(*p); pid && *pid != "0") out["parent"] = {{"id", *pid}};
  }
  return out;
}

Result<std::vector<json>> AccountsFromVendor(const json& item, const std::string& connection) {
  if (!item.is_object()) return Status::Error("FreshBooks returned an account that is not an object");
  auto classify = [](const std::string& type) -> std::string {
    if (type == "asset") return "asset";
    if (type == "liability") return "liability";
    if (type == "equity") return "equity";
    if (type == "income" || type == "revenue") return "revenue";
    return "expense";  // expense, cost_of_goods_sold
  };
  std::vector<json> out;
  MLC_ASSIGN_OR_RETURN(std::string id,
                       RequiredId(item, item.contains("accountid") ? "accountid" : "id", "account"));
  auto name = Text(item, "account_name");
  if (!name) return Status::Error("account " + id + " has no name");
  const std::string what = "account " + id;
  MLC_ASSIGN_OR_RETURN(std::string type, StringMember(item, "account_type", what));
  // Journal entry accounts carry no update time: the version is a digest and updated_at the creation time.
  MLC_ASSIGN_OR_RETURN(std::string created_text, StringMember(item, "created_at", what));
  const int64_t created = ParseEasternNaive(created_text).value_or(0);
  json parent = {{"type", "account"},
                 {"source", Source(id, ContentVersion(item), created, connection)},
                 {"links", json::object()},
                 {"name", *name},
                 {"classification", classify(type)},
                 {"active", true}};
  if (auto n = Text(item, "account_number")) parent["code"] = *n;
  if (!type.empty()) parent["subtype"] = type;
  if (auto c = Text(item, "currency_code"); c && money::IsCurrencyCode(*c)) parent["currency"] = *c;
  out.push_back(parent);
  const json no_subs = json::array();
  const json* subs = &no_subs;
  if (auto s = item.find("sub_accounts"); s != item.end() && !s->is_null()) {
    if (!s->is_array()) return Status::Error(what + " has a 'sub_accounts' that is not a list");
    subs = &*s;
  }
  for (const json& sub : *subs) {
    if (!sub.is_object()) continue;
    MLC_ASSIGN_OR_RETURN(
        std::string sid,
        RequiredId(sub, sub.contains("sub_accountid") ? "sub_accountid" : "id", "sub-account"));
    auto sname = Text(sub, "account_sub_name");
    if (!sname) return Status::Error("sub-account " + sid + " has no name");
    const std::string swhat = "sub-account " + sid;
    MLC_ASSIGN_OR_RETURN(std::string stype, StringMember(sub, "account_type", swhat, type));
    MLC_ASSIGN_OR_RETURN(std::string screated_text, StringMember(sub, "created_at", swhat));
    const int64_t screated = ParseEasternNaive(screated_text).value_or(created);
    json a = {{"type", "account"},
              {"source", Source(sid, ContentVersion(sub), screated, connection)},
              {"links", json::object()},
              {"name", *sname},
              {"classification", classify(stype)},
              {"parent", {{"id", id}}},
              {"active", true}};
    // [UNCONFIRMED] how FreshBooks shows sub-account numbers; "<parent number>-<sub number>" here.
    if (auto n = Text(sub, "account_sub_number")) {
      auto pn = Text(item, "account_number");
      a["code"] = pn ? *pn + "-" + *n : *n;
    }
    if (!stype.empty()) a["subtype"] = stype;
    if (auto c = Text(sub, "currency_code"); c && money::IsCurrencyCode(*c)) a["currency"] = *c;
    out.push_back(std::move(a));
  }
  return out;
}

Result<json> VendorFromVendor(const json& item, const std::string& connection) {
  if (!item.is_object()) return Status::Error("FreshBooks returned a vendor that is not an object");
  MLC_ASSIGN_OR_RETURN(std::string id,
                       RequiredId(item, item.contains("vendorid") ? "vendorid" : "id", "vendor"));
  auto name = Text(item, "vendor_name");
  if (!name) return Status::Error("vendor " + id + " has no vendor_name");
  const std::string what = "vendor " + id;
  MLC_ASSIGN_OR_RETURN(std::string updated, StringMember(item, "updated_at", what));
  auto at = ParseEasternNaive(updated);
  if (!at) return Status::Error(what + " has a malformed updated_at");
  MLC_ASSIGN_OR_RETURN(int64_t vis, IntMember(item, "vis_state", what, 0));
  json out = {{"type", "vendor"},
              {"source", Source(id, FormatRfc3339(*at) + "/" + std::to_string(vis), *at, connection)},
              {"links", json::object()},
              {"name", *name},
              {"status", vis == 0 ? "active" : "inactive"}};
  if (auto e = Text(item, "primary_contact_email"); e && e->find('@') != std::string::npos) out["email"] = *e;
  if (auto p = Text(item, "phone")) out["phone"] = p->substr(0, 50);
  if (auto w = Text(item, "website"); w && (w->rfind("http://", 0) == 0 || w->rfind("https://", 0) == 0))
    out["website"] = *w;
  if (auto c = Text(item, "currency_code"); c && money::IsCurrencyCode(*c)) out["currency"] = *c;
  if (auto n = Text(item, "note")) out["notes"] = n->substr(0, 4000);
  json address = json::object();
  if (auto s = Text(item, "street")) address["line1"] = *s;
  if (auto s = Text(item, "street2")) address["line2"] = *s;
  if (auto s = Text(item, "city")) address["city"] = *s;
  if (auto s = Text(item, "province")) address["region"] = *s;
  if (auto s = Text(item, "postal_code")) address["postal_code"] = s->substr(0, 20);
  // FreshBooks writes country names ("United States"); only ISO alpha-2 codes carry over.
  if (auto s = Text(item, "country");
      s && s->size() == 2 && s->at(0) >= 'A' && s->at(0) <= 'Z' && s->at(1) >= 'A' && s->at(1) <= 'Z')
    address["country"] = *s;
  if (!address.empty()) out["address"] = address;
  return out;
}

Result<json> BillFromVendor(const json& item, const std::string& connection) {
  if (!item.is_object()) return Status::Error("FreshBooks returned a bill that is not an object");
  MLC_ASSIGN_OR_RETURN(std::string id, RequiredId(item, "id", "bill"));
  const std::string what = "bill " + id;
  MLC_ASSIGN_OR_RETURN(std::string currency, StringMember(item, "currency_code", what));
  // Bill timestamps are UTC (FB-NODE parses them so), unlike the rest of the accounting API.
  MLC_ASSIGN_OR_RETURN(std::string updated, StringMember(item, "updated_at", what));
  auto at = ParseUtcNaive(updated);
  if (!at) return Status::Error(what + " has a malformed updated_at");
  auto vendor = item.find("vendorid");
  auto vendor_id = vendor == item.end() ? std::nullopt : IdText(*vendor);
  if (!vendor_id) return Status::Error(what + " has no vendorid");
  auto issued = Text(item, "issue_date");
  if (!issued) return Status::Error(what + " has no issue_date");
  MLC_ASSIGN_OR_RETURN(json total,
                       MoneyFromVendor(item.value("total_amount", json()), what + " total_amount", currency));
  MLC_ASSIGN_OR_RETURN(int64_t vis, IntMember(item, "vis_state", what, 0));
  MLC_ASSIGN_OR_RETURN(std::string vstatus, StringMember(item, "status", what));
  std::string status = "open";
  if (vis == 1) {
    status = "void";  // soft-deleted in FreshBooks
  } else if (vstatus == "paid") {
    status = "paid";
  } else if (vstatus == "partial") {
    status = "partially_paid";
  }
  json vendor_ref = {{"id", *vendor_id}};
  if (auto v = item.find("vendor"); v != item.end() && v->is_object()) {
    if (auto n = Text(*v, "vendor_name")) vendor_ref["name"] = *n;
  }
  json lines = json::array();
  const json no_lines = json::array();
  const json* bill_lines = &no_lines;
  if (auto ls = item.find("lines"); ls != item.end() && !ls->is_null()) {
    if (!ls->is_array()) return Status::Error(what + " has a 'lines' that is not a list");
    bill_lines = &*ls;
  }
  for (const json& line : *bill_lines) {
    if (!line.is_object()) return Status::Error(what + " has a line that is not an object");
    MLC_ASSIGN_OR_RETURN(json amount,
                         MoneyFromVendor(line.value("amount", json()), what + " line amount", currency));
    json l = {{"amount", amount}};
    if (auto d = Text(line, "description")) l["description"] = d->substr(0, 2000);
    if (auto q = line.find("quantity"); q != line.end()) {
      if (auto qt = IdText(*q)) l["quantity"] = *qt;  // decimal text ("1", "2.5") kept as is
    }
    if (auto u = line.find("unit_cost"); u != line.end() && u->is_object()) {
      MLC_ASSIGN_OR_RETURN(json unit, MoneyFromVendor(*u, what + " line unit_cost", currency));
      l["unit_price"] = unit;
    }
    int64_t tax = 0;
    bool has_tax = false;
    for (const char* key : {"tax_amount1", "tax_amount2"}) {
      if (auto t = line.find(key); t != line.end() && t->is_object()) {
        MLC_ASSIGN_OR_RETURN(json tm, MoneyFromVendor(*t, what + " line " + key, currency));
        tax += tm["amount_minor"].get<int64_t>();
        has_tax = true;
      }
    }
    if (has_tax) l["tax_amount"] = {{"amount_minor", tax}, {"currency", amount["currency"]}};
    // The category is a full object (FB-POSTMAN) or a name next to categoryid (FB-NODE).
    json category = json::object();
    if (auto c = line.find("category"); c != line.end() && c->is_object()) {
      if (auto cid = c->find("categoryid"); cid != c->end()) {
        if (auto t = IdText(*cid)) category["id"] = *t;
      }
      if (auto n = Text(*c, "category")) category["name"] = *n;
    } else if (auto n = Text(line, "category")) {
      category["name"] = *n;
    }
    if (!category.contains("id")) {
      if (auto cid = line.find("categoryid"); cid != line.end()) {
        if (auto t = IdText(*cid)) category["id"] = *t;
      }
    }
    if (!category.empty()) l["category"] = category;
    lines.push_back(std::move(l));
  }
  if (lines.empty()) return Status::Error(what + " has no lines");
  json out = {{"type", "bill"},
              {"source", Source(id, FormatRfc3339(*at) + "/" + std::to_string(vis), *at, connection)},
              {"links", json::object()},
              {"vendor", vendor_ref},
              {"issued_on", *issued},
              {"total", total},
              {"lines", lines},
              {"status", status}};
  if (auto n = Text(item, "bill_number")) out["number"] = n->substr(0, 100);
  if (auto d = Text(item, "due_date")) out["due_on"] = *d;
  if (auto t = item.find("tax_amount"); t != item.end() && t->is_object()) {
    MLC_ASSIGN_OR_RETURN(json tax, MoneyFromVendor(*t, what + " tax_amount", currency));
    out["tax_total"] = tax;
  }
  if (auto o = item.find("outstanding"); o != item.end() && o->is_object()) {
    MLC_ASSIGN_OR_RETURN(json due, MoneyFromVendor(*o, what + " outstanding", currency));
    out["balance_due"] = due;
  }
  return out;
}

Result<json> PaymentFromVendor(const json& item, const std::string& connection) {
  if (!item.is_object()) return Status::Error("FreshBooks returned a bill payment that is not an object");
  MLC_ASSIGN_OR_RETURN(std::string id, RequiredId(item, "id", "bill payment"));
  const std::string what = "bill payment " + id;
  MLC_ASSIGN_OR_RETURN(json amount, MoneyFromVendor(item.value("amount", json()), what + " amount"));
  auto paid = Text(item, "paid_date");
  if (!paid) return Status::Error(what + " has no paid_date");
  auto paid_s = ParseUtcNaive(*paid);
  if (!paid_s || paid->size() != 10) return Status::Error(what + " has a malformed paid_date");
  auto bill = item.find("billid");
  auto bill_id = bill == item.end() ? std::nullopt : IdText(*bill);
  if (!bill_id) return Status::Error(what + " has no billid");
  MLC_ASSIGN_OR_RETURN(std::string type, StringMember(item, "payment_type", what));
  MLC_ASSIGN_OR_RETURN(int64_t vis, IntMember(item, "vis_state", what, 0));
  std::string method = "other";
  if (type == "Check") {
    method = "check";
  } else if (type == "Cash") {
    method = "cash";
  } else if (type == "ACH") {
    method = "ach";
  } else if (type == "Bank Transfer") {
    method = "wire";
  } else if (type == "Credit Card" || type == "Credit" || type == "Debit" || type == "VISA" ||
             type == "MASTERCARD" || type == "DISCOVER" || type == "AMEX" || type == "DINERS" ||
             type == "JCB") {
    method = "card";
  }
  // Bill payments carry no update time: the version is a digest of the record; updated_at is the paid date.
  json out = {{"type", "payment"},
              {"source", Source(id, ContentVersion(item), *paid_s, connection)},
              {"links", json::object()},
              {"amount", amount},
              {"paid_on", *paid},
              {"method", method},
              {"applied_to", json::array({{{"bill", {{"id", *bill_id}}}, {"amount", amount}}})},
              {"status", vis == 1 ? "void" : "completed"}};
  if (auto n = Text(item, "note")) out["memo"] = n->substr(0, 4000);
  return out;
}

// ---- webhooks --------------------------------------------------------------------------------------

std::vector<std::pair<std::string, std::string>> ParseForm(std::string_view body) {
  return text::ParseForm(body);
}

std::string PythonJsonDumps(const std::vector<std::pair<std::string, std::string>>& fields) {
  return webhook::freshbooks::PythonJsonDumps(fields);
}

std::string WebhookSignature(std::string_view verifier,
                             const std::vector<std::pair<std::string, std::string>>& fields) {
  return webhook::freshbooks::Sign(verifier, fields);
}

std::string StreamForEvent(std::string_view name) {
  const std::string_view object = name.substr(0, name.find('.'));
  if (object == "bill") return "bills";
  if (object == "bill_vendor") return "vendors";
  if (object == "category") return "expense_categories";
  // payment.* are invoice payments; the payments stream carries bill payments, which send no events.
  return {};
}

}  // namespace mlc::plugins::freshbooks
