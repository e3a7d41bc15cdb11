// FreshBooks accounting resources under /accounting/account/{account_id}/: the generic list/get/create/update
// handlers (envelopes, paging, search, includes, vis_state rules) and each resource's validation and shape.
#include <algorithm>
#include <chrono>

#include "freshbooks_internal.hpp"
#include "mlc/json.hpp"

namespace mlc::sandbox::freshbooks {

namespace {

int64_t UnixOf(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// payment_type values (FB-NODE BillPayments.ts; the invoice payment "type" takes the same list).
const std::vector<std::string>& PaymentTypes() {
  static const std::vector<std::string> kTypes = {
      "Check", "Credit",     "Cash",     "Bank Transfer", "Credit Card", "Debit", "PayPal", "2Checkout",
      "VISA",  "MASTERCARD", "DISCOVER", "AMEX",          "DINERS",      "JCB",   "ACH",    "Other"};
  return kTypes;
}

// Reads and validates the fields of one request object, collecting legacy errors as it goes.
class Fields {
 public:
  Fields(const nlohmann::json& in, std::string object, std::vector<FieldError>* errors)
      : in_(in), object_(std::move(object)), errors_(errors) {}

  bool Has(const std::string& f) const { return in_.contains(f); }
  bool Present(const std::string& f) const { return in_.contains(f) && !in_.at(f).is_null(); }
  const nlohmann::json& Raw(const std::string& f) const { return in_.at(f); }

  void Error(int code, const std::string& field, const std::string& message, const nlohmann::json& value) {
    errors_->push_back(FieldError{code, field, message, object_, value});
  }
  void Required(const std::string& f) {
    Error(kErrRequiredField, f, "Field " + f + " is required.", nullptr);
  }

  // An id given as an int or a digit string; a missing value is an error only when `required`.
  std::optional<int64_t> Id(const std::string& f, bool required) {
    if (!Present(f)) {
      if (required) Required(f);
      return std::nullopt;
    }
    auto v = AsId(Raw(f));
    if (!v) Error(kErrMappingNumber, f, "Field " + f + " must be a number.", Raw(f));
    return v;
  }

  // A string (null clears it); nullopt when absent or invalid.
  std::optional<nlohmann::json> Text(const std::string& f, size_t max_length, bool required = false) {
    if (!Has(f) || (required && Raw(f).is_null())) {
      if (required) Required(f);
      return std::nullopt;
    }
    const nlohmann::json& v = Raw(f);
    if (v.is_null()) return nlohmann::json();
    if (!v.is_string()) {
      Error(kErrInvalidValue, f, "Field " + f + " must be a string.", v);
      return std::nullopt;
    }
    if (v.get_ref<const std::string&>().size() > max_length) {
      Error(kErrMaxLength, f, "Field " + f + " is longer than " + std::to_string(max_length) + " characters.",
            v);
      return std::nullopt;
    }
    if (required && v.get_ref<const std::string&>().empty()) {
      Required(f);
      return std::nullopt;
    }
    return v;
  }

  std::optional<std::string> Date(const std::string& f, bool required) {
    if (!Present(f)) {
      if (required) Required(f);
      return std::nullopt;
    }
    const nlohmann::json& v = Raw(f);
    if (!v.is_string() || !ParseCivilDate(v.get<std::string>())) {
      Error(kErrMappingDate, f, "Field " + f + " must be a date formatted YYYY-MM-DD.", v);
      return std::nullopt;
    }
    return v.get<std::string>();
  }

  std::optional<bool> Bool(const std::string& f) {
    if (!Present(f)) return std::nullopt;
    const nlohmann::json& v = Raw(f);
    if (v.is_boolean()) return v.get<bool>();
    if (v.is_number_integer() && (v.get<int64_t>() == 0 || v.get<int64_t>() == 1))
      return v.get<int64_t>() == 1;
    if (v.is_string() && (v == "true" || v == "false")) return v == "true";
    Error(kErrMappingBoolean, f, "Field " + f + " must be a boolean.", v);
    return std::nullopt;
  }

  // A non-negative decimal (percentages, quantities) as normalized text; null clears it.
  std::optional<nlohmann::json> Decimal(const std::string& f) {
    if (!Has(f)) return std::nullopt;
    if (Raw(f).is_null()) return nlohmann::json();
    auto v = NormalizeDecimal(Raw(f));
    if (!v) {
      Error(kErrInvalidValue, f, "Field " + f + " must be a non-negative number with at most 3 decimals.",
            Raw(f));
      return std::nullopt;
    }
    return nlohmann::json(*v);
  }

  // {"amount": "12.34", "code": "USD"}: the amount must be a decimal string (FreshBooks money is text); the
  // code defaults to `default_currency`.
  std::optional<money::Money> Money(const std::string& f, const std::string& default_currency, bool required,
                                    bool allow_negative) {
    if (!Present(f)) {
      if (required) Required(f);
      return std::nullopt;
    }
    const nlohmann::json& v = Raw(f);
    if (!v.is_object() || !v.contains("amount")) {
      Error(kErrRequiredField, f + ".amount", "Field amount is required.",
            v.is_object() ? nlohmann::json() : v);
      return std::nullopt;
    }
    std::string code = default_currency;
    if (v.contains("code") && !v["code"].is_null()) {
      if (!v["code"].is_string() || !money::IsCurrencyCode(v["code"].get<std::string>())) {
        Error(kErrInvalidValue, f + ".code", "Field code must be an ISO 4217 currency code.", v["code"]);
        return std::nullopt;
      }
      code = v["code"].get<std::string>();
    }
    const nlohmann::json& amount = v["amount"];
    if (!amount.is_string()) {
      Error(kErrInvalidValue, f + ".amount", "Field amount must be a decimal string such as \"12.34\".",
            amount);
      return std::nullopt;
    }
    auto minor = money::ParseDecimal(amount.get<std::string>(), code);
    if (!minor.ok()) {
      Error(kErrMappingNumber, f + ".amount", "Field amount is not a valid " + code + " amount.", amount);
      return std::nullopt;
    }
    if (*minor < 0 && !allow_negative) {
      Error(kErrNegativeValue, f + ".amount", "Field amount cannot be negative.", amount);
      return std::nullopt;
    }
    return money::Money{*minor, code};
  }

  // An enumerated string.
  std::optional<std::string> OneOf(const std::string& f, const std::vector<std::string>& allowed,
                                   bool required) {
    if (!Present(f)) {
      if (required) Required(f);
      return std::nullopt;
    }
    const nlohmann::json& v = Raw(f);
    if (v.is_string() && std::find(allowed.begin(), allowed.end(), v.get<std::string>()) != allowed.end()) {
      return v.get<std::string>();
    }
    Error(kErrInvalidValue, f, "Field " + f + " has an unsupported value.", v);
    return std::nullopt;
  }

 private:
  const nlohmann::json& in_;
  std::string object_;
  std::vector<FieldError>* errors_;
};

std::optional<int> ParseVisState(const nlohmann::json& v) {
  auto id = AsId(v);
  if (!id || *id > 2) return std::nullopt;
  return static_cast<int>(*id);
}

Includes IncludesOf(const Request& req) {
  Includes out;
  for (const auto& v : req.QueryAll("include[]")) out.insert(v);
  return out;
}

nlohmann::json Envelope(const std::string& key, nlohmann::json value) {
  return {{"response", {{"result", {{key, std::move(value)}}}}}};
}

bool AllDigits(std::string_view s) {
  if (s.empty() || s.size() > 18) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

// ------------------------------------------------------------------------------------------------------
// Resource table.

void FreshBooksEmulator::DefineResources() {
  using FT = FilterType;
  resources_.clear();
  ResourceDef expense;
  expense.path = "expenses/expenses";
  expense.single = "expense";
  expense.list = "expenses";
  expense.object = "expense";
  expense.id_field = "expenseid";
  expense.noun = "Expense";
  expense.event = "expense";
  // The filter table of FB-DOCS /api/expenses, exactly: Equals/In expenseid, clientid, staffid, profileid,
  // categoryid, projectid; Between amount, date, updated (min inclusive, max exclusive). No notes or vendor
  // filter is documented, so search[notes_like] and search[vendor] are refused (errno 1037). vis_state:
  // "search[vis_state]=0" (FB-PY making_calls; FB-DOCS active_deleted), the equals form only.
  expense.filters = {{"expenseid", FT::kInt, true, kOpEquals | kOpIn},
                     {"clientid", FT::kInt, true, kOpEquals | kOpIn},
                     {"staffid", FT::kInt, true, kOpEquals | kOpIn},
                     {"profileid", FT::kInt, true, kOpEquals | kOpIn},
                     {"categoryid", FT::kInt, true, kOpEquals | kOpIn},
                     {"projectid", FT::kInt, true, kOpEquals | kOpIn},
                     {"amount", FT::kMoney, true, kOpRange},
                     {"date", FT::kDate, true, kOpRange},
                     {"updated", FT::kTime, true, kOpRange},
                     {"vis_state", FT::kInt, true, kOpEquals}};
  expense.scope = "user:expenses";
  expense.store = &expenses_;
  expense.apply = [this](const nlohmann::json& in, const Record* ex, Record* out,
                         std::vector<FieldError>* e) { ApplyExpense(in, ex, out, e); };
  expense.render = [this](const Record& r, const Includes& inc) { return RenderExpense(r, inc); };
  expense.after_write = [this](const Record&, const Record& after, bool) { IndexExpense(after); };
  expense.flat = [](const Record& r) {
    return nlohmann::json{
        {"id", r.id},
        {"expenseid", r.id},
        {"categoryid", r.data["categoryid"]},
        {"staffid", r.data["staffid"]},
        {"clientid", r.data["clientid"]},
        {"projectid", r.data["projectid"]},
        {"profileid", r.data["profileid"]},
        {"amount", DecimalThousandths(r.data["amount"]["amount"].get<std::string>()).value_or(0)},
        {"vis_state", r.vis_state},
        {"date", r.data["date"]},
        {"updated", UnixOf(r.updated)}};
  };
  resources_.push_back(expense);

  ResourceDef category;
  category.path = "expenses/categories";
  category.single = "category";
  category.list = "categories";
  category.object = "category";
  category.id_field = "categoryid";
  category.noun = "Category";
  category.writable = false;
  // FB-DOCS /api/expense_categories documents In categoryids and Equals parentid (plus boolean is_cogs /
  // is_editable), no update-time filter, no sort and no updated_at field: none of those are served.
  category.sortable = false;
  category.filters = {{"categoryid", FT::kInt, true, kOpIn},
                      {"parentid", FT::kInt, true, kOpEquals},
                      {"vis_state", FT::kInt, true, kOpEquals}};
  category.scope = "user:expenses";  // FB-DOCS /api/expense_categories: user:expenses:read
  category.store = &categories_;
  category.render = [this](const Record& r, const Includes&) { return RenderCategory(r, true); };
  category.flat = [](const Record& r) {
    return nlohmann::json{
        {"id", r.id}, {"categoryid", r.id}, {"parentid", r.data["parentid"]}, {"vis_state", r.vis_state}};
  };
  resources_.push_back(category);

  ResourceDef bill;
  bill.path = "bills/bills";
  bill.single = "bill";
  bill.list = "bills";
  bill.object = "bill";
  bill.id_field = "billid";
  bill.noun = "Bill";
  bill.event = "bill";
  // Bill timestamps are UTC (FB-NODE parses created_at/updated_at of bills as UTC).
  bill.filters = {{"billid", FT::kInt},
                  {"vendorid", FT::kInt},
                  {"vis_state", FT::kInt, true, kOpEquals},
                  {"status", FT::kString},
                  {"bill_number", FT::kString},
                  {"currency_code", FT::kString},
                  {"issue_date", FT::kDate},
                  {"due_date", FT::kDate},
                  {"updated_at", FT::kTime, false},
                  {"updated", FT::kTime, false},
                  {"created_at", FT::kTime, false}};
  bill.scope = "user:bills";
  bill.store = &bills_;
  bill.apply = [this](const nlohmann::json& in, const Record* ex, Record* out, std::vector<FieldError>* e) {
    ApplyBill(in, ex, out, e);
  };
  bill.render = [this](const Record& r, const Includes& inc) { return RenderBill(r, inc); };
  bill.flat = [this](const Record& r) {
    const BillTotals t = ComputeBill(r);
    const int64_t due =
        *ParseCivilDate(r.data["issue_date"].get<std::string>()) + r.data["due_offset_days"].get<int64_t>();
    return nlohmann::json{{"id", r.id},
                          {"billid", r.id},
                          {"vendorid", r.data["vendorid"]},
                          {"vis_state", r.vis_state},
                          {"status", t.status},
                          {"bill_number", r.data["bill_number"]},
                          {"currency_code", r.data["currency_code"]},
                          {"issue_date", r.data["issue_date"]},
                          {"due_date", FormatCivilDate(due)},
                          {"updated_at", UnixOf(r.updated)},
                          {"updated", UnixOf(r.updated)},
                          {"created_at", UnixOf(r.created)}};
  };
  resources_.push_back(bill);

  ResourceDef vendor;
  vendor.path = "bill_vendors/bill_vendors";
  vendor.single = "bill_vendor";
  vendor.list = "bill_vendors";
  vendor.object = "bill_vendor";
  vendor.id_field = "vendorid";
  vendor.noun = "Vendor";
  vendor.event = "bill_vendor";
  vendor.filters = {{"vendorid", FT::kInt},       {"vis_state", FT::kInt, true, kOpEquals},
                    {"vendor_name", FT::kString}, {"currency_code", FT::kString},
                    {"updated_at", FT::kTime},    {"updated", FT::kTime},
                    {"created_at", FT::kTime}};
  vendor.scope = "user:bill_vendors";
  vendor.store = &vendors_;
  vendor.apply = [this](const nlohmann::json& in, const Record* ex, Record* out, std::vector<FieldError>* e) {
    ApplyVendor(in, ex, out, e);
  };
  vendor.render = [this](const Record& r, const Includes&) { return RenderVendor(r); };
  vendor.flat = [](const Record& r) {
    return nlohmann::json{{"id", r.id},
                          {"vendorid", r.id},
                          {"vis_state", r.vis_state},
                          {"vendor_name", r.data["vendor_name"]},
                          {"currency_code", r.data["currency_code"]},
                          {"updated_at", UnixOf(r.updated)},
                          {"updated", UnixOf(r.updated)},
                          {"created_at", UnixOf(r.created)}};
  };
  resources_.push_back(vendor);

  ResourceDef bill_payment;
  bill_payment.path = "bill_payments/bill_payments";
  bill_payment.single = "bill_payment";
  bill_payment.list = "bill_payments";
  bill_payment.object = "bill_payment";
  bill_payment.id_field = "bill_paymentid";
  bill_payment.noun = "Bill payment";
  bill_payment.filters = {{"billid", FT::kInt},
                          {"vis_state", FT::kInt, true, kOpEquals},
                          {"paid_date", FT::kDate},
                          {"payment_type", FT::kString}};
  bill_payment.scope = "user:bill_payments";
  bill_payment.store = &bill_payments_;
  bill_payment.apply = [this](const nlohmann::json& in, const Record* ex, Record* out,
                              std::vector<FieldError>* e) { ApplyBillPayment(in, ex, out, e); };
  bill_payment.render = [this](const Record& r, const Includes&) { return RenderBillPayment(r); };
  bill_payment.flat = [](const Record& r) {
    return nlohmann::json{{"id", r.id},
                          {"billid", r.data["billid"]},
                          {"vis_state", r.vis_state},
                          {"paid_date", r.data["paid_date"]},
                          {"payment_type", r.data["payment_type"]}};
  };
  // A payment changes its bill's paid/outstanding/status: the bill is touched and its event sent.
  bill_payment.after_write = [this](const Record& before, const Record& after, bool created) {
    std::set<int64_t> touched = {after.data["billid"].get<int64_t>()};
    if (!created) touched.insert(before.data["billid"].get<int64_t>());
    for (int64_t billid : touched) {
      auto it = bills_.find(billid);
      if (it == bills_.end()) continue;
      it->second.updated = Now();
      EmitLocked("bill.update", billid);
    }
  };
  resources_.push_back(bill_payment);

  ResourceDef payment;
  payment.path = "payments/payments";
  payment.single = "payment";
  payment.list = "payments";
  payment.object = "payment";
  payment.id_field = "paymentid";
  payment.noun = "Payment";
  payment.event = "payment";
  payment.filters = {
      {"invoiceid", FT::kInt}, {"clientid", FT::kInt}, {"vis_state", FT::kInt, true, kOpEquals},
      {"date", FT::kDate},     {"updated", FT::kTime}, {"type", FT::kString}};
  payment.scope = "user:payments";
  payment.store = &payments_;
  payment.apply = [this](const nlohmann::json& in, const Record* ex, Record* out,
                         std::vector<FieldError>* e) { ApplyPayment(in, ex, out, e); };
  payment.render = [this](const Record& r, const Includes&) { return RenderPayment(r); };
  payment.flat = [](const Record& r) {
    return nlohmann::json{{"id", r.id},
                          {"invoiceid", r.data["invoiceid"]},
                          {"clientid", r.data["clientid"]},
                          {"vis_state", r.vis_state},
                          {"date", r.data["date"]},
                          {"updated", UnixOf(r.updated)},
                          {"type", r.data["type"]}};
  };
  resources_.push_back(payment);
}

void FreshBooksEmulator::InstallResource(Router& router, const ResourceDef& def) {
  const std::string base = "/accounting/account/{account_id}/" + def.path;
  const ResourceDef* d = &def;  // resources_ is not resized after Install
  const std::string read = def.scope + ":read", write = def.scope + ":write";
  router.Add("GET", base,
             Guard(
                 Family::kAccounting,
                 [this, d](Request& r, const TokenGrant&) { return ListResource(*d, r); }, read));
  router.Add("GET", base + "/{id}",
             Guard(
                 Family::kAccounting, [this, d](Request& r, const TokenGrant&) { return GetResource(*d, r); },
                 read));
  if (!def.writable) return;
  router.Add("POST", base,
             Guard(
                 Family::kAccounting,
                 [this, d](Request& r, const TokenGrant&) { return CreateResource(*d, r); }, write));
  router.Add("PUT", base + "/{id}",
             Guard(
                 Family::kAccounting,
                 [this, d](Request& r, const TokenGrant&) { return UpdateResource(*d, r); }, write));
}

// ------------------------------------------------------------------------------------------------------
// Lists: paging, search and sort (FB-DOCS /api/parameters).

bool FreshBooksEmulator::ParseListParams(const Request& req, const std::vector<FilterField>& fields,
                                         const std::string& object, bool sortable, ListParams* out,
                                         std::vector<FieldError>* errors, int* status) const {
  *status = 400;
  auto error = [&](int code, const std::string& field, const std::string& message, const std::string& value) {
    errors->push_back(FieldError{code, field, message, object, value});
  };
  auto find_field = [&](const std::string& name) -> const FilterField* {
    for (const auto& f : fields) {
      if (f.name == name) return &f;
    }
    return nullptr;
  };
  for (const auto& [key, value] : req.query) {
    if (key == "page") {
      // "requesting page 0 will return page 1"; anything but a non-negative integer is an error.
      if (!AllDigits(value)) {
        error(kErrInvalidPage, "page", "page must be a number", value);
      } else {
        out->page = std::max<int64_t>(1, std::stoll(value));
      }
    } else if (key == "per_page") {
      // "per_page is silently capped at 100".
      if (!AllDigits(value) || std::stoll(value) < 1) {
        error(kErrInvalidPerPage, "per_page", "per_page must be a positive number", value);
      } else {
        out->per_page = std::min<int64_t>(100, std::stoll(value));
      }
    } else if (key == "sort") {
      std::string field = value;
      bool desc = false;
      if (field.size() > 4 && field.compare(field.size() - 4, 4, "_asc") == 0) {
        field.resize(field.size() - 4);
      } else if (field.size() > 5 && field.compare(field.size() - 5, 5, "_desc") == 0) {
        field.resize(field.size() - 5);
        desc = true;
      }
      if (!sortable) {
        // The resource's page documents no sort parameter.
        error(kErrInvalidValue, "sort", "Cannot sort by '" + value + "'.", value);
      } else if (field != "id" && !find_field(field)) {
        error(kErrInvalidValue, "sort", "Cannot sort by '" + value + "'.", value);
      } else {
        out->sort_field = field;
        out->sort_desc = desc;
      }
    } else if (key.rfind("search[", 0) == 0) {
      const size_t close = key.find(']');
      if (close == std::string::npos) {
        error(kErrFilterScalar, key, "Malformed filter '" + key + "'.", value);
        continue;
      }
      const std::string name = key.substr(7, close - 7);
      const std::string rest = key.substr(close + 1);
      const bool list_form = rest == "[]";
      if (!rest.empty() && !list_form) {
        error(kErrFilterScalar, key, "Malformed filter '" + key + "'.", value);
        continue;
      }
      ListParams::Op op = ListParams::Op::kEquals;
      const FilterField* field = find_field(name);
      auto suffix = [&](std::string_view s) {
        return name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
      };
      if (!field && suffix("_min")) {
        field = find_field(name.substr(0, name.size() - 4));
        op = ListParams::Op::kMin;
      }
      if (!field && suffix("_max")) {
        field = find_field(name.substr(0, name.size() - 4));
        op = ListParams::Op::kMax;
      }
      if (!field && suffix("_like")) {
        field = find_field(name.substr(0, name.size() - 5));
        op = ListParams::Op::kLike;
      }
      if (!field && suffix("s") && list_form) {
        field = find_field(name.substr(0, name.size() - 1));  // search[categoryids][]=1&...
        op = ListParams::Op::kIn;
      }
      if (field && list_form && op == ListParams::Op::kEquals) op = ListParams::Op::kIn;
      if (field) {
        const int bit = op == ListParams::Op::kEquals ? kOpEquals
                        : op == ListParams::Op::kIn   ? kOpIn
                        : op == ListParams::Op::kLike ? kOpLike
                        : op == ListParams::Op::kMin  ? kOpMin
                                                      : kOpMax;
        // Only the forms the resource's filter table documents (e.g. search[vis_state]=N, never
        // search[vis_states][]).
        if ((field->ops & bit) == 0) field = nullptr;
      }
      if (!field) {
        // [UNCONFIRMED] FreshBooks' behaviour for unknown filters; rejecting makes a typo loud.
        error(kErrFilterScalar, name, "Unknown filter '" + name + "'.", value);
        continue;
      }
      const bool range = op == ListParams::Op::kMin || op == ListParams::Op::kMax;
      if ((range && field->type == FilterType::kString) || (!range && field->type == FilterType::kMoney) ||
          (op == ListParams::Op::kLike && field->type != FilterType::kString)) {
        error(kErrFilterScalar, name, "Filter '" + name + "' is not supported.", value);
        continue;
      }
      nlohmann::json v;
      switch (field->type) {
        case FilterType::kInt:
          if (!AllDigits(value)) {
            error(kErrFilterNumber, name, "Filter " + name + " must be a number.", value);
            continue;
          }
          v = std::stoll(value);
          break;
        case FilterType::kString:
          v = value;
          break;
        case FilterType::kMoney: {
          auto t = DecimalThousandths(value);
          if (!t) {
            error(kErrFilterNumber, name, "Filter " + name + " must be a number.", value);
            continue;
          }
          v = *t;
          break;
        }
        case FilterType::kDate:
          if (!ParseCivilDate(value)) {
            error(kErrFilterDate, name, "Filter " + name + " must be a date formatted YYYY-MM-DD.", value);
            continue;
          }
          v = value;
          break;
        case FilterType::kTime: {
          // Day-level "YYYY-MM-DD" as the docs show, or a full timestamp; zone-less input is read in the
          // zone the field itself is written in.
          std::optional<TimePoint> t;
          const bool zoned = value.size() > 19 && (value.back() == 'Z' || value[value.size() - 6] == '+' ||
                                                   value[value.size() - 6] == '-');
          if (zoned) {
            t = ParseRfc3339(value);
          } else if (field->eastern) {
            t = ParseEastern(value);
          } else {
            std::string iso = value;
            if (iso.size() == 19 && iso[10] == ' ') iso[10] = 'T';
            t = ParseRfc3339(iso);
          }
          if (!t) {
            error(kErrFilterDate, name, "Filter " + name + " must be a date (YYYY-MM-DD) or date-time.",
                  value);
            continue;
          }
          v = UnixOf(*t);
          break;
        }
      }
      if (field->name == "vis_state") out->vis_state_given = true;
      // A repeated list filter adds values to the same condition.
      auto existing = std::find_if(out->conditions.begin(), out->conditions.end(), [&](const auto& c) {
        return c.field == field->name && c.op == op && op == ListParams::Op::kIn;
      });
      if (existing != out->conditions.end()) {
        existing->values.push_back(v);
      } else {
        out->conditions.push_back(ListParams::Condition{field->name, op, field->type, {v}});
      }
    }
  }
  return errors->empty();
}

bool FreshBooksEmulator::MatchesList(const ListParams& params, const nlohmann::json& flat) {
  // FB-DOCS active_deleted: "By default list endpoints will return all active and archived resources."
  if (!params.vis_state_given && flat.contains("vis_state") && flat["vis_state"] == kDeleted) return false;
  for (const auto& c : params.conditions) {
    auto it = flat.find(c.field);
    if (it == flat.end() || it->is_null()) return false;
    const nlohmann::json& have = *it;
    switch (c.op) {
      case ListParams::Op::kEquals:
        if (have != c.values.front()) return false;
        break;
      case ListParams::Op::kIn:
        if (std::find(c.values.begin(), c.values.end(), have) == c.values.end()) return false;
        break;
      case ListParams::Op::kLike:
        if (!have.is_string() ||
            !ContainsIgnoreCase(have.get<std::string>(), c.values.front().get<std::string>()))
          return false;
        break;
      case ListParams::Op::kMin:  // "minimums will match values equal to or greater than"
        if (have < c.values.front()) return false;
        break;
      case ListParams::Op::kMax:  // "Maximums will match things below the value supplied"
        if (!(have < c.values.front())) return false;
        break;
    }
  }
  return true;
}

Response FreshBooksEmulator::PagedList(const Request& req, const std::string& list_key,
                                       const std::string& object, const std::vector<FilterField>& fields,
                                       const std::vector<nlohmann::json>& flats,
                                       const std::function<nlohmann::json(size_t index)>& render,
                                       bool sortable) {
  ListParams params;
  std::vector<FieldError> errors;
  int status = 400;
  if (!ParseListParams(req, fields, object, sortable, &params, &errors, &status))
    return AccountingErrors(status, errors);
  std::vector<size_t> picked;
  for (size_t i = 0; i < flats.size(); ++i) {
    if (MatchesList(params, flats[i])) picked.push_back(i);
  }
  std::stable_sort(picked.begin(), picked.end(), [&](size_t a, size_t b) {
    const nlohmann::json& va =
        flats[a].contains(params.sort_field) ? flats[a][params.sort_field] : flats[a]["id"];
    const nlohmann::json& vb =
        flats[b].contains(params.sort_field) ? flats[b][params.sort_field] : flats[b]["id"];
    if (va != vb) return params.sort_desc ? vb < va : va < vb;
    return flats[a]["id"] < flats[b]["id"];  // ties keep a stable id order so pages never overlap
  });
  if (settings_.shuffled_lists) {
    // FreshBooks documents neither a default order nor which fields a list sorts by: in this mode every
    // list comes in a fixed permutation (a hash of the id, the same for every page), whatever sort= says.
    auto scramble = [](const nlohmann::json& id) {
      uint64_t x = id.is_number_integer() ? static_cast<uint64_t>(id.get<int64_t>()) : 0;
      x ^= 0x9E3779B97F4A7C15ull;
      x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
      x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
      return x ^ (x >> 31);
    };
    std::stable_sort(picked.begin(), picked.end(),
                     [&](size_t a, size_t b) { return scramble(flats[a]["id"]) < scramble(flats[b]["id"]); });
  }
  const int64_t total = static_cast<int64_t>(picked.size());
  const int64_t pages = (total + params.per_page - 1) / params.per_page;
  nlohmann::json items = nlohmann::json::array();
  // "requesting a page beyond the last calculated page will return an empty list of items".
  for (int64_t i = (params.page - 1) * params.per_page; i < total && i < params.page * params.per_page; ++i) {
    items.push_back(render(picked[static_cast<size_t>(i)]));
  }
  return Response::Json(200, {{"response",
                               {{"result",
                                 {{list_key, items},
                                  {"page", params.page},
                                  {"pages", pages},
                                  {"per_page", params.per_page},
                                  {"total", total}}}}}});
}

// ------------------------------------------------------------------------------------------------------
// Generic handlers.

Response FreshBooksEmulator::ListResource(const ResourceDef& def, Request& req) {
  const Includes inc = IncludesOf(req);
  std::lock_guard lock(mu_);
  std::vector<const Record*> records;
  std::vector<nlohmann::json> flats;
  for (const auto& [id, r] : *def.store) {
    records.push_back(&r);
    flats.push_back(def.flat(r));
  }
  return PagedList(
      req, def.list, def.object, def.filters, flats, [&](size_t i) { return def.render(*records[i], inc); },
      def.sortable);
}

Response FreshBooksEmulator::GetResource(const ResourceDef& def, Request& req) {
  const Includes inc = IncludesOf(req);
  const std::string raw = req.Param("id");
  std::lock_guard lock(mu_);
  auto id = AsId(nlohmann::json(raw));
  auto it = id ? def.store->find(*id) : def.store->end();
  if (it == def.store->end()) return AccountingNotFound(def.object, def.id_field, def.noun, raw);
  // Soft-deleted objects are still returned by id (only lists hide them).
  return Response::Json(200, Envelope(def.single, def.render(it->second, inc)));
}

namespace {
// The {"<single>": {...}} request body; a Response when it is not there.
std::optional<nlohmann::json> RequestObject(const Request& req, const std::string& single,
                                            std::vector<FieldError>* errors, bool* parse_error) {
  auto doc = req.JsonBody();
  if (!doc.ok()) {
    *parse_error = true;
    errors->push_back(FieldError{kErrParseError, "", "The request body is not valid JSON.", single, nullptr});
    return std::nullopt;
  }
  if (!doc->is_object() || !doc->contains(single) || !(*doc)[single].is_object()) {
    errors->push_back(
        FieldError{kErrRequiredField, single, "Field " + single + " is required.", single, nullptr});
    return std::nullopt;
  }
  return (*doc)[single];
}
}  // namespace

Response FreshBooksEmulator::CreateResource(const ResourceDef& def, Request& req) {
  const Includes inc = IncludesOf(req);
  std::vector<FieldError> errors;
  bool parse_error = false;
  auto in = RequestObject(req, def.single, &errors, &parse_error);
  if (!in) return parse_error ? AccountingErrors(400, errors) : ValidationFailed(errors);
  std::lock_guard lock(mu_);
  Record out;
  def.apply(*in, nullptr, &out, &errors);
  if (in->contains("vis_state")) {
    auto vis = ParseVisState((*in)["vis_state"]);
    if (!vis) {
      errors.push_back(FieldError{kErrInvalidValue, "vis_state", "Field vis_state must be 0, 1 or 2.",
                                  def.object, (*in)["vis_state"]});
    } else {
      out.vis_state = *vis;
    }
  }
  if (!errors.empty()) return ValidationFailed(errors);
  out.id = NextId(def.list);
  out.created = out.updated = Now();
  (*def.store)[out.id] = out;
  if (def.after_write) def.after_write(Record{}, out, true);
  if (!def.event.empty()) EmitLocked(def.event + ".create", out.id);
  return Response::Json(200, Envelope(def.single, def.render(out, inc)));
}

Response FreshBooksEmulator::UpdateResource(const ResourceDef& def, Request& req) {
  const Includes inc = IncludesOf(req);
  const std::string raw = req.Param("id");
  std::vector<FieldError> errors;
  bool parse_error = false;
  std::lock_guard lock(mu_);
  auto id = AsId(nlohmann::json(raw));
  auto it = id ? def.store->find(*id) : def.store->end();
  if (it == def.store->end()) return AccountingNotFound(def.object, def.id_field, def.noun, raw);
  auto in = RequestObject(req, def.single, &errors, &parse_error);
  if (!in) return parse_error ? AccountingErrors(400, errors) : ValidationFailed(errors);
  const Record before = it->second;
  Record out = before;
  if (in->contains("vis_state")) {
    // FB-DOCS active_deleted: a vis_state in a PUT activates its own update phase "and we throw away the
    // rest of the data silently".
    auto vis = ParseVisState((*in)["vis_state"]);
    if (!vis) {
      errors.push_back(FieldError{kErrInvalidValue, "vis_state", "Field vis_state must be 0, 1 or 2.",
                                  def.object, (*in)["vis_state"]});
      return ValidationFailed(errors);
    }
    out.vis_state = *vis;
  } else {
    def.apply(*in, &before, &out, &errors);
    if (!errors.empty()) return ValidationFailed(errors);
  }
  out.updated = Now();
  it->second = out;
  if (def.after_write) def.after_write(before, out, false);
  if (!def.event.empty()) {
    const bool deleted = out.vis_state == kDeleted && before.vis_state != kDeleted;
    EmitLocked(def.event + (deleted ? ".delete" : ".update"), out.id);
  }
  return Response::Json(200, Envelope(def.single, def.render(out, inc)));
}

int64_t FreshBooksEmulator::NextId(const std::string& store) { return next_ids_[store]++; }

std::string FreshBooksEmulator::Today() const { return FormatEastern(Now()).substr(0, 10); }

// ------------------------------------------------------------------------------------------------------
// Expenses.

void FreshBooksEmulator::ApplyExpense(const nlohmann::json& in, const Record* existing, Record* out,
                                      std::vector<FieldError>* errors) {
  Fields f(in, "expense", errors);
  nlohmann::json& d = out->data;
  const bool create = existing == nullptr;
  if (create) {
    d = {{"categoryid", nullptr},
         {"staffid", identity_.user_id},
         {"clientid", 0},
         {"projectid", 0},
         {"vendor", nullptr},
         {"notes", nullptr},
         {"taxName1", nullptr},
         {"taxPercent1", nullptr},
         {"taxAmount1", nullptr},
         {"taxName2", nullptr},
         {"taxPercent2", nullptr},
         {"taxAmount2", nullptr},
         {"compounded_tax", false},
         {"markup_percent", "0"},
         {"attachmentid", nullptr},
         {"include_receipt", false},
         {"is_cogs", false},
         {"invoiceid", nullptr},
         {"profileid", nullptr},
         {"status", 0},
         {"transactionid", nullptr},
         {"account_name", ""},
         {"accountid", nullptr},
         {"bank_name", ""}};
  }
  const std::string currency = create ? "USD" : d["amount"]["code"].get<std::string>();
  if (create || f.Has("amount")) {
    if (auto m = f.Money("amount", currency, /*required=*/true, /*allow_negative=*/false)) {
      d["amount"] = MoneyJson(m->minor, m->currency);
    }
  }
  // "Category can be passed as categoryid or category_name, both as string values." (FB-POSTMAN)
  if (f.Present("categoryid")) {
    if (auto id = f.Id("categoryid", true)) {
      auto it = categories_.find(*id);
      if (it == categories_.end() || it->second.vis_state == kDeleted) {
        f.Error(kErrUnknownResource, "categoryid", "Category not found.", f.Raw("categoryid"));
      } else {
        d["categoryid"] = *id;
      }
    }
  } else if (f.Present("category_name")) {
    const int64_t id =
        f.Raw("category_name").is_string() ? CategoryIdByName(f.Raw("category_name").get<std::string>()) : 0;
    if (id == 0) {
      f.Error(kErrUnknownResource, "category_name", "Category not found.", f.Raw("category_name"));
    } else {
      d["categoryid"] = id;
    }
  } else if (create || f.Has("categoryid")) {
    f.Required("categoryid");
  }
  // Every documented create sends staffid (FB-POSTMAN "Create Expense with Receipt": "staffid": 1) and the
  // older API marked it required; nothing documents a default, so a create without it is refused.
  if (f.Has("staffid") || create) {
    if (!f.Present("staffid")) {
      f.Required("staffid");
    } else {
      if (auto id = f.Id("staffid", true)) {
        if (*id != identity_.user_id) {
          f.Error(kErrUnknownResource, "staffid", "Staff not found.", f.Raw("staffid"));
        } else {
          d["staffid"] = *id;
        }
      }
    }
  }
  if (create || f.Has("date")) {
    if (auto date = f.Date("date", true)) d["date"] = *date;
  }
  for (const char* key : {"vendor", "taxName1", "taxName2", "bank_name", "account_name"}) {
    if (auto v = f.Text(key, 255)) d[key] = *v;
  }
  if (auto v = f.Text("notes", 4000)) d["notes"] = *v;
  for (const char* key : {"taxPercent1", "taxPercent2", "markup_percent"}) {
    if (auto v = f.Decimal(key))
      d[key] = v->is_null() && std::string_view(key) == "markup_percent" ? "0" : *v;
  }
  const std::string amount_code = d.contains("amount") ? d["amount"]["code"].get<std::string>() : currency;
  for (const char* key : {"taxAmount1", "taxAmount2"}) {
    if (!f.Has(key)) continue;
    if (f.Raw(key).is_null()) {
      d[key] = nullptr;
    } else if (auto m = f.Money(key, amount_code, false, false)) {
      if (m->currency != amount_code) {
        f.Error(kErrInvalidValue, std::string(key) + ".code", "Tax must be in the expense's currency.",
                f.Raw(key));
      } else {
        d[key] = MoneyJson(m->minor, m->currency);
      }
    }
  }
  for (const char* key : {"clientid", "projectid"}) {
    if (f.Has(key)) {
      if (f.Raw(key).is_null()) {
        d[key] = 0;  // unassigned
      } else if (auto id = f.Id(key, false)) {
        d[key] = *id;
      }
    }
  }
  for (const char* key : {"compounded_tax", "include_receipt", "is_cogs"}) {
    if (auto b = f.Bool(key)) d[key] = *b;
  }
  if (f.Has("attachment")) {
    // The jwt returned by /uploads goes into the nested attachment object (FB-POSTMAN).
    const nlohmann::json& a = f.Raw("attachment");
    if (a.is_null()) {
      d["attachmentid"] = nullptr;
    } else if (!a.is_object() || !a.contains("jwt") || !a["jwt"].is_string()) {
      f.Error(kErrRequiredField, "attachment.jwt", "Field jwt is required.",
              a.is_object() ? nlohmann::json() : a);
    } else {
      const std::string jwt = a["jwt"].get<std::string>();
      auto found = FindAttachmentByJwt(jwt);
      if (found == attachments_.end()) {
        f.Error(kErrUnknownResource, "attachment.jwt", "Attachment not found.", jwt);
      } else {
        d["attachmentid"] = found->first;
      }
    }
  }
}

namespace {

std::string DuplicateKey(const Record& r) {
  const nlohmann::json& d = r.data;
  auto field = [&](const char* k) {
    return d.is_object() && d.contains(k) ? d[k].dump() : std::string("null");
  };
  return field("date") + "|" + field("amount") + "|" + field("vendor");
}

}  // namespace

void FreshBooksEmulator::IndexExpense(const Record& r) {
  if (auto own = duplicate_key_of_.find(r.id); own != duplicate_key_of_.end()) {
    if (--duplicate_keys_[own->second] <= 0) duplicate_keys_.erase(own->second);
    duplicate_key_of_.erase(own);
  }
  if (r.vis_state == kDeleted) return;
  const std::string key = DuplicateKey(r);
  ++duplicate_keys_[key];
  duplicate_key_of_[r.id] = key;
}

void FreshBooksEmulator::ReindexExpenses() {
  duplicate_keys_.clear();
  duplicate_key_of_.clear();
  for (const auto& [id, r] : expenses_) IndexExpense(r);
}

nlohmann::json FreshBooksEmulator::RenderExpense(const Record& r, const Includes& inc) const {
  nlohmann::json e = r.data;
  const nlohmann::json attachmentid = e["attachmentid"];
  e.erase("attachmentid");
  e["id"] = r.id;
  e["expenseid"] = r.id;
  e["accounting_systemid"] = identity_.account_id;
  e["updated"] = FormatEastern(r.updated);
  e["vis_state"] = r.vis_state;
  e["has_receipt"] = !attachmentid.is_null();
  e["ext_invoiceid"] = 0;
  e["ext_systemid"] = 0;
  e["from_bulk_import"] = false;
  e["background_jobid"] = nullptr;
  // Flags a likely duplicate: another live expense with the same date, amount and vendor.
  const std::string key = DuplicateKey(r);
  int64_t same = 0;
  if (auto it = duplicate_keys_.find(key); it != duplicate_keys_.end()) same = it->second;
  if (auto own = duplicate_key_of_.find(r.id); own != duplicate_key_of_.end() && own->second == key) --same;
  e["isduplicate"] = same > 0;
  if (inc.count("attachment")) {
    e["attachment"] = nullptr;
    if (!attachmentid.is_null()) {
      auto it = attachments_.find(attachmentid.get<int64_t>());
      if (it != attachments_.end()) {
        e["attachment"] = {{"attachmentid", it->second.id},
                           {"id", it->second.id},
                           {"jwt", it->second.jwt},
                           {"media_type", it->second.media_type}};
      }
    }
  }
  if (inc.count("category") && e["categoryid"].is_number_integer()) {
    auto it = categories_.find(e["categoryid"].get<int64_t>());
    if (it != categories_.end()) e["category"] = RenderCategory(it->second, false);
  }
  return e;
}

// ------------------------------------------------------------------------------------------------------
// Expense categories (read-only).

nlohmann::json FreshBooksEmulator::RenderCategory(const Record& r, bool full) const {
  // FB-NODE ExpenseCategory.test.ts; the include[]=category form lacks transaction_posted.
  nlohmann::json c = {{"category", r.data["category"]},
                      {"categoryid", r.id},
                      {"created_at", FormatEastern(r.created)},
                      {"id", r.id},
                      {"is_cogs", r.data["is_cogs"]},
                      {"is_editable", r.data["is_editable"]},
                      {"parentid", r.data["parentid"]},
                      {"updated_at", FormatEastern(r.updated)},
                      {"vis_state", r.vis_state}};
  if (full) c["transaction_posted"] = r.data["transaction_posted"];
  return c;
}

int64_t FreshBooksEmulator::CategoryIdByName(const std::string& name) const {
  for (const auto& [id, c] : categories_) {
    if (c.vis_state != kDeleted && EqualsIgnoreCase(c.data["category"].get<std::string>(), name)) return id;
  }
  return 0;
}

// ------------------------------------------------------------------------------------------------------
// Bills.

void FreshBooksEmulator::ApplyBill(const nlohmann::json& in, const Record* existing, Record* out,
                                   std::vector<FieldError>* errors) {
  Fields f(in, "bill", errors);
  nlohmann::json& d = out->data;
  const bool create = existing == nullptr;
  if (create) {
    d = {{"bill_number", nullptr},
         {"due_offset_days", 0},
         {"language", "en"},
         {"attachmentid", nullptr},
         {"lines", nlohmann::json::array()}};
  }
  std::string vendor_currency = "USD";
  if (create || f.Has("vendorid")) {
    if (auto id = f.Id("vendorid", true)) {
      auto it = vendors_.find(*id);
      if (it == vendors_.end() || it->second.vis_state == kDeleted) {
        f.Error(kErrUnknownResource, "vendorid", "Vendor not found.", f.Raw("vendorid"));
      } else {
        d["vendorid"] = *id;
        vendor_currency = it->second.data["currency_code"].get<std::string>();
      }
    }
  }
  if (create || f.Has("issue_date")) {
    if (auto date = f.Date("issue_date", true)) d["issue_date"] = *date;
  }
  if (f.Present("due_offset_days")) {
    auto days = f.Id("due_offset_days", false);
    if (days && *days > 3650) {
      f.Error(kErrInvalidValue, "due_offset_days", "Field due_offset_days is out of range.",
              f.Raw("due_offset_days"));
    } else if (days) {
      d["due_offset_days"] = *days;
    }
  }
  if (auto v = f.Text("bill_number", 50)) d["bill_number"] = *v;
  if (auto v = f.Text("language", 8)) d["language"] = v->is_null() ? nlohmann::json("en") : *v;
  if (create) d["currency_code"] = vendor_currency;
  if (f.Present("currency_code")) {
    const nlohmann::json& c = f.Raw("currency_code");
    if (!c.is_string() || !money::IsCurrencyCode(c.get<std::string>())) {
      f.Error(kErrInvalidValue, "currency_code", "Field currency_code must be an ISO 4217 currency code.", c);
    } else {
      d["currency_code"] = c;
    }
  }
  const std::string currency = d["currency_code"].get<std::string>();
  if (create || f.Has("lines")) {
    if (!f.Present("lines")) {
      f.Required("lines");
    } else if (!f.Raw("lines").is_array() || f.Raw("lines").empty()) {
      f.Error(kErrInvalidValue, "lines", "A bill needs at least one line.", f.Raw("lines"));
    } else {
      nlohmann::json lines = nlohmann::json::array();
      for (const auto& raw : f.Raw("lines")) {
        if (!raw.is_object()) {
          f.Error(kErrInvalidValue, "lines", "Each line must be an object.", raw);
          continue;
        }
        Fields lf(raw, "bill_line", errors);
        nlohmann::json line = {{"description", nullptr},      {"quantity", "1"},
                               {"tax_name1", nullptr},        {"tax_name2", nullptr},
                               {"tax_percent1", nullptr},     {"tax_percent2", nullptr},
                               {"tax_authorityid1", nullptr}, {"tax_authorityid2", nullptr},
                               {"compounded_tax", false}};
        if (auto id = lf.Id("categoryid", true)) {
          auto it = categories_.find(*id);
          if (it == categories_.end() || it->second.vis_state == kDeleted) {
            lf.Error(kErrUnknownResource, "categoryid", "Category not found.", raw["categoryid"]);
          } else {
            line["categoryid"] = *id;
          }
        }
        if (auto v = lf.Text("description", 4000)) line["description"] = *v;
        if (auto q = lf.Decimal("quantity")) {
          if (q->is_null() || *q == "0") {
            lf.Error(kErrInvalidValue, "quantity", "Field quantity must be greater than zero.",
                     raw["quantity"]);
          } else {
            line["quantity"] = *q;
          }
        }
        if (auto m = lf.Money("unit_cost", currency, true, false)) {
          if (m->currency != currency) {
            lf.Error(kErrInvalidValue, "unit_cost.code", "Line currency must match the bill's currency_code.",
                     raw["unit_cost"]);
          } else {
            line["unit_cost"] = MoneyJson(m->minor, m->currency);
          }
        }
        for (const char* key : {"tax_name1", "tax_name2"}) {
          if (auto v = lf.Text(key, 255)) line[key] = *v;
        }
        for (const char* key : {"tax_percent1", "tax_percent2"}) {
          if (auto v = lf.Decimal(key)) line[key] = *v;
        }
        for (const char* key : {"tax_authorityid1", "tax_authorityid2"}) {
          if (lf.Present(key)) {
            if (auto id = lf.Id(key, false)) line[key] = *id;
          }
        }
        if (auto b = lf.Bool("compounded_tax")) line["compounded_tax"] = *b;
        lines.push_back(line);
      }
      if (errors->empty()) {
        for (size_t i = 0; i < lines.size(); ++i) {
          lines[i]["id"] = NextId("bill_lines");
          lines[i]["list_index"] = static_cast<int64_t>(i + 1);
        }
        d["lines"] = lines;
      }
    }
  } else if (f.Present("currency_code")) {
    // The currency of existing lines must follow a currency change.
    for (const auto& line : d["lines"]) {
      if (line["unit_cost"]["code"] != currency) {
        f.Error(kErrInvalidValue, "currency_code", "Line currency must match the bill's currency_code.",
                f.Raw("currency_code"));
        break;
      }
    }
  }
  if (f.Has("attachment")) {
    // [UNCONFIRMED] bills take the expense attachment shape.
    const nlohmann::json& a = f.Raw("attachment");
    if (a.is_null()) {
      d["attachmentid"] = nullptr;
    } else if (!a.is_object() || !a.contains("jwt") || !a["jwt"].is_string()) {
      f.Error(kErrRequiredField, "attachment.jwt", "Field jwt is required.", nullptr);
    } else {
      const std::string jwt = a["jwt"].get<std::string>();
      auto found = FindAttachmentByJwt(jwt);
      if (found == attachments_.end()) {
        f.Error(kErrUnknownResource, "attachment.jwt", "Attachment not found.", jwt);
      } else {
        d["attachmentid"] = found->first;
      }
    }
  }
}

std::map<int64_t, int64_t> FreshBooksEmulator::PaidByBill() const {
  std::map<int64_t, int64_t> paid;
  for (const auto& [id, p] : bill_payments_) {
    if (p.vis_state == kDeleted) continue;
    auto minor = money::ParseDecimal(p.data["amount"]["amount"].get<std::string>(),
                                     p.data["amount"]["code"].get<std::string>());
    if (minor.ok()) paid[p.data["billid"].get<int64_t>()] += *minor;
  }
  return paid;
}

FreshBooksEmulator::BillTotals FreshBooksEmulator::ComputeBill(const Record& bill,
                                                               const std::map<int64_t, int64_t>* paid) const {
  BillTotals t;
  t.currency = bill.data["currency_code"].get<std::string>();
  for (const auto& line : bill.data["lines"]) {
    auto unit = money::ParseDecimal(line["unit_cost"]["amount"].get<std::string>(), t.currency);
    const int64_t amount = MultiplyDecimal(unit.ok() ? *unit : 0, line["quantity"].get<std::string>(), 1);
    int64_t tax1 = 0, tax2 = 0;
    if (line["tax_percent1"].is_string())
      tax1 = ApplyPercent(amount, line["tax_percent1"].get<std::string>());
    if (line["tax_percent2"].is_string()) {
      tax2 = ApplyPercent(line["compounded_tax"].get<bool>() ? amount + tax1 : amount,
                          line["tax_percent2"].get<std::string>());
    }
    t.amount += amount;
    t.tax += tax1 + tax2;
  }
  t.total = t.amount + t.tax;
  if (paid) {
    auto it = paid->find(bill.id);
    t.paid = it == paid->end() ? 0 : it->second;
  } else {
    const auto all = PaidByBill();
    auto it = all.find(bill.id);
    t.paid = it == all.end() ? 0 : it->second;
  }
  t.outstanding = t.total - t.paid;
  const int64_t due = *ParseCivilDate(bill.data["issue_date"].get<std::string>()) +
                      bill.data["due_offset_days"].get<int64_t>();
  // BillStatus (FB-NODE): unpaid | overdue | partial | paid.
  if (t.outstanding <= 0) {
    t.status = "paid";
  } else if (t.paid > 0) {
    t.status = "partial";
  } else if (FormatCivilDate(due) < Today()) {
    t.status = "overdue";
  } else {
    t.status = "unpaid";
  }
  return t;
}

nlohmann::json FreshBooksEmulator::RenderBill(const Record& r, const Includes& inc) const {
  const BillTotals t = ComputeBill(r);
  const nlohmann::json& d = r.data;
  nlohmann::json lines = nlohmann::json::array();
  for (const auto& line : d["lines"]) {
    auto unit = money::ParseDecimal(line["unit_cost"]["amount"].get<std::string>(), t.currency);
    const int64_t amount = MultiplyDecimal(unit.ok() ? *unit : 0, line["quantity"].get<std::string>(), 1);
    nlohmann::json tax1 = nullptr, tax2 = nullptr;
    int64_t tax_total = 0;
    if (line["tax_percent1"].is_string()) {
      const int64_t v = ApplyPercent(amount, line["tax_percent1"].get<std::string>());
      tax1 = MoneyJson(v, t.currency);
      tax_total += v;
    }
    if (line["tax_percent2"].is_string()) {
      const int64_t v = ApplyPercent(line["compounded_tax"].get<bool>() ? amount + tax_total : amount,
                                     line["tax_percent2"].get<std::string>());
      tax2 = MoneyJson(v, t.currency);
      tax_total += v;
    }
    nlohmann::json category = nullptr;
    if (auto it = categories_.find(line["categoryid"].get<int64_t>()); it != categories_.end()) {
      category = RenderCategory(it->second, false);
    }
    // FB-POSTMAN "Add Bill from Vendor": quantity is a string, the category a full object.
    lines.push_back({{"amount", MoneyJson(amount, t.currency)},
                     {"category", category},
                     {"description", line["description"]},
                     {"id", line["id"]},
                     {"list_index", line["list_index"]},
                     {"quantity", line["quantity"]},
                     {"tax_amount1", tax1},
                     {"tax_amount2", tax2},
                     {"tax_authorityid1", line["tax_authorityid1"]},
                     {"tax_authorityid2", line["tax_authorityid2"]},
                     {"tax_name1", line["tax_name1"]},
                     {"tax_name2", line["tax_name2"]},
                     {"tax_percent1", line["tax_percent1"]},
                     {"tax_percent2", line["tax_percent2"]},
                     {"total_amount", MoneyJson(amount + tax_total, t.currency)},
                     {"unit_cost", line["unit_cost"]}});
  }
  nlohmann::json payments = nlohmann::json::array();
  for (const auto& [id, p] : bill_payments_) {
    if (p.vis_state != kDeleted && p.data["billid"] == r.id) payments.push_back(RenderBillPayment(p));
  }
  nlohmann::json attachment = nullptr;
  if (d["attachmentid"].is_number_integer()) {
    if (auto it = attachments_.find(d["attachmentid"].get<int64_t>()); it != attachments_.end()) {
      attachment = {{"attachmentid", it->second.id},
                    {"id", it->second.id},
                    {"jwt", it->second.jwt},
                    {"media_type", it->second.media_type}};
    }
  }
  const int64_t due =
      *ParseCivilDate(d["issue_date"].get<std::string>()) + d["due_offset_days"].get<int64_t>();
  nlohmann::json b = {
      {"amount", MoneyJson(t.amount, t.currency)},
      {"attachment", attachment},
      {"bill_number", d["bill_number"]},
      {"bill_payments", payments},
      {"created_at", FormatUtcNaive(r.created)},
      {"currency_code", t.currency},
      {"due_date", FormatCivilDate(due)},
      {"due_offset_days", d["due_offset_days"]},
      {"id", r.id},
      {"issue_date", d["issue_date"]},
      {"language", d["language"]},
      {"lines", lines},
      {"outstanding", MoneyJson(t.outstanding, t.currency)},
      {"overall_category",
       lines.empty() || lines[0]["category"].is_null() ? nlohmann::json() : lines[0]["category"]["category"]},
      {"overall_description", lines.empty() ? nlohmann::json() : lines[0]["description"]},
      {"paid", MoneyJson(t.paid, t.currency)},
      {"status", t.status},
      {"tax_amount", MoneyJson(t.tax, t.currency)},
      {"total_amount", MoneyJson(t.total, t.currency)},
      {"updated_at", FormatUtcNaive(r.updated)},
      {"vendorid", d["vendorid"]},
      {"vis_state", r.vis_state}};
  if (inc.count("vendor")) {
    auto it = vendors_.find(d["vendorid"].get<int64_t>());
    b["vendor"] = it == vendors_.end() ? nlohmann::json() : RenderVendor(it->second);
  }
  return b;
}

// ------------------------------------------------------------------------------------------------------
// Bill vendors.

void FreshBooksEmulator::ApplyVendor(const nlohmann::json& in, const Record* existing, Record* out,
                                     std::vector<FieldError>* errors) {
  Fields f(in, "bill_vendor", errors);
  nlohmann::json& d = out->data;
  const bool create = existing == nullptr;
  if (create) {
    d = {{"account_number", nullptr},
         {"city", nullptr},
         {"country", nullptr},
         {"currency_code", "USD"},
         {"is_1099", false},
         {"language", "en"},
         {"phone", nullptr},
         {"postal_code", nullptr},
         {"primary_contact_email", nullptr},
         {"primary_contact_first_name", nullptr},
         {"primary_contact_last_name", nullptr},
         {"province", nullptr},
         {"street", nullptr},
         {"street2", nullptr},
         {"tax_defaults", nlohmann::json::array()},
         {"website", nullptr},
         {"note", nullptr}};
  }
  if (create || f.Has("vendor_name")) {
    if (auto v = f.Text("vendor_name", 255, /*required=*/true)) d["vendor_name"] = *v;
  }
  for (const char* key :
       {"account_number", "city", "country", "phone", "postal_code", "primary_contact_first_name",
        "primary_contact_last_name", "province", "street", "street2", "website", "note"}) {
    if (auto v = f.Text(key, 255)) d[key] = *v;
  }
  if (auto v = f.Text("primary_contact_email", 255)) {
    if (v->is_string() && !v->get<std::string>().empty() &&
        v->get<std::string>().find('@') == std::string::npos) {
      f.Error(kErrInvalidValue, "primary_contact_email",
              "Field primary_contact_email must be an email address.", *v);
    } else {
      d["primary_contact_email"] = *v;
    }
  }
  // The documented create (FB-POSTMAN "Add Vendor") sends currency_code and language; no default is
  // documented, so a create without them is refused rather than guessed.
  if (create && !f.Present("language")) f.Required("language");
  if (create && !f.Present("currency_code")) f.Required("currency_code");
  if (auto v = f.Text("language", 8)) d["language"] = v->is_null() ? nlohmann::json("en") : *v;
  if (f.Present("currency_code")) {
    const nlohmann::json& c = f.Raw("currency_code");
    if (!c.is_string() || !money::IsCurrencyCode(c.get<std::string>())) {
      f.Error(kErrInvalidValue, "currency_code", "Field currency_code must be an ISO 4217 currency code.", c);
    } else {
      d["currency_code"] = c;
    }
  }
  if (auto b = f.Bool("is_1099")) d["is_1099"] = *b;
  if (f.Has("tax_defaults")) {
    const nlohmann::json& t = f.Raw("tax_defaults");
    if (!t.is_null() && !t.is_array()) {
      f.Error(kErrInvalidValue, "tax_defaults", "Field tax_defaults must be a list.", t);
    } else {
      d["tax_defaults"] = t.is_null() ? nlohmann::json::array() : t;
    }
  }
}

nlohmann::json FreshBooksEmulator::RenderVendor(const Record& r) const {
  nlohmann::json v = r.data;
  v["vendorid"] = r.id;
  v["created_at"] = FormatEastern(r.created);
  v["updated_at"] = FormatEastern(r.updated);
  v["vis_state"] = r.vis_state;
  // outstanding_balance / overdue_balance: one {"amount": money} per currency with a balance.
  const auto paid = PaidByBill();
  std::map<std::string, int64_t> outstanding, overdue;
  for (const auto& [id, b] : bills_) {
    if (b.vis_state == kDeleted || b.data["vendorid"] != r.id) continue;
    const BillTotals t = ComputeBill(b, &paid);
    if (t.outstanding <= 0) continue;
    outstanding[t.currency] += t.outstanding;
    if (t.status == "overdue") overdue[t.currency] += t.outstanding;
  }
  v["outstanding_balance"] = nlohmann::json::array();
  for (const auto& [code, minor] : outstanding)
    v["outstanding_balance"].push_back({{"amount", MoneyJson(minor, code)}});
  v["overdue_balance"] = nlohmann::json::array();
  for (const auto& [code, minor] : overdue)
    v["overdue_balance"].push_back({{"amount", MoneyJson(minor, code)}});
  return v;
}

// ------------------------------------------------------------------------------------------------------
// Bill payments.

void FreshBooksEmulator::ApplyBillPayment(const nlohmann::json& in, const Record* existing, Record* out,
                                          std::vector<FieldError>* errors) {
  Fields f(in, "bill_payment", errors);
  nlohmann::json& d = out->data;
  const bool create = existing == nullptr;
  if (create) d = {{"note", nullptr}};
  const Record* bill = nullptr;
  if (create || f.Has("billid")) {
    if (auto id = f.Id("billid", true)) {
      auto it = bills_.find(*id);
      if (it == bills_.end() || it->second.vis_state == kDeleted) {
        f.Error(kErrUnknownResource, "billid", "Bill not found.", f.Raw("billid"));
      } else {
        d["billid"] = *id;
        bill = &it->second;
      }
    }
  } else {
    bill = &bills_.at(d["billid"].get<int64_t>());
  }
  if (bill && (create || f.Has("amount"))) {
    const std::string currency = bill->data["currency_code"].get<std::string>();
    if (auto m = f.Money("amount", currency, true, false)) {
      // What is still open on the bill, not counting this payment's own previous amount.
      BillTotals t = ComputeBill(*bill);
      int64_t open = t.outstanding;
      if (!create && existing->vis_state != kDeleted && existing->data["billid"] == bill->id) {
        auto own = money::ParseDecimal(existing->data["amount"]["amount"].get<std::string>(), currency);
        if (own.ok()) open += *own;
      }
      if (m->currency != currency) {
        f.Error(kErrInvalidValue, "amount.code", "Payment currency must match the bill's currency.",
                f.Raw("amount"));
      } else if (m->minor == 0) {
        f.Error(kErrInvalidValue, "amount.amount", "Field amount must be greater than zero.",
                f.Raw("amount")["amount"]);
      } else if (m->minor > open) {
        f.Error(kErrInvalidTotal, "amount.amount", "Payment amount exceeds the bill's outstanding amount.",
                f.Raw("amount")["amount"]);
      } else {
        d["amount"] = MoneyJson(m->minor, m->currency);
      }
    }
  }
  if (create || f.Has("paid_date")) {
    if (auto date = f.Date("paid_date", true)) d["paid_date"] = *date;
  }
  if (create || f.Has("payment_type")) {
    if (auto type = f.OneOf("payment_type", PaymentTypes(), true)) d["payment_type"] = *type;
  }
  if (auto v = f.Text("note", 4000)) d["note"] = *v;
}

nlohmann::json FreshBooksEmulator::RenderBillPayment(const Record& r) const {
  // FB-NODE BillPayments.ts
  return {{"amount", r.data["amount"]},
          {"billid", r.data["billid"]},
          {"id", r.id},
          {"note", r.data["note"]},
          {"paid_date", r.data["paid_date"]},
          {"payment_type", r.data["payment_type"]},
          {"vis_state", r.vis_state}};
}

// ------------------------------------------------------------------------------------------------------
// Invoice payments.

void FreshBooksEmulator::ApplyPayment(const nlohmann::json& in, const Record* existing, Record* out,
                                      std::vector<FieldError>* errors) {
  Fields f(in, "payment", errors);
  nlohmann::json& d = out->data;
  const bool create = existing == nullptr;
  if (create) d = {{"note", ""}, {"orderid", nullptr}, {"transactionid", nullptr}};
  const Invoice* invoice = nullptr;
  if (create || f.Has("invoiceid")) {
    if (auto id = f.Id("invoiceid", true)) {
      auto it = invoices_.find(*id);
      if (it == invoices_.end()) {
        f.Error(kErrUnknownResource, "invoiceid", "Invoice not found.", f.Raw("invoiceid"));
      } else {
        invoice = &it->second;
        d["invoiceid"] = *id;
        d["clientid"] = invoice->clientid;
      }
    }
  } else {
    invoice = &invoices_.at(d["invoiceid"].get<int64_t>());
  }
  if (invoice && (create || f.Has("amount"))) {
    if (auto m = f.Money("amount", invoice->amount.currency, true, false)) {
      if (m->currency != invoice->amount.currency) {
        f.Error(kErrInvalidValue, "amount.code", "Payment currency must match the invoice's currency.",
                f.Raw("amount"));
      } else if (m->minor == 0) {
        f.Error(kErrInvalidValue, "amount.amount", "Field amount must be greater than zero.",
                f.Raw("amount")["amount"]);
      } else {
        d["amount"] = MoneyJson(m->minor, m->currency);
      }
    }
  }
  if (create || f.Has("date")) {
    if (auto date = f.Date("date", true)) d["date"] = *date;
  }
  if (create || f.Has("type")) {
    if (auto type = f.OneOf("type", PaymentTypes(), true)) d["type"] = *type;
  }
  if (auto v = f.Text("note", 4000)) d["note"] = v->is_null() ? nlohmann::json("") : *v;
  for (const char* key : {"orderid", "transactionid"}) {
    if (auto v = f.Text(key, 255)) d[key] = *v;
  }
}

nlohmann::json FreshBooksEmulator::RenderPayment(const Record& r) const {
  nlohmann::json p = r.data;
  p["id"] = r.id;
  p["logid"] = r.id;
  p["accounting_systemid"] = identity_.account_id;
  p["updated"] = FormatEastern(r.updated);
  p["vis_state"] = r.vis_state;
  p["gateway"] = nullptr;
  p["from_credit"] = false;
  p["creditid"] = nullptr;
  p["overpaymentid"] = nullptr;
  p["bulk_paymentid"] = nullptr;
  return p;
}

// ------------------------------------------------------------------------------------------------------
// Journal entry accounts (the legacy chart of accounts; list only per FB-NODE).

nlohmann::json FreshBooksEmulator::RenderJournalEntryAccount(const nlohmann::json& account) const {
  return account;
}

Response FreshBooksEmulator::ListJournalEntryAccounts(Request& req) {
  std::lock_guard lock(mu_);
  std::vector<nlohmann::json> flats;
  for (const auto& a : journal_entry_accounts_) {
    flats.push_back(
        {{"id", a["id"]}, {"account_type", a["account_type"]}, {"account_name", a["account_name"]}});
  }
  static const std::vector<FilterField> kFields = {{"account_type", FilterType::kString},
                                                   {"account_name", FilterType::kString}};
  return PagedList(req, "journal_entry_accounts", "journal_entry_account", kFields, flats,
                   [&](size_t i) { return RenderJournalEntryAccount(journal_entry_accounts_[i]); });
}

}  // namespace mlc::sandbox::freshbooks
