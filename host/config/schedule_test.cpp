// Tests for schedule parsing (intervals and cron) and next-firing computation.
#include "config/schedule.hpp"

#include <gtest/gtest.h>

namespace mlc::config {
namespace {

using namespace std::chrono;

TimePoint At(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return TimePoint(sys_days(year{y} / month{mo} / day{d}) + hours{h} + minutes{mi} + seconds{s});
}

std::string Show(TimePoint t) {
  auto day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss hms{floor<seconds>(t - day)};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02ld:%02ld", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()));
  return buf;
}

TEST(ScheduleTest, Intervals) {
  struct Case {
    const char* text;
    int64_t seconds;
  } cases[] = {{"every 30s", 30},     {"every 15m", 900},  {"every 2h", 7200}, {"every 1d", 86400},
               {"  every 5m  ", 300}, {"every 10 m", 600}, {"EVERY 1H", 3600}, {"every 366d", 366 * 86400}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    Result<Schedule> s = Schedule::Parse(c.text);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_TRUE(s->is_interval());
    EXPECT_EQ(s->interval().count(), c.seconds);
    TimePoint last = At(2024, 1, 1, 10, 7, 13);
    EXPECT_EQ(s->NextAfter(last), last + seconds{c.seconds});
  }
}

TEST(ScheduleTest, BadIntervals) {
  struct Case {
    const char* text;
    const char* message_part;
  } cases[] = {
      {"every 0m", "at least 1"},
      {"every 15", "every <N>(s|m|h|d)"},
      {"every m", "every <N>(s|m|h|d)"},
      {"every 15x", "every <N>(s|m|h|d)"},
      {"every15m", "every <N>(s|m|h|d)"},
      {"every -5m", "every <N>(s|m|h|d)"},
      {"every 367d", "longer than 366 days"},
      {"every 15mins", "every <N>(s|m|h|d)"},
      {"every 1.5h", "every <N>(s|m|h|d)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    Result<Schedule> s = Schedule::Parse(c.text);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), Code::kInvalid);
    EXPECT_NE(s.status().message().find(c.message_part), std::string::npos) << s.status().message();
  }
}

TEST(ScheduleTest, CronIsNotAnInterval) {
  Result<Schedule> s = Schedule::Parse("*/15 * * * *");
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->is_interval());
  EXPECT_EQ(s->text(), "*/15 * * * *");
  EXPECT_EQ(Show(s->NextAfter(At(2024, 1, 1, 10, 7))), "2024-01-01 10:15");
}

TEST(CronTest, InvalidExpressions) {
  struct Case {
    const char* text;
    const char* message_part;
  } cases[] = {
      {"61 * * * *", "minute: 61 is out of range 0-59"},
      {"60 * * * *", "minute: 60 is out of range 0-59"},
      {"* 24 * * *", "hour: 24 is out of range 0-23"},
      {"* * 0 * *", "day-of-month: 0 is out of range 1-31"},
      {"* * 32 * *", "day-of-month: 32 is out of range 1-31"},
      {"* * * 0 *", "month: 0 is out of range 1-12"},
      {"* * * 13 *", "month: 13 is out of range 1-12"},
      {"* * * * 8", "day-of-week: 8 is out of range 0-7"},
      {"* * * *", "expected 5 fields"},
      {"* * * * * *", "expected 5 fields"},
      {"", "expected 5 fields"},
      {"5-1 * * * *", "runs backwards"},
      {"*/0 * * * *", "step \"0\""},
      {"*/61 * * * *", "step \"61\""},
      {"*/ * * * *", "step \"\""},
      {"1,,2 * * * *", "empty list item"},
      {"a * * * *", "minute: \"a\" is not a number"},
      {"-5 * * * *", "minute: \"\" is not a number"},
      {"* * * foo *", "month: \"foo\" is not a number"},
      {"* * * * sunday", "day-of-week: \"sunday\" is not a number"},
      {"0 0 30 2 *", "never fires"},
      {"0 0 31 4,6,9,11 *", "never fires"},
      {"99999999999 * * * *", "minute: \"99999999999\" is not a number"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    Result<CronExpression> e = CronExpression::Parse(c.text);
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.status().message().find(c.message_part), std::string::npos) << e.status().message();
    // Schedule::Parse reports the same reason, saying which forms it accepts.
    Result<Schedule> s = Schedule::Parse(c.text);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.status().message().find(c.message_part), std::string::npos) << s.status().message();
  }
}

TEST(CronTest, NextAfter) {
  struct Case {
    const char* expr;
    TimePoint after;
    const char* expected;
  } cases[] = {
      // Steps, and "strictly after" at an exact match and mid-minute.
      {"*/15 * * * *", At(2024, 1, 1, 10, 7), "2024-01-01 10:15"},
      {"*/15 * * * *", At(2024, 1, 1, 10, 15), "2024-01-01 10:30"},
      {"*/15 * * * *", At(2024, 1, 1, 10, 14, 59), "2024-01-01 10:15"},
      {"*/15 * * * *", At(2024, 1, 1, 23, 50), "2024-01-02 00:00"},
      {"* * * * *", At(2024, 1, 1, 10, 15, 30), "2024-01-01 10:16"},
      {"0 8-18/4 * * *", At(2024, 1, 1, 16, 30), "2024-01-02 08:00"},
      {"0 8-18/4 * * *", At(2024, 1, 1, 8, 0), "2024-01-01 12:00"},
      {"5/20 * * * *", At(2024, 1, 1, 10, 26), "2024-01-01 10:45"},
      {"0,30 9 * * *", At(2024, 1, 1, 9, 0), "2024-01-01 09:30"},
      // Year and month rollover.
      {"0 0 1 1 *", At(2024, 12, 31, 23, 59), "2025-01-01 00:00"},
      {"0 0 1 jan,JUL *", At(2024, 2, 1), "2024-07-01 00:00"},
      {"0 0 31 * *", At(2024, 4, 1), "2024-05-31 00:00"},
      // Feb 29: only in leap years; 2100 is not one.
      {"0 0 29 2 *", At(2023, 3, 1), "2024-02-29 00:00"},
      {"0 0 29 2 *", At(2024, 2, 29), "2028-02-29 00:00"},
      {"0 0 29 2 *", At(2097, 1, 1), "2104-02-29 00:00"},
      // Day of week: 0 and 7 are Sunday (2024-01-03 is a Wednesday, 2024-01-07 a Sunday).
      {"0 9 * * 0", At(2024, 1, 3), "2024-01-07 09:00"},
      {"0 9 * * 7", At(2024, 1, 3), "2024-01-07 09:00"},
      {"0 9 * * sun", At(2024, 1, 3), "2024-01-07 09:00"},
      {"0 9 * * 5-7", At(2024, 1, 3), "2024-01-05 09:00"},
      {"0 9 * * 1-5", At(2024, 1, 5, 10), "2024-01-08 09:00"},
      {"0 9 * * MON-FRI/2", At(2024, 1, 1, 10), "2024-01-03 09:00"},
      // Both day fields restricted: either matches (the 13th or any Friday).
      {"0 0 13 * 5", At(2024, 1, 1), "2024-01-05 00:00"},
      {"0 0 13 * 5", At(2024, 1, 12), "2024-01-13 00:00"},
      // Day of month starting with '*': both must match (odd days that are Mondays).
      {"0 0 */2 * 1", At(2024, 1, 1), "2024-01-15 00:00"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.expr) + " after " + Show(c.after));
    Result<CronExpression> e = CronExpression::Parse(c.expr);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    TimePoint next = e->NextAfter(c.after);
    EXPECT_EQ(Show(next), c.expected);
    EXPECT_GT(next, c.after);
    EXPECT_TRUE(e->Matches(next));
    EXPECT_EQ(next, floor<minutes>(next));
  }
}

TEST(CronTest, Matches) {
  Result<CronExpression> e = CronExpression::Parse("30 12 * * 1");  // Mondays 12:30
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->Matches(At(2024, 1, 1, 12, 30, 45)));
  EXPECT_FALSE(e->Matches(At(2024, 1, 1, 12, 31)));
  EXPECT_FALSE(e->Matches(At(2024, 1, 2, 12, 30)));
}

TEST(CronTest, ConsecutiveFiringsWalkForward) {
  Result<CronExpression> e = CronExpression::Parse("0 */6 * * *");
  ASSERT_TRUE(e.ok());
  TimePoint t = At(2024, 2, 28, 19);
  const char* expected[] = {"2024-02-29 00:00", "2024-02-29 06:00", "2024-02-29 12:00", "2024-02-29 18:00",
                            "2024-03-01 00:00"};
  for (const char* want : expected) {
    t = e->NextAfter(t);
    EXPECT_EQ(Show(t), want);
  }
}

}  // namespace
}  // namespace mlc::config
