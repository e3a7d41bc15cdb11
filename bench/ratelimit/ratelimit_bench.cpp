// Rate-limit benchmark: a loopback server enforces N requests per sliding second (429 beyond it); the host's
// client, limited to the same N per second, sends from several threads for a while. Reports the rate the
// server accepted as a percentage of the configured one, and how many 429s the client provoked.
// Goal: >= 95% and zero 429s.
//
//   mlc-bench-ratelimit [--rate 50] [--seconds 10] [--threads 8] [--json]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "http/http_client.hpp"
#include "http/rate_limiter.hpp"
#include "http/testing/test_server.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// The server side: a sliding log of accepted arrivals over the last second, as a strict vendor would keep.
class SlidingWindowServer {
 public:
  explicit SlidingWindowServer(int per_second)
      : per_second_(per_second),
        server_([this](const mlc::http::testing::TestRequest&) { return Handle(); },
                {.threads = 2, .keep_requests = false}) {}

  std::string Url() const { return server_.Url("/limited"); }
  void Stop() { server_.Stop(); }

  // Accepted arrivals in [from, to).
  int AcceptedBetween(Clock::time_point from, Clock::time_point to) {
    std::lock_guard lock(mu_);
    int n = 0;
    for (auto t : accepted_all_) n += (t >= from && t < to) ? 1 : 0;
    return n;
  }
  int rejected() const { return rejected_.load(); }

 private:
  mlc::http::testing::TestResponse Handle() {
    const auto now = Clock::now();
    std::lock_guard lock(mu_);
    while (!window_.empty() && window_.front() <= now - std::chrono::seconds(1)) window_.pop_front();
    if (static_cast<int>(window_.size()) >= per_second_) {
      rejected_.fetch_add(1);
      return {.status = 429, .headers = {{"Retry-After", "1"}}, .body = "rate limited"};
    }
    window_.push_back(now);
    accepted_all_.push_back(now);
    return {.status = 200, .body = "ok"};
  }

  const int per_second_;
  std::mutex mu_;
  std::deque<Clock::time_point> window_;
  std::vector<Clock::time_point> accepted_all_;
  std::atomic<int> rejected_{0};
  mlc::http::testing::TestServer server_;  // last: stops (in its destructor) before the state above goes
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Client rate limiter against a server enforcing the same limit"};
  int rate = 50;
  double seconds = 10;
  int threads = 8;
  bool json = false;
  app.add_option("--rate", rate, "requests per second, enforced by both sides")->check(CLI::Range(1, 100000));
  app.add_option("--seconds", seconds, "measured run time")->check(CLI::Range(0.5, 3600.0));
  app.add_option("--threads", threads, "client threads")->check(CLI::Range(1, 256));
  app.add_flag("--json", json, "print one JSON object instead of text");
  CLI11_PARSE(app, argc, argv);

  SlidingWindowServer server(rate);
  mlc::http::RateLimiter limiter({.windows = {{rate, std::chrono::seconds(1)}}});
  mlc::http::HttpClient client;
  // No retries: every 429 must be seen and counted, not absorbed.
  mlc::http::RetryPolicy policy{.max_attempts = 1, .refused_statuses = {}, .retry_statuses = {}};

  const auto start = Clock::now();
  const auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::atomic<int> responses_429{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      while (Clock::now() < deadline) {
        auto res = client.Send({.method = "GET", .url = server.Url()}, policy, &limiter);
        if (!res.ok()) {
          errors.fetch_add(1);
        } else if (res->status == 429) {
          responses_429.fetch_add(1);
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  server.Stop();

  const int accepted = server.AcceptedBetween(start, deadline);
  const double expected = rate * seconds;
  const double pct = 100.0 * accepted / expected;
  const bool goal_met = pct >= 95.0 && responses_429.load() == 0 && server.rejected() == 0;
  if (json) {
    std::printf(
        "{\"rate_per_s\":%d,\"seconds\":%.3f,\"threads\":%d,\"accepted\":%d,\"expected\":%.0f,"
        "\"achieved_pct\":%.2f,\"responses_429\":%d,\"errors\":%d,\"goal_met\":%s}\n",
        rate, seconds, threads, accepted, expected, pct, responses_429.load(), errors.load(),
        goal_met ? "true" : "false");
  } else {
    std::printf("rate limit: %d req/s on both sides (server: sliding 1 s window), %d threads, %.1f s\n", rate,
                threads, seconds);
    std::printf(
        "  accepted by the server in the run: %d of %.0f configured -> %.1f%% of the configured rate\n",
        accepted, expected, pct);
    std::printf("  429 responses: %d   transport errors: %d\n", responses_429.load(), errors.load());
    std::printf("  goal (>= 95%%, zero 429s): %s\n", goal_met ? "met" : "NOT met");
  }
  return goal_met ? 0 : 1;
}
