// Seeded RNG determinism, rate-limit windows on the sandbox clock, idempotency store.
#include "mlc/sandbox/seed.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "mlc/sandbox/idempotency.hpp"
#include "mlc/sandbox/rate_limit.hpp"

namespace mlc::sandbox {
namespace {

TEST(SeededRng, IsDeterministicPerSeed) {
  SeededRng a(42), b(42), c(43);
  std::vector<uint64_t> va, vb, vc;
  for (int i = 0; i < 50; ++i) {
    va.push_back(a.Next());
    vb.push_back(b.Next());
    vc.push_back(c.Next());
  }
  EXPECT_EQ(va, vb);
  EXPECT_NE(va, vc);
  // Pinned so a change of algorithm (which would change every emulator's data) is noticed.
  SeededRng pinned(1);
  EXPECT_EQ(pinned.Alnum(12), SeededRng(1).Alnum(12));
}

TEST(SeededRng, UniformStaysInRangeAndCoversIt) {
  SeededRng rng(5);
  std::set<int64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    const int64_t v = rng.Uniform(-3, 3);
    ASSERT_GE(v, -3);
    ASSERT_LE(v, 3);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_EQ(rng.Uniform(9, 9), 9);
  for (int i = 0; i < 1000; ++i) {
    const double u = rng.Unit();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
  EXPECT_TRUE(std::regex_match(rng.Id("expense_"), std::regex("expense_[a-z0-9]{25}")));
  EXPECT_TRUE(std::regex_match(rng.UpperAlnum(8), std::regex("[A-Z0-9]{8}")));
}

TEST(AgencyData, MerchantsCoverTheAgencySpendAndDescriptorsLookReal) {
  std::set<SpendKind> kinds;
  std::set<std::string> names;
  for (const auto& m : AgencyMerchants()) {
    kinds.insert(m.kind);
    names.insert(m.name);
    EXPECT_EQ(m.mcc.size(), 4u) << m.name;
    EXPECT_LE(m.min_cents, m.max_cents) << m.name;
    EXPECT_GT(m.min_cents, 0) << m.name;
  }
  EXPECT_EQ(kinds.size(), 8u);
  for (const char* n :
       {"Amazon Web Services", "GitHub", "Figma", "Slack", "Google Workspace", "Delta Air Lines",
        "United Airlines", "Uber", "Lyft", "Marriott", "Meta", "Google Ads", "LinkedIn"}) {
    EXPECT_TRUE(names.count(n)) << n;
  }
  SeededRng rng(9);
  for (const auto& m : AgencyMerchants()) {
    const std::string d = CardDescriptor(m, rng);
    EXPECT_EQ(d.size(), m.descriptor_template.size());
    EXPECT_EQ(d.find('#'), std::string::npos);
    EXPECT_EQ(d.find('@'), std::string::npos);
    if (m.name == "Meta") {
      EXPECT_TRUE(std::regex_match(d, std::regex("FACEBK \\*ADS [A-Z0-9]{6}"))) << d;
    }
    if (m.name == "Amazon") {
      EXPECT_TRUE(std::regex_match(d, std::regex("AMZN Mktp US\\*[A-Z0-9]{9}"))) << d;
    }
    const int64_t cents = m.RandomAmountCents(rng);
    EXPECT_GE(cents, m.min_cents);
    EXPECT_LE(cents, m.max_cents);
  }
  EXPECT_GE(AgencyPeople().size(), 5u);
  EXPECT_GE(AgencyVendorNames().size(), 10u);
  EXPECT_GE(AgencyClients().size(), 3u);
}

TEST(RateLimiter, SlidingWindowFreesSlotsAsTheyAge) {
  Clock clock;
  RateLimiter limiter(clock);
  EXPECT_TRUE(limiter.Admit("k").allowed);  // disabled: everything passes
  limiter.Configure(
      {.limit = 3, .window = std::chrono::seconds(60), .kind = RateLimitOptions::Window::kSliding});
  EXPECT_TRUE(limiter.Admit("k").allowed);
  clock.Advance(std::chrono::seconds(30));
  EXPECT_TRUE(limiter.Admit("k").allowed);
  RateDecision third = limiter.Admit("k");
  EXPECT_TRUE(third.allowed);
  EXPECT_EQ(third.remaining, 0);
  RateDecision fourth = limiter.Admit("k");
  EXPECT_FALSE(fourth.allowed);
  EXPECT_GT(fourth.retry_after.count(), 29000);
  EXPECT_LE(fourth.retry_after.count(), 30000);
  EXPECT_TRUE(limiter.Admit("other").allowed);
  clock.Advance(std::chrono::seconds(31));  // the first hit has aged out
  EXPECT_TRUE(limiter.Admit("k").allowed);
  EXPECT_FALSE(limiter.Admit("k").allowed);
}

TEST(RateLimiter, FixedWindowResetsAtTheBoundary) {
  Clock clock;
  RateLimiter limiter(clock);
  limiter.Configure(
      {.limit = 2, .window = std::chrono::seconds(10), .kind = RateLimitOptions::Window::kFixed});
  // Move to the start of a window so the test does not straddle a boundary.
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now().time_since_epoch()).count();
  clock.Advance(std::chrono::milliseconds(10000 - ms % 10000 + 1));
  EXPECT_TRUE(limiter.Admit("k").allowed);
  EXPECT_TRUE(limiter.Admit("k").allowed);
  RateDecision d = limiter.Admit("k");
  EXPECT_FALSE(d.allowed);
  EXPECT_LE(d.retry_after.count(), 10000);
  clock.Advance(std::chrono::seconds(10));
  EXPECT_TRUE(limiter.Admit("k").allowed);
  limiter.Reset();
  EXPECT_TRUE(limiter.Admit("k").allowed);
}

TEST(IdempotencyStore, ReplaysByScopeAndKey) {
  IdempotencyStore store;
  EXPECT_FALSE(store.Find("POST /v1/vendors", "k1").has_value());
  store.Remember("POST /v1/vendors", "k1", Response::Json(200, {{"id", "v1"}}));
  auto hit = store.Find("POST /v1/vendors", "k1");
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->body, R"({"id":"v1"})");
  EXPECT_FALSE(store.Find("POST /v1/transfers", "k1").has_value());
  EXPECT_EQ(store.size(), 1u);
  store.Clear();
  EXPECT_EQ(store.size(), 0u);
}

}  // namespace
}  // namespace mlc::sandbox
