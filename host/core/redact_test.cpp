// Tests for the redactor: every secret shape in headers, JSON and form bodies, registered values wherever
// they appear, text that must stay untouched, concurrent use, and the logger wiring.
#include "core/redact.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/log.hpp"

namespace mlc::redact {
namespace {

struct Case {
  const char* name;
  std::string input;
  std::string expected;
};

class ShapeTest : public ::testing::TestWithParam<Case> {};

TEST_P(ShapeTest, MasksSecretAndKeepsTheRest) {
  const Case& c = GetParam();
  EXPECT_EQ(RedactText(c.input), c.expected) << c.name;
}

const Case kShapes[] = {
    // Header lines.
    {"authorization_bearer", "Authorization: Bearer abcDEF123.xyz", "Authorization: [REDACTED]"},
    {"authorization_lower", "authorization: Bearer abcDEF123.xyz", "authorization: [REDACTED]"},
    {"authorization_mid_line", "GET /v2/users Authorization: Basic dXNlcjpwYXNz",
     "GET /v2/users Authorization: [REDACTED]"},
    {"header_block",
     "POST /token HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Basic dXNlcjpwYXNz\r\n"
     "X-Api-Key: k-123-456\r\nCookie: sid=abcdef; theme=dark\r\nAccept: application/json\r\n",
     "POST /token HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: [REDACTED]\r\n"
     "X-Api-Key: [REDACTED]\r\nCookie: [REDACTED]\r\nAccept: application/json\r\n"},
    {"proxy_authorization", "Proxy-Authorization: Digest a=b", "Proxy-Authorization: [REDACTED]"},
    {"set_cookie", "Set-Cookie: session=4f1c; HttpOnly", "Set-Cookie: [REDACTED]"},
    {"signature_header_line",
     "Webhook-Signature: v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", "Webhook-Signature: [REDACTED]"},
    {"custom_token_header_line", "  X-Auth-Token: 0123456789", "  X-Auth-Token: [REDACTED]"},
    // Schemes anywhere in text.
    {"bearer_in_text", "retrying with Bearer eyJhbGciOi.eyJzdWIi.sig-_~+/= after 401",
     "retrying with Bearer [REDACTED] after 401"},
    {"bearer_lower", "sent bearer abc123", "sent bearer [REDACTED]"},
    {"basic_in_text", "header was Basic dXNlcjpwYXNzd29yZA== (rejected)",
     "header was Basic [REDACTED] (rejected)"},
    // Vendor token shapes.
    {"brex_token", "token bxt_jBWQLZXtu1f4sVT6UjaWPp7Gh9nVGjzEZgRX expired", "token [REDACTED] expired"},
    {"brex_token_in_json", R"({"note":"bxt_abc123"})", R"({"note":"[REDACTED]"})"},
    {"whsec", "secret=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "secret=[REDACTED]"},
    {"whsec_in_text", "loaded whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD for brex", "loaded [REDACTED] for brex"},
    // JSON fields.
    {"json_access_token", R"({"access_token": "ya29.a0Af", "expires_in": 3600, "token_type": "Bearer"})",
     R"({"access_token": "[REDACTED]", "expires_in": 3600, "token_type": "Bearer"})"},
    {"json_refresh_token_compact", R"({"refresh_token":"r-1","scope":"x"})",
     R"({"refresh_token":"[REDACTED]","scope":"x"})"},
    {"json_case_insensitive", R"({"Client_Secret" : "s3cr3t"})", R"({"Client_Secret" : "[REDACTED]"})"},
    {"json_escaped_quote_in_value", R"({"password":"a\"b,c","user":"ann"})",
     R"({"password":"[REDACTED]","user":"ann"})"},
    {"json_expensify", R"({"credentials":{"partnerUserID":"aa_api_1","partnerUserSecret":"9f8e7d6c"}})",
     R"({"credentials":{"partnerUserID":"aa_api_1","partnerUserSecret":"[REDACTED]"}})"},
    {"json_in_json_string", R"({"body":"{\"access_token\":\"zz-top-99\",\"ok\":true}"})",
     R"({"body":"{\"access_token\":\"[REDACTED]\",\"ok\":true}"})"},
    {"json_api_key", R"({"api_key":"12345678","name":"x"})", R"({"api_key":"[REDACTED]","name":"x"})"},
    {"json_secret_suffix", R"({"webhook_signing_secret":"abcdefgh"})",
     R"({"webhook_signing_secret":"[REDACTED]"})"},
    {"json_authorization_key", R"({"Authorization":"Bearer abc.def"})", R"({"Authorization":"[REDACTED]"})"},
    {"json_unterminated", R"({"access_token":"abcdef)", R"({"access_token":"[REDACTED])"},
    {"json_null_kept", R"({"client_secret":null})", R"({"client_secret":null})"},
    // Form bodies and query strings.
    {"form_refresh",
     "client_id=some_client&client_secret=some_secret&grant_type=refresh_token&refresh_token=an_old_one",
     "client_id=some_client&client_secret=[REDACTED]&grant_type=refresh_token&refresh_token=[REDACTED]"},
    {"form_mid", "grant_type=refresh_token&refresh_token=abc%2Fdef&redirect_uri=x",
     "grant_type=refresh_token&refresh_token=[REDACTED]&redirect_uri=x"},
    {"query_string", "GET /cb?code=1&access_token=tok123&state=s",
     "GET /cb?code=1&access_token=[REDACTED]&state=s"},
    {"form_encoded_expensify_json",
     "requestJobDescription=%7B%22credentials%22%3A%7B%22partnerUserID%22%3A%22u1%22%2C%22partnerUserSecret"
     "%22%3A%22abc123def%22%7D%7D",
     "requestJobDescription=%7B%22credentials%22%3A%7B%22partnerUserID%22%3A%22u1%22%2C%22partnerUserSecret"
     "%22%3A%22[REDACTED]%22%7D%7D"},
    {"key_value_in_prose", "refresh failed: password=hunter22 user=ann",
     "refresh failed: password=[REDACTED] user=ann"},
    {"url_userinfo", "connecting to postgres://mlc:pa55word@db:5432/mlc",
     "connecting to postgres://mlc:[REDACTED]@db:5432/mlc"},
};

INSTANTIATE_TEST_SUITE_P(Redact, ShapeTest, ::testing::ValuesIn(kShapes),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(RedactTest, NonSecretTextUnchanged) {
  const std::vector<std::string> texts = {
      "",
      "synced 12 expenses from brex to freshbooks in 340 ms",
      R"({"id":"expense_123","amount":{"amount":1250,"currency":"USD"},"token_type":"Bearer"})",
      "Basic information about the pipeline",
      "Basic plan; basic auth is configured",
      "grant_type=client_credentials&scope=https%3A%2F%2Fapi.businesscentral.dynamics.com%2F.default",
      "see https://api.brex.com/v2/expenses?cursor=abc for details",
      "the bxt_ prefix marks Brex user tokens",
      "a bearer; of bad news",
      "Host: api.example.com\nAccept: application/json",
      "100% of 12 records",
  };
  for (const std::string& t : texts) EXPECT_EQ(RedactText(t), t);
}

TEST(RedactTest, RegisteredValueMaskedWherever) {
  const std::string secret = "Zq7-registered-value-Pp";
  EXPECT_EQ(RedactText("x " + secret), "x " + secret);
  RegisterSecret(secret);
  EXPECT_EQ(RedactText("x " + secret + " y"), "x [REDACTED] y");
  EXPECT_EQ(RedactText(secret + secret), "[REDACTED]");
  EXPECT_EQ(RedactText("prefix" + secret + "suffix"), "prefix[REDACTED]suffix");
  EXPECT_EQ(RedactText("{\"note\":\"" + secret + "\"}"), "{\"note\":\"[REDACTED]\"}");
  ForgetSecret(secret);
  EXPECT_EQ(RedactText("x " + secret), "x " + secret);
}

TEST(RedactTest, RegisteredValueMaskedInEncodedForms) {
  const std::string secret = "p@ss w\"ord/+=";
  RegisterSecret(secret);
  EXPECT_EQ(RedactText("note=p%40ss+w%22ord%2F%2B%3D&x=1"), "note=[REDACTED]&x=1");
  EXPECT_EQ(RedactText(R"({"note":"p@ss w\"ord/+="})"), R"({"note":"[REDACTED]"})");
  ForgetSecret(secret);
  EXPECT_EQ(RedactText("note=p%40ss+w%22ord%2F%2B%3D"), "note=p%40ss+w%22ord%2F%2B%3D");
}

TEST(RedactTest, OverlappingRegisteredValuesAllMasked) {
  RegisterSecret("AAAAAABBBB");
  RegisterSecret("BBBBCCCCCC");
  EXPECT_EQ(RedactText("x AAAAAABBBBCCCCCC y"), "x [REDACTED] y");
  RegisterSecret("AAAAAABBBBDD");  // shares a prefix bucket with the first; the longer one wins
  EXPECT_EQ(RedactText("AAAAAABBBBDD!"), "[REDACTED]!");
  ForgetSecret("AAAAAABBBB");
  ForgetSecret("BBBBCCCCCC");
  ForgetSecret("AAAAAABBBBDD");
  EXPECT_EQ(RedactText("x AAAAAABBBBCCCCCC y"), "x AAAAAABBBBCCCCCC y");
}

TEST(RedactTest, ShortValuesIgnored) {
  RegisterSecret("abc12");
  RegisterSecret("");
  EXPECT_EQ(RedactText("abc12 is not a secret"), "abc12 is not a secret");
  RegisterSecret("abc123");  // six bytes: the minimum
  EXPECT_EQ(RedactText("abc123 is"), "[REDACTED] is");
  ForgetSecret("abc123");
}

TEST(RedactTest, RegisteredFieldName) {
  EXPECT_EQ(RedactText(R"({"verifier":"v-12345"})"), R"({"verifier":"v-12345"})");
  RegisterSecretFieldName("Verifier");
  EXPECT_EQ(RedactText(R"({"verifier":"v-12345"})"), R"({"verifier":"[REDACTED]"})");
  EXPECT_EQ(RedactText("verifier=v-12345&id=2"), "verifier=[REDACTED]&id=2");
}

TEST(RedactTest, IsSecretHeader) {
  for (const char* h : {"Authorization", "authorization", "Proxy-Authorization", "Cookie", "Set-Cookie",
                        "X-Api-Key", "X-Auth-Token", "Webhook-Signature", "X-Client-Secret", "X-Password"}) {
    EXPECT_TRUE(IsSecretHeader(h)) << h;
  }
  for (const char* h :
       {"Content-Type", "Accept", "Host", "Retry-After", "X-RateLimit-Remaining", "Webhook-Id"}) {
    EXPECT_FALSE(IsSecretHeader(h)) << h;
  }
}

TEST(RedactTest, RedactHeaders) {
  RegisterSecret("leaked-value-123");
  const std::map<std::string, std::string> in = {{"Authorization", "Bearer x"},
                                                 {"Content-Type", "application/json"},
                                                 {"X-Trace", "id leaked-value-123"},
                                                 {"Zoho-Signature", "abc"}};
  const auto out = RedactHeaders(in);
  EXPECT_EQ(out.at("Authorization"), "[REDACTED]");
  EXPECT_EQ(out.at("Content-Type"), "application/json");
  EXPECT_EQ(out.at("X-Trace"), "id [REDACTED]");
  EXPECT_EQ(out.at("Zoho-Signature"), "[REDACTED]");
  ForgetSecret("leaked-value-123");
}

TEST(RedactTest, ConcurrentRegisterAndRedact) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 300;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &failures] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string secret = "thr" + std::to_string(t) + "-secret-" + std::to_string(i) + "-q";
        RegisterSecret(secret);
        // A value registered by this thread is masked at once, whatever the other threads do.
        if (RedactText("v=" + secret + ";") != "v=[REDACTED];") failures.fetch_add(1);
        if (RedactText("plain text " + std::to_string(i)) != "plain text " + std::to_string(i)) {
          failures.fetch_add(1);
        }
        if (i % 2 == 0) ForgetSecret(secret);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  // Odd-numbered values stay registered; even ones were forgotten.
  EXPECT_EQ(RedactText("thr1-secret-7-q"), "[REDACTED]");
  EXPECT_EQ(RedactText("thr1-secret-8-q"), "thr1-secret-8-q");
}

// The logger passes every message through the redactor: capture stderr around a log call.
TEST(RedactTest, LoggerMasksSecrets) {
  char path[] = "/tmp/mlc_redact_log_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  fflush(stderr);
  const int saved = dup(STDERR_FILENO);
  ASSERT_GE(saved, 0);
  ASSERT_GE(dup2(fd, STDERR_FILENO), 0);
  InitLogging("info");
  RegisterSecret("logged-secret-value");
  Log().info("calling with Authorization: Bearer tok-abc-123");
  Log().warn("value logged-secret-value and {}", R"({"refresh_token":"rt-xyz"})");
  spdlog::info("default logger bxt_abcdef123");
  Log().flush();
  spdlog::default_logger()->flush();
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);

  std::string captured;
  if (FILE* f = fopen(path, "rb")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) captured.append(buf, n);
    fclose(f);
  }
  close(fd);
  unlink(path);
  ForgetSecret("logged-secret-value");

  EXPECT_NE(captured.find("Authorization: [REDACTED]"), std::string::npos) << captured;
  EXPECT_NE(captured.find(R"({"refresh_token":"[REDACTED]"})"), std::string::npos);
  EXPECT_NE(captured.find("default logger [REDACTED]"), std::string::npos);
  for (const char* leaked : {"tok-abc-123", "logged-secret-value", "rt-xyz", "bxt_abcdef123"}) {
    EXPECT_EQ(captured.find(leaked), std::string::npos) << leaked;
  }
}

}  // namespace
}  // namespace mlc::redact
