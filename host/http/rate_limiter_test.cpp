// Rate limiter tests on a manual clock (windows, several windows, concurrency cap, penalties, registry) plus
// a threaded property check: no window ever admits more than N arrivals, wherever a request lands in [grant,
// release].
#include "http/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>

namespace mlc::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Asserts that in the sorted `arrivals`, no half-open interval of length `window` holds more than `n`.
void ExpectWindowRespected(std::vector<SteadyTime> arrivals, int64_t n, Duration window) {
  std::sort(arrivals.begin(), arrivals.end());
  for (size_t k = 0; k + static_cast<size_t>(n) < arrivals.size(); ++k) {
    const Duration gap = arrivals[k + static_cast<size_t>(n)] - arrivals[k];
    ASSERT_GE(gap, window) << "arrivals " << k << " and " << k + n << " fall inside one window";
  }
}

TEST(RateLimiterTest, SingleWindowAdmitsNThenWaitsForTheWindow) {
  ManualClock clock;
  RateLimiter limiter({.windows = {{3, seconds(10)}}}, &clock, &clock);
  for (int i = 0; i < 3; ++i) {
    auto permit = limiter.TryAcquire();
    ASSERT_TRUE(permit.has_value()) << i;
  }
  Duration wait{};
  EXPECT_FALSE(limiter.TryAcquire(&wait).has_value());
  EXPECT_EQ(wait, seconds(10));
  clock.Advance(seconds(9));
  EXPECT_FALSE(limiter.TryAcquire(&wait).has_value());
  EXPECT_EQ(wait, seconds(1));
  clock.Advance(seconds(1));
  EXPECT_TRUE(limiter.TryAcquire().has_value());
}

TEST(RateLimiterTest, AcquireSleepsExactlyUntilATokenCoolsDown) {
  ManualClock clock;
  RateLimiter limiter({.windows = {{2, seconds(1)}}}, &clock, &clock);
  const SteadyTime t0 = clock.Now();
  std::vector<Duration> granted_at;
  for (int i = 0; i < 5; ++i) {
    RateLimiter::Permit p = limiter.Acquire();
    EXPECT_TRUE(p.held());
    granted_at.push_back(clock.Now() - t0);
  }
  EXPECT_EQ(granted_at, (std::vector<Duration>{seconds(0), seconds(0), seconds(1), seconds(1), seconds(2)}));
  EXPECT_EQ(clock.sleeps(), (std::vector<Duration>{seconds(1), seconds(1)}));
}

TEST(RateLimiterTest, CooldownStartsWhenTheRequestFinishes) {
  ManualClock clock;
  RateLimiter limiter({.windows = {{1, seconds(10)}}}, &clock, &clock);
  auto permit = limiter.TryAcquire();
  ASSERT_TRUE(permit.has_value());
  Duration wait{};
  EXPECT_FALSE(limiter.TryAcquire(&wait).has_value());
  EXPECT_EQ(wait, Duration::max()) << "the only token is in flight: wait for a release";
  clock.Advance(seconds(5));  // a slow response: the server may have counted it as late as now
  permit->Release();
  clock.Advance(seconds(5));
  EXPECT_FALSE(limiter.TryAcquire(&wait).has_value());
  EXPECT_EQ(wait, seconds(5)) << "10 s after the release, not after the grant";
}

TEST(RateLimiterTest, IdleBurstNeverExceedsTheWindow) {
  // The case that breaks a refilling token bucket: a full burst, then a second burst one window later.
  ManualClock clock;
  const int64_t n = 10;
  RateLimiter limiter({.windows = {{n, seconds(1)}}}, &clock, &clock);
  std::vector<SteadyTime> grants;
  for (int i = 0; i < 35; ++i) {
    limiter.Acquire();  // released at once
    grants.push_back(clock.Now());
    if (i == 12) clock.Advance(milliseconds(700));  // some idle time mid-way
  }
  ExpectWindowRespected(grants, n, seconds(1));
}

TEST(RateLimiterTest, SeveralWindowsAllApply) {
  // Expensify: 5 per 10 s and 20 per 60 s.
  ManualClock clock;
  RateLimiter limiter({.windows = {{5, seconds(10)}, {20, seconds(60)}}}, &clock, &clock);
  const SteadyTime t0 = clock.Now();
  std::vector<SteadyTime> grants;
  for (int i = 0; i < 30; ++i) {
    limiter.Acquire();
    grants.push_back(clock.Now());
  }
  auto at = [&](int i) { return std::chrono::duration_cast<seconds>(grants[static_cast<size_t>(i)] - t0); };
  EXPECT_EQ(at(0), seconds(0));
  EXPECT_EQ(at(4), seconds(0));
  EXPECT_EQ(at(5), seconds(10));
  EXPECT_EQ(at(19), seconds(30));
  EXPECT_EQ(at(20), seconds(60)) << "the 60 s window holds the 21st request back";
  EXPECT_EQ(at(25), seconds(70));
  ExpectWindowRespected(grants, 5, seconds(10));
  ExpectWindowRespected(grants, 20, seconds(60));
}

TEST(RateLimiterTest, ConcurrencyCapBlocksUntilARelease) {
  ManualClock clock;
  RateLimiter limiter({.windows = {}, .max_concurrent = 2}, &clock, &clock);
  auto a = limiter.TryAcquire();
  auto b = limiter.TryAcquire();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(limiter.in_flight(), 2);
  Duration wait{};
  EXPECT_FALSE(limiter.TryAcquire(&wait).has_value());
  EXPECT_EQ(wait, Duration::max());

  std::atomic<bool> got{false};
  std::thread waiter([&] {
    RateLimiter::Permit p = limiter.Acquire();
    got = true;
  });
  a->Release();  // the blocked Acquire must wake up
  waiter.join();
  EXPECT_TRUE(got.load());
  EXPECT_EQ(limiter.in_flight(), 1);
  EXPECT_TRUE(clock.sleeps().empty()) << "a concurrency wait is not a timed sleep";
}

TEST(RateLimiterTest, PermitsMoveAndReleaseOnce) {
  ManualClock clock;
  RateLimiter limiter({.windows = {}, .max_concurrent = 1}, &clock, &clock);
  RateLimiter::Permit outer;
  {
    RateLimiter::Permit p = limiter.Acquire();
    outer = std::move(p);
    EXPECT_FALSE(p.held());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  }
  EXPECT_EQ(limiter.in_flight(), 1);
  outer.Release();
  outer.Release();
  EXPECT_EQ(limiter.in_flight(), 0);
}

TEST(RateLimiterTest, PenalizePausesEveryoneAndNeverShortens) {
  ManualClock clock;
  RateLimiter limiter({.windows = {{100, seconds(1)}}}, &clock, &clock);
  limiter.Penalize(seconds(30));
  limiter.Penalize(seconds(5));  // shorter: ignored
  Duration wait{};
  EXPECT_FALSE(limiter.TryAcquire(&wait).has_value());
  EXPECT_EQ(wait, seconds(30));
  EXPECT_EQ(limiter.PausedFor(), seconds(30));
  limiter.Acquire();
  EXPECT_EQ(limiter.PausedFor(), Duration::zero());
  EXPECT_EQ(clock.sleeps(), (std::vector<Duration>{seconds(30)}));
  EXPECT_TRUE(limiter.TryAcquire().has_value()) << "the pause is over";
}

TEST(RateLimiterTest, NoWindowsMeansNoWaiting) {
  ManualClock clock;
  RateLimiter limiter({}, &clock, &clock);
  for (int i = 0; i < 1000; ++i) limiter.Acquire();
  EXPECT_TRUE(clock.sleeps().empty());
}

TEST(RateLimiterTest, ValidateRejectsBadConfigs) {
  EXPECT_EQ(RateLimiter::Validate({.windows = {{0, seconds(1)}}}).code(), Code::kInvalid);
  EXPECT_EQ(RateLimiter::Validate({.windows = {{5, seconds(0)}}}).code(), Code::kInvalid);
  EXPECT_EQ(RateLimiter::Validate({.windows = {}, .max_concurrent = -1}).code(), Code::kInvalid);
  EXPECT_TRUE(
      RateLimiter::Validate({.windows = {{6000, std::chrono::minutes(5)}}, .max_concurrent = 5}).ok());
}

TEST(RateLimiterRegistryTest, OneLimiterPerConnection) {
  ManualClock clock;
  RateLimiterRegistry registry(&clock, &clock);
  auto a = registry.Get("zoho-main", {.windows = {{100, std::chrono::minutes(1)}}});
  auto b = registry.Get("zoho-main", {.windows = {{1, seconds(1)}}});  // first config wins
  auto c = registry.Get("brex", {.windows = {{1000, seconds(60)}}});
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_NE(a->get(), c->get());
  EXPECT_EQ((*b)->config().windows.at(0).max_requests, 100);
  EXPECT_EQ(registry.Find("brex"), *c);
  EXPECT_EQ(registry.Find("nobody"), nullptr);

  auto bad = registry.Get("broken", {.windows = {{0, seconds(1)}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalid);
  EXPECT_NE(bad.status().message().find("broken"), std::string::npos);

  registry.Remove("zoho-main");
  auto fresh = registry.Get("zoho-main", {.windows = {{1, seconds(1)}}});
  ASSERT_TRUE(fresh.ok());
  EXPECT_NE(fresh->get(), a->get());
  EXPECT_EQ((*a)->config().windows.at(0).max_requests, 100) << "old holders keep a working limiter";
}

// Real threads and the real clock; the assertion is a property of the recorded times, not a timing bound.
TEST(RateLimiterTest, ThreadedArrivalsNeverExceedAnyWindow) {
  const int64_t n = 20;
  const Duration window = milliseconds(100);
  RateLimiter limiter({.windows = {{n, window}, {5, milliseconds(20)}}, .max_concurrent = 6});
  std::mutex mu;
  std::vector<SteadyTime> at_grant;
  std::vector<SteadyTime> at_release;
  std::vector<SteadyTime> at_random;
  std::atomic<int> concurrent{0};
  std::atomic<int> max_concurrent{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      for (int i = 0; i < 15; ++i) {
        RateLimiter::Permit p = limiter.Acquire();
        const SteadyTime granted = std::chrono::steady_clock::now();
        const int now_in = ++concurrent;
        int seen = max_concurrent.load();
        while (now_in > seen && !max_concurrent.compare_exchange_weak(seen, now_in)) {
        }
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
        --concurrent;
        const SteadyTime released = std::chrono::steady_clock::now();
        p.Release();
        std::lock_guard lock(mu);
        at_grant.push_back(granted);
        at_release.push_back(released);
        at_random.push_back(granted + (released - granted) * (rng() % 1000) / 1000);
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(at_grant.size(), 120u);
  EXPECT_LE(max_concurrent.load(), 6);
  for (const auto* arrivals : {&at_grant, &at_release, &at_random}) {
    ExpectWindowRespected(*arrivals, n, window);
    ExpectWindowRespected(*arrivals, 5, milliseconds(20));
  }
}

}  // namespace
}  // namespace mlc::http
