// Webhook signers of the acceptance harness: sign a delivery body the way a manifest's webhook.scheme says,
// so the harness can hand a plugin's `webhook` operation good, forged, stale and replayed deliveries.
//
//   MLC_ASSIGN_OR_RETURN(auto signer, mlc::harness::SignerFor(manifest["webhook"]));
//   MLC_ASSIGN_OR_RETURN(SignedDelivery d, signer->Sign(body, secret, now_ms, "msg_1"));
//   instance->Webhook({{"method", "POST"}, {"headers", d.headers}, ...}, d.body);
//
// Schemes: standard_webhooks (webhook-id/-timestamp/-signature, "v1," base64 HMAC-SHA256 of
// "<id>.<ts>.<body>"), freshbooks_hmac (base64 HMAC-SHA256 of the form fields as Python's json.dumps writes
// them, keyed by the verifier; no timestamp), custom (the template's convention: hex HMAC-SHA256 of the raw
// body in the manifest's signature_header, the send time as a top-level "sent_at_ms" in a JSON body).
// Other schemes (zoho_hmac, bc_validation) have no signer yet: SignerFor answers NotFound.
//
// Thread safety: signers are immutable; Sign may be called from any thread.
#ifndef MLC_SDK_HARNESS_WEBHOOK_SIGNERS_HPP_
#define MLC_SDK_HARNESS_WEBHOOK_SIGNERS_HPP_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/status.hpp"

namespace mlc::harness {

// One delivery as a vendor would send it: header names in lower case, the body exactly as sent.
struct SignedDelivery {
  std::map<std::string, std::string> headers;
  std::string body;
};

class WebhookSigner {
 public:
  virtual ~WebhookSigner() = default;
  // Signs `body` with `secret` as sent at `sent_at_ms` (Unix milliseconds). Schemes that carry the time in
  // the body rewrite it there. `delivery_id` names the delivery where the scheme has such a header.
  virtual Result<SignedDelivery> Sign(std::string_view body, std::string_view secret, int64_t sent_at_ms,
                                      std::string_view delivery_id) const = 0;
  // Whether the scheme signs a send time (otherwise no stale delivery can be made).
  virtual bool SignsTimestamp() const = 0;
  virtual std::string scheme() const = 0;
};

// The signer for a manifest `webhook` block ({"scheme", "signature_header"?}). NotFound for a scheme the
// harness cannot sign; Invalid for a block without a scheme.
Result<std::unique_ptr<WebhookSigner>> SignerFor(const nlohmann::json& webhook);

// Python's json.dumps of a flat string dict, keys in the given order: {"a": "b", "c": "d"} with ", " and
// ": " separators and non-ASCII escaped as \uXXXX (UTF-16). Used by freshbooks_hmac.
std::string PythonJsonDumps(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace mlc::harness

#endif  // MLC_SDK_HARNESS_WEBHOOK_SIGNERS_HPP_
