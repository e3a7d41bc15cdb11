// FreshBooks <-> canonical translation for the freshbooks plugin: vendor JSON to canonical objects (reads),
// canonical expenses and vendors to FreshBooks request bodies (writes), the idempotency marker kept in
// expense notes, FreshBooks error bodies to statuses, and the webhook signature.
//
// Ownership: pure functions over values; nothing is kept. Thread safety: every function may be called from
// any thread. Used by freshbooks_plugin.cpp and by the unit tests directly.
#ifndef MLC_PLUGINS_FRESHBOOKS_SRC_FRESHBOOKS_TRANSLATE_HPP_
#define MLC_PLUGINS_FRESHBOOKS_SRC_FRESHBOOKS_TRANSLATE_HPP_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/status.hpp"

namespace mlc::plugins::freshbooks {

inline constexpr std::string_view kSystem = "freshbooks";
// The marker line that ends the notes of every expense this plugin creates: "mlc:<idempotency key>".
inline constexpr std::string_view kMarkerPrefix = "mlc:";
// FreshBooks accepts expense notes up to this many characters [UNCONFIRMED; the emulator's limit].
inline constexpr size_t kMaxNotes = 4000;

// ---- time ------------------------------------------------------------------------------------------

// Seconds since the epoch -> "2024-01-01T00:00:00Z".
std::string FormatRfc3339(int64_t unix_s);
// Seconds since the epoch -> "YYYY-MM-DD" (UTC).
std::string FormatDate(int64_t unix_s);
// "YYYY-MM-DD HH:MM:SS" or "YYYY-MM-DD" read as UTC wall time (bills' created_at/updated_at).
std::optional<int64_t> ParseUtcNaive(std::string_view text);
// The same form read as US/Eastern wall time (expenses, categories, vendors): FreshBooks' legacy
// accounting timestamps carry no zone and are Eastern; the repeated autumn hour reads as daylight time.
std::optional<int64_t> ParseEasternNaive(std::string_view text);
// RFC 3339 with a zone ("2024-01-01T00:00:00Z", "...+01:00", fractions dropped) -> seconds.
std::optional<int64_t> ParseRfc3339(std::string_view text);
// The three parsers above refuse (nullopt) instants outside [kMinInstant, kMaxInstant], UTC years 0001 to
// 9999: FormatRfc3339 writes four-digit years only, so anything they accept formats and re-parses exactly.
inline constexpr int64_t kMinInstant = -62135596800;  // 0001-01-01T00:00:00Z
inline constexpr int64_t kMaxInstant = 253402300799;  // 9999-12-31T23:59:59Z

// ---- type-safe member reads -------------------------------------------------------------------------

// FreshBooks sends null for missing values and now and then another type than documented; these read a
// member of `obj` without throwing. Absent or null (or `obj` not an object) -> `fallback`; another type ->
// ERROR "<what> has a non-text '<key>'" / "<what> has a non-integer '<key>'".
Result<std::string> StringMember(const nlohmann::json& obj, std::string_view key, std::string_view what,
                                 std::string fallback = {});
Result<int64_t> IntMember(const nlohmann::json& obj, std::string_view key, std::string_view what,
                          int64_t fallback);

// ---- errors ----------------------------------------------------------------------------------------

// What a FreshBooks response means for the operation that received it, or nullopt when it is a success.
// Handles every documented error shape: legacy accounting {"response": {"errors": [...]}} (also inside an
// HTTP 200), {"error", "error_description"}, {"error": "..."}, {"errno", "message"}, {"errors": {...}}.
// 401/403 -> AUTH; 429/5xx -> RETRY; 400/404/409/422 and validation errnos -> INVALID; the rest ERROR.
std::optional<Status> ResponseError(int http_status, const nlohmann::json& body, std::string_view what);

// ---- marker and notes ------------------------------------------------------------------------------

std::string MarkerLine(std::string_view key);
// True when the last line of `notes` is exactly the marker of `key`.
bool NotesCarryMarker(std::string_view notes, std::string_view key);
// memo, then one "key: value" line per dimension (in the given order), then the marker line. The memo is
// shortened (with "...") when the whole would exceed kMaxNotes, so the marker always fits.
std::string BuildNotes(std::string_view memo, const std::vector<std::pair<std::string, std::string>>& dims,
                       std::string_view key);

// ---- writes ----------------------------------------------------------------------------------------

// What an expense write adds beside the object and refs.
struct ExpenseOptions {
  // The FreshBooks staff the expense belongs to (`staffid`; every documented create sends one). Empty:
  // none is sent.
  std::string staff_id;
  // Where refunds (negative amounts) post: FreshBooks refuses negative expense amounts (errno 1025
  // InvalidNegativeValue, FB-DOCS /api/errors), so a refund is written as the positive amount in this
  // (credit) category with a "refund: true" notes line. Empty: a refund is INVALID and nothing is sent.
  std::string refund_category_id;
};

// A canonical expense + the host's refs -> {"expense": {...}} for POST expenses/expenses (no attachment).
// refs.category.id is required (INVALID otherwise) unless the expense is a refund posted to
// options.refund_category_id; the vendor text is refs.vendor.name, else the object's merchant, else its
// vendor name; the amount is exact decimal text in the currency's minor unit.
Result<nlohmann::json> ExpenseToVendor(const nlohmann::json& object, const nlohmann::json& refs,
                                       std::string_view key, const ExpenseOptions& options = {});

// What a vendor create sends when the object does not say: the documented create (FB-POSTMAN "Add
// Vendor") carries currency_code and language.
struct VendorOptions {
  std::string currency_code = "USD";
  std::string language = "en";
};
// A canonical vendor -> {"bill_vendor": {...}} for POST bill_vendors/bill_vendors.
Result<nlohmann::json> VendorToVendor(const nlohmann::json& object, const VendorOptions& options = {});

// ---- reads -----------------------------------------------------------------------------------------

Result<nlohmann::json> CategoryFromVendor(const nlohmann::json& item, const std::string& connection);
// A journal entry account and each of its sub-accounts, as canonical accounts.
Result<std::vector<nlohmann::json>> AccountsFromVendor(const nlohmann::json& item,
                                                       const std::string& connection);
Result<nlohmann::json> VendorFromVendor(const nlohmann::json& item, const std::string& connection);
Result<nlohmann::json> BillFromVendor(const nlohmann::json& item, const std::string& connection);
Result<nlohmann::json> PaymentFromVendor(const nlohmann::json& item, const std::string& connection);

// ---- webhooks --------------------------------------------------------------------------------------

// application/x-www-form-urlencoded body -> fields in order (percent-decoded, '+' as space).
std::vector<std::pair<std::string, std::string>> ParseForm(std::string_view body);
// Python's json.dumps of the fields as strings (", " and ": " separators, ensure_ascii): what FreshBooks
// signs.
std::string PythonJsonDumps(const std::vector<std::pair<std::string, std::string>>& fields);
// base64(HMAC-SHA256(key = verifier, PythonJsonDumps(fields))): the X-FreshBooks-Hmac-SHA256 value.
std::string WebhookSignature(std::string_view verifier,
                             const std::vector<std::pair<std::string, std::string>>& fields);
// The stream a FreshBooks event name belongs to ("bill.create" -> "bills"), empty when none.
std::string StreamForEvent(std::string_view name);

}  // namespace mlc::plugins::freshbooks

#endif  // MLC_PLUGINS_FRESHBOOKS_SRC_FRESHBOOKS_TRANSLATE_HPP_
