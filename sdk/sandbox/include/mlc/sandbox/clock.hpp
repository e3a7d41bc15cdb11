// The sandbox's controllable clock (real time plus an offset) and RFC 3339 helpers.
//
// Emulators read time only through a Clock so tests can expire tokens, age rate-limit windows and make
// webhooks stale by advancing it (POST /_sandbox/clock {"advance_s": N}) instead of sleeping.
//
//   mlc::sandbox::Clock clock;
//   clock.Advance(std::chrono::hours(1));             // every token issued before now is expired
//   std::string ts = mlc::sandbox::FormatRfc3339(clock.Now(), /*micros=*/true);
//
// Thread safety: all Clock members may be called from any thread.
#ifndef MLC_SANDBOX_CLOCK_HPP_
#define MLC_SANDBOX_CLOCK_HPP_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mlc::sandbox {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  Clock() = default;
  Clock(const Clock&) = delete;
  Clock& operator=(const Clock&) = delete;

  // Real time plus the offset.
  TimePoint Now() const;
  // Seconds since the Unix epoch of Now().
  int64_t NowUnix() const;

  // Moves the clock forward (or back, for negative values) by `by`.
  void Advance(std::chrono::milliseconds by);
  void SetOffset(std::chrono::milliseconds offset);
  std::chrono::milliseconds Offset() const;
  // Back to real time.
  void Reset() { SetOffset(std::chrono::milliseconds(0)); }

 private:
  std::atomic<int64_t> offset_ms_{0};
};

// "2025-04-24T16:13:49Z", or with micros "2025-04-24T16:13:49.959513Z". Always UTC.
std::string FormatRfc3339(TimePoint t, bool micros = false);
// "2025-04-24" (UTC).
std::string FormatDate(TimePoint t);
// Parses RFC 3339 date-times ("2025-04-24T16:13:49.9Z", "+02:00" offsets) and, as vendors' query examples
// do, zone-less date-times ("2023-01-01T23:59:59.999", read as UTC) and plain dates ("2025-04-24").
// Returns nullopt for anything else.
std::optional<TimePoint> ParseRfc3339(std::string_view text);
// Midnight UTC of the civil date y-m-d.
TimePoint FromCivil(int year, int month, int day);

}  // namespace mlc::sandbox

#endif  // MLC_SANDBOX_CLOCK_HPP_
