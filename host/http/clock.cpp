// Real and manual clocks for the HTTP service (see clock.hpp).
#include "http/clock.hpp"

#include <thread>

namespace mlc::http {

void SystemClock::SleepFor(Duration d) {
  if (d > Duration::zero()) std::this_thread::sleep_for(d);
}

SystemClock& DefaultClock() {
  static SystemClock clock;
  return clock;
}

// Fixed, arbitrary starting points keep manual-clock tests reproducible: 2024-01-01T00:00:00Z.
ManualClock::ManualClock()
    : steady_(SteadyTime(std::chrono::hours(1000))), wall_(WallTime(std::chrono::seconds(1704067200))) {}

SteadyTime ManualClock::Now() const {
  std::lock_guard lock(mu_);
  return steady_;
}

WallTime ManualClock::WallNow() const {
  std::lock_guard lock(mu_);
  return wall_;
}

void ManualClock::SleepFor(Duration d) {
  std::lock_guard lock(mu_);
  sleeps_.push_back(d);
  if (d > Duration::zero()) {
    steady_ += d;
    wall_ += std::chrono::duration_cast<WallTime::duration>(d);
  }
}

void ManualClock::Advance(Duration d) {
  std::lock_guard lock(mu_);
  steady_ += d;
  wall_ += std::chrono::duration_cast<WallTime::duration>(d);
}

void ManualClock::SetWall(WallTime wall) {
  std::lock_guard lock(mu_);
  wall_ = wall;
}

std::vector<Duration> ManualClock::sleeps() const {
  std::lock_guard lock(mu_);
  return sleeps_;
}

void ManualClock::ClearSleeps() {
  std::lock_guard lock(mu_);
  sleeps_.clear();
}

}  // namespace mlc::http
