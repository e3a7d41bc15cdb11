// Real-time accuracy of the rate limiter (ctest label `reliability`; about 20 s): at 100 requests/s the
// count admitted over 10 s must be within ±5% of 1000, both for bare permits and for requests that a
// loopback server actually receives.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "http/http_client.hpp"
#include "http/rate_limiter.hpp"
#include "http/testing/test_server.hpp"

namespace mlc::http {
namespace {

using std::chrono::seconds;
using std::chrono::steady_clock;

constexpr int kPerSecond = 100;
constexpr auto kRun = seconds(10);
constexpr int kExpected = 1000;
constexpr int kTolerance = kExpected * 5 / 100;

TEST(RateLimiterReliabilityTest, PermitsOverTenSecondsAtHundredPerSecond) {
  RateLimiter limiter({.windows = {{kPerSecond, seconds(1)}}});
  const auto start = steady_clock::now();
  const auto deadline = start + kRun;
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (;;) {
        RateLimiter::Permit p = limiter.Acquire();
        if (steady_clock::now() >= deadline) return;
        granted.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_NEAR(granted.load(), kExpected, kTolerance);
}

TEST(RateLimiterReliabilityTest, RequestsReceivedOverTenSecondsAtHundredPerSecond) {
  std::mutex mu;
  std::vector<steady_clock::time_point> arrivals;
  testing::TestServer server(
      [&](const testing::TestRequest&) {
        std::lock_guard lock(mu);
        arrivals.push_back(steady_clock::now());
        return testing::TestResponse{.status = 200, .body = "ok"};
      },
      {.threads = 2, .keep_requests = false});
  RateLimiter limiter({.windows = {{kPerSecond, seconds(1)}}});
  HttpClient client;
  const auto start = steady_clock::now();
  const auto deadline = start + kRun;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (steady_clock::now() < deadline) {
        auto res =
            client.Send(HttpRequest{.method = "GET", .url = server.Url("/tick")}, RetryPolicy{}, &limiter);
        if (!res.ok() || res->status != 200) failures.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  server.Stop();
  int in_run = 0;
  for (auto t : arrivals) in_run += (t >= start && t < deadline) ? 1 : 0;
  EXPECT_EQ(failures.load(), 0);
  EXPECT_NEAR(in_run, kExpected, kTolerance);
}

}  // namespace
}  // namespace mlc::http
