// Brex -> canonical translation and Standard Webhooks verification for the brex plugin: pure functions with
// no host access, so unit tests can drive them directly (facts: shared/vendor-notes/brex.md).
//
//   MLC_ASSIGN_OR_RETURN(int64_t cents, brex::AmountMinor(record["amount"], "amount"));
//   MLC_ASSIGN_OR_RETURN(nlohmann::json expense, brex::ExpenseFromRecord(record, extras, options));
//   Status s = brex::VerifyWebhook(headers, body, {secret, previous}, received_at_ms, 300);
//
// Every input is vendor JSON parsed with mlc::json::ParseExact (decimals kept as text); malformed input gives
// Status::Invalid naming the field, never an exception.
//
// Thread safety: pure functions and value types.
#ifndef MLC_PLUGINS_BREX_SRC_BREX_TRANSLATE_HPP_
#define MLC_PLUGINS_BREX_SRC_BREX_TRANSLATE_HPP_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/status.hpp"

namespace mlc::plugins::brex {

// ---- Money and time -------------------------------------------------------------------------------------

// Accounting API Amount {"amount": <decimal number in major units>, "currency": "USD"} -> minor units of its
// currency. `field` names the value in errors ("line_items[0].amount").
Result<int64_t> AmountMinor(const nlohmann::json& amount, std::string_view field);
// The upper-case ISO 4217 code of an Amount.
Result<std::string> AmountCurrency(const nlohmann::json& amount, std::string_view field);

// RFC 3339 date-time ("2025-04-24T16:13:49.959513Z", "+02:00" offsets; zone-less text is read as UTC, the
// zone Brex documents) -> microseconds since the Unix epoch.
Result<int64_t> ParseTimestampMicros(std::string_view text);
// Microseconds since the epoch -> "2025-04-24T16:13:49.959513Z".
std::string FormatTimestampMicros(int64_t micros);
// "2025-04-24" of a date-time as written (its own offset), or of a bare date.
Result<std::string> DateOf(std::string_view text, std::string_view field);

// ---- Records ----------------------------------------------------------------------------------------------

// How accounting field values become the canonical account and dimensions.
struct FieldMapping {
  // An accounting field whose remote_field_id, brex_field_id or field_name equals this (case-insensitive) is
  // the GL account.
  std::string gl_field = "GL_ACCOUNT";
  // Dimension key overrides: remote_field_id / brex_field_id / field_name -> canonical dimension key.
  std::map<std::string, std::string> dimension_keys;
};

// What the plugin fetched besides the accounting record (all optional).
struct RecordExtras {
  nlohmann::json expense;            // GET /v1/expenses/{source_id} (merchant, payment, custom fields)
  std::optional<std::string> last4;  // the card's last_four
  nlohmann::json receipts = nlohmann::json::array();  // canonical attachment refs, already downloaded
};

// How an accounting record type books in the canonical model (issue 13.11). Brex's own descriptions of the
// 19 types (accounting spec S2, AccountingRecordDetailed.type) decide the default table, documented in the
// README: CARD_EXPENSE_POST ("a card expense is posted and settled") books an expense; CARD_EXPENSE_REFUND
// ("a merchant issues a refund") and CARD_EXPENSE_REPAYMENT ("an employee repays money to the company for a
// card expense") reverse one; REIMBURSEMENT_EXPENSE_APPROVAL ("accrual basis") books the reimbursement and
// REIMBURSEMENT_EXPENSE_POST ("cash basis") books the same event again, so only one of the two may count
// (`reimbursement_basis`); REIMBURSEMENT_EXPENSE_REPAYMENT reverses one; card payments, money movements
// (payouts, pay-ins, refunds to the bank, reversals), rewards, bills and invoices book nothing here.
enum class Booking { kNone, kExpense, kReversal };

struct RecordTypes {
  bool cash_basis = false;                   // reimbursements booked at POST instead of APPROVAL
  std::map<std::string, Booking> overrides;  // by record type; wins over the table
};

// The kind of canonical expense a record type's family books ("card" for CARD_EXPENSE_*, "reimbursement" for
// REIMBURSEMENT_EXPENSE_* except the money movements), or nullopt (card payments, rewards, bills, invoices,
// money movements, types Brex adds later).
std::optional<std::string> ExpenseKind(std::string_view record_type);
// What a record of `record_type` books under `types`; always kNone without an ExpenseKind.
Booking BookingOf(std::string_view record_type, const RecordTypes& types = RecordTypes{});

// The accounting-field part: {"account"?: ref, "dimensions"?: {key: ref}, "x-brex_lines"?: [...]} from the
// record's line items of type `side` (DEBIT for an expense; a reversal credits the expense account, so
// CREDIT).
Result<nlohmann::json> CodingFromLines(const nlohmann::json& line_items, const FieldMapping& mapping,
                                       std::string_view side = "DEBIT");

// A canonical dimension key (^[a-z][a-z0-9_]{0,63}$) from a Brex field name or id.
std::string DimensionKey(std::string_view name);

// An accounting record (AccountingRecordDetailed) -> canonical expense. `system` and `connection` fill
// `source`; `types` says how the record's type books (a reversal is negative). Invalid (naming the field)
// for malformed records and for a type that books nothing under `types`.
Result<nlohmann::json> ExpenseFromRecord(const nlohmann::json& record, const RecordExtras& extras,
                                         const FieldMapping& mapping, std::string_view system,
                                         std::string_view connection,
                                         const RecordTypes& types = RecordTypes{});

// The version of a record: changes whenever Brex's `version` or `updated_at` does.
Result<std::string> RecordVersion(const nlohmann::json& record);

// A Payments API VendorResponse -> canonical vendor; `seen_at` (RFC 3339) stands in for the update time Brex
// does not publish, and the version is a digest of the vendor's content.
Result<nlohmann::json> VendorFromBrex(const nlohmann::json& vendor, std::string_view system,
                                      std::string_view connection, std::string_view seen_at);

// ---- Webhooks ---------------------------------------------------------------------------------------------

// Verifies a Standard Webhooks delivery: headers webhook-id / webhook-timestamp / webhook-signature (or the
// svix-* names; lower-case keys), HMAC-SHA256 over "<id>.<timestamp>.<body>" keyed by any of `secrets`
// ("whsec_" + base64, prefix optional), any "v1,<base64>" entry matching in constant time, then the timestamp
// within `tolerance_s` of `received_at_ms`.
// Auth: no signature header, or no entry matches. Invalid: id/timestamp missing or malformed, a stale or
// future timestamp, a secret that is not base64.
Status VerifyWebhook(const std::map<std::string, std::string>& headers, std::string_view body,
                     const std::vector<std::string>& secrets, int64_t received_at_ms, int64_t tolerance_s);

// "v1,<base64>" for one secret (tests and the emulator-compatible signer).
Result<std::string> SignWebhook(std::string_view secret, std::string_view id, int64_t timestamp,
                                std::string_view body);

// A verified delivery body -> host events [{id, type, stream?, source_id?}]; `delivery_id` (webhook-id) makes
// event ids stable across redeliveries. Invalid for a body that is not a Brex event, or a delivery id that is
// not UTF-8 or is longer than 512 bytes (the host's limit).
Result<nlohmann::json> WebhookEvents(std::string_view delivery_id, std::string_view body);

// ---- Cursors ----------------------------------------------------------------------------------------------

// Position in the expenses stream: Brex's cursor within a pass (`brex`), the updated_at lower bound of the
// pass
// (`since_us`, exclusive), the newest updated_at seen in it (`high_us`) and when the pass began (`pass_us`).
struct ExpenseCursor {
  std::optional<std::string> brex;
  std::optional<int64_t> since_us, high_us, pass_us;
};
std::string EncodeCursor(const ExpenseCursor& cursor);
// Invalid for anything EncodeCursor did not produce.
Result<ExpenseCursor> DecodeCursor(std::string_view text);

}  // namespace mlc::plugins::brex

#endif  // MLC_PLUGINS_BREX_SRC_BREX_TRANSLATE_HPP_
