// Time for the HTTP service: a monotonic clock, a wall clock and a sleeper behind small interfaces, so
// retries and rate limits can be tested without waiting (ManualClock) and run for real in production.
//
//   mlc::http::ManualClock clock;                 // starts at an arbitrary fixed instant
//   policy.clock = &clock; policy.sleeper = &clock;
//   ... client.Send(req, policy, nullptr) ...    // every backoff lands in clock.sleeps(), none is slept
//
// Ownership: whoever installs a Clock/Sleeper (in a RetryPolicy or a RateLimiter) keeps it alive for as long
// as they use it. SystemClock() is a process-lifetime singleton.
// Thread safety: every method of SystemClock and ManualClock may be called from any thread.
#ifndef MLC_HOST_HTTP_CLOCK_HPP_
#define MLC_HOST_HTTP_CLOCK_HPP_

#include <chrono>
#include <mutex>
#include <vector>

namespace mlc::http {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using Duration = std::chrono::nanoseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time: all budgets, windows and pauses are measured on it.
  virtual SteadyTime Now() const = 0;
  // Calendar time: only for turning absolute hints (HTTP-date, epoch seconds) into durations.
  virtual WallTime WallNow() const = 0;
};

class Sleeper {
 public:
  virtual ~Sleeper() = default;
  // Blocks the calling thread for `d` (non-positive durations return at once).
  virtual void SleepFor(Duration d) = 0;
};

// The real clocks and std::this_thread::sleep_for. One shared instance.
class SystemClock final : public Clock, public Sleeper {
 public:
  SteadyTime Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
  void SleepFor(Duration d) override;
};
SystemClock& DefaultClock();

// A clock that only moves when told to, or when something "sleeps" on it (the sleep advances time at once
// and is recorded). For tests.
class ManualClock final : public Clock, public Sleeper {
 public:
  ManualClock();
  SteadyTime Now() const override;
  WallTime WallNow() const override;
  void SleepFor(Duration d) override;  // records d, advances both clocks by max(d, 0)

  void Advance(Duration d);
  void SetWall(WallTime wall);  // moves only the calendar clock
  std::vector<Duration> sleeps() const;
  void ClearSleeps();

 private:
  mutable std::mutex mu_;
  SteadyTime steady_;
  WallTime wall_;
  std::vector<Duration> sleeps_;
};

}  // namespace mlc::http

#endif  // MLC_HOST_HTTP_CLOCK_HPP_
