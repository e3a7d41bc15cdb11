// Private declarations of the FreshBooks emulator, shared by its source files (not part of the public API).
//
// Ownership: FreshBooksEmulator owns every record; all state below `mu_` is read and written only with the
// mutex held. The OAuthServer, Clock, RateLimiter and WebhookSender are thread-safe on their own.
#ifndef MLC_PLUGINS_FRESHBOOKS_SANDBOX_FRESHBOOKS_INTERNAL_HPP_
#define MLC_PLUGINS_FRESHBOOKS_SANDBOX_FRESHBOOKS_INTERNAL_HPP_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "freshbooks_emulator.hpp"
#include "mlc/money.hpp"
#include "mlc/sandbox/emulator.hpp"
#include "mlc/sandbox/oauth.hpp"
#include "mlc/sandbox/seed.hpp"

namespace mlc::sandbox::freshbooks {

// VisState (FB-PY models): 0 active, 1 deleted, 2 archived.
inline constexpr int kActive = 0;
inline constexpr int kDeleted = 1;
inline constexpr int kArchived = 2;

// Legacy accounting error numbers (FB-DOCS /api/errors).
inline constexpr int kErrRequiredField = 1001;
inline constexpr int kErrAccessDenied = 1003;
inline constexpr int kErrInvalidValue = 1004;
inline constexpr int kErrParseError = 1005;
inline constexpr int kErrUnknownResource = 1012;
inline constexpr int kErrInvalidPerPage = 1013;
inline constexpr int kErrInvalidPage = 1014;
inline constexpr int kErrMappingNumber = 1015;
inline constexpr int kErrMaxLength = 1017;
inline constexpr int kErrFilterDate = 1023;
inline constexpr int kErrFilterNumber = 1024;
inline constexpr int kErrNegativeValue = 1025;
inline constexpr int kErrMappingBoolean = 1031;
inline constexpr int kErrMappingDate = 1033;
inline constexpr int kErrFilterScalar = 1037;
inline constexpr int kErrInvalidTotal = 1040;

// The API areas; each answers errors in its own shape.
enum class Family { kAuth, kAccounting, kEvents, kUploads, kLedger };
Family FamilyOfPath(std::string_view path);

struct Settings {
  std::vector<std::string> redirect_uris = {"https://localhost/mlc/oauth/callback"};
  int64_t rate_limit = 600;  // per window, per user and app; 0 disables
  int64_t rate_window_s = 60;
  int validation_status = 422;
  int token_error_status = 400;
  bool sign_verification = false;
  std::string seed_start_date = "2025-01-01";
  // The order lists come in when no sort is asked for. FreshBooks documents none, so "shuffled" (a fixed
  // permutation that is neither id nor update order, stable across pages) lets a test prove that a client
  // does not depend on one. "id": ascending ids.
  bool shuffled_lists = false;

  static Result<Settings> FromJson(const nlohmann::json& options);
};

// One entry of the legacy {"response": {"errors": [...]}} body.
struct FieldError {
  int code = kErrInvalidValue;
  std::string field;
  std::string message;
  std::string object;
  nlohmann::json value;  // what the client sent; null when absent
};

// A stored accounting object: its vendor fields plus what FreshBooks keeps beside them.
struct Record {
  int64_t id = 0;
  nlohmann::json data = nlohmann::json::object();
  TimePoint created{};
  TimePoint updated{};
  int vis_state = kActive;
};

struct Attachment {
  int64_t id = 0;
  std::string jwt;
  std::string uuid;
  std::string filename;           // "upload-<hex>"
  std::string original_filename;  // as uploaded
  std::string media_type;
  std::string bytes;
  bool image = false;  // uploaded through /images
  TimePoint created{};
};

struct Callback {
  int64_t id = 0;
  std::string event;
  std::string uri;
  std::string verifier;
  bool verified = false;
  TimePoint updated{};
};

struct LedgerAccount {
  std::string uuid;
  std::string name;
  std::string number;
  std::string description;
  std::string type;
  std::string sub_type;
  std::string system_account_name;  // empty: null
  std::string parent;               // uuid; empty: null
  bool auto_created = false;
  TimePoint updated{};
};

// Invoices exist only as payment targets (the invoices API is not emulated).
struct Invoice {
  int64_t id = 0;
  std::string invoice_number;
  int64_t clientid = 0;
  std::string client;
  money::Money amount;
};

struct Identity {
  std::string account_id;
  int64_t business_id = 0;
  std::string business_uuid;
  std::string business_name = "Agency Co";
  int64_t identity_id = 0;
  std::string identity_uuid;
  int64_t membership_id = 0;
  int64_t user_id = 1;  // the owner's staffid / user_id
  std::string first_name;
  std::string last_name;
  std::string email;
  std::string client_id;
  std::string client_secret;
  std::string access_token;  // ready tokens announced on start
  std::string refresh_token;
  std::string scope;
  std::string jwt_key;  // signs upload tokens
};

// Scopes a spend sync asks for (FB-DOCS /api/scopes: user:<object>:<read|write>).
inline constexpr std::string_view kDefaultScope =
    "user:profile:read user:business:read user:expenses:read user:expenses:write user:bills:read "
    "user:bills:write user:bill_vendors:read user:bill_vendors:write user:bill_payments:read "
    "user:bill_payments:write user:payments:read user:payments:write user:journal_entries:read "
    "user:uploads:write";

// Filterable/sortable fields of a list (FB-DOCS /api/parameters: search[f], search[fs][], search[f_like],
// search[f_min], search[f_max]).
// kMoney: a decimal amount ("79.73"), compared in thousandths of the unit.
enum class FilterType { kInt, kString, kDate, kTime, kMoney };
// The search forms a filter accepts (bit set). Resources whose filter table FreshBooks publishes list
// exactly what it documents; anything else answers errno 1037, so a client cannot lean on a form the
// vendor never promised.
inline constexpr int kOpEquals = 1;  // search[f]=v
inline constexpr int kOpIn = 2;      // search[fs][]=v1&search[fs][]=v2
inline constexpr int kOpLike = 4;    // search[f_like]=v
inline constexpr int kOpMin = 8;     // search[f_min]=v
inline constexpr int kOpMax = 16;    // search[f_max]=v
inline constexpr int kOpRange = kOpMin | kOpMax;
inline constexpr int kOpAll = kOpEquals | kOpIn | kOpLike | kOpMin | kOpMax;
struct FilterField {
  std::string name;
  FilterType type;
  bool eastern = true;  // kTime: how zone-less input is read (bills are UTC)
  int ops = kOpAll;     // the forms accepted (for the field's type)
};

struct ListParams {
  enum class Op { kEquals, kIn, kLike, kMin, kMax };
  struct Condition {
    std::string field;
    Op op;
    FilterType type;
    std::vector<nlohmann::json> values;  // normalized: int64, string, or unix seconds
  };
  int64_t page = 1;
  int64_t per_page = 15;
  std::vector<Condition> conditions;
  bool vis_state_given = false;
  std::string sort_field = "id";
  bool sort_desc = false;
};

using Includes = std::set<std::string>;

// An accounting resource served under /accounting/account/{account_id}/<path>[/{id}].
struct ResourceDef {
  std::string path;      // "expenses/expenses"
  std::string single;    // "expense"  (request and response key)
  std::string list;      // "expenses"
  std::string object;    // error "object": "expense"
  std::string id_field;  // error "field" for an unknown id: "expenseid"
  std::string noun;      // "Expense" in "Expense not found."
  std::string event;     // event prefix ("expense"); empty: none
  std::string scope;  // "user:expenses": lists and gets need <scope>:read, creates and updates <scope>:write
  bool writable = true;
  bool sortable = true;  // false: FreshBooks documents no sort for the list, so sort= is refused
  std::vector<FilterField> filters;
  std::map<int64_t, Record>* store = nullptr;
  // Validates `in` and writes accepted fields into `out` (a copy of `existing`, or a blank record when
  // creating). `mu_` is held.
  std::function<void(const nlohmann::json& in, const Record* existing, Record* out, std::vector<FieldError>*)>
      apply;
  std::function<nlohmann::json(const Record&, const Includes&)> render;
  std::function<nlohmann::json(const Record&)> flat;  // values the filters and sort read
  // Runs after a write is stored (e.g. a bill payment touches its bill). `mu_` is held.
  std::function<void(const Record& before, const Record& after, bool created)> after_write;
};

class FreshBooksEmulator final : public Emulator {
 public:
  explicit FreshBooksEmulator(const EmulatorOptions& options);
  ~FreshBooksEmulator() override;

  std::string Name() const override { return "freshbooks"; }
  Status Install(Router& router, EmulatorContext& ctx) override;
  nlohmann::json Credentials() const override;
  std::vector<std::string> ObjectTypes() const override;
  Result<nlohmann::json> Objects(std::string_view type) override;
  Result<nlohmann::json> TriggerEvents(const nlohmann::json& request) override;
  void Reset() override;
  nlohmann::json ExtraStats() const override;
  nlohmann::json HarnessInfo() const override;
  Response ErrorResponse(const Request& req, int status, std::string_view message) const override;
  Response TooManyRequests(const Request& req, const RateDecision& decision) const override;

 private:
  using AuthedHandler = std::function<Response(Request&, const TokenGrant&)>;

  // ---- freshbooks_emulator.cpp: wiring, auth, identity, errors, control.
  // Authenticates, rate-limits and checks the path's account; with `scope`, a token granted without it is
  // refused with 403 (FB-DOCS /api/scopes: each resource names the scopes it needs).
  Handler Guard(Family family, AuthedHandler handler, std::string scope = {});
  Response HandleToken(Request& req);
  Response HandleMe(Request& req, const TokenGrant& grant);
  void IssueReadyTokens();
  void AddRateHeaders(Response& res, const RateDecision& d) const;
  Response Unauthenticated(Family family, TokenState state, bool token_given) const;
  // The legacy accounting error body; HTTP 200 while errors_with_200_ lasts.
  Response AccountingErrors(int status, const std::vector<FieldError>& errors);
  Response AccountingNotFound(const std::string& object, const std::string& field, const std::string& noun,
                              const std::string& value);
  static Response EventsError(int status, int errno_code, std::string_view message,
                              const std::vector<std::string>& details = {});
  static Response UploadsError(int status, std::string_view message);
  static Response LedgerError(int status, const std::vector<std::pair<std::string, std::string>>& details);
  static Response AuthError(int status, std::string_view error, std::string_view description,
                            bool with_state = false);
  Response ValidationFailed(const std::vector<FieldError>& errors) {
    return AccountingErrors(settings_.validation_status, errors);
  }
  TimePoint Now() const;

  // ---- freshbooks_accounting.cpp: the generic resource handlers and each resource's rules.
  void DefineResources();
  void InstallResource(Router& router, const ResourceDef& def);
  Response ListResource(const ResourceDef& def, Request& req);
  Response GetResource(const ResourceDef& def, Request& req);
  Response CreateResource(const ResourceDef& def, Request& req);
  Response UpdateResource(const ResourceDef& def, Request& req);
  Response ListJournalEntryAccounts(Request& req);
  // Parses page/per_page/search/sort; false with `errors` filled on bad input.
  bool ParseListParams(const Request& req, const std::vector<FilterField>& fields, const std::string& object,
                       bool sortable, ListParams* out, std::vector<FieldError>* errors, int* status) const;
  static bool MatchesList(const ListParams& params, const nlohmann::json& flat);
  // {"response": {"result": {<list_key>: items page, "page", "pages", "per_page", "total"}}} or an error.
  Response PagedList(const Request& req, const std::string& list_key, const std::string& object,
                     const std::vector<FilterField>& fields, const std::vector<nlohmann::json>& flats,
                     const std::function<nlohmann::json(size_t index)>& render, bool sortable = true);

  void ApplyExpense(const nlohmann::json& in, const Record* existing, Record* out,
                    std::vector<FieldError>* errors);
  void ApplyBill(const nlohmann::json& in, const Record* existing, Record* out,
                 std::vector<FieldError>* errors);
  void ApplyVendor(const nlohmann::json& in, const Record* existing, Record* out,
                   std::vector<FieldError>* errors);
  void ApplyBillPayment(const nlohmann::json& in, const Record* existing, Record* out,
                        std::vector<FieldError>* errors);
  void ApplyPayment(const nlohmann::json& in, const Record* existing, Record* out,
                    std::vector<FieldError>* errors);
  nlohmann::json RenderExpense(const Record& r, const Includes& inc) const;
  nlohmann::json RenderCategory(const Record& r, bool full) const;
  nlohmann::json RenderBill(const Record& r, const Includes& inc) const;
  nlohmann::json RenderVendor(const Record& r) const;
  nlohmann::json RenderBillPayment(const Record& r) const;
  nlohmann::json RenderPayment(const Record& r) const;
  nlohmann::json RenderJournalEntryAccount(const nlohmann::json& account) const;
  struct BillTotals {
    int64_t amount = 0;  // before tax
    int64_t tax = 0;
    int64_t total = 0;
    int64_t paid = 0;
    int64_t outstanding = 0;
    std::string currency;
    std::string status;  // unpaid | overdue | partial | paid
  };
  // `paid` (bill id -> paid minor units) saves a scan of the payments when many bills are computed.
  BillTotals ComputeBill(const Record& bill, const std::map<int64_t, int64_t>* paid = nullptr) const;
  std::map<int64_t, int64_t> PaidByBill() const;
  // The next id of a store (ids are per resource, increasing, never reused).
  int64_t NextId(const std::string& store);
  std::string Today() const;  // the Eastern civil date of the sandbox clock

  // ---- freshbooks_ledger.cpp: /accounting/businesses/{uuid}/ledger_accounts/accounts.
  void InstallLedger(Router& router);
  nlohmann::json RenderLedger(const LedgerAccount& a) const;

  // ---- freshbooks_uploads.cpp.
  void InstallUploads(Router& router);
  Response Upload(Request& req, bool image);
  Response Download(Request& req, bool image);
  std::string MakeUploadJwt(const std::string& original_filename, const std::string& filename, size_t length);

  // ---- freshbooks_events.cpp: callbacks, deliveries, TriggerEvents.
  void InstallCallbacks(Router& router);
  nlohmann::json RenderCallback(const Callback& cb) const;
  // Queues the event for every verified callback subscribed to it. `mu_` is held.
  void EmitLocked(const std::string& name, int64_t object_id);
  void SendVerificationLocked(const Callback& cb);
  ParamList EventFields(const std::string& name, int64_t object_id) const;
  Result<nlohmann::json> MakeChangesLocked(const std::string& type, int64_t count);

  // ---- freshbooks_seed.cpp.
  void SeedIdentity();  // constructor only: identity and credentials never change afterwards
  void SeedLocked();    // every record, back to the state the seed gives
  // Request bodies (the inner object) for generated records; `day` is days since the epoch.
  nlohmann::json RandomExpenseInput(SeededRng& rng, int64_t day) const;
  nlohmann::json RandomBillInput(SeededRng& rng, int64_t day) const;
  nlohmann::json RandomVendorInput(SeededRng& rng, const std::string& name) const;
  nlohmann::json RandomPaymentInput(SeededRng& rng, int64_t day) const;
  int64_t CategoryIdByName(const std::string& name) const;

  const EmulatorOptions options_;
  Settings settings_;
  Status settings_status_;
  EmulatorContext* ctx_ = nullptr;
  std::unique_ptr<OAuthServer> oauth_;
  std::atomic<int64_t> errors_with_200_{0};

  Identity identity_;  // set by the constructor, read-only afterwards

  mutable std::mutex mu_;
  SeededRng rng_;         // ids, tokens and values drawn while serving
  SeededRng events_rng_;  // data for /_sandbox/events changes
  std::map<std::string, int64_t> next_ids_;
  std::map<int64_t, Record> expenses_;
  // isduplicate without scanning every expense on each render: live expenses counted by "date|amount|
  // vendor", and the key each one is counted under. Every write to expenses_ goes through IndexExpense
  // (or ReindexExpenses after bulk changes). Guarded by mu_.
  std::map<std::string, int64_t> duplicate_keys_;
  std::map<int64_t, std::string> duplicate_key_of_;
  void IndexExpense(const Record& r);
  void ReindexExpenses();
  std::map<int64_t, Record> categories_;
  std::map<int64_t, Record> bills_;
  std::map<int64_t, Record> vendors_;
  std::map<int64_t, Record> bill_payments_;
  std::map<int64_t, Record> payments_;
  std::map<int64_t, Invoice> invoices_;
  std::vector<nlohmann::json> journal_entry_accounts_;
  std::vector<LedgerAccount> ledger_accounts_;
  std::map<int64_t, Attachment> attachments_;
  std::map<std::string, int64_t> attachment_by_jwt_;  // jwt -> attachments_ key; written with attachments_
  // The attachment a jwt names, or attachments_.end().
  std::map<int64_t, Attachment>::const_iterator FindAttachmentByJwt(const std::string& jwt) const;
  std::map<int64_t, Callback> callbacks_;
  std::vector<ResourceDef> resources_;
  int64_t events_emitted_ = 0;
};

// ---- freshbooks_format.cpp: pure helpers.
// "2025-01-31" -> days since 1970-01-01; nullopt when not a valid date.
std::optional<int64_t> ParseCivilDate(std::string_view text);
std::string FormatCivilDate(int64_t days);
// Accepts an int or a string of digits (FreshBooks requests send ids both ways).
std::optional<int64_t> AsId(const nlohmann::json& v);
// {"amount": "12.30", "code": "USD"} from minor units.
nlohmann::json MoneyJson(int64_t minor, const std::string& currency);
// A percentage or quantity given as a number or numeric string, normalized to its text ("13", "8.875");
// nullopt when not a non-negative decimal with at most 3 decimals and 6 integer digits.
std::optional<std::string> NormalizeDecimal(const nlohmann::json& v);
// round_half_away(minor * decimal / divisor) with `decimal` as NormalizeDecimal text.
int64_t MultiplyDecimal(int64_t minor, const std::string& decimal, int64_t divisor);
inline int64_t ApplyPercent(int64_t minor, const std::string& percent) {
  return MultiplyDecimal(minor, percent, 100);
}
// A random RFC 4122 version-4 UUID from `rng`.
std::string RandomUuid(SeededRng& rng);
std::string Base64Url(std::string_view bytes);
// Guesses a media type from the first bytes (PNG, JPEG, GIF, PDF, WebP, HEIC); empty when unknown.
std::string SniffMediaType(std::string_view bytes);
// A non-negative decimal amount ("79.73", "125") in thousandths of the unit; nullopt when not one.
std::optional<int64_t> DecimalThousandths(std::string_view text);
// Case-insensitive substring test (ASCII).
bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle);

}  // namespace mlc::sandbox::freshbooks

#endif  // MLC_PLUGINS_FRESHBOOKS_SANDBOX_FRESHBOOKS_INTERNAL_HPP_
