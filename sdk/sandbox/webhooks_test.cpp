// Standard Webhooks signer/verifier against the Svix test vectors (brex.md §7.3), and the retrying sender.
#include "mlc/sandbox/webhooks.hpp"

#include <gtest/gtest.h>

#include <atomic>

#include "mlc/sandbox/crypto.hpp"
#include "mlc/sandbox/server.hpp"

namespace mlc::sandbox {
namespace {

namespace sw = standard_webhooks;

constexpr char kTv1Secret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr char kTv1Id[] = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kTv1Ts = 1614265330;
constexpr char kTv1Body[] = R"({"test": 2432232314})";
constexpr char kTv1Sig[] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

TEST(StandardWebhooks, SignsCanonicalVectorWithAndWithoutPrefix) {
  auto sig = sw::Sign(kTv1Secret, kTv1Id, kTv1Ts, kTv1Body);
  ASSERT_TRUE(sig.ok()) << sig.status().ToString();
  EXPECT_EQ(*sig, kTv1Sig);
  auto unprefixed = sw::Sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", kTv1Id, kTv1Ts, kTv1Body);
  ASSERT_TRUE(unprefixed.ok());
  EXPECT_EQ(*unprefixed, kTv1Sig);
}

TEST(StandardWebhooks, SignsSecondVector) {
  auto sig = sw::Sign("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553,
                      R"({"email":"test@example.com","username":"test_user"})");
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(*sig, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
}

TEST(StandardWebhooks, SignsLargePayloadVectors) {
  const std::pair<size_t, const char*> cases[] = {
      {1024 * 1024, "v1,txpEUxqWZJ5nteTnymUVa+7C4NHpBeXJ6CsBAW0c3/A="},
      {256 * 1024, "v1,Mw4Pe2WgApuT7NSqnSq0PQPV9gbLdggCl9B865x5Xh0="},
      {256 * 1024 - 1, "v1,NTItnqyWMoFhk2Bbe5V/BMdcFRWgcSQaTgqLHX7FC7c="},
  };
  for (const auto& [n, expected] : cases) {
    auto sig = sw::Sign(kTv1Secret, kTv1Id, kTv1Ts, std::string(n, 'a'));
    ASSERT_TRUE(sig.ok());
    EXPECT_EQ(*sig, expected) << n;
  }
}

TEST(StandardWebhooks, VerifiesGoodSignature) {
  EXPECT_TRUE(sw::Verify({kTv1Secret}, kTv1Id, std::to_string(kTv1Ts), kTv1Sig, kTv1Body, kTv1Ts).ok());
}

TEST(StandardWebhooks, RejectsNegativeVectors) {
  const std::string ts = std::to_string(kTv1Ts);
  for (const char* bad :
       {"v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=",
        "v1,", "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}) {
    Status s = sw::Verify({kTv1Secret}, kTv1Id, ts, bad, kTv1Body, kTv1Ts);
    EXPECT_EQ(s.code(), Code::kAuth) << bad;
  }
  // A tampered body or id fails.
  EXPECT_FALSE(sw::Verify({kTv1Secret}, kTv1Id, ts, kTv1Sig, R"({"test": 2432232315})", kTv1Ts).ok());
  EXPECT_FALSE(sw::Verify({kTv1Secret}, "msg_other", ts, kTv1Sig, kTv1Body, kTv1Ts).ok());
}

TEST(StandardWebhooks, RejectsMissingHeaders) {
  const std::string ts = std::to_string(kTv1Ts);
  EXPECT_EQ(sw::Verify({kTv1Secret}, "", ts, kTv1Sig, kTv1Body, kTv1Ts).code(), Code::kInvalid);
  EXPECT_EQ(sw::Verify({kTv1Secret}, kTv1Id, "", kTv1Sig, kTv1Body, kTv1Ts).code(), Code::kInvalid);
  EXPECT_EQ(sw::Verify({kTv1Secret}, kTv1Id, ts, "", kTv1Body, kTv1Ts).code(), Code::kInvalid);
  EXPECT_EQ(sw::Verify({kTv1Secret}, kTv1Id, "16142x", kTv1Sig, kTv1Body, kTv1Ts).code(), Code::kInvalid);
}

TEST(StandardWebhooks, EnforcesTimestampTolerance) {
  const std::string ts = std::to_string(kTv1Ts);
  EXPECT_TRUE(sw::Verify({kTv1Secret}, kTv1Id, ts, kTv1Sig, kTv1Body, kTv1Ts + 300).ok());
  EXPECT_EQ(sw::Verify({kTv1Secret}, kTv1Id, ts, kTv1Sig, kTv1Body, kTv1Ts + 301).code(), Code::kAuth);
  EXPECT_TRUE(sw::Verify({kTv1Secret}, kTv1Id, ts, kTv1Sig, kTv1Body, kTv1Ts - 300).ok());
  EXPECT_EQ(sw::Verify({kTv1Secret}, kTv1Id, ts, kTv1Sig, kTv1Body, kTv1Ts - 301).code(), Code::kAuth);
}

TEST(StandardWebhooks, AcceptsAnyMatchingEntryOfMultiSignatureHeader) {
  const std::string bad = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
  const std::string header = bad + " v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= " + kTv1Sig + " " + bad;
  EXPECT_TRUE(sw::Verify({kTv1Secret}, kTv1Id, std::to_string(kTv1Ts), header, kTv1Body, kTv1Ts).ok());
}

TEST(StandardWebhooks, RotationSignsWithBothSecretsAndEitherVerifies) {
  SeededRng rng(3);
  const std::string fresh = sw::GenerateSecret(rng);
  ASSERT_EQ(fresh.rfind("whsec_", 0), 0u);
  auto key = sw::DecodeSecret(fresh);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->size(), 32u);
  auto headers = sw::Headers({fresh, kTv1Secret}, kTv1Id, kTv1Ts, kTv1Body);
  ASSERT_TRUE(headers.ok());
  ASSERT_EQ(headers->size(), 3u);
  const std::string sig = (*headers)[2].second;
  EXPECT_NE(sig.find(' '), std::string::npos);
  EXPECT_NE(sig.find(kTv1Sig), std::string::npos);
  EXPECT_TRUE(sw::VerifyHeaders({kTv1Secret}, *headers, kTv1Body, kTv1Ts).ok());
  EXPECT_TRUE(sw::VerifyHeaders({fresh}, *headers, kTv1Body, kTv1Ts).ok());
  EXPECT_FALSE(sw::VerifyHeaders({sw::GenerateSecret(rng)}, *headers, kTv1Body, kTv1Ts).ok());
}

TEST(StandardWebhooks, RejectsBadSecrets) {
  EXPECT_EQ(sw::Sign("whsec_", kTv1Id, kTv1Ts, kTv1Body).status().code(), Code::kInvalid);
  EXPECT_EQ(sw::Sign("whsec_not base64!", kTv1Id, kTv1Ts, kTv1Body).status().code(), Code::kInvalid);
  EXPECT_EQ(sw::SignatureHeader({}, kTv1Id, kTv1Ts, kTv1Body).status().code(), Code::kInvalid);
}

TEST(Crypto, Base64RoundTripsAndRejectsGarbage) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto back = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_FALSE(Base64Decode("Zm9").ok());
  EXPECT_FALSE(Base64Decode("Zm=v").ok());
  EXPECT_FALSE(Base64Decode("Zm9v*mFy").ok());
}

TEST(Crypto, PkceChallengeMatchesRfc7636AppendixB) {
  EXPECT_EQ(Base64UrlEncodeNoPad(Sha256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

// A receiver that fails the first `failures` deliveries, then accepts; it verifies every signature.
struct Receiver {
  explicit Receiver(int failures) : fail_first(failures) {
    auto s = HttpServer::Create({}, [this](Request& req) {
      const int n = ++received;
      Status verified = sw::VerifyHeaders({kTv1Secret}, req.headers, req.body, clock_now);
      if (verified.ok()) ++verified_ok;
      ids.push_back(req.Header("Webhook-Id").value_or(""));
      timestamps.push_back(req.Header("Webhook-Timestamp").value_or(""));
      return n <= fail_first ? Response::Text(500, "nope") : Response::Text(204, "");
    });
    EXPECT_TRUE(s.ok());
    server = std::move(*s);
    server->Start();
  }
  int fail_first;
  int64_t clock_now = 0;
  std::atomic<int> received{0};
  std::atomic<int> verified_ok{0};
  std::vector<std::string> ids, timestamps;  // written by one server thread at a time (serial deliveries)
  std::unique_ptr<HttpServer> server;
};

WebhookSenderOptions FastRetries(int attempts) {
  WebhookSenderOptions o;
  o.max_attempts = attempts;
  o.initial_backoff = std::chrono::milliseconds(5);
  o.max_backoff = std::chrono::milliseconds(20);
  return o;
}

TEST(WebhookSender, RetriesUntilDeliveredKeepingTheMessageId) {
  Clock clock;
  Stats stats;
  Receiver receiver(2);
  receiver.clock_now = clock.NowUnix();
  WebhookSender sender(clock, &stats, FastRetries(5));
  sender.SetSigner([](const WebhookMessage& m, int64_t ts) {
    return sw::Headers({kTv1Secret}, m.id, ts, m.body).value();
  });
  const std::string id = sender.Enqueue(receiver.server->base_url() + "/hook", R"({"event_type":"X"})", "X");
  ASSERT_TRUE(sender.WaitIdle(std::chrono::seconds(20)));
  EXPECT_EQ(receiver.received.load(), 3);
  EXPECT_EQ(receiver.verified_ok.load(), 3);
  for (const auto& seen : receiver.ids) EXPECT_EQ(seen, id);
  auto log = sender.Deliveries();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].state, "delivered");
  EXPECT_EQ(log[0].attempts, 3);
  EXPECT_EQ(log[0].last_status, 204);
  EXPECT_EQ(stats.webhooks_sent(), 1);
  EXPECT_EQ(stats.webhooks_failed(), 0);
  EXPECT_EQ(stats.webhook_attempts(), 3);
}

TEST(WebhookSender, GivesUpAfterMaxAttempts) {
  Clock clock;
  Stats stats;
  Receiver receiver(100);
  WebhookSender sender(clock, &stats, FastRetries(3));
  sender.Enqueue(receiver.server->base_url() + "/hook", "{}");
  ASSERT_TRUE(sender.WaitIdle(std::chrono::seconds(20)));
  EXPECT_EQ(receiver.received.load(), 3);
  auto log = sender.Deliveries();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].state, "failed");
  EXPECT_EQ(log[0].last_status, 500);
  EXPECT_EQ(stats.webhooks_failed(), 1);
  EXPECT_EQ(stats.webhooks_sent(), 0);
}

TEST(WebhookSender, RetriesTransportFailures) {
  Clock clock;
  Stats stats;
  uint16_t dead_port;
  {
    // Bind and release a port so nothing listens on it.
    auto s = HttpServer::Create({}, [](Request&) { return Response::Empty(200); });
    ASSERT_TRUE(s.ok());
    dead_port = (*s)->port();
  }
  WebhookSender sender(clock, &stats, FastRetries(2));
  sender.Enqueue("http://127.0.0.1:" + std::to_string(dead_port) + "/hook", "{}");
  ASSERT_TRUE(sender.WaitIdle(std::chrono::seconds(20)));
  auto log = sender.Deliveries();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].state, "failed");
  EXPECT_EQ(log[0].attempts, 2);
  EXPECT_EQ(log[0].last_status, 0);
  EXPECT_FALSE(log[0].last_error.empty());
}

TEST(WebhookSender, SignsEachAttemptAtTheSandboxClock) {
  Clock clock;
  clock.Advance(std::chrono::hours(2));
  Receiver receiver(0);
  WebhookSender sender(clock, nullptr, FastRetries(1));
  sender.SetSigner([](const WebhookMessage& m, int64_t ts) {
    return sw::Headers({kTv1Secret}, m.id, ts, m.body).value();
  });
  sender.Enqueue(receiver.server->base_url(), "{}");
  ASSERT_TRUE(sender.WaitIdle(std::chrono::seconds(20)));
  ASSERT_EQ(receiver.timestamps.size(), 1u);
  const int64_t ts = std::stoll(receiver.timestamps[0]);
  EXPECT_GE(ts, clock.NowUnix() - 60);  // two hours ahead of real time, like the clock
  EXPECT_GT(ts, std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                        .count() +
                    3600);
}

}  // namespace
}  // namespace mlc::sandbox
