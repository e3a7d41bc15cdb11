// The harness's table of webhook signers, one per manifest webhook scheme it knows.
#include "webhook_signers.hpp"

#include <cstdio>

#include "mlc/json.hpp"
#include "mlc/sandbox/crypto.hpp"
#include "mlc/sandbox/http.hpp"
#include "mlc/sandbox/webhooks.hpp"

namespace mlc::harness {

namespace {

using nlohmann::json;

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// Standard Webhooks (Svix): the signature covers "<id>.<timestamp>.<body>"; the timestamp is in seconds.
class StandardWebhooksSigner final : public WebhookSigner {
 public:
  Result<SignedDelivery> Sign(std::string_view body, std::string_view secret, int64_t sent_at_ms,
                              std::string_view delivery_id) const override {
    const int64_t ts = sent_at_ms / 1000;
    // A secret that is not whsec_/base64 (the suite's made-up wrong key) signs with its own bytes as the key,
    // so a forged delivery still reaches the plugin instead of failing here.
    std::string key(secret);
    if (!sandbox::standard_webhooks::DecodeSecret(key).ok()) key = "whsec_" + sandbox::Base64Encode(key);
    MLC_ASSIGN_OR_RETURN(std::string signature,
                         sandbox::standard_webhooks::SignatureHeader({key}, delivery_id, ts, body));
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
  explicit FreshBooksSigner(std::string header) : header_(Lower(std::move(header))) {}

  Result<SignedDelivery> Sign(std::string_view body, std::string_view secret, int64_t /*sent_at_ms*/,
                              std::string_view /*delivery_id*/) const override {
    std::vector<std::pair<std::string, std::string>> fields;
    for (auto& [name, value] : sandbox::ParseQueryString(body)) fields.emplace_back(name, value);
    if (fields.empty()) return Status::Invalid("freshbooks_hmac: the body has no form fields to sign");
    SignedDelivery d;
    d.body = std::string(body);
    d.headers = {{header_, sandbox::Base64Encode(sandbox::HmacSha256(secret, PythonJsonDumps(fields)))},
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
  explicit TemplateHmacSigner(std::string header) : header_(Lower(std::move(header))) {}

  Result<SignedDelivery> Sign(std::string_view body, std::string_view secret, int64_t sent_at_ms,
                              std::string_view /*delivery_id*/) const override {
    SignedDelivery d;
    d.body = std::string(body);
    auto doc = mlc::json::ParseExact(body);
    if (doc.ok() && doc->is_object()) {
      (*doc)["sent_at_ms"] = sent_at_ms;
      d.body = doc->dump();
    }
    d.headers = {{header_, sandbox::HexEncode(sandbox::HmacSha256(secret, d.body))},
                 {"content-type", "application/json"}};
    return d;
  }
  bool SignsTimestamp() const override { return true; }
  std::string scheme() const override { return "custom"; }

 private:
  std::string header_;
};

void AppendUtf16Escape(unsigned code, std::string* out) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\u%04x", code);
  out->append(buf);
}

// Appends `s` as a JSON string the way Python's json.dumps (ensure_ascii=True) writes it.
void AppendPythonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out->append("\\\"");
          break;
        case '\\':
          out->append("\\\\");
          break;
        case '\n':
          out->append("\\n");
          break;
        case '\r':
          out->append("\\r");
          break;
        case '\t':
          out->append("\\t");
          break;
        case '\b':
          out->append("\\b");
          break;
        case '\f':
          out->append("\\f");
          break;
        default:
          if (c < 0x20) {
            AppendUtf16Escape(c, out);
          } else {
            out->push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    // Decode one UTF-8 sequence; an invalid byte is escaped as itself (Python would have refused it).
    unsigned code = c;
    size_t len = 1;
    if ((c & 0xE0) == 0xC0) {
      code = c & 0x1F, len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      code = c & 0x0F, len = 3;
    } else if ((c & 0xF8) == 0xF0) {
      code = c & 0x07, len = 4;
    }
    if (len > 1 && i + len <= s.size()) {
      for (size_t k = 1; k < len; ++k) code = (code << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    } else {
      len = 1;
    }
    if (code >= 0x10000) {
      code -= 0x10000;
      AppendUtf16Escape(0xD800 + (code >> 10), out);
      AppendUtf16Escape(0xDC00 + (code & 0x3FF), out);
    } else {
      AppendUtf16Escape(code, out);
    }
    i += len;
  }
  out->push_back('"');
}

}  // namespace

std::string PythonJsonDumps(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out = "{";
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out.append(", ");
    AppendPythonString(fields[i].first, &out);
    out.append(": ");
    AppendPythonString(fields[i].second, &out);
  }
  out.push_back('}');
  return out;
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
