// Rate limiter: per-window token cooldowns that start when a request finishes, FIFO waiters, a concurrency
// cap and shared pauses after 429s (see rate_limiter.hpp for why this bound holds).
#include "http/rate_limiter.hpp"

#include <algorithm>
#include <string>

namespace mlc::http {

RateLimiter::Permit& RateLimiter::Permit::operator=(Permit&& other) noexcept {
  if (this != &other) {
    Release();
    limiter_ = std::exchange(other.limiter_, nullptr);
  }
  return *this;
}

void RateLimiter::Permit::Release() {
  if (limiter_ != nullptr) std::exchange(limiter_, nullptr)->Release();
}

Status RateLimiter::Validate(const RateLimitConfig& config) {
  for (size_t i = 0; i < config.windows.size(); ++i) {
    const RateWindow& w = config.windows[i];
    if (w.max_requests < 1) {
      return Status::Invalid("rate window " + std::to_string(i) + ": max_requests must be at least 1");
    }
    if (w.window <= Duration::zero()) {
      return Status::Invalid("rate window " + std::to_string(i) + ": window must be positive");
    }
  }
  if (config.max_concurrent < 0) return Status::Invalid("max_concurrent must be 0 (no cap) or positive");
  return Status::Ok();
}

RateLimiter::RateLimiter(RateLimitConfig config, Clock* clock, Sleeper* sleeper)
    : config_(std::move(config)), clock_(clock), sleeper_(sleeper) {
  for (const RateWindow& w : config_.windows) {
    if (w.max_requests < 1 || w.window <= Duration::zero()) continue;
    WindowState state{w.window, {}, 0};
    // Every token starts usable (an idle connection may send N at once, exactly what the server allows).
    state.unused = w.max_requests;
    windows_.push_back(std::move(state));
  }
}

bool RateLimiter::TryTakeLocked(SteadyTime now, Duration* wait) {
  if (config_.max_concurrent > 0 && in_flight_ >= config_.max_concurrent) {
    *wait = Duration::max();
    return false;
  }
  SteadyTime ready = paused_until_;
  for (const WindowState& w : windows_) {
    if (w.unused > 0) continue;  // a never-used token is ready now
    if (w.ready_at.empty()) {    // all N tokens belong to requests still in flight
      *wait = Duration::max();
      return false;
    }
    ready = std::max(ready, w.ready_at.top());
  }
  if (ready > now) {
    *wait = ready - now;
    return false;
  }
  for (WindowState& w : windows_) {
    if (w.unused > 0) {
      --w.unused;
    } else {
      w.ready_at.pop();
    }
  }
  ++in_flight_;
  return true;
}

RateLimiter::Permit RateLimiter::Acquire() {
  std::unique_lock lock(mu_);
  const uint64_t ticket = next_ticket_++;
  released_or_turn_.wait(lock, [&] { return serving_ == ticket; });
  for (;;) {
    Duration wait{};
    if (TryTakeLocked(clock_->Now(), &wait)) {
      ++serving_;
      released_or_turn_.notify_all();
      return Permit(this);
    }
    if (wait == Duration::max()) {
      released_or_turn_.wait(lock);
      continue;
    }
    // Only time stands in the way. A release never makes a token ready earlier than one already waiting
    // (it is ready at release + W, later than any earlier release + W), and Penalize only delays, so
    // sleeping for the computed time and re-checking is exact.
    lock.unlock();
    sleeper_->SleepFor(wait);
    lock.lock();
  }
}

std::optional<RateLimiter::Permit> RateLimiter::TryAcquire(Duration* wait) {
  std::lock_guard lock(mu_);
  Duration w{};
  if (next_ticket_ != serving_) {  // others are queued in Acquire
    if (wait != nullptr) *wait = Duration::max();
    return std::nullopt;
  }
  if (!TryTakeLocked(clock_->Now(), &w)) {
    if (wait != nullptr) *wait = w;
    return std::nullopt;
  }
  if (wait != nullptr) *wait = Duration::zero();
  return Permit(this);
}

void RateLimiter::Release() {
  {
    std::lock_guard lock(mu_);
    const SteadyTime now = clock_->Now();
    for (WindowState& w : windows_) w.ready_at.push(now + w.length);
    --in_flight_;
  }
  released_or_turn_.notify_all();
}

void RateLimiter::Penalize(Duration d) {
  if (d <= Duration::zero()) return;
  std::lock_guard lock(mu_);
  const SteadyTime now = clock_->Now();
  // Saturate instead of overflowing on absurd hints.
  const SteadyTime until = (SteadyTime::max() - now < d) ? SteadyTime::max() : now + d;
  paused_until_ = std::max(paused_until_, until);
}

SteadyTime RateLimiter::paused_until() const {
  std::lock_guard lock(mu_);
  return paused_until_;
}

Duration RateLimiter::PausedFor() const {
  std::lock_guard lock(mu_);
  const SteadyTime now = clock_->Now();
  return paused_until_ > now ? paused_until_ - now : Duration::zero();
}

int RateLimiter::in_flight() const {
  std::lock_guard lock(mu_);
  return in_flight_;
}

RateLimiterRegistry::RateLimiterRegistry(Clock* clock, Sleeper* sleeper) : clock_(clock), sleeper_(sleeper) {}

Result<std::shared_ptr<RateLimiter>> RateLimiterRegistry::Get(const std::string& connection,
                                                              const RateLimitConfig& config) {
  std::lock_guard lock(mu_);
  auto it = limiters_.find(connection);
  if (it != limiters_.end()) return it->second;
  Status valid = RateLimiter::Validate(config);
  if (!valid.ok()) return valid.Wrap("rate limits of connection '" + connection + "'");
  auto limiter = std::make_shared<RateLimiter>(config, clock_, sleeper_);
  limiters_.emplace(connection, limiter);
  return limiter;
}

std::shared_ptr<RateLimiter> RateLimiterRegistry::Find(const std::string& connection) const {
  std::lock_guard lock(mu_);
  auto it = limiters_.find(connection);
  return it == limiters_.end() ? nullptr : it->second;
}

void RateLimiterRegistry::Remove(const std::string& connection) {
  std::lock_guard lock(mu_);
  limiters_.erase(connection);
}

}  // namespace mlc::http
