// FreshBooks ledger accounts, the newer chart of accounts keyed by business_uuid: a {"data": ...} envelope,
// unwrapped request bodies, 201 on create, no delete, and their own {"errors": {...}} error shape (FB-PY
// fixtures, FB-POSTMAN "Accounting/Accounts").
#include <algorithm>

#include "freshbooks_internal.hpp"

namespace mlc::sandbox::freshbooks {

namespace {

// sub_type -> type. The captures show "Cash & Bank" and "Current Asset" under asset; the rest follows the
// usual small-business chart [DERIVED].
const std::vector<std::pair<std::string, std::string>>& SubTypes() {
  static const std::vector<std::pair<std::string, std::string>> kSubTypes = {
      {"Cash & Bank", "asset"},
      {"Current Asset", "asset"},
      {"Accounts Receivable", "asset"},
      {"Fixed Asset", "asset"},
      {"Other Asset", "asset"},
      {"Accounts Payable", "liability"},
      {"Credit Card", "liability"},
      {"Current Liability", "liability"},
      {"Long Term Liability", "liability"},
      {"Equity", "equity"},
      {"Retained Earnings", "equity"},
      {"Income", "income"},
      {"Other Income", "income"},
      {"Cost of Goods Sold", "cost_of_goods_sold"},
      {"Expense", "expense"},
      {"Other Expense", "expense"}};
  return kSubTypes;
}

std::string TypeOfSubType(const std::string& sub_type) {
  for (const auto& [s, t] : SubTypes()) {
    if (s == sub_type) return t;
  }
  return {};
}

}  // namespace

nlohmann::json FreshBooksEmulator::RenderLedger(const LedgerAccount& a) const {
  nlohmann::json subs = nlohmann::json::array();
  for (const auto& other : ledger_accounts_) {
    if (other.parent == a.uuid) subs.push_back(other.uuid);
  }
  return {{"uuid", a.uuid},
          {"name", a.name},
          {"number", a.number},
          {"description", a.description},
          {"type", a.type},
          {"sub_type", a.sub_type},
          {"system_account_name",
           a.system_account_name.empty() ? nlohmann::json() : nlohmann::json(a.system_account_name)},
          {"parent_account", a.parent.empty() ? nlohmann::json() : nlohmann::json(a.parent)},
          {"sub_accounts", subs},
          {"auto_created", a.auto_created},
          {"state", "active"},
          {"updated_at", FormatRfc3339(a.updated, /*micros=*/true)}};
}

void FreshBooksEmulator::InstallLedger(Router& router) {
  const std::string base = "/accounting/businesses/{business_uuid}/ledger_accounts/accounts";
  router.Add("GET", base, Guard(Family::kLedger, [this](Request&, const TokenGrant&) {
               std::lock_guard lock(mu_);
               nlohmann::json data = nlohmann::json::array();
               for (const auto& a : ledger_accounts_) data.push_back(RenderLedger(a));
               return Response::Json(200, {{"data", data}});
             }));
  router.Add("GET", base + "/{uuid}", Guard(Family::kLedger, [this](Request& req, const TokenGrant&) {
               std::lock_guard lock(mu_);
               for (const auto& a : ledger_accounts_) {
                 if (a.uuid == req.Param("uuid")) return Response::Json(200, {{"data", RenderLedger(a)}});
               }
               return LedgerError(404, {{"", "Not found."}});
             }));

  // Create and update share validation; `existing` is null on create.
  auto write = [this](Request& req, LedgerAccount* existing) -> Response {
    auto doc = req.JsonBody();
    if (!doc.ok() || !doc->is_object()) return LedgerError(400, {{"", "JSON parse error."}});
    const nlohmann::json& in = *doc;
    std::vector<std::pair<std::string, std::string>> problems;
    LedgerAccount a = existing ? *existing : LedgerAccount{};
    auto text = [&](const char* key, bool required, std::string* target) {
      if (!in.contains(key) || in[key].is_null()) {
        if (required && !existing) problems.emplace_back(key, "This field is required.");
        return;
      }
      if (!in[key].is_string()) {
        problems.emplace_back(key, "Not a valid string.");
      } else if (required && in[key].get<std::string>().empty()) {
        problems.emplace_back(key, "This field may not be blank.");
      } else {
        *target = in[key].get<std::string>();
      }
    };
    // FB-PY create_ledger_account_response__validation_errors.json: name, sub_type, parent_account required.
    text("name", true, &a.name);
    text("number", false, &a.number);
    text("description", false, &a.description);
    std::string sub_type = a.sub_type;
    text("sub_type", true, &sub_type);
    if (in.contains("sub_type") && in["sub_type"].is_string()) {
      if (TypeOfSubType(sub_type).empty()) {
        problems.emplace_back("sub_type", "\"" + sub_type + "\" is not a valid choice.");
      } else {
        a.sub_type = sub_type;
        a.type = TypeOfSubType(sub_type);
      }
    }
    std::string parent = a.parent;
    text("parent_account", true, &parent);
    if (in.contains("parent_account") && in["parent_account"].is_string()) {
      auto it = std::find_if(ledger_accounts_.begin(), ledger_accounts_.end(),
                             [&](const LedgerAccount& p) { return p.uuid == parent; });
      if (it == ledger_accounts_.end() || (existing && parent == existing->uuid)) {
        problems.emplace_back("parent_account", "Invalid pk \"" + parent + "\" - object does not exist.");
      } else {
        a.parent = parent;
      }
    }
    if (in.contains("auto_created") && !in["auto_created"].is_null()) {
      if (!in["auto_created"].is_boolean()) {
        problems.emplace_back("auto_created", "Must be a valid boolean.");
      } else {
        a.auto_created = in["auto_created"].get<bool>();
      }
    }
    if (!problems.empty()) return LedgerError(400, problems);
    a.updated = Now();
    if (existing) {
      *existing = a;
      return Response::Json(200, {{"data", RenderLedger(a)}});
    }
    a.uuid = RandomUuid(rng_);
    ledger_accounts_.push_back(a);
    return Response::Json(201, {{"data", RenderLedger(a)}});
  };
  router.Add("POST", base, Guard(Family::kLedger, [this, write](Request& req, const TokenGrant&) {
               std::lock_guard lock(mu_);
               return write(req, nullptr);
             }));
  router.Add("PUT", base + "/{uuid}", Guard(Family::kLedger, [this, write](Request& req, const TokenGrant&) {
               std::lock_guard lock(mu_);
               for (auto& a : ledger_accounts_) {
                 if (a.uuid == req.Param("uuid")) return write(req, &a);
               }
               return LedgerError(404, {{"", "Not found."}});
             }));
}

}  // namespace mlc::sandbox::freshbooks
