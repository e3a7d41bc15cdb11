// Brex emulator data: option parsing, a month of seeded agency spend, and the JSON shapes Brex returns.
#include "brex_model.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "mlc/sandbox/crypto.hpp"
#include "mlc/sandbox/webhooks.hpp"
#include "mlc/text.hpp"

namespace mlc::sandbox::brex {

namespace {

Result<double> Ratio(const nlohmann::json& v, const std::string& key) {
  if (!v.is_number() || v.get<double>() < 0.0 || v.get<double>() > 1.0) {
    return Status::Invalid("option " + key + " must be a number from 0 to 1");
  }
  return v.get<double>();
}

Result<int64_t> Integer(const nlohmann::json& v, const std::string& key, int64_t lo, int64_t hi) {
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi) {
    return Status::Invalid("option " + key + " must be an integer from " + std::to_string(lo) + " to " +
                           std::to_string(hi));
  }
  return v.get<int64_t>();
}

Result<bool> Boolean(const nlohmann::json& v, const std::string& key) {
  if (!v.is_boolean()) return Status::Invalid("option " + key + " must be true or false");
  return v.get<bool>();
}

std::string Uuid(SeededRng& rng) {
  const std::string h = HexEncode(rng.Bytes(16));
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" +
         h.substr(20);
}

// How often each kind of spend shows up among the non-subscription charges of an agency month.
int KindWeight(SpendKind kind) {
  switch (kind) {
    case SpendKind::kCloud:
      return 2;
    case SpendKind::kAirfare:
      return 4;
    case SpendKind::kRideshare:
      return 7;
    case SpendKind::kLodging:
      return 3;
    case SpendKind::kAds:
      return 5;
    case SpendKind::kMeals:
      return 6;
    case SpendKind::kOffice:
      return 3;
    case SpendKind::kSoftware:
      return 0;
  }
  return 1;
}

const char* BudgetFor(SpendKind kind) {
  switch (kind) {
    case SpendKind::kSoftware:
    case SpendKind::kCloud:
      return "Software & Tools";
    case SpendKind::kAirfare:
    case SpendKind::kRideshare:
    case SpendKind::kLodging:
      return "Client Travel";
    case SpendKind::kAds:
      return "Media Buying";
    case SpendKind::kMeals:
      return "Team Meals";
    case SpendKind::kOffice:
      return "Office";
  }
  return "Office";
}

std::vector<size_t> WeightedMerchants() {
  std::vector<size_t> out;
  const auto& merchants = AgencyMerchants();
  for (size_t i = 0; i < merchants.size(); ++i) {
    if (merchants[i].recurring) continue;
    for (int w = 0; w < KindWeight(merchants[i].kind); ++w) out.push_back(i);
  }
  return out;
}

std::string ClientCode(const std::string& client) {
  std::string code;
  for (char c : client) {
    if (std::isalpha(static_cast<unsigned char>(c))) code.push_back(static_cast<char>(std::toupper(c)));
    if (code.size() == 4) break;
  }
  return code;
}

std::string Memo(SpendKind kind, const std::string& client, SeededRng& rng) {
  switch (kind) {
    case SpendKind::kAds:
      return rng.Chance(0.5) ? "Paid social - " + client : "Search campaign - " + client;
    case SpendKind::kAirfare:
      return "Flight for " + client + " shoot";
    case SpendKind::kRideshare:
      return rng.Chance(0.5) ? "Ride to " + client + " office" : "Airport transfer";
    case SpendKind::kLodging:
      return "Hotel - " + client + " production";
    case SpendKind::kMeals:
      return client == "Internal" ? "Team lunch" : "Client lunch - " + client;
    case SpendKind::kOffice:
      return "Studio supplies";
    case SpendKind::kSoftware:
    case SpendKind::kCloud:
      return "";
  }
  return "";
}

TimePoint Clamp(TimePoint t, TimePoint latest) { return t > latest ? latest : t; }

nlohmann::json StringOrNull(const std::string& s) {
  return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}

int IndexOfBudget(const BrexData& d, const std::string& name) {
  for (size_t i = 0; i < d.budgets.size(); ++i) {
    if (d.budgets[i].name == name) return static_cast<int>(i);
  }
  return 0;
}

// Fills the details of a new expense of merchant `m` purchased at `purchased` and appends it (and its
// receipt) to `d`.
size_t MakeExpense(BrexData& d, const BrexOptions& o, size_t m, TimePoint purchased, TimePoint now,
                   const std::vector<std::string>& merchant_ids, bool settled) {
  SeededRng& rng = d.rng;
  const Merchant& merchant = AgencyMerchants()[m];
  Expense e;
  e.id = rng.Id("expense_");
  e.merchant = m;
  e.merchant_id = merchant_ids[m];
  e.descriptor = CardDescriptor(merchant, rng);
  e.mcc = merchant.mcc;
  e.category = merchant.category;
  e.cents = merchant.RandomAmountCents(rng);
  e.purchased_at = purchased;

  // Who spends on what: media buyers run ads, operations pays for tools, anyone travels and eats.
  std::vector<size_t> candidates;
  for (size_t i = 0; i < d.users.size(); ++i) {
    const std::string& dept = AgencyPeople()[i % AgencyPeople().size()].department;
    const bool fits = merchant.kind == SpendKind::kAds ? dept == "Media"
                      : (merchant.kind == SpendKind::kSoftware || merchant.kind == SpendKind::kCloud ||
                         merchant.kind == SpendKind::kOffice)
                          ? dept == "Operations"
                          : true;
    if (fits) candidates.push_back(i);
  }
  if (candidates.empty()) candidates.push_back(0);
  const User& user = d.users[rng.Pick(candidates)];
  e.user_id = user.id;

  const bool out_of_pocket = (merchant.kind == SpendKind::kMeals || merchant.kind == SpendKind::kRideshare ||
                              merchant.kind == SpendKind::kOffice) &&
                             rng.Chance(o.reimbursement_ratio);
  e.expense_type = out_of_pocket ? "REIMBURSEMENT" : "CARD";
  e.card_id = out_of_pocket ? "" : user.card_id;

  const bool internal = merchant.kind == SpendKind::kSoftware || merchant.kind == SpendKind::kCloud ||
                        merchant.kind == SpendKind::kOffice;
  const int internal_index = static_cast<int>(d.clients.size()) - 1;
  e.client = internal ? internal_index
                      : static_cast<int>(rng.Uniform(
                            0, merchant.kind == SpendKind::kMeals ? internal_index : internal_index - 1));
  const std::string& client = d.clients[static_cast<size_t>(e.client)].name;
  e.billable = e.client != internal_index;
  const std::string month = FormatDate(purchased).substr(2, 2) + FormatDate(purchased).substr(5, 2);
  e.project_code = e.billable ? ClientCode(client) + "-" + month : "INT-OPS";
  e.memo = Memo(merchant.kind, client, rng);
  e.budget_id = d.budgets[static_cast<size_t>(IndexOfBudget(d, BudgetFor(merchant.kind)))].id;

  const TimePoint latest = now - std::chrono::minutes(1);
  if (settled) {
    e.posted_at = Clamp(purchased + std::chrono::hours(rng.Uniform(20, 54)), latest);
    e.updated_at = Clamp(e.posted_at + std::chrono::minutes(rng.Uniform(30, 1200)), latest);
  } else {
    e.posted_at = purchased;
    e.updated_at = Clamp(purchased, latest);
  }
  if (merchant.recurring || rng.Chance(o.receipt_ratio)) {
    Receipt r;
    r.id = rng.Id("receipt_");
    r.expense_id = e.id;
    r.file_name = "receipt-" + FormatDate(purchased) + ".pdf";
    e.receipt_ids.push_back(r.id);
    d.receipts.push_back(std::move(r));
  }
  e.status = settled ? (e.receipt_ids.empty() ? "SUBMITTED" : "APPROVED") : "SUBMITTED";
  if (out_of_pocket) {
    e.payment_status = rng.Chance(0.5) ? "CLEARED" : "PROCESSING";
  } else {
    e.payment_status = settled ? "CLEARED" : "PROCESSING";
  }
  d.expenses.push_back(std::move(e));
  return d.expenses.size() - 1;
}

AccountingRecord MakeRecord(BrexData& d, const Expense& e) {
  AccountingRecord r;
  r.id = d.rng.Id("accr_");
  r.debit_line_id = d.rng.Id("accrli_");
  r.credit_line_id = d.rng.Id("accrli_");
  r.expense_id = e.id;
  const bool card = e.expense_type == "CARD";
  // A reimbursement's first record is its approval (accrual basis, spec S2); record_mix adds its POST (cash
  // basis) and payout.
  r.type = card ? "CARD_EXPENSE_POST" : "REIMBURSEMENT_EXPENSE_APPROVAL";
  r.source_type = card ? "CARD" : "REIMBURSEMENT";
  r.review_status = "PREPARE";
  r.cents = e.cents;
  r.posted_at = e.posted_at;
  r.updated_at = e.updated_at;
  r.memo = e.memo;
  r.user_id = e.user_id;
  return r;
}

std::vector<std::string> MerchantIds(BrexData& d) {
  // Merchant ids are a pure function of the company so that expenses added later reuse them (FNV-1a keeps
  // the seed portable, unlike std::hash).
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : d.company_id) h = (h ^ c) * 0x100000001b3ULL;
  SeededRng rng(h);
  std::vector<std::string> ids;
  for (size_t i = 0; i < AgencyMerchants().size(); ++i) ids.push_back(rng.Id("merchant_"));
  return ids;
}

nlohmann::json FieldValueJson(const std::string& field_id, const char* remote_field_id,
                              const char* field_name, const FieldValue& v, bool names) {
  nlohmann::json j = {{"brex_field_id", field_id},
                      {"remote_field_id", remote_field_id},
                      {"brex_field_value_id", v.value_id},
                      {"remote_field_value_id", v.remote_value_id}};
  if (names) {
    j["field_name"] = field_name;
    j["field_value_name"] = v.name;
    j["type"] = "IDENTIFIER";
  }
  return j;
}

std::string PdfEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '(' || c == ')' || c == '\\') out.push_back('\\');
    out.push_back(static_cast<unsigned char>(c) < 0x80 ? c : '?');
  }
  return out;
}

}  // namespace

std::set<std::string> BrexOptions::DefaultUserTokenScopes() {
  // docs/operator-guide.md, "Brex → FreshBooks against real accounts", step 1 (= the brex plugin's manifest).
  return {"accounting.record.read", "accounting.record.write", "expenses.card.readonly", "vendors.readonly",
          "cards.readonly",         "companies.readonly",      "users.readonly",         "openid",
          "offline_access"};
}

Result<BrexOptions> BrexOptions::FromJson(const nlohmann::json& j) {
  BrexOptions o;
  if (j.is_null()) return o;
  if (!j.is_object()) return Status::Invalid("brex options must be a JSON object");
  for (const auto& [key, v] : j.items()) {
    if (key == "user_token_idle_days") {
      MLC_ASSIGN_OR_RETURN(o.user_token_idle_days, Integer(v, key, 1, 3650));
    } else if (key == "user_token_scopes") {
      if (v == "all") {
        o.all_user_token_scopes = true;
        o.user_token_scopes.clear();
      } else if (v.is_array()) {
        o.all_user_token_scopes = false;
        o.user_token_scopes.clear();
        for (const auto& scope : v) {
          if (!scope.is_string() || scope.get_ref<const std::string&>().empty())
            return Status::Invalid("option user_token_scopes must list scope names");
          o.user_token_scopes.insert(scope.get<std::string>());
        }
      } else {
        return Status::Invalid("option user_token_scopes must be \"all\" or an array of scopes");
      }
    } else if (key == "expired_token_status") {
      MLC_ASSIGN_OR_RETURN(int64_t s, Integer(v, key, 401, 403));
      if (s == 402) return Status::Invalid("option expired_token_status must be 401 or 403");
      o.expired_token_status = static_cast<int>(s);
    } else if (key == "access_token_ttl_s") {
      MLC_ASSIGN_OR_RETURN(o.access_token_ttl_s, Integer(v, key, 1, 86400 * 30));
    } else if (key == "rotate_refresh_tokens") {
      MLC_ASSIGN_OR_RETURN(o.rotate_refresh_tokens, Boolean(v, key));
    } else if (key == "refresh_token_idle_days") {
      MLC_ASSIGN_OR_RETURN(o.refresh_token_idle_days, Integer(v, key, 1, 3650));
    } else if (key == "rate_limit") {
      if (!v.is_object())
        return Status::Invalid("option rate_limit must be {\"limit\", \"window_s\", \"kind\"}");
      for (const auto& [k2, v2] : v.items()) {
        if (k2 == "limit") {
          MLC_ASSIGN_OR_RETURN(o.rate_limit, Integer(v2, "rate_limit.limit", 0, 100000000));
        } else if (k2 == "window_s") {
          MLC_ASSIGN_OR_RETURN(o.rate_window_s, Integer(v2, "rate_limit.window_s", 1, 86400));
        } else if (k2 == "kind") {
          if (v2 == "fixed") {
            o.rate_window_kind = RateLimitOptions::Window::kFixed;
          } else if (v2 == "sliding") {
            o.rate_window_kind = RateLimitOptions::Window::kSliding;
          } else {
            return Status::Invalid("option rate_limit.kind must be \"fixed\" or \"sliding\"");
          }
        } else {
          return Status::Invalid("unknown option rate_limit." + k2);
        }
      }
    } else if (key == "send_retry_after") {
      MLC_ASSIGN_OR_RETURN(o.send_retry_after, Boolean(v, key));
    } else if (key == "accounting_max_limit") {
      MLC_ASSIGN_OR_RETURN(o.accounting_max_limit, Integer(v, key, 1, 100000));
    } else if (key == "failed_export_status") {
      if (v != "READY_FOR_EXPORT" && v != "REVIEW" && v != "PREPARE") {
        return Status::Invalid("option failed_export_status must be READY_FOR_EXPORT, REVIEW or PREPARE");
      }
      o.failed_export_status = v.get<std::string>();
    } else if (key == "ready_event_batch_size") {
      MLC_ASSIGN_OR_RETURN(o.ready_event_batch_size, Integer(v, key, 1, 100000));
    } else if (key == "month") {
      int y = 0, m = 0;
      if (!v.is_string() || std::sscanf(v.get<std::string>().c_str(), "%4d-%2d", &y, &m) != 2 || y < 1970 ||
          m < 1 || m > 12 || v.get<std::string>().size() != 7) {
        return Status::Invalid("option month must look like \"2025-05\"");
      }
      o.month = std::make_pair(y, m);
    } else if (key == "ready_ratio") {
      MLC_ASSIGN_OR_RETURN(o.ready_ratio, Ratio(v, key));
    } else if (key == "exported_ratio") {
      MLC_ASSIGN_OR_RETURN(o.exported_ratio, Ratio(v, key));
    } else if (key == "unknown_gl_ratio") {
      MLC_ASSIGN_OR_RETURN(o.unknown_gl_ratio, Ratio(v, key));
    } else if (key == "receipt_ratio") {
      MLC_ASSIGN_OR_RETURN(o.receipt_ratio, Ratio(v, key));
    } else if (key == "reimbursement_ratio") {
      MLC_ASSIGN_OR_RETURN(o.reimbursement_ratio, Ratio(v, key));
    } else if (key == "record_mix") {
      MLC_ASSIGN_OR_RETURN(o.record_mix, Boolean(v, key));
    } else if (key == "include_field_names") {
      MLC_ASSIGN_OR_RETURN(o.include_field_names, Boolean(v, key));
    } else if (key == "duplicate_vendor_status") {
      MLC_ASSIGN_OR_RETURN(int64_t s, Integer(v, key, 400, 409));
      if (s != 400 && s != 409) return Status::Invalid("option duplicate_vendor_status must be 400 or 409");
      o.duplicate_vendor_status = static_cast<int>(s);
    } else if (key == "nameless_vendors") {
      MLC_ASSIGN_OR_RETURN(o.nameless_vendors, Integer(v, key, 0, 1000));
    } else if (key == "vendor_name_match") {
      if (v != "exact" && v != "contains")
        return Status::Invalid("option vendor_name_match must be exact or contains");
      o.vendor_name_contains = v == "contains";
    } else if (key == "accounting_auth_error_shape") {
      if (v != "accounting" && v != "v1") {
        return Status::Invalid("option accounting_auth_error_shape must be \"accounting\" or \"v1\"");
      }
      o.v1_auth_errors_on_accounting = v == "v1";
    } else if (key == "receipt_url_ttl_s") {
      MLC_ASSIGN_OR_RETURN(o.receipt_url_ttl_s, Integer(v, key, 1, 86400));
    } else {
      return Status::Invalid("unknown brex option '" + key + "'");
    }
  }
  if (o.ready_ratio + o.exported_ratio > 1.0) {
    return Status::Invalid("options ready_ratio + exported_ratio must not exceed 1");
  }
  return o;
}

nlohmann::json BrexOptions::ToJson() const {
  nlohmann::json j = {
      {"user_token_idle_days", user_token_idle_days},
      {"user_token_scopes",
       all_user_token_scopes ? nlohmann::json("all") : nlohmann::json(user_token_scopes)},
      {"expired_token_status", expired_token_status},
      {"access_token_ttl_s", access_token_ttl_s},
      {"rotate_refresh_tokens", rotate_refresh_tokens},
      {"refresh_token_idle_days", refresh_token_idle_days},
      {"rate_limit",
       {{"limit", rate_limit},
        {"window_s", rate_window_s},
        {"kind", rate_window_kind == RateLimitOptions::Window::kFixed ? "fixed" : "sliding"}}},
      {"send_retry_after", send_retry_after},
      {"accounting_max_limit", accounting_max_limit},
      {"failed_export_status", failed_export_status},
      {"ready_event_batch_size", ready_event_batch_size},
      {"ready_ratio", ready_ratio},
      {"exported_ratio", exported_ratio},
      {"unknown_gl_ratio", unknown_gl_ratio},
      {"receipt_ratio", receipt_ratio},
      {"reimbursement_ratio", reimbursement_ratio},
      {"include_field_names", include_field_names},
      {"record_mix", record_mix},
      {"duplicate_vendor_status", duplicate_vendor_status},
      {"vendor_name_match", vendor_name_contains ? "contains" : "exact"},
      {"nameless_vendors", nameless_vendors},
      {"receipt_url_ttl_s", receipt_url_ttl_s},
      {"accounting_auth_error_shape", v1_auth_errors_on_accounting ? "v1" : "accounting"},
  };
  if (month) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02d", month->first, month->second);
    j["month"] = buf;
  }
  return j;
}

const User* BrexData::FindUser(const std::string& id) const {
  for (const auto& u : users) {
    if (u.id == id) return &u;
  }
  return nullptr;
}

namespace {

// The element with `id`, through `index` (id -> position). Appended items are indexed on the next miss; a
// miss after that scans, and a scan that finds the item (the vector changed in place) rebuilds the index,
// so any change to `items` is safe and appends stay O(1).
template <typename T, typename Index>
T* FindIndexed(std::vector<T>& items, Index& index, const std::string& id) {
  auto hit = [&]() -> T* {
    auto it = index.position.find(id);
    if (it != index.position.end() && it->second < items.size() && items[it->second].id == id)
      return &items[it->second];
    return nullptr;
  };
  if (T* found = hit()) return found;
  if (index.upto > items.size()) {  // shrunk: start over
    index.position.clear();
    index.upto = 0;
  }
  for (; index.upto < items.size(); ++index.upto) index.position[items[index.upto].id] = index.upto;
  if (T* found = hit()) return found;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].id != id) continue;
    index.position.clear();
    for (index.upto = 0; index.upto < items.size(); ++index.upto)
      index.position[items[index.upto].id] = index.upto;
    return &items[i];
  }
  return nullptr;
}

}  // namespace

Expense* BrexData::FindExpense(const std::string& id) { return FindIndexed(expenses, expense_index_, id); }

AccountingRecord* BrexData::FindRecord(const std::string& id) {
  return FindIndexed(records, record_index_, id);
}

Vendor* BrexData::FindVendor(const std::string& id) {
  for (auto& v : vendors) {
    if (v.id == id && !v.deleted) return &v;
  }
  return nullptr;
}

const Receipt* BrexData::FindReceipt(const std::string& id) const {
  return FindIndexed(const_cast<std::vector<Receipt>&>(receipts), receipt_index_, id);
}

int BrexData::DepartmentValueFor(const std::string& department_id) const {
  for (size_t i = 0; i < departments.size(); ++i) {
    if (departments[i].id == department_id) return static_cast<int>(i);
  }
  return -1;
}

int BrexData::GlFor(SpendKind kind) const {
  // gl_accounts holds one known account per SpendKind, in enum order, then the unknown ones.
  return static_cast<int>(kind);
}

std::vector<std::string> BrexData::SigningSecrets() const {
  std::vector<std::string> out;
  for (const auto& s : secrets) out.push_back(s.secret);
  return out;
}

void CodeRecord(BrexData& d, const BrexOptions& o, AccountingRecord& r) {
  const Expense* e = d.FindExpense(r.expense_id);
  const SpendKind kind = e ? AgencyMerchants()[e->merchant].kind : SpendKind::kOffice;
  if (d.rng.Chance(o.unknown_gl_ratio)) {
    r.gl = static_cast<int>(d.rng.Uniform(8, static_cast<int64_t>(d.gl_accounts.size()) - 1));
  } else {
    r.gl = d.GlFor(kind);
  }
  const User* u = d.FindUser(r.user_id);
  r.department = u ? d.DepartmentValueFor(u->department_id) : 0;
  r.client = e ? e->client : static_cast<int>(d.clients.size()) - 1;
}

namespace {

// The other record types one month of spend produces (BrexOptions::record_mix), each an event Brex describes
// (spec S2, AccountingRecordDetailed.type): a reimbursement is approved (APPROVAL, "accrual basis"), then
// fulfilled (POST, "cash basis") with its payout to the employee (MONEY_MOVEMENT_PAYOUT); some card purchases
// are refunded by the merchant (CARD_EXPENSE_REFUND); the card balance is paid (CARD_PAYMENT). Each extra
// record shares its expense's review status, so a READY_FOR_EXPORT expense has all its records ready.
void AddRecordMix(BrexData& d, TimePoint now) {
  std::vector<AccountingRecord> extra;
  int64_t card_total = 0;
  size_t card_count = 0;
  const TimePoint latest = now - std::chrono::minutes(1);
  for (auto& r : d.records) {
    const Expense* e = d.FindExpense(r.expense_id);
    if (e == nullptr) continue;
    if (r.type == "REIMBURSEMENT_EXPENSE_APPROVAL") {
      AccountingRecord post = r;
      post.id = d.rng.Id("accr_");
      post.debit_line_id = d.rng.Id("accrli_");
      post.credit_line_id = d.rng.Id("accrli_");
      post.type = "REIMBURSEMENT_EXPENSE_POST";
      post.posted_at = Clamp(r.posted_at + std::chrono::hours(48), latest);
      extra.push_back(post);
      AccountingRecord payout = r;
      payout.id = d.rng.Id("accr_");
      payout.debit_line_id = d.rng.Id("accrli_");
      payout.credit_line_id = d.rng.Id("accrli_");
      payout.type = "REIMBURSEMENT_EXPENSE_MONEY_MOVEMENT_PAYOUT";
      extra.push_back(payout);
    } else if (r.type == "CARD_EXPENSE_POST") {
      card_total += r.cents;
      if (card_count++ % 7 == 3) {
        AccountingRecord refund = r;
        refund.id = d.rng.Id("accr_");
        refund.debit_line_id = d.rng.Id("accrli_");
        refund.credit_line_id = d.rng.Id("accrli_");
        refund.type = "CARD_EXPENSE_REFUND";
        refund.cents = std::max<int64_t>(1, r.cents / 4);  // a partial refund
        refund.posted_at = Clamp(r.posted_at + std::chrono::hours(72), latest);
        refund.memo = "Partial refund";
        extra.push_back(refund);
      }
    }
  }
  if (card_total > 0) {
    AccountingRecord payment;
    payment.id = d.rng.Id("accr_");
    payment.debit_line_id = d.rng.Id("accrli_");
    payment.credit_line_id = d.rng.Id("accrli_");
    payment.type = "CARD_PAYMENT";
    payment.source_type = "CARD";
    payment.review_status = d.records.front().review_status;
    payment.cents = card_total;
    payment.posted_at = latest;
    payment.updated_at = latest;
    payment.memo = "Brex card payment";
    extra.push_back(payment);
  }
  for (auto& r : extra) d.records.push_back(std::move(r));
}

}  // namespace

void Seed(BrexData& d, const BrexOptions& o, int records, TimePoint month_start, TimePoint now) {
  SeededRng& rng = d.rng;
  d.company_id = rng.Id("cuacc_");
  d.company_name = "Brightline Creative LLC";
  d.cash_account_id = rng.Id("dpacc_");
  d.user_token = "bxt_" + rng.Base62(36);
  d.revoked_user_token = "bxt_" + rng.Base62(36);
  d.oauth_client_id = rng.Base62(20);
  d.oauth_client_secret = rng.Base62(40);
  d.receipt_signing_key = rng.Bytes(32);

  for (const auto& p : AgencyPeople()) {
    bool seen = false;
    for (const auto& dep : d.departments) seen = seen || dep.name == p.department;
    if (!seen) d.departments.push_back({rng.Id("cudept_"), p.department});
  }
  d.locations = {{rng.Id("culoc_"), "San Francisco HQ"}, {rng.Id("culoc_"), "New York Studio"}};
  for (const char* b : {"Software & Tools", "Client Travel", "Media Buying", "Team Meals", "Office"}) {
    d.budgets.push_back({rng.Id("budget_"), b});
  }
  for (size_t i = 0; i < AgencyPeople().size(); ++i) {
    const Person& p = AgencyPeople()[i];
    User u;
    u.id = rng.Id("cuuser_");
    u.first_name = p.first_name;
    u.last_name = p.last_name;
    u.email = text::AsciiLower(p.first_name) + "." + text::AsciiLower(p.last_name) + "@brightline.example";
    u.role = i == 0 ? "ACCOUNT_ADMIN" : (p.department == "Operations" ? "BOOKKEEPER" : "EMPLOYEE");
    u.status = "ACTIVE";
    for (const auto& dep : d.departments) {
      if (dep.name == p.department) u.department_id = dep.id;
    }
    u.location_id = d.locations[i % 2].id;
    u.title_id = rng.Id("cutitle_");
    u.title = p.title;
    u.manager_id = i == 0 ? "" : d.users[0].id;
    u.card_id = rng.Id("card_");
    d.users.push_back(std::move(u));
  }

  d.gl_field_id = rng.Id("extended_field_");
  d.department_field_id = rng.Id("extended_field_");
  d.client_field_id = rng.Id("extended_field_");
  // One known account per SpendKind, in enum order (GlFor relies on it), then codes no ledger maps.
  const std::pair<const char*, const char*> gl[] = {
      {"6010", "Software & Subscriptions"}, {"6020", "Cloud Hosting & Infrastructure"},
      {"6210", "Travel - Airfare"},         {"6220", "Travel - Ground Transportation"},
      {"6230", "Travel - Lodging"},         {"6110", "Client Media Spend (Rebillable)"},
      {"6310", "Meals & Entertainment"},    {"6410", "Office Supplies"},
      {"6999", "Uncategorized Expense"},    {"7020", "Client Gifts (Legacy)"},
  };
  for (size_t i = 0; i < std::size(gl); ++i) {
    d.gl_accounts.push_back(
        {rng.Id("efo_"), gl[i].first, std::string(gl[i].first) + " " + gl[i].second, i < 8});
  }
  for (const auto& dep : d.departments) {
    d.department_values.push_back({rng.Id("efo_"), "DEPT-" + ClientCode(dep.name), dep.name, true});
  }
  for (size_t i = 0; i < AgencyClients().size(); ++i) {
    char remote[32];
    std::snprintf(remote, sizeof remote, "CUST-%03zu", i + 1);
    d.clients.push_back({rng.Id("efo_"), remote, AgencyClients()[i], true});
  }
  d.secrets.push_back({standard_webhooks::GenerateSecret(rng), "ACTIVE"});

  // Expenses: each subscription bills once, the rest is drawn by weight; then all are ordered by time.
  const auto& merchants = AgencyMerchants();
  const std::string start = FormatDate(month_start);
  int year = std::stoi(start.substr(0, 4)), month = std::stoi(start.substr(5, 2));
  const TimePoint next = month == 12 ? FromCivil(year + 1, 1, 1) : FromCivil(year, month + 1, 1);
  const int64_t days = std::chrono::duration_cast<std::chrono::hours>(next - month_start).count() / 24;
  std::vector<std::pair<TimePoint, size_t>> picks;
  // About one charge in six is a subscription, so small data sets still mix travel, ads and meals in.
  const int subscriptions = std::max(1, records / 6);
  for (size_t i = 0;
       i < merchants.size() && static_cast<int>(picks.size()) < std::min(records, subscriptions); ++i) {
    if (!merchants[i].recurring) continue;
    picks.emplace_back(month_start + std::chrono::hours(24 * rng.Uniform(0, 27) + rng.Uniform(0, 6)) +
                           std::chrono::seconds(rng.Uniform(0, 3599)),
                       i);
  }
  const std::vector<size_t> weighted = WeightedMerchants();
  while (static_cast<int>(picks.size()) < records) {
    const size_t m = rng.Pick(weighted);
    picks.emplace_back(month_start + std::chrono::hours(24 * rng.Uniform(0, days - 1) + rng.Uniform(7, 21)) +
                           std::chrono::seconds(rng.Uniform(0, 3599)),
                       m);
  }
  std::stable_sort(picks.begin(), picks.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  const std::vector<std::string> merchant_ids = MerchantIds(d);
  for (const auto& [at, m] : picks) {
    const size_t index = MakeExpense(d, o, m, at, now, merchant_ids, /*settled=*/true);
    const Expense& e = d.expenses[index];
    if (e.expense_type == "CARD") {
      CardTransaction t;
      t.id = Uuid(rng);
      t.card_id = e.card_id;
      t.description = e.descriptor;
      t.type = "PURCHASE";
      t.expense_id = e.id;
      t.mcc = e.mcc;
      t.cents = e.cents;
      t.initiated_at = e.purchased_at;
      t.posted_at = e.posted_at;
      t.user_id = e.user_id;
      d.transactions.push_back(std::move(t));
    }
    AccountingRecord r = MakeRecord(d, e);
    const double u = rng.Unit();
    if (u < o.exported_ratio) {
      r.review_status = "EXPORTED";
      CodeRecord(d, o, r);
      r.version = 3;
      r.export_reference = "JE-" + rng.Digits(6);
      r.updated_at = Clamp(r.updated_at + std::chrono::hours(26), now - std::chrono::minutes(1));
    } else if (u < o.exported_ratio + o.ready_ratio) {
      r.review_status = "READY_FOR_EXPORT";
      CodeRecord(d, o, r);
      r.version = 2;
      r.updated_at = Clamp(r.updated_at + std::chrono::hours(3), now - std::chrono::minutes(1));
    } else {
      r.review_status = rng.Chance(0.6) ? "PREPARE" : "REVIEW";
      // Brex's auto-coding rules pre-fill the GL account on some records still in review.
      if (rng.Chance(0.5)) r.gl = d.GlFor(merchants[e.merchant].kind);
    }
    d.records.push_back(std::move(r));
  }

  if (o.record_mix) AddRecordMix(d, now);

  // AP vendors with bank details, and a few transfers already paid to them.
  const char* routing[] = {"021000021", "121000248", "026009593", "011000138"};
  const auto& names = AgencyVendorNames();
  for (size_t i = 0; i < std::min<size_t>(10, names.size()); ++i) {
    Vendor v;
    v.id = rng.Id("vendor_");
    v.company_name = names[i];
    std::string domain;
    for (char c : names[i]) {
      if (std::isalnum(static_cast<unsigned char>(c))) domain.push_back(static_cast<char>(std::tolower(c)));
    }
    v.email = "billing@" + domain + ".example";
    v.phone = "+1415555" + rng.Digits(4);
    v.payment_accounts = nlohmann::json::array();
    v.payment_accounts.push_back({{"details",
                                   {{"type", "ACH"},
                                    {"payment_instrument_id", rng.Id("pi_")},
                                    {"routing_number", routing[i % 4]},
                                    {"account_number", rng.Digits(10)},
                                    {"account_type", "CHECKING"},
                                    {"account_class", "BUSINESS"}}}});
    if (i % 4 == 3) {
      v.payment_accounts.push_back({{"details",
                                     {{"type", "CHEQUE"},
                                      {"payment_instrument_id", rng.Id("pi_")},
                                      {"recipient_name", names[i].substr(0, 40)},
                                      {"mailing_address",
                                       {{"line1", std::to_string(100 + i * 7) + " Market St"},
                                        {"line2", nullptr},
                                        {"city", "San Francisco"},
                                        {"state", "CA"},
                                        {"country", "US"},
                                        {"postal_code", "94105"},
                                        {"phone_number", nullptr}}}}}});
    }
    d.vendors.push_back(std::move(v));
  }
  // Brex: VendorResponse.company_name is nullable (brex.md §3.4), e.g. a payee known only by its bank
  // account; seeded after the named ones so the transfers below keep their counterparties.
  for (int64_t i = 0; i < o.nameless_vendors; ++i) {
    Vendor v;
    v.id = rng.Id("vendor_");
    v.email = nullptr;
    v.phone = nullptr;
    v.payment_accounts = nlohmann::json::array();
    v.payment_accounts.push_back({{"details",
                                   {{"type", "ACH"},
                                    {"payment_instrument_id", rng.Id("pi_")},
                                    {"routing_number", routing[static_cast<size_t>(i) % 4]},
                                    {"account_number", rng.Digits(10)},
                                    {"account_type", "CHECKING"},
                                    {"account_class", "PERSONAL"}}}});
    d.vendors.push_back(std::move(v));
  }
  const char* statuses[] = {"PROCESSED", "PROCESSED", "PROCESSED", "PROCESSING", "SCHEDULED", "FAILED"};
  for (size_t i = 0; i < std::size(statuses) && i < d.vendors.size(); ++i) {
    const Vendor& v = d.vendors[i];
    const TimePoint created = month_start + std::chrono::hours(24 * rng.Uniform(0, days - 1));
    nlohmann::json t = {
        {"id", rng.Id("transfer_")},
        {"counterparty",
         {{"type", "VENDOR"},
          {"id", v.id},
          {"payment_instrument_id", v.payment_accounts[0]["details"]["payment_instrument_id"]},
          {"routing_number", v.payment_accounts[0]["details"]["routing_number"]},
          {"account_number", v.payment_accounts[0]["details"]["account_number"]}}},
        {"description", "Invoice INV-" + rng.Digits(5)},
        {"payment_type", "ACH"},
        {"amount", MoneyCents(rng.Uniform(1500, 25000) * 100)},
        {"process_date", FormatDate(created + std::chrono::hours(24))},
        {"originating_account", {{"type", "BREX_CASH"}, {"id", d.cash_account_id}}},
        {"status", statuses[i]},
        {"cancellation_reason", std::string(statuses[i]) == "FAILED" ? nlohmann::json("INSUFFICIENT_FUNDS")
                                                                     : nlohmann::json(nullptr)},
        {"estimated_delivery_date", FormatDate(created + std::chrono::hours(72))},
        {"creator_user_id", d.users[0].id},
        {"created_at", FormatDate(created)},
        {"display_name", v.company_name},
        {"external_memo", "Brightline Creative payment"},
    };
    d.transfers.push_back(std::move(t));
  }
}

size_t AddCardExpense(BrexData& d, const BrexOptions& o, TimePoint at) {
  const size_t m = d.rng.Pick(WeightedMerchants());
  BrexOptions card_only = o;
  card_only.reimbursement_ratio = 0;
  const size_t index = MakeExpense(d, card_only, m, at, at + std::chrono::minutes(2), MerchantIds(d),
                                   /*settled=*/false);
  d.records.push_back(MakeRecord(d, d.expenses[index]));
  return index;
}

nlohmann::json MoneyCents(int64_t cents) { return {{"amount", cents}, {"currency", "USD"}}; }

nlohmann::json AmountDollars(int64_t cents) {
  // Brex accounting amounts are decimal dollars sent as JSON numbers (74.99). The emulator keeps cents and
  // converts only here: for |cents| < 2^53 the double nearest cents/100 prints (shortest round-trip, as
  // nlohmann does) as exactly the two-decimal value, so nothing is lost on the wire.
  return {{"amount", static_cast<double>(cents) / 100.0}, {"currency", "USD"}};
}

std::string ReceiptSignature(const BrexData& d, const std::string& receipt_id, int64_t expires) {
  return HexEncode(HmacSha256(d.receipt_signing_key, receipt_id + "\n" + std::to_string(expires)));
}

std::string ReceiptUrl(const BrexData& d, const Receipt& r, const std::string& base_url, TimePoint now,
                       int64_t ttl_s) {
  const int64_t expires =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() + ttl_s;
  return base_url + "/receipts/" + r.id + "/" + r.file_name + "?Expires=" + std::to_string(expires) +
         "&Signature=" + ReceiptSignature(d, r.id, expires);
}

nlohmann::json ExpenseJson(const BrexData& d, const Expense& e, const ExpenseView& view,
                           const std::string& base_url, TimePoint now, int64_t receipt_ttl_s) {
  const bool urls = view.expand.count("receipts.download_uris") > 0;
  nlohmann::json receipts = nlohmann::json::array();
  for (const auto& id : e.receipt_ids) {
    const Receipt* r = d.FindReceipt(id);
    nlohmann::json uris = nullptr;
    if (urls && r) uris = nlohmann::json::array({ReceiptUrl(d, *r, base_url, now, receipt_ttl_s)});
    receipts.push_back({{"id", id}, {"download_uris", uris}});
  }
  const User* u = d.FindUser(e.user_id);
  nlohmann::json j = {
      {"id", e.id},
      {"memo", StringOrNull(e.memo)},
      {"location_id", u ? nlohmann::json(u->location_id) : nlohmann::json(nullptr)},
      {"department_id", u ? nlohmann::json(u->department_id) : nlohmann::json(nullptr)},
      {"updated_at", FormatRfc3339(e.updated_at, true)},
      {"category", e.category},
      {"merchant_id", e.merchant_id},
      {"receipts", receipts},
      {"budget_id", e.budget_id},
      {"original_amount", MoneyCents(e.cents)},
      {"billing_amount", MoneyCents(e.cents)},
      {"purchased_at", FormatRfc3339(e.purchased_at, true)},
      {"status", e.status},
      {"expense_type", e.expense_type},
      {"payment_status", e.payment_status},
      {"user_id", e.user_id},
      {"merchant", nullptr},
      {"location", nullptr},
      {"department", nullptr},
      {"user", nullptr},
      {"budget", nullptr},
      {"payment", nullptr},
  };
  if (view.expand.count("merchant")) {
    j["merchant"] = {{"raw_descriptor", e.descriptor}, {"mcc", e.mcc}, {"country", "USA"}};
  }
  if (u && view.expand.count("user")) {
    j["user"] = {{"id", u->id},
                 {"first_name", u->first_name},
                 {"last_name", u->last_name},
                 {"department_id", u->department_id},
                 {"location_id", u->location_id}};
  }
  if (u && view.expand.count("department")) {
    for (const auto& dep : d.departments) {
      if (dep.id == u->department_id) j["department"] = {{"id", dep.id}, {"name", dep.name}};
    }
  }
  if (u && view.expand.count("location")) {
    for (const auto& loc : d.locations) {
      if (loc.id == u->location_id) j["location"] = {{"id", loc.id}, {"name", loc.name}};
    }
  }
  if (view.expand.count("budget")) {
    for (const auto& b : d.budgets) {
      if (b.id == e.budget_id) j["budget"] = {{"id", b.id}, {"name", b.name}};
    }
  }
  if (view.expand.count("payment") && e.expense_type == "CARD") {
    j["payment"] = {{"id", "payment_" + e.id.substr(8)},
                    {"payment_instrument", {{"type", "CARD"}, {"id", e.card_id}}},
                    {"status_reason", nullptr}};
  }
  if (view.custom_fields) {
    const FieldValue& client = d.clients[static_cast<size_t>(e.client)];
    j["custom_fields"] = nlohmann::json::array({
        {{"key", "client"},
         {"value",
          {{"value_type", "SINGLE_VALUE"},
           {"data_type", "OPTION_STRING"},
           {"data", {{"option_id", client.value_id}, {"option_label", client.name}}}}}},
        {{"key", "project_code"},
         {"value", {{"value_type", "SINGLE_VALUE"}, {"data_type", "STRING"}, {"data", e.project_code}}}},
        {{"key", "billable"},
         {"value", {{"value_type", "SINGLE_VALUE"}, {"data_type", "BOOLEAN"}, {"data", e.billable}}}},
    });
  }
  return j;
}

nlohmann::json RecordJson(const BrexData& d, const AccountingRecord& r, const BrexOptions& o,
                          bool single_entry, const std::string& base_url, TimePoint now) {
  nlohmann::json receipts = nlohmann::json::array();
  std::string descriptor;
  for (const auto& e : d.expenses) {
    if (e.id != r.expense_id) continue;
    descriptor = e.descriptor;
    for (const auto& id : e.receipt_ids) {
      if (const Receipt* rc = d.FindReceipt(id)) {
        receipts.push_back(
            {{"id", id}, {"download_uris", {ReceiptUrl(d, *rc, base_url, now, o.receipt_url_ttl_s)}}});
      }
    }
  }
  nlohmann::json user = nullptr;
  if (const User* u = d.FindUser(r.user_id)) {
    const User* manager = d.FindUser(u->manager_id);
    std::string department_name, location_name;
    for (const auto& dep : d.departments) {
      if (dep.id == u->department_id) department_name = dep.name;
    }
    for (const auto& loc : d.locations) {
      if (loc.id == u->location_id) location_name = loc.name;
    }
    user = {{"id", u->id},
            {"first_name", u->first_name},
            {"last_name", u->last_name},
            {"email", u->email},
            {"role", u->role},
            {"status", u->status},
            {"manager_id", StringOrNull(u->manager_id)},
            {"department_id", u->department_id},
            {"department_name", department_name},
            {"location_id", u->location_id},
            {"location_name", location_name},
            {"title_id", u->title_id},
            {"title_name", u->title},
            {"manager_first_name", manager ? nlohmann::json(manager->first_name) : nlohmann::json(nullptr)},
            {"manager_last_name", manager ? nlohmann::json(manager->last_name) : nlohmann::json(nullptr)},
            {"manager_title_id", manager ? nlohmann::json(manager->title_id) : nlohmann::json(nullptr)},
            {"manager_title_name", manager ? nlohmann::json(manager->title) : nlohmann::json(nullptr)}};
  }
  nlohmann::json fields = nlohmann::json::array();
  if (r.gl >= 0) {
    fields.push_back(FieldValueJson(d.gl_field_id, "GL_ACCOUNT", "GL Account",
                                    d.gl_accounts[static_cast<size_t>(r.gl)], o.include_field_names));
  }
  if (r.department >= 0) {
    fields.push_back(FieldValueJson(d.department_field_id, "DEPARTMENT", "Department",
                                    d.department_values[static_cast<size_t>(r.department)],
                                    o.include_field_names));
  }
  if (r.client >= 0) {
    fields.push_back(FieldValueJson(d.client_field_id, "CUSTOMER", "Client",
                                    d.clients[static_cast<size_t>(r.client)], o.include_field_names));
  }
  // Which line carries the spend's coding: the DEBIT of an expense, the CREDIT of a refund (the expense
  // account is credited), neither for money movements and card payments (balance sheet only).
  const bool expense = r.type == "CARD_EXPENSE_POST" || r.type == "REIMBURSEMENT_EXPENSE_POST" ||
                       r.type == "REIMBURSEMENT_EXPENSE_APPROVAL";
  const bool refund = r.type == "CARD_EXPENSE_REFUND";
  const std::string other = r.source_type == "CARD" ? "Brex Card" : "Employee reimbursement";
  nlohmann::json lines = nlohmann::json::array();
  lines.push_back({{"id", r.debit_line_id},
                   {"type", "DEBIT"},
                   {"amount", AmountDollars(r.cents)},
                   {"original_amount", AmountDollars(r.cents)},
                   {"memo", expense ? StringOrNull(descriptor) : nlohmann::json(other)},
                   {"accounting_field_values", expense ? fields : nlohmann::json::array()}});
  if (!single_entry) {
    // The offsetting line is the card liability (or the employee payable); it carries no coding.
    lines.push_back({{"id", r.credit_line_id},
                     {"type", "CREDIT"},
                     {"amount", AmountDollars(r.cents)},
                     {"original_amount", AmountDollars(r.cents)},
                     {"memo", refund ? StringOrNull(descriptor) : nlohmann::json(other)},
                     {"accounting_field_values", refund ? fields : nlohmann::json::array()}});
  }
  return {
      {"id", r.id},
      {"amount", AmountDollars(r.cents)},
      {"original_amount", AmountDollars(r.cents)},
      {"type", r.type},
      {"review_status", r.review_status},
      {"source_id", StringOrNull(r.expense_id)},
      {"source_type", r.source_type},
      {"erp_posting_date", FormatRfc3339(r.posted_at, true)},
      {"updated_at", FormatRfc3339(r.updated_at, true)},
      {"version", r.version},
      {"posted_at", FormatRfc3339(r.posted_at, true)},
      {"receipts", receipts},
      {"user", user},
      {"vendor", nullptr},
      {"memo", StringOrNull(r.memo)},
      {"due_at", nullptr},
      {"invoice_number", nullptr},
      {"line_items", lines},
  };
}

nlohmann::json TransactionJson(const CardTransaction& t, bool expand_expense_id) {
  return {{"id", t.id},
          {"card_id", t.card_id},
          {"description", t.description},
          {"amount", MoneyCents(t.cents)},
          {"initiated_at_date", FormatDate(t.initiated_at)},
          {"posted_at_date", FormatDate(t.posted_at)},
          {"type", t.type},
          {"merchant", {{"raw_descriptor", t.description}, {"mcc", t.mcc}, {"country", "USA"}}},
          {"card_metadata", nlohmann::json::object()},
          {"expense_id", expand_expense_id ? nlohmann::json(t.expense_id) : nlohmann::json(nullptr)}};
}

nlohmann::json VendorJson(const Vendor& v) {
  return {{"id", v.id},
          {"company_name", StringOrNull(v.company_name)},  // nullable (brex.md §3.4)
          {"email", v.email},
          {"phone", v.phone},
          {"payment_accounts", v.payment_accounts}};
}

nlohmann::json SubscriptionJson(const Subscription& s) {
  return {{"id", s.id}, {"url", s.url}, {"event_types", s.event_types}, {"status", s.status}};
}

nlohmann::json TeamUserJson(const User& u) {
  return {{"id", u.id},
          {"first_name", u.first_name},
          {"last_name", u.last_name},
          {"email", u.email},
          {"status", u.status},
          {"manager_id", StringOrNull(u.manager_id)},
          {"department_id", u.department_id},
          {"location_id", u.location_id},
          {"title_id", u.title_id},
          {"metadata", nlohmann::json::object()},
          {"remote_display_id", nullptr}};
}

nlohmann::json IntegrationJson(const Integration& i) {
  // The spec's schema says integration_id while its examples say id; answer with both.
  return {{"id", i.id},         {"integration_id", i.id},
          {"vendor", i.vendor}, {"vendor_account_id", i.vendor_account_id},
          {"status", i.status}, {"created_at", FormatRfc3339(i.created_at)}};
}

nlohmann::json CompanyJson(const BrexData& d) {
  return {{"id", d.company_id},
          {"legal_name", d.company_name},
          {"mailing_address",
           {{"line1", "500 Howard St"},
            {"line2", "Floor 4"},
            {"city", "San Francisco"},
            {"state", "CA"},
            {"country", "US"},
            {"postal_code", "94105"},
            {"phone_number", "+14155550100"}}}};
}

std::string ReceiptPdf(const BrexData& d, const Receipt& receipt) {
  std::vector<std::string> lines = {"RECEIPT"};
  for (const auto& e : d.expenses) {
    if (e.id != receipt.expense_id) continue;
    const Merchant& m = AgencyMerchants()[e.merchant];
    char amount[48];
    std::snprintf(amount, sizeof amount, "Total: USD %lld.%02lld", static_cast<long long>(e.cents / 100),
                  static_cast<long long>(e.cents % 100));
    lines.push_back(m.name);
    lines.push_back(e.descriptor);
    lines.push_back(m.city);
    lines.push_back("Date: " + FormatDate(e.purchased_at));
    lines.push_back(amount);
    lines.push_back("Receipt " + receipt.id);
  }
  std::string content = "BT /F1 12 Tf 24 370 Td";
  for (size_t i = 0; i < lines.size(); ++i) {
    content += (i == 0 ? " (" : " 0 -18 Td (") + PdfEscape(lines[i]) + ") Tj";
  }
  content += " ET";
  const std::vector<std::string> objects = {
      "<< /Type /Catalog /Pages 2 0 R >>",
      "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 400] /Contents 4 0 R "
      "/Resources << /Font << /F1 5 0 R >> >> >>",
      "<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "\nendstream",
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  };
  std::string pdf = "%PDF-1.4\n";
  std::vector<size_t> offsets;
  for (size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  const size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (size_t off : offsets) {
    char entry[24];
    std::snprintf(entry, sizeof entry, "%010zu 00000 n \n", off);
    pdf += entry;
  }
  pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) + " /Root 1 0 R >>\nstartxref\n" +
         std::to_string(xref) + "\n%%EOF\n";
  return pdf;
}

}  // namespace mlc::sandbox::brex
