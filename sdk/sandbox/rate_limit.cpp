// Fixed- and sliding-window request limits on the sandbox clock.
#include "mlc/sandbox/rate_limit.hpp"

namespace mlc::sandbox {

void RateLimiter::Configure(RateLimitOptions options) {
  std::lock_guard lock(mu_);
  options_ = options;
  buckets_.clear();
}

RateLimitOptions RateLimiter::options() const {
  std::lock_guard lock(mu_);
  return options_;
}

bool RateLimiter::enabled() const {
  std::lock_guard lock(mu_);
  return options_.limit > 0;
}

RateDecision RateLimiter::Admit(const std::string& key) {
  const TimePoint now = clock_.Now();
  std::lock_guard lock(mu_);
  RateDecision d;
  d.limit = options_.limit;
  if (options_.limit <= 0) return d;
  Bucket& b = buckets_[key];
  const auto window = options_.window;
  if (options_.kind == RateLimitOptions::Window::kSliding) {
    while (!b.hits.empty() && b.hits.front() <= now - window) b.hits.pop_front();
    if (static_cast<int64_t>(b.hits.size()) >= options_.limit) {
      d.allowed = false;
      d.retry_after = std::chrono::duration_cast<std::chrono::milliseconds>(b.hits.front() + window - now);
      return d;
    }
    b.hits.push_back(now);
    d.remaining = options_.limit - static_cast<int64_t>(b.hits.size());
    return d;
  }
  // Fixed windows are aligned to multiples of the window length since the epoch.
  const auto since_epoch = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  const TimePoint start = TimePoint(since_epoch - since_epoch % window);
  if (b.window_start != start) {
    b.window_start = start;
    b.count = 0;
  }
  if (b.count >= options_.limit) {
    d.allowed = false;
    d.retry_after = std::chrono::duration_cast<std::chrono::milliseconds>(start + window - now);
    return d;
  }
  ++b.count;
  d.remaining = options_.limit - b.count;
  return d;
}

void RateLimiter::Reset() {
  std::lock_guard lock(mu_);
  buckets_.clear();
}

}  // namespace mlc::sandbox
