// Pipeline schedules: interval and cron parsing, and next-firing computation (UTC, whole minutes).
#include "config/schedule.hpp"

#include <array>
#include <cctype>
#include <optional>
#include <vector>

namespace mlc::config {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;

struct FieldSpec {
  const char* name;
  int min;
  int max;
  // Three-letter names accepted instead of numbers (case-insensitive), numbered from `names_base`.
  const std::array<const char*, 12>* names = nullptr;
  int name_count = 0;
  int names_base = 0;
};

constexpr std::array<const char*, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                     "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<const char*, 12> kDayNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

const FieldSpec kFields[5] = {
    {"minute", 0, 59},
    {"hour", 0, 23},
    {"day-of-month", 1, 31},
    {"month", 1, 12, &kMonthNames, 12, 1},
    {"day-of-week", 0, 7, &kDayNames, 7, 0},
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> SplitWhitespace(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) parts.push_back(s.substr(start, i - start));
  }
  return parts;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    parts.push_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return parts;
}

// A plain decimal number of at most 9 digits (larger values are out of every range anyway).
std::optional<int> ParseDigits(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

Status FieldError(const FieldSpec& f, const std::string& what) {
  return Status::Invalid(std::string(f.name) + ": " + what);
}

Result<int> ParseValue(const FieldSpec& f, std::string_view s) {
  std::optional<int> v = ParseDigits(s);
  if (!v && f.names != nullptr) {
    std::string lower = Lower(s);
    for (int i = 0; i < f.name_count; ++i) {
      if (lower == (*f.names)[static_cast<size_t>(i)]) v = f.names_base + i;
    }
  }
  if (!v) return FieldError(f, "\"" + std::string(s) + "\" is not a number");
  if (*v < f.min || *v > f.max) {
    return FieldError(
        f, std::to_string(*v) + " is out of range " + std::to_string(f.min) + "-" + std::to_string(f.max));
  }
  return *v;
}

// Parses one field into the set of values it selects (indices f.min..f.max) and whether it starts with '*'.
Status ParseField(const FieldSpec& f, std::string_view text, std::vector<bool>& selected, bool& star) {
  selected.assign(static_cast<size_t>(f.max) + 1, false);
  star = !text.empty() && text.front() == '*';
  for (std::string_view item : Split(text, ',')) {
    if (item.empty()) return FieldError(f, "empty list item in \"" + std::string(text) + "\"");
    std::string_view base = item;
    int step = 1;
    bool has_step = false;
    if (size_t slash = item.find('/'); slash != std::string_view::npos) {
      base = item.substr(0, slash);
      std::string_view step_text = item.substr(slash + 1);
      std::optional<int> s = ParseDigits(step_text);
      int span = f.max - f.min + 1;
      if (!s || *s < 1 || *s > span) {
        return FieldError(
            f, "step \"" + std::string(step_text) + "\" must be a number from 1 to " + std::to_string(span));
      }
      step = *s;
      has_step = true;
    }
    int lo = 0;
    int hi = 0;
    if (base == "*") {
      lo = f.min;
      hi = f.max;
    } else if (size_t dash = base.find('-'); dash != std::string_view::npos) {
      MLC_ASSIGN_OR_RETURN(lo, ParseValue(f, base.substr(0, dash)));
      MLC_ASSIGN_OR_RETURN(hi, ParseValue(f, base.substr(dash + 1)));
      if (lo > hi) {
        return FieldError(f, "range " + std::string(base) + " runs backwards (" + std::to_string(lo) + " > " +
                                 std::to_string(hi) + ")");
      }
    } else {
      MLC_ASSIGN_OR_RETURN(lo, ParseValue(f, base));
      hi = has_step ? f.max : lo;  // "N/S" means N through the maximum, every S
    }
    for (int v = lo; v <= hi; v += step) selected[static_cast<size_t>(v)] = true;
  }
  return Status::Ok();
}

// Days in `month` of any year (February counted as 29: it happens every leap year).
constexpr int kMaxDaysInMonth[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

}  // namespace

Result<CronExpression> CronExpression::Parse(std::string_view text) {
  std::vector<std::string_view> parts = SplitWhitespace(text);
  if (parts.size() != 5) {
    return Status::Invalid("expected 5 fields (minute hour day-of-month month day-of-week), got " +
                           std::to_string(parts.size()));
  }
  CronExpression c;
  std::vector<bool> sel;
  bool star = false;
  MLC_RETURN_IF_ERROR(ParseField(kFields[0], parts[0], sel, star));
  for (int i = 0; i <= 59; ++i) c.minutes_[static_cast<size_t>(i)] = sel[static_cast<size_t>(i)];
  MLC_RETURN_IF_ERROR(ParseField(kFields[1], parts[1], sel, star));
  for (int i = 0; i <= 23; ++i) c.hours_[static_cast<size_t>(i)] = sel[static_cast<size_t>(i)];
  MLC_RETURN_IF_ERROR(ParseField(kFields[2], parts[2], sel, star));
  for (int i = 1; i <= 31; ++i) c.days_of_month_[static_cast<size_t>(i)] = sel[static_cast<size_t>(i)];
  c.dom_restricted_ = !star;
  MLC_RETURN_IF_ERROR(ParseField(kFields[3], parts[3], sel, star));
  for (int i = 1; i <= 12; ++i) c.months_[static_cast<size_t>(i)] = sel[static_cast<size_t>(i)];
  MLC_RETURN_IF_ERROR(ParseField(kFields[4], parts[4], sel, star));
  for (int i = 0; i <= 6; ++i) c.days_of_week_[static_cast<size_t>(i)] = sel[static_cast<size_t>(i)];
  if (sel[7]) c.days_of_week_[0] = true;  // 7 is Sunday too
  c.dow_restricted_ = !star;

  // When only the day of month decides (see DayMatches), some selected day must exist in some selected
  // month; "0 0 30 2 *" would otherwise never fire.
  if (c.dom_restricted_ && !c.dow_restricted_) {
    bool possible = false;
    for (int m = 1; m <= 12 && !possible; ++m) {
      if (!c.months_[static_cast<size_t>(m)]) continue;
      for (int d = 1; d <= kMaxDaysInMonth[m] && !possible; ++d) {
        possible = c.days_of_month_[static_cast<size_t>(d)];
      }
    }
    if (!possible) {
      return Status::Invalid(
          "day-of-month: none of the selected days occurs in the selected months, so "
          "the expression never fires");
    }
  }
  return c;
}

bool CronExpression::DayMatches(int day_of_month, int month, int weekday) const {
  if (!months_[static_cast<size_t>(month)]) return false;
  bool dom = days_of_month_[static_cast<size_t>(day_of_month)];
  bool dow = days_of_week_[static_cast<size_t>(weekday)];
  // Vixie cron: if either day field is unrestricted both must match; if both are restricted, either does.
  if (dom_restricted_ && dow_restricted_) return dom || dow;
  return dom && dow;
}

bool CronExpression::Matches(TimePoint t) const {
  auto minute = std::chrono::floor<minutes>(t);
  auto day = std::chrono::floor<days>(minute);
  std::chrono::year_month_day ymd{day};
  std::chrono::hh_mm_ss hms{minute - day};
  int wd = static_cast<int>(std::chrono::weekday{day}.c_encoding());
  return DayMatches(static_cast<int>(static_cast<unsigned>(ymd.day())),
                    static_cast<int>(static_cast<unsigned>(ymd.month())), wd) &&
         hours_[static_cast<size_t>(hms.hours().count())] &&
         minutes_[static_cast<size_t>(hms.minutes().count())];
}

TimePoint CronExpression::NextAfter(TimePoint t) const {
  auto start = std::chrono::floor<minutes>(t) + minutes{1};
  auto day = std::chrono::floor<days>(start);
  auto first_minute_of_day = std::chrono::duration_cast<minutes>(start - day).count();
  // A full Gregorian cycle (400 years) repeats every calendar pattern; nothing found in it means never.
  constexpr int kCycleDays = 146097;
  for (int i = 0; i <= kCycleDays; ++i, day += days{1}, first_minute_of_day = 0) {
    std::chrono::year_month_day ymd{day};
    int wd = static_cast<int>(std::chrono::weekday{day}.c_encoding());
    if (!DayMatches(static_cast<int>(static_cast<unsigned>(ymd.day())),
                    static_cast<int>(static_cast<unsigned>(ymd.month())), wd)) {
      continue;
    }
    for (auto m = first_minute_of_day; m < 24 * 60; ++m) {
      if (hours_[static_cast<size_t>(m / 60)] && minutes_[static_cast<size_t>(m % 60)]) {
        return TimePoint(day + minutes{m});
      }
    }
  }
  return TimePoint::max();  // unreachable for expressions Parse accepts
}

Result<Schedule> Schedule::Parse(std::string_view text) {
  size_t b = 0;
  size_t e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  std::string_view t = text.substr(b, e - b);
  Schedule s;
  s.text_ = std::string(t);
  if (Lower(t.substr(0, 5)) == "every") {
    static const char* kForm = "expected \"every <N>(s|m|h|d)\", e.g. \"every 15m\"";
    std::string_view rest = t.substr(5);
    size_t i = 0;
    while (i < rest.size() && std::isspace(static_cast<unsigned char>(rest[i]))) ++i;
    if (i == 0) return Status::Invalid(kForm);
    size_t digits = i;
    while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
    std::optional<int> n = ParseDigits(rest.substr(i, digits - i));
    size_t unit_start = digits;
    while (unit_start < rest.size() && std::isspace(static_cast<unsigned char>(rest[unit_start])))
      ++unit_start;
    std::string unit = Lower(rest.substr(unit_start));
    if (!n || unit.size() != 1) return Status::Invalid(kForm);
    int64_t seconds_per_unit = 0;
    switch (unit[0]) {
      case 's':
        seconds_per_unit = 1;
        break;
      case 'm':
        seconds_per_unit = 60;
        break;
      case 'h':
        seconds_per_unit = 3600;
        break;
      case 'd':
        seconds_per_unit = 86400;
        break;
      default:
        return Status::Invalid(kForm);
    }
    if (*n < 1) return Status::Invalid("interval must be at least 1 (\"every 0" + unit + "\" never waits)");
    int64_t total = *n * seconds_per_unit;
    if (total > 366 * 86400) return Status::Invalid("interval longer than 366 days; use a cron expression");
    s.is_interval_ = true;
    s.interval_ = std::chrono::seconds(total);
    return s;
  }
  Result<CronExpression> cron = CronExpression::Parse(t);
  if (!cron.ok()) {
    return Status::Invalid("not \"every <N>(s|m|h|d)\" and not a valid cron expression: " +
                           cron.status().message());
  }
  s.cron_ = std::move(cron).value();
  return s;
}

TimePoint Schedule::NextAfter(TimePoint last) const {
  if (is_interval_) return last + interval_;
  return cron_.NextAfter(last);
}

}  // namespace mlc::config
