// Tests of the harness's webhook signers: known vectors, and that each signer's output verifies the way
// the vendor's scheme says.
#include "webhook_signers.hpp"

#include <gtest/gtest.h>

#include "mlc/sandbox/crypto.hpp"
#include "mlc/sandbox/http.hpp"
#include "mlc/sandbox/webhooks.hpp"

namespace mlc::harness {
namespace {

using nlohmann::json;

TEST(PythonJsonDumps, MatchesPythonsDefaults) {
  EXPECT_EQ(PythonJsonDumps({{"name", "invoice.create"}, {"object_id", "12"}}),
            R"({"name": "invoice.create", "object_id": "12"})");
  EXPECT_EQ(PythonJsonDumps({{"note", "caf\xc3\xa9 \"x\"\n"}}), R"({"note": "caf\u00e9 \"x\"\n"})");
  EXPECT_EQ(PythonJsonDumps({{"e", "\xf0\x9f\x98\x80"}}), R"({"e": "\ud83d\ude00"})");  // a surrogate pair
  EXPECT_EQ(PythonJsonDumps({}), "{}");
}

TEST(FreshBooksSigner, ReproducesTheDerivedVectorFromTheVendorNotes) {
  auto signer = SignerFor(json{{"scheme", "freshbooks_hmac"}});
  ASSERT_TRUE(signer.ok());
  EXPECT_FALSE((*signer)->SignsTimestamp());
  auto d = (*signer)->Sign(
      "name=invoice.create&object_id=1234567&account_id=6BApk&business_id=6543&identity_id=1234&user_id=1",
      "test-verifier-123", 0, "");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->headers.at("x-freshbooks-hmac-sha256"), "o++ZnPG4JJV+5pkKoQTdPctE4vXYcxrwbqp7JRXZgy4=");
  EXPECT_FALSE((*signer)->Sign("", "k", 0, "").ok());  // nothing to sign
}

TEST(StandardWebhooksSigner, ProducesHeadersTheKitVerifies) {
  auto signer = SignerFor(json{{"scheme", "standard_webhooks"}});
  ASSERT_TRUE(signer.ok());
  const std::string secret = "whsec_" + sandbox::Base64Encode("0123456789abcdef0123456789abcdef");
  auto d = (*signer)->Sign(R"({"event_type":"X"})", secret, 1700000000123, "msg_1");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->headers.at("webhook-timestamp"), "1700000000");
  sandbox::HeaderList headers(d->headers.begin(), d->headers.end());
  EXPECT_TRUE(sandbox::standard_webhooks::VerifyHeaders({secret}, headers, d->body, 1700000010).ok());
  EXPECT_FALSE(sandbox::standard_webhooks::VerifyHeaders({secret}, headers, d->body, 1700000000 + 3600).ok());
}

// The suite forges deliveries with a made-up key that is not base64: it must still sign (with the key's own
// bytes), so the plugin sees a wrong signature rather than the signer failing.
TEST(StandardWebhooksSigner, SignsWithAKeyThatIsNotBase64) {
  auto signer = SignerFor(json{{"scheme", "standard_webhooks"}});
  ASSERT_TRUE(signer.ok());
  auto d = (*signer)->Sign("{}", "mlc-harness-wrong-secret", 1700000000000, "msg_forged");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const std::string real = "whsec_" + sandbox::Base64Encode("0123456789abcdef0123456789abcdef");
  sandbox::HeaderList headers(d->headers.begin(), d->headers.end());
  EXPECT_FALSE(sandbox::standard_webhooks::VerifyHeaders({real}, headers, d->body, 1700000000).ok());
  const std::string as_key = "whsec_" + sandbox::Base64Encode("mlc-harness-wrong-secret");
  EXPECT_TRUE(sandbox::standard_webhooks::VerifyHeaders({as_key}, headers, d->body, 1700000000).ok());
}

TEST(TemplateHmacSigner, RewritesSentAtAndSignsTheRawBody) {
  auto signer = SignerFor(json{{"scheme", "custom"}, {"signature_header", "X-Template-Signature"}});
  ASSERT_TRUE(signer.ok());
  auto d = (*signer)->Sign(R"({"sent_at_ms": 1, "events": []})", "k", 42, "");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(json::parse(d->body)["sent_at_ms"], 42);
  EXPECT_EQ(d->headers.at("x-template-signature"), sandbox::HexEncode(sandbox::HmacSha256("k", d->body)));
  // A body that is not JSON is signed as it is.
  auto raw = (*signer)->Sign("plain", "k", 42, "");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->body, "plain");
}

TEST(SignerFor, RefusesWhatItCannotSign) {
  EXPECT_EQ(SignerFor(json{{"scheme", "zoho_hmac"}}).status().code(), Code::kNotFound);
  EXPECT_EQ(SignerFor(json::object()).status().code(), Code::kInvalid);
  EXPECT_EQ(SignerFor(json("custom")).status().code(), Code::kInvalid);
}

}  // namespace
}  // namespace mlc::harness
