// The emulator of "Template Co", the small fictional expense API that the template plugin's HTTP mode
// talks to. It is the example a plugin author copies when writing an emulator with the sandbox kit.
//
//   mlc::sandbox::EmulatorRegistry registry;
//   mlc::sandbox::template_co::RegisterTemplateEmulator(registry);        // name "template"
//   auto server = SandboxServer::Start(MakeTemplateEmulator(options), options);
//
// The API (all JSON; errors are {"error": {"code", "message"}}):
//   POST /oauth/token                 client_credentials grant (kit OAuthServer); access tokens live
//                                     access_token_ttl_s on the sandbox clock
//   GET  /v1/me                       {"company", "account_id"}
//   GET  /v1/expenses                 ?cursor=&limit=(1..100, 50)&marker=&origin=&updated_since=
//                                     -> {"data": [expense...], "next_cursor", "has_more"}; items in change
//                                     order (seq); a cursor past the end gives an empty page and itself back
//   POST /v1/expenses                 creates an expense; Idempotency-Key replays the first response
//                                     (409 when the key comes back with another body)
//   POST /v1/exports                  {"items": [{"expense_id", "ok", "target_id"?, "reason"?}]}
//   GET  /v1/accounts, /v1/vendors    reference data (fixed lists): ?cursor=&limit= -> {"data": [{"id",
//                                     "code", "name"} | {"id", "name"}], "next_cursor", "has_more"}
// Every /v1 route needs "Authorization: Bearer <token>": the static token it prints, or an OAuth access
// token. 100 requests per 10 s per token, then 429 with Retry-After.
// Webhooks (to --webhook-url): body {"sent_at_ms", "events": [{"id", "type", "expense_id"}]} with header
// x-template-signature = hex(HMAC-SHA256(webhook_secret, body)).
// Sandbox events: {"type": "expense.created" | "expense.updated", "count": N}.
// Credentials: token, client_id, client_secret, webhook_secret, token_url.
// Vendor options (JSON, all optional): access_token_ttl_s (3600), rate_limit (100), rate_window_s (10).
//
// Thread safety: one mutex guards the emulator's state; handlers run on the server's threads.
#ifndef MLC_SDK_TEMPLATE_SANDBOX_TEMPLATE_EMULATOR_HPP_
#define MLC_SDK_TEMPLATE_SANDBOX_TEMPLATE_EMULATOR_HPP_

#include <memory>

#include "mlc/sandbox/emulator.hpp"

namespace mlc::sandbox::template_co {

std::unique_ptr<Emulator> MakeTemplateEmulator(const EmulatorOptions& options);
void RegisterTemplateEmulator(EmulatorRegistry& registry);

}  // namespace mlc::sandbox::template_co

#endif  // MLC_SDK_TEMPLATE_SANDBOX_TEMPLATE_EMULATOR_HPP_
