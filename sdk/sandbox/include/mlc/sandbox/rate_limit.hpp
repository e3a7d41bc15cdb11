// Request rate limiting for emulators: N requests per window, fixed or sliding, per key (a token or a
// client id, as the vendor counts). Time comes from the sandbox Clock so tests age windows instantly.
//
//   RateLimiter limiter(clock);
//   limiter.Configure({.limit = 1000, .window = std::chrono::seconds(60)});
//   RateDecision d = limiter.Admit("client-1");
//   if (!d.allowed) return VendorTooManyRequests(d.retry_after);
//
// Thread safety: every member may be called from any thread.
#ifndef MLC_SANDBOX_RATE_LIMIT_HPP_
#define MLC_SANDBOX_RATE_LIMIT_HPP_

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>

#include "mlc/sandbox/clock.hpp"

namespace mlc::sandbox {

struct RateLimitOptions {
  enum class Window { kFixed, kSliding };
  int64_t limit = 0;  // 0 disables limiting
  std::chrono::milliseconds window{60000};
  Window kind = Window::kSliding;
};

struct RateDecision {
  bool allowed = true;
  int64_t limit = 0;
  int64_t remaining = 0;                     // after this request
  std::chrono::milliseconds retry_after{0};  // when rejected: until a slot frees up
};

class RateLimiter {
 public:
  explicit RateLimiter(const Clock& clock) : clock_(clock) {}

  void Configure(RateLimitOptions options);
  RateLimitOptions options() const;
  bool enabled() const;
  // Counts the request against `key` when allowed; a rejected request does not consume a slot.
  RateDecision Admit(const std::string& key);
  void Reset();

 private:
  struct Bucket {
    std::deque<TimePoint> hits;  // sliding window: admitted request times
    TimePoint window_start{};    // fixed window
    int64_t count = 0;
  };
  const Clock& clock_;
  mutable std::mutex mu_;
  RateLimitOptions options_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace mlc::sandbox

#endif  // MLC_SANDBOX_RATE_LIMIT_HPP_
