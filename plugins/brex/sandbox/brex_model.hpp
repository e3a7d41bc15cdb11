// The Brex emulator's data: options, the objects it holds, seeding and their JSON renderings.
//
// Internal to the emulator (brex_emulator.cpp owns one BrexData under its mutex). Money is integer cents
// throughout; only the accounting renderings turn cents into the decimal-dollar JSON numbers Brex sends.
//
// Thread safety: none; callers serialise access.
#ifndef MLC_PLUGINS_BREX_SANDBOX_BREX_MODEL_HPP_
#define MLC_PLUGINS_BREX_SANDBOX_BREX_MODEL_HPP_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/sandbox/clock.hpp"
#include "mlc/sandbox/rate_limit.hpp"
#include "mlc/sandbox/seed.hpp"
#include "mlc/status.hpp"

namespace mlc::sandbox::brex {

// Behaviour switches; defaults follow brex.md, and the notes' open items are the configurable ones.
struct BrexOptions {
  int64_t user_token_idle_days = 90;  // §1.1: 90 (auth page) vs 30 (FAQ)
  // §1.1: a user token's scopes are chosen when it is created. Default: what the operator guide tells an
  // operator to select for the brex plugin; "all" (empty set + all_user_token_scopes) grants every scope.
  std::set<std::string> user_token_scopes = DefaultUserTokenScopes();
  bool all_user_token_scopes = false;
  int expired_token_status = 401;        // 401, or 403 {"type":"FORBIDDEN","message":"Expired token"}
  int64_t access_token_ttl_s = 3600;     // §1.2: one hour
  bool rotate_refresh_tokens = true;     // §1.2: third-party reports only
  int64_t refresh_token_idle_days = 90;  // §1.2: third-party reports only
  int64_t rate_limit = 1000;             // §5: 1,000 requests per 60 s
  int64_t rate_window_s = 60;
  RateLimitOptions::Window rate_window_kind = RateLimitOptions::Window::kSliding;
  bool send_retry_after = false;  // §5: no documented rate-limit headers
  // §10.5: the v3 maximum `limit` is not documented, only its default (100, §3.1): strict by default.
  int64_t accounting_max_limit = 100;
  std::string failed_export_status = "READY_FOR_EXPORT";  // §3.1: status after a failure result undocumented
  int64_t ready_event_batch_size = 100;      // record ids per ACCOUNTING_RECORD_READY_FOR_EXPORT event
  std::optional<std::pair<int, int>> month;  // seed month "YYYY-MM"; default: the month before the clock's
  double ready_ratio = 0.2;                  // seeded records already READY_FOR_EXPORT
  double exported_ratio = 0.1;               // seeded records already EXPORTED
  double unknown_gl_ratio = 0.08;            // coded with a GL account the ledger won't know
  double receipt_ratio = 0.85;
  double reimbursement_ratio = 0.1;
  // §3.1: the accounting API has 19 record types. Off: one record per expense (CARD_EXPENSE_POST or
  // REIMBURSEMENT_EXPENSE_APPROVAL). On: also a reimbursement's POST (cash basis) and MONEY_MOVEMENT_PAYOUT,
  // a CARD_EXPENSE_REFUND for about one card expense in seven, and the month's CARD_PAYMENT (the card balance
  // paid).
  bool record_mix = false;
  bool include_field_names = true;    // accounting_field_values carry field_name/field_value_name/type
  int duplicate_vendor_status = 400;  // "The name must be unique." — status undocumented
  bool vendor_name_contains = false;  // GET /v1/vendors?name= : exact (default) or substring match
  int64_t nameless_vendors = 0;       // §3.4: VendorResponse.company_name is nullable; seed this many
  int64_t receipt_url_ttl_s = 900;    // presigned receipt links expire in 15 minutes
  // 401s on /v3/accounting: the accounting spec's {"error_code":"UNAUTHORIZED",...} (default) or the v1
  // {"type":"UNAUTHORIZED","message":"PERMISSION_DENIED: ..."} body a gateway in front might send.
  bool v1_auth_errors_on_accounting = false;

  static std::set<std::string> DefaultUserTokenScopes();
  static Result<BrexOptions> FromJson(const nlohmann::json& j);
  nlohmann::json ToJson() const;
};

struct User {
  std::string id, first_name, last_name, email, role, status, department_id, location_id, title_id, title,
      manager_id, card_id;
};
struct NamedId {
  std::string id, name;
};
// A value of an accounting field (GL account, department, client) with its ERP-side id.
struct FieldValue {
  std::string value_id;         // efo_...
  std::string remote_value_id;  // the ERP's id ("6010")
  std::string name;             // "6010 Software & Subscriptions"
  bool known_to_ledger = true;  // false: an "unknown GL code" a target ledger will not have
};

struct Expense {
  std::string id, expense_type, status, payment_status, memo, user_id, budget_id, merchant_id, descriptor,
      mcc, category, card_id;
  size_t merchant = 0;  // index into AgencyMerchants()
  int64_t cents = 0;
  TimePoint purchased_at{}, posted_at{}, updated_at{};
  std::vector<std::string> receipt_ids;
  int client = 0;  // index into BrexData::clients
  std::string project_code;
  bool billable = false;
};

struct Receipt {
  std::string id, expense_id, file_name;
};

struct CardTransaction {
  std::string id, card_id, description, type, expense_id, mcc;
  int64_t cents = 0;
  TimePoint initiated_at{}, posted_at{};
  std::string user_id;
};

struct AccountingRecord {
  std::string id, expense_id, type, source_type, review_status, memo, user_id, debit_line_id, credit_line_id;
  int64_t cents = 0;
  TimePoint posted_at{}, updated_at{};
  int64_t version = 1;
  int gl = -1, department = -1, client = -1;  // indexes into the field value lists; -1: not coded
  std::string export_reference, export_deep_link, export_error;
};

struct Vendor {
  std::string id, company_name;
  nlohmann::json email, phone;      // string or null
  nlohmann::json payment_accounts;  // response form: [{"details": {...}}]
  bool deleted = false;
};

struct Subscription {
  std::string id, url, status;
  std::vector<std::string> event_types;
  bool deleted = false;
};

struct WebhookSecret {
  std::string secret, status;  // ACTIVE | PENDING_REVOKE
};

struct Integration {
  std::string id, vendor, vendor_account_id, status;
  TimePoint created_at{};
};

struct BrexData {
  explicit BrexData(uint64_t seed) : rng(seed) {}

  SeededRng rng;  // keeps generating ids after seeding, deterministically
  std::string company_id, company_name, cash_account_id, user_token, revoked_user_token, oauth_client_id,
      oauth_client_secret, receipt_signing_key;
  std::string gl_field_id, department_field_id, client_field_id;
  std::vector<User> users;
  std::vector<NamedId> departments, locations, budgets;
  std::vector<FieldValue> gl_accounts, department_values, clients;
  std::vector<Expense> expenses;
  std::vector<Receipt> receipts;
  std::vector<CardTransaction> transactions;
  std::vector<AccountingRecord> records;
  std::vector<Vendor> vendors;
  std::vector<nlohmann::json> transfers;  // response form
  std::vector<Subscription> subscriptions;
  std::vector<WebhookSecret> secrets;
  std::vector<Integration> integrations;

  // Lookups by id go through lazily rebuilt id -> position indexes (a backfill of 100,000 records asks
  // for each one several times); a stale or missing entry falls back to a scan and a rebuild, so the
  // vectors may change freely. Callers hold the emulator's lock, which guards the indexes too.
  const User* FindUser(const std::string& id) const;
  Expense* FindExpense(const std::string& id);
  AccountingRecord* FindRecord(const std::string& id);
  Vendor* FindVendor(const std::string& id);
  const Receipt* FindReceipt(const std::string& id) const;
  int DepartmentValueFor(const std::string& department_id) const;

 private:
  struct IdIndex {
    std::unordered_map<std::string, size_t> position;
    size_t upto = 0;  // items[0, upto) are indexed
  };
  mutable IdIndex expense_index_, record_index_, receipt_index_;

 public:
  // GL value for a merchant's spend kind (a known account).
  int GlFor(SpendKind kind) const;
  std::vector<std::string> SigningSecrets() const;  // ACTIVE and PENDING_REVOKE
};

// Fills `data` with a month of agency spend. Deterministic for (seed, records, month, options).
void Seed(BrexData& data, const BrexOptions& options, int records, TimePoint month_start, TimePoint now);
// Adds one new card expense (+ its PREPARE accounting record) purchased at `at`; returns its index.
size_t AddCardExpense(BrexData& data, const BrexOptions& options, TimePoint at);
// Assigns GL account (known or, with `unknown_gl_ratio`, unknown), department and client to a record.
void CodeRecord(BrexData& data, const BrexOptions& options, AccountingRecord& record);

// Renderings (base_url for receipt links; `now` for their expiry).
struct ExpenseView {
  std::set<std::string> expand;
  bool custom_fields = false;
};
nlohmann::json ExpenseJson(const BrexData& data, const Expense& e, const ExpenseView& view,
                           const std::string& base_url, TimePoint now, int64_t receipt_ttl_s);
nlohmann::json RecordJson(const BrexData& data, const AccountingRecord& r, const BrexOptions& options,
                          bool single_entry, const std::string& base_url, TimePoint now);
nlohmann::json TransactionJson(const CardTransaction& t, bool expand_expense_id);
nlohmann::json VendorJson(const Vendor& v);
nlohmann::json SubscriptionJson(const Subscription& s);
nlohmann::json TeamUserJson(const User& u);
nlohmann::json IntegrationJson(const Integration& i);
nlohmann::json CompanyJson(const BrexData& data);
// v1/v2 Money: integer minor units.
nlohmann::json MoneyCents(int64_t cents);
// Accounting Amount: decimal dollars as a JSON number (Brex accounting amounts are decimal dollars).
nlohmann::json AmountDollars(int64_t cents);

// Presigned receipt link and its check.
std::string ReceiptUrl(const BrexData& data, const Receipt& receipt, const std::string& base_url,
                       TimePoint now, int64_t ttl_s);
std::string ReceiptSignature(const BrexData& data, const std::string& receipt_id, int64_t expires);
// A small deterministic PDF receipt for the expense behind `receipt`.
std::string ReceiptPdf(const BrexData& data, const Receipt& receipt);

}  // namespace mlc::sandbox::brex

#endif  // MLC_PLUGINS_BREX_SANDBOX_BREX_MODEL_HPP_
