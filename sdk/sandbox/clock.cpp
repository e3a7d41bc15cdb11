// Controllable clock and RFC 3339 formatting/parsing (on mlc/time.hpp) for the sandbox kit.
#include "mlc/sandbox/clock.hpp"

#include "mlc/time.hpp"

namespace mlc::sandbox {

TimePoint Clock::Now() const {
  return std::chrono::system_clock::now() + std::chrono::milliseconds(offset_ms_.load());
}

int64_t Clock::NowUnix() const {
  return std::chrono::duration_cast<std::chrono::seconds>(Now().time_since_epoch()).count();
}

void Clock::Advance(std::chrono::milliseconds by) { offset_ms_ += by.count(); }
void Clock::SetOffset(std::chrono::milliseconds offset) { offset_ms_ = offset.count(); }
std::chrono::milliseconds Clock::Offset() const { return std::chrono::milliseconds(offset_ms_.load()); }

namespace {

int64_t UnixMicros(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

}  // namespace

TimePoint FromCivil(int year, int month, int day) {
  return TimePoint(std::chrono::seconds(time::DaysFromCivil(year, month, day) * time::kSecondsPerDay));
}

std::string FormatRfc3339(TimePoint t, bool micros) {
  const int64_t us = UnixMicros(t);
  return micros ? time::FormatRfc3339Micros(us) : time::FormatRfc3339(time::FloorDiv(us, 1000000));
}

std::string FormatDate(TimePoint t) { return time::FormatDateOf(time::FloorDiv(UnixMicros(t), 1000000)); }

std::optional<TimePoint> ParseRfc3339(std::string_view s) {
  const auto us = time::ParseRfc3339Micros(s, {.zone_optional = true, .date_only = true});
  if (!us) return std::nullopt;
  return TimePoint(std::chrono::microseconds(*us));
}

}  // namespace mlc::sandbox
