// The FreshBooks API emulator for ml-connector's sandbox: what a FreshBooks spend-sync plugin talks to
// when no machine may reach FreshBooks. Facts from /work/shared/vendor-notes/freshbooks-expensify.md (part
// A).
//
// Serves, on one loopback host (FreshBooks splits auth.freshbooks.com and api.freshbooks.com):
//   GET  /oauth/authorize                      authorization code, 302 to the redirect_uri (+state)
//   POST /auth/oauth/token                     authorization_code / refresh_token grants; JSON, form or
//                                              multipart bodies; single-use rotating refresh tokens; 12 h
//                                              access tokens on the sandbox clock; POST /auth/oauth/revoke
//   GET  /auth/api/v1/users/me                 identity with business_memberships (account_id, business id,
//                                              business_uuid)
//   /accounting/account/{account_id}/...      expenses/expenses, expenses/categories, bills/bills,
//                                              bill_vendors/bill_vendors, bill_payments/bill_payments,
//                                              payments/payments,
//                                              journal_entry_accounts/journal_entry_accounts
//   /accounting/businesses/{uuid}/ledger_accounts/accounts   the newer chart of accounts ({"data": ...})
//   POST /uploads/account/{account_id}/attachments|images      multipart field "content" -> jwt + media_type
//   GET  /uploads/attachments/{jwt}, /uploads/images/{jwt}      the uploaded bytes
//   /events/account/{account_id}/events/callbacks[/{id}]       callbacks CRUD, verifier handshake, verify,
//                                              resend; events POSTed form-encoded and signed with
//                                              X-FreshBooks-Hmac-SHA256 to verified callbacks only
// Each area answers errors in its own documented shape (legacy {"response": {"errors": [...]}} for
// accounting, {"errno", "message"} for events, {"error"} for uploads, {"errors": {...}} for ledger accounts,
// {"error", "error_description"} for auth).
//
// Choices where the notes are [UNCONFIRMED] (all visible in the code next to the rule):
//   validation errors answer 422 (option "validation_status"); invalid/used codes and refresh tokens answer
//   400 invalid_grant (option "token_error_status"); a path account_id other than the caller's answers 403
//   errno 1003 (AccessDenied); rate limit 600 requests / 60 s per user and app (option "rate_limit") with
//   429 + Retry-After + X-RateLimit-*; the verification POST carries name=callback.verify and is unsigned
//   (option "sign_verification"); search filters and forms a resource does not document are rejected (1037)
//   rather than ignored (expenses and categories serve exactly their published filter tables: no
//   search[notes_like], no search[vis_states][], no sort or update filter on categories); lists are ordered
//   by id ascending unless sort= is given, or in a fixed shuffled order (option "list_order": "shuffled")
//   since FreshBooks documents no default order.
//
// Vendor options (mlc-sandbox --options, every field optional):
//   {"redirect_uris": ["https://localhost/mlc/oauth/callback"], "rate_limit": {"limit": 600, "window_s": 60},
//    "validation_status": 422, "token_error_status": 400, "sign_verification": false,
//    "seed_start_date": "2025-01-01", "list_order": "id"}
// Control (POST /_sandbox/events): {"type": "expense.create|update|delete", "bill.create|update|delete",
//   "bill_vendor.create|update|delete", "payment.create", "count": N} makes N such changes and delivers the
//   events; {"type": "errors_with_http_200", "count": N} answers the next N accounting errors with HTTP 200
//   (the legacy shape inside a 200, which clients must detect). Objects: GET /_sandbox/objects/<type>.
//
// Thread safety: handlers run concurrently on the server's threads; the emulator guards its state with one
// mutex. The free functions below are pure.
#ifndef MLC_PLUGINS_FRESHBOOKS_SANDBOX_FRESHBOOKS_EMULATOR_HPP_
#define MLC_PLUGINS_FRESHBOOKS_SANDBOX_FRESHBOOKS_EMULATOR_HPP_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "mlc/sandbox/clock.hpp"
#include "mlc/sandbox/emulator.hpp"
#include "mlc/sandbox/http.hpp"

namespace mlc::sandbox::freshbooks {

// Registers "freshbooks" with `registry` (mlc-sandbox calls this when built with the emulator).
void RegisterFreshBooksEmulator(EmulatorRegistry& registry);

// A new emulator; SandboxServer::Start serves it.
std::unique_ptr<Emulator> MakeFreshBooksEmulator(const EmulatorOptions& options);

// Python's json.dumps of a dict of string values with default settings (", " and ": " separators,
// ensure_ascii), over `fields` in order: the text FreshBooks signs. Invalid UTF-8 bytes become U+FFFD.
std::string PythonJsonDumps(const ParamList& fields);

// The X-FreshBooks-Hmac-SHA256 value for a delivery whose form fields are `fields` (in the order sent):
// base64(HMAC-SHA256(key = verifier, message = PythonJsonDumps(fields))).
std::string WebhookSignature(std::string_view verifier, const ParamList& fields);

// Accounting timestamps are zone-less "YYYY-MM-DD HH:MM:SS" in US/Eastern (bills use UTC instead).
std::string FormatEastern(TimePoint t);
// Reads "YYYY-MM-DD HH:MM:SS" (or "YYYY-MM-DD", midnight) as US/Eastern wall time.
std::optional<TimePoint> ParseEastern(std::string_view text);
// "YYYY-MM-DD HH:MM:SS" in UTC.
std::string FormatUtcNaive(TimePoint t);

}  // namespace mlc::sandbox::freshbooks

#endif  // MLC_PLUGINS_FRESHBOOKS_SANDBOX_FRESHBOOKS_EMULATOR_HPP_
