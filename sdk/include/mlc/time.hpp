// Civil dates and timestamps for plugins, emulators and the harness: days <-> proleptic Gregorian dates,
// date validation, RFC 3339 parsing and formatting at second, millisecond or microsecond precision, ISO
// dates, and the zone-less wall times some vendors send, read in the vendor's named zone (FreshBooks'
// accounting API writes US/Eastern "2024-03-10 01:30:00"). Header-only; no dependency on the C library's
// time functions or the machine's zone database, so results never depend on TZ or the platform.
//
//   auto at = mlc::time::ParseRfc3339Millis("2025-04-24T16:13:49.959Z");          // 1745511229959
//   std::string text = mlc::time::FormatRfc3339Millis(*at);                      // "...T16:13:49.959Z"
//   auto day = mlc::time::ParseDate("2024-02-29");                               // days since 1970-01-01
//   auto utc = mlc::time::ParseWallInZone("2024-11-03 01:30:00", mlc::time::kUsEastern);  // EDT reading
//
// Contract:
// - Instants are signed counts since 1970-01-01T00:00:00Z (leap seconds ignored, as Unix time does); days
//   are days since 1970-01-01. Every conversion is exact integer arithmetic valid far beyond years 0..9999.
// - Parsers return nullopt for anything malformed: non-digits, wrong separators, dates that do not exist
//   (2025-02-29, 2025-04-31), hours > 23, minutes > 59, seconds > 60 (":60", a leap second, reads as the
//   next minute's :00), offsets beyond +-23:59. They do not bound the year range: callers that must write
//   the instant back as four-digit RFC 3339 check it against the range they support.
// - Formatters write four-digit zero-padded years (years outside 0..9999 are written but are not RFC 3339)
//   and always "Z" (UTC).
//
// Thread safety: pure functions and constants; no shared state.
#ifndef MLC_TIME_HPP_
#define MLC_TIME_HPP_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mlc::time {

inline constexpr int64_t kSecondsPerDay = 86400;

// Floor division (rounds toward negative infinity), so instants before 1970 fall on the right day.
constexpr int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// ---- civil dates -----------------------------------------------------------------------------------

struct CivilDate {
  int64_t year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
  friend constexpr bool operator==(const CivilDate&, const CivilDate&) = default;
};

// Days since 1970-01-01 of y-m-d (H. Hinnant's public-domain days_from_civil). `d` is not checked against
// the month: day 0 or day 32 count on from the month's start, which callers use for date arithmetic.
constexpr int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = FloorDiv(y, 400);
  const int64_t yoe = y - era * 400;                                    // [0, 399]
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365] (March-based year)
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146097 + doe - 719468;
}

// The date of day `days` since 1970-01-01 (H. Hinnant's civil_from_days).
constexpr CivilDate CivilFromDays(int64_t days) {
  const int64_t z = days + 719468;
  const int64_t era = FloorDiv(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

constexpr bool IsLeapYear(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// 28..31, or 0 for a month outside 1..12.
constexpr int DaysInMonth(int64_t y, int64_t m) {
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12) return 0;
  return kDays[m - 1] + (m == 2 && IsLeapYear(y) ? 1 : 0);
}

// Whether y-m-d exists in the proleptic Gregorian calendar.
constexpr bool IsValidDate(int64_t y, int64_t m, int64_t d) { return d >= 1 && d <= DaysInMonth(y, m); }

// 0 = Sunday .. 6 = Saturday of day `days` (1970-01-01 was a Thursday).
constexpr int Weekday(int64_t days) { return static_cast<int>(days + 4 - 7 * FloorDiv(days + 4, 7)); }

// Days since 1970-01-01 of the n-th (n >= 1) `weekday` (0 = Sunday) of month m of year y.
constexpr int64_t NthWeekday(int64_t y, int64_t m, int weekday, int n) {
  const int64_t first = DaysFromCivil(y, m, 1);
  return first + (weekday - Weekday(first) + 7) % 7 + 7 * (n - 1);
}

// ---- formatting ------------------------------------------------------------------------------------

namespace internal {

inline void AppendPadded(int64_t v, int width, std::string* out) {
  if (v < 0) out->push_back('-');
  const std::string digits = std::to_string(v < 0 ? -v : v);
  if (static_cast<int>(digits.size()) < width) out->append(width - digits.size(), '0');
  out->append(digits);
}

// "YYYY-MM-DD<sep>HH:MM:SS" of `unix_s` read as UTC.
inline std::string Wall(int64_t unix_s, char sep) {
  const int64_t days = FloorDiv(unix_s, kSecondsPerDay);
  const int64_t secs = unix_s - days * kSecondsPerDay;
  const CivilDate c = CivilFromDays(days);
  std::string out;
  out.reserve(32);
  AppendPadded(c.year, 4, &out);
  out.push_back('-');
  AppendPadded(c.month, 2, &out);
  out.push_back('-');
  AppendPadded(c.day, 2, &out);
  out.push_back(sep);
  AppendPadded(secs / 3600, 2, &out);
  out.push_back(':');
  AppendPadded(secs / 60 % 60, 2, &out);
  out.push_back(':');
  AppendPadded(secs % 60, 2, &out);
  return out;
}

}  // namespace internal

// "YYYY-MM-DD" of day `days` since 1970-01-01.
inline std::string FormatDate(int64_t days) {
  return internal::Wall(days * kSecondsPerDay, 'T').substr(0, 10);
}

// "YYYY-MM-DD" (UTC) of an instant in seconds.
inline std::string FormatDateOf(int64_t unix_s) { return FormatDate(FloorDiv(unix_s, kSecondsPerDay)); }

// "YYYY-MM-DD<sep>HH:MM:SS" without a zone: `unix_s` as UTC wall time (vendors' zone-less UTC fields).
inline std::string FormatWall(int64_t unix_s, char sep = ' ') { return internal::Wall(unix_s, sep); }

// "2024-01-01T00:00:00Z".
inline std::string FormatRfc3339(int64_t unix_s) { return internal::Wall(unix_s, 'T') + "Z"; }

namespace internal {

// RFC 3339 of `count` units of 1/`per_second` s, with `digits` fraction digits.
inline std::string Rfc3339WithFraction(int64_t count, int64_t per_second, int digits) {
  const int64_t secs = FloorDiv(count, per_second);
  std::string out = Wall(secs, 'T');
  out.push_back('.');
  AppendPadded(count - secs * per_second, digits, &out);
  return out + "Z";
}

}  // namespace internal

// "2024-01-01T00:00:00.123Z" (always three fraction digits).
inline std::string FormatRfc3339Millis(int64_t unix_ms) {
  return internal::Rfc3339WithFraction(unix_ms, 1000, 3);
}

// "2024-01-01T00:00:00.123456Z" (always six fraction digits).
inline std::string FormatRfc3339Micros(int64_t unix_us) {
  return internal::Rfc3339WithFraction(unix_us, 1000000, 6);
}

// ---- parsing ---------------------------------------------------------------------------------------

namespace internal {

// `n` ASCII digits at `pos` of `s` as a number; false when out of bounds or not all digits.
constexpr bool ReadDigits(std::string_view s, size_t pos, size_t n, int64_t* out) {
  if (pos > s.size() || n > s.size() - pos) return false;
  int64_t v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// "YYYY-MM-DD" at the start of `s`, a real date -> days since 1970-01-01.
constexpr std::optional<int64_t> ReadDate(std::string_view s) {
  int64_t y = 0, m = 0, d = 0;
  if (!ReadDigits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !ReadDigits(s, 5, 2, &m) || s[7] != '-' ||
      !ReadDigits(s, 8, 2, &d) || !IsValidDate(y, m, d)) {
    return std::nullopt;
  }
  return DaysFromCivil(y, m, d);
}

// "HH:MM:SS" at `pos` -> seconds of the day (":60" allowed, as RFC 3339 allows a leap second).
constexpr std::optional<int64_t> ReadTime(std::string_view s, size_t pos) {
  int64_t h = 0, mi = 0, sec = 0;
  if (!ReadDigits(s, pos, 2, &h) || s.size() < pos + 8 || s[pos + 2] != ':' ||
      !ReadDigits(s, pos + 3, 2, &mi) || s[pos + 5] != ':' || !ReadDigits(s, pos + 6, 2, &sec) || h > 23 ||
      mi > 59 || sec > 60) {
    return std::nullopt;
  }
  return h * 3600 + mi * 60 + sec;
}

constexpr bool IsDateTimeSeparator(char c) { return c == 'T' || c == 't' || c == ' '; }

}  // namespace internal

// Exactly "YYYY-MM-DD", a date that exists -> days since 1970-01-01.
constexpr std::optional<int64_t> ParseDate(std::string_view text) {
  if (text.size() != 10) return std::nullopt;
  return internal::ReadDate(text);
}

struct Rfc3339Options {
  // Accept a date-time without a zone and read it as UTC (vendors' query examples omit the zone).
  bool zone_optional = false;
  // Accept a plain "YYYY-MM-DD" as midnight UTC.
  bool date_only = false;
};

// RFC 3339 date-time -> Unix microseconds: "YYYY-MM-DD" 'T'|'t'|' ' "HH:MM:SS", an optional fraction of
// any length (digits past the sixth are dropped), then 'Z'|'z' or "+HH:MM"/"-HH:MM" (see Rfc3339Options).
constexpr std::optional<int64_t> ParseRfc3339Micros(std::string_view s, Rfc3339Options options = {}) {
  const auto days = internal::ReadDate(s);
  if (!days) return std::nullopt;
  if (s.size() == 10) {
    if (!options.date_only) return std::nullopt;
    return *days * kSecondsPerDay * 1000000;
  }
  if (!internal::IsDateTimeSeparator(s[10])) return std::nullopt;
  const auto secs = internal::ReadTime(s, 11);
  if (!secs) return std::nullopt;
  size_t pos = 19;
  int64_t micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    const size_t start = ++pos;
    int64_t scale = 100000;
    for (; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos) {
      micros += (s[pos] - '0') * scale;  // scale reaches 0 after the sixth digit
      scale /= 10;
    }
    if (pos == start) return std::nullopt;
  }
  int64_t offset = 0;
  if (pos == s.size()) {
    if (!options.zone_optional) return std::nullopt;
  } else if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int64_t oh = 0, om = 0;
    if (!internal::ReadDigits(s, pos + 1, 2, &oh) || s.size() < pos + 6 || s[pos + 3] != ':' ||
        !internal::ReadDigits(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  return ((*days * kSecondsPerDay) + *secs - offset) * 1000000 + micros;
}

// As ParseRfc3339Micros, in milliseconds (the fraction truncated toward the past).
constexpr std::optional<int64_t> ParseRfc3339Millis(std::string_view s, Rfc3339Options options = {}) {
  const auto us = ParseRfc3339Micros(s, options);
  if (!us) return std::nullopt;
  return FloorDiv(*us, 1000);
}

// As ParseRfc3339Micros, in whole seconds (the fraction dropped).
constexpr std::optional<int64_t> ParseRfc3339Seconds(std::string_view s, Rfc3339Options options = {}) {
  const auto us = ParseRfc3339Micros(s, options);
  if (!us) return std::nullopt;
  return FloorDiv(*us, 1000000);
}

// ---- zone-less wall times and vendor zones ---------------------------------------------------------

// "YYYY-MM-DD HH:MM:SS" ('T' also accepted as the separator) or "YYYY-MM-DD" (midnight), no zone, no
// fraction -> the seconds that wall time would be in UTC. The zone is the caller's to apply.
constexpr std::optional<int64_t> ParseWall(std::string_view text) {
  if (text.size() != 10 && text.size() != 19) return std::nullopt;
  const auto days = internal::ReadDate(text);
  if (!days) return std::nullopt;
  if (text.size() == 10) return *days * kSecondsPerDay;
  if (text[10] != ' ' && text[10] != 'T') return std::nullopt;
  const auto secs = internal::ReadTime(text, 11);
  if (!secs) return std::nullopt;
  return *days * kSecondsPerDay + *secs;
}

// A vendor's fixed civil zone: a standard offset and, with US rules, daylight time. Only what vendors
// actually use is modelled; there is no zone database behind it.
struct Zone {
  std::string_view name;
  int64_t standard_offset_s = 0;  // east of UTC: US/Eastern is -5 h
  int64_t daylight_offset_s = 0;  // in daylight time (equal to standard_offset_s when there is none)
  // US daylight time since 2007: from the second Sunday of March 02:00 standard time to the first Sunday of
  // November 02:00 daylight time, local.
  bool us_daylight_rules = false;
};

inline constexpr Zone kUtc{"UTC", 0, 0, false};
inline constexpr Zone kUsEastern{"US/Eastern", -5 * 3600, -4 * 3600, true};
inline constexpr Zone kUsCentral{"US/Central", -6 * 3600, -5 * 3600, true};
inline constexpr Zone kUsMountain{"US/Mountain", -7 * 3600, -6 * 3600, true};
inline constexpr Zone kUsPacific{"US/Pacific", -8 * 3600, -7 * 3600, true};

// The zone of a name vendors write: "US/Eastern" or "America/New_York", and so on for Central, Mountain
// and Pacific; "UTC", "Etc/UTC", "GMT". nullopt for any other name.
constexpr std::optional<Zone> FindZone(std::string_view name) {
  struct Alias {
    std::string_view name;
    const Zone* zone;
  };
  constexpr Alias kAliases[] = {{"UTC", &kUtc},
                                {"Etc/UTC", &kUtc},
                                {"GMT", &kUtc},
                                {"US/Eastern", &kUsEastern},
                                {"America/New_York", &kUsEastern},
                                {"US/Central", &kUsCentral},
                                {"America/Chicago", &kUsCentral},
                                {"US/Mountain", &kUsMountain},
                                {"America/Denver", &kUsMountain},
                                {"US/Pacific", &kUsPacific},
                                {"America/Los_Angeles", &kUsPacific}};
  for (const Alias& a : kAliases) {
    if (a.name == name) return *a.zone;
  }
  return std::nullopt;
}

// Whether `zone` keeps daylight time at the instant `unix_s`.
constexpr bool InDaylightTime(const Zone& zone, int64_t unix_s) {
  if (!zone.us_daylight_rules) return false;
  const int64_t year = CivilFromDays(FloorDiv(unix_s, kSecondsPerDay)).year;
  // 02:00 local: standard time at the spring change, daylight time at the autumn one.
  const int64_t start = NthWeekday(year, 3, 0, 2) * kSecondsPerDay + 2 * 3600 - zone.standard_offset_s;
  const int64_t end = NthWeekday(year, 11, 0, 1) * kSecondsPerDay + 2 * 3600 - zone.daylight_offset_s;
  return unix_s >= start && unix_s < end;
}

// The offset east of UTC in force in `zone` at `unix_s`.
constexpr int64_t UtcOffsetAt(const Zone& zone, int64_t unix_s) {
  return InDaylightTime(zone, unix_s) ? zone.daylight_offset_s : zone.standard_offset_s;
}

// A ParseWall text read as wall time in `zone` -> Unix seconds. Around a change the reading is chosen as
// the vendors' servers choose it: the repeated autumn hour is the daylight one (the earlier instant); a wall
// time in the skipped spring hour is read with the standard offset (02:30 -> 03:30 daylight time).
constexpr std::optional<int64_t> ParseWallInZone(std::string_view text, const Zone& zone) {
  const auto local = ParseWall(text);
  if (!local) return std::nullopt;
  const int64_t as_daylight = *local - zone.daylight_offset_s;
  return InDaylightTime(zone, as_daylight) ? as_daylight : *local - zone.standard_offset_s;
}

// "YYYY-MM-DD HH:MM:SS": the wall time in `zone` at `unix_s`, without a zone (what such vendors write).
inline std::string FormatWallInZone(int64_t unix_s, const Zone& zone, char sep = ' ') {
  return internal::Wall(unix_s + UtcOffsetAt(zone, unix_s), sep);
}

}  // namespace mlc::time

#endif  // MLC_TIME_HPP_
