// The harness's table of webhook signers, one per manifest webhook scheme it knows; the schemes themselves
// are mlc/webhook_signature.hpp, shared with the plugins that verify them and the emulators that sign.
#include "webhook_signers.hpp"

#include "mlc/json.hpp"
#include "mlc/text.hpp"
#include "mlc/webhook_signature.hpp"

namespace mlc::harness {

namespace {

using nlohmann::json;

// Standard Webhooks (Svix): the signature covers "<id>.<timestamp>.<body>"; the timestamp is in seconds.
class StandardWebhooksSigner final : public WebhookSigner {
 public:
  Result<SignedDelivery> Sign(std::string_view body, std::string_view secret, int64_t sent_at_ms,
                              std::string_view delivery_id) const override {
    const int64_t ts = sent_at_ms / 1000;
    // A secret that is not whsec_/base64 (the suite's made-up wrong key) signs with its own bytes as the key,
    // so a forged delivery still reaches the plugin instead of failing here.
    std::string key(secret);
    if (!webhook::standard::DecodeSecret(key).ok()) key = webhook::standard::EncodeSecret(key);
    MLC_ASSIGN_OR_RETURN(std::string signature,
                         webhook::standard::SignatureHeader({key}, delivery_id, ts, body));
    SignedDelivery d;
    d.body = std::string(body);
    d.headers = {{"webhook-id", std::string(delivery_id)},
                 {"webhook-timestamp", std::to_string(ts)},
                 {"webhook-signature", signature},
                 {"content-type", "application/json"}};
    return d;
  }
  bool SignsTimestamp() const override { return true; }
  std::string scheme() const override { return "standard_webhooks"; }
};

// FreshBooks: form-encoded deliveries signed over the JSON text of their fields (Python json.dumps), keyed
// by the callback's verifier. Nothing dates a delivery.
class FreshBooksSigner final : public WebhookSigner {
 public:
  explicit FreshBooksSigner(std::string header) : header_(text::AsciiLower(header)) {}

  Result<SignedDelivery> Sign(std::string_view body, std::string_view secret, int64_t /*sent_at_ms*/,
                              std::string_view /*delivery_id*/) const override {
    std::vector<std::pair<std::string, std::string>> fields;
    for (auto& [name, value] : text::ParseForm(body)) fields.emplace_back(name, value);
    if (fields.empty()) return Status::Invalid("freshbooks_hmac: the body has no form fields to sign");
    SignedDelivery d;
    d.body = std::string(body);
    d.headers = {{header_, webhook::freshbooks::Sign(secret, fields)},
                 {"content-type", "application/x-www-form-urlencoded"}};
    return d;
  }
  bool SignsTimestamp() const override { return false; }
  std::string scheme() const override { return "freshbooks_hmac"; }

 private:
  std::string header_;
};

// The template's convention for "custom": hex HMAC-SHA256 of the raw body; the send time travels inside
// the signed JSON body as sent_at_ms.
class TemplateHmacSigner final : public WebhookSigner {
 public:
  explicit TemplateHmacSigner(std::string header) : header_(text::AsciiLower(header)) {}

  Result<SignedDelivery> Sign(std::string_view body, std::string_view secret, int64_t sent_at_ms,
                              std::string_view /*delivery_id*/) const override {
    SignedDelivery d;
    d.body = std::string(body);
    auto doc = mlc::json::ParseExact(body);
    if (doc.ok() && doc->is_object()) {
      (*doc)["sent_at_ms"] = sent_at_ms;
      d.body = doc->dump();
    }
    d.headers = {{header_, webhook::SignHmacSha256(secret, d.body, webhook::Encoding::kHex)},
                 {"content-type", "application/json"}};
    return d;
  }
  bool SignsTimestamp() const override { return true; }
  std::string scheme() const override { return "custom"; }

 private:
  std::string header_;
};

}  // namespace

std::string PythonJsonDumps(const std::vector<std::pair<std::string, std::string>>& fields) {
  return webhook::freshbooks::PythonJsonDumps(fields);
}

Result<std::unique_ptr<WebhookSigner>> SignerFor(const nlohmann::json& webhook) {
  if (!webhook.is_object() || !webhook.contains("scheme") || !webhook["scheme"].is_string()) {
    return Status::Invalid("the manifest's webhook block has no scheme");
  }
  const std::string scheme = webhook["scheme"].get<std::string>();
  const std::string header = webhook.value("signature_header", std::string());
  if (scheme == "standard_webhooks") return std::unique_ptr<WebhookSigner>(new StandardWebhooksSigner());
  if (scheme == "freshbooks_hmac") {
    return std::unique_ptr<WebhookSigner>(
        new FreshBooksSigner(header.empty() ? "X-FreshBooks-Hmac-SHA256" : header));
  }
  if (scheme == "custom") {
    return std::unique_ptr<WebhookSigner>(
        new TemplateHmacSigner(header.empty() ? "x-template-signature" : header));
  }
  return Status::NotFound("the harness has no signer for webhook scheme '" + scheme + "'");
}

}  // namespace mlc::harness
