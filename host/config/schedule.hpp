// Pipeline schedules: "every <N>(s|m|h|d)" intervals and 5-field cron expressions, parsed once and asked
// for the next firing time.
//
// Cron fields are: minute (0-59) hour (0-23) day-of-month (1-31) month (1-12 or JAN-DEC) day-of-week
// (0-7 or SUN-SAT; 0 and 7 are both Sunday). Each field is a comma-separated list of `*`, `N` or `N-M`,
// each optionally followed by `/STEP`; `N/STEP` means N through the field's maximum. As in Vixie cron,
// when both day-of-month and day-of-week are restricted (neither starts with `*`), a day matches when
// EITHER matches. Cron times are evaluated in UTC.
//
//   MLC_ASSIGN_OR_RETURN(mlc::config::Schedule s, mlc::config::Schedule::Parse("*/15 8-18 * * 1-5"));
//   auto next = s.NextAfter(std::chrono::system_clock::now());
//
// Thread safety: Schedule and CronExpression are immutable values after Parse; share them freely.
#ifndef MLC_HOST_CONFIG_SCHEDULE_HPP_
#define MLC_HOST_CONFIG_SCHEDULE_HPP_

#include <bitset>
#include <chrono>
#include <string>
#include <string_view>

#include "mlc/status.hpp"

namespace mlc::config {

using TimePoint = std::chrono::system_clock::time_point;

// A parsed 5-field cron expression.
class CronExpression {
 public:
  // Status::Invalid naming the field and what is wrong ("minute: 61 is out of range 0-59"). Expressions
  // that can never fire (day 30 in February only, say) are rejected too.
  static Result<CronExpression> Parse(std::string_view text);

  // The first whole minute strictly after `t` that the expression matches. Every expression Parse accepts
  // fires at least once every 8 years, so this always finds one.
  TimePoint NextAfter(TimePoint t) const;

  // True when the minute containing `t` matches.
  bool Matches(TimePoint t) const;

 private:
  bool DayMatches(int day_of_month, int month, int weekday) const;

  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // bit 1..31
  std::bitset<13> months_;         // bit 1..12
  std::bitset<7> days_of_week_;    // bit 0..6, 0 = Sunday
  bool dom_restricted_ = false;    // the field did not start with '*'
  bool dow_restricted_ = false;
};

// A pipeline schedule: a fixed interval or a cron expression.
class Schedule {
 public:
  // Accepts "every <N>s", "every <N>m", "every <N>h", "every <N>d" (N >= 1, at most 366 days) or a cron
  // expression. Status::Invalid otherwise, saying which form was expected.
  static Result<Schedule> Parse(std::string_view text);

  bool is_interval() const { return is_interval_; }
  // The interval (is_interval() only).
  std::chrono::seconds interval() const { return interval_; }
  // The text it was parsed from.
  const std::string& text() const { return text_; }

  // Interval: `last` + interval. Cron: the first matching minute strictly after `last`.
  TimePoint NextAfter(TimePoint last) const;

 private:
  std::string text_;
  bool is_interval_ = false;
  std::chrono::seconds interval_{0};
  CronExpression cron_;
};

}  // namespace mlc::config

#endif  // MLC_HOST_CONFIG_SCHEDULE_HPP_
