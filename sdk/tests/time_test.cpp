// Tests of mlc/time.hpp: civil-date conversions against known day numbers, RFC 3339 examples from RFC 3339
// section 5.8, and US/Eastern wall times around the 2024 daylight-time changes (10 March and 3 November).
#include "mlc/time.hpp"

#include <string>

#include <gtest/gtest.h>

namespace mlc::time {
namespace {

TEST(TimeCivilTest, KnownDays) {
  static_assert(DaysFromCivil(1970, 1, 1) == 0);
  static_assert(DaysFromCivil(2000, 3, 1) == 11017);
  static_assert(DaysFromCivil(1969, 12, 31) == -1);
  static_assert(DaysFromCivil(0, 1, 1) == -719528);
  static_assert(DaysFromCivil(10000, 1, 1) == 2932897);
  static_assert(CivilFromDays(-719528) == CivilDate{0, 1, 1});
  static_assert(CivilFromDays(19782) == CivilDate{2024, 2, 29});
  // Day 32 of January counts on into February (date arithmetic relies on it).
  static_assert(DaysFromCivil(2025, 1, 32) == DaysFromCivil(2025, 2, 1));
}

TEST(TimeCivilTest, RoundTripsEveryDayOfFourCenturies) {
  for (int64_t d = DaysFromCivil(1600, 1, 1); d < DaysFromCivil(2401, 1, 1); ++d) {
    const CivilDate c = CivilFromDays(d);
    ASSERT_TRUE(IsValidDate(c.year, c.month, c.day)) << d;
    ASSERT_EQ(DaysFromCivil(c.year, c.month, c.day), d);
  }
}

TEST(TimeCivilTest, ValidatesDates) {
  EXPECT_TRUE(IsValidDate(2024, 2, 29));
  EXPECT_FALSE(IsValidDate(2025, 2, 29));
  EXPECT_FALSE(IsValidDate(1900, 2, 29));
  EXPECT_TRUE(IsValidDate(2000, 2, 29));
  EXPECT_FALSE(IsValidDate(2025, 4, 31));
  EXPECT_FALSE(IsValidDate(2025, 13, 1));
  EXPECT_FALSE(IsValidDate(2025, 1, 0));
  EXPECT_EQ(DaysInMonth(2025, 0), 0);
}

TEST(TimeCivilTest, Weekdays) {
  EXPECT_EQ(Weekday(0), 4);                           // Thursday
  EXPECT_EQ(Weekday(-1), 3);                          // Wednesday 1969-12-31
  EXPECT_EQ(Weekday(DaysFromCivil(2024, 3, 10)), 0);  // a Sunday
  EXPECT_EQ(NthWeekday(2024, 3, 0, 2), DaysFromCivil(2024, 3, 10));
  EXPECT_EQ(NthWeekday(2024, 11, 0, 1), DaysFromCivil(2024, 11, 3));
  EXPECT_EQ(NthWeekday(2026, 3, 0, 2), DaysFromCivil(2026, 3, 8));
}

TEST(TimeFormatTest, Formats) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(FormatRfc3339(253402300799), "9999-12-31T23:59:59Z");
  EXPECT_EQ(FormatRfc3339(-62135596800), "0001-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339Millis(1745511229959), "2025-04-24T16:13:49.959Z");
  EXPECT_EQ(FormatRfc3339Millis(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339Micros(1745511229959513), "2025-04-24T16:13:49.959513Z");
  EXPECT_EQ(FormatDate(DaysFromCivil(2020, 10, 9) + 39), "2020-11-17");
  EXPECT_EQ(FormatDateOf(-1), "1969-12-31");
  EXPECT_EQ(FormatWall(1660659067), "2022-08-16 14:11:07");
}

TEST(TimeParseTest, Rfc3339Examples) {
  // RFC 3339 section 5.8.
  EXPECT_EQ(ParseRfc3339Seconds("1985-04-12T23:20:50.52Z"), 482196050);
  EXPECT_EQ(ParseRfc3339Millis("1985-04-12T23:20:50.52Z"), 482196050520);
  EXPECT_EQ(ParseRfc3339Seconds("1996-12-19T16:39:57-08:00"), 851042397);
  EXPECT_EQ(ParseRfc3339Seconds("1990-12-31T23:59:60Z"), 662688000);  // leap second: the next :00
  EXPECT_EQ(ParseRfc3339Seconds("1990-12-31T15:59:60-08:00"), 662688000);
  EXPECT_EQ(ParseRfc3339Seconds("1937-01-01T12:00:27.87+00:20"), -1041337173);
  EXPECT_EQ(ParseRfc3339Micros("2025-04-24t16:13:49.9595134z"), 1745511229959513);
  EXPECT_EQ(ParseRfc3339Millis("1969-12-31T23:59:59.9999Z"), -1);
}

TEST(TimeParseTest, Rfc3339Refusals) {
  for (const char* bad :
       {"", "2025-04-24", "2025-04-24T16:13:49", "2025-04-24T16:13:49.Z", "2025-02-29T00:00:00Z",
        "2025-04-31T00:00:00Z", "2025-04-24T24:00:00Z", "2025-04-24T16:60:00Z", "2025-04-24T16:13:61Z",
        "2025-04-24T16:13:49+24:00", "2025-04-24T16:13:49+05:60", "2025-04-24T16:13:49+0500",
        "2025-04-24T16:13:49+05:00x", "2025-04-24X16:13:49Z", "2025-4-24T16:13:49Z", "+2025-04-24T16:13:49Z",
        "2025-04-24T16:13:49ZZ", "2025-04-24T16:13:49+05:0"}) {
    EXPECT_FALSE(ParseRfc3339Micros(bad).has_value()) << bad;
  }
}

TEST(TimeParseTest, Options) {
  EXPECT_EQ(ParseRfc3339Seconds("2023-01-01T23:59:59.999", {.zone_optional = true}), 1672617599);
  EXPECT_FALSE(ParseRfc3339Seconds("2025-04-24", {.zone_optional = true}));
  EXPECT_EQ(ParseRfc3339Seconds("2025-04-24", {.date_only = true}), 1745452800);
  EXPECT_FALSE(ParseRfc3339Seconds("2025-04-24T00:00:00", {.date_only = true}));
  // Years are not bounded by the parser: an offset may carry an instant out of 0000..9999.
  EXPECT_EQ(ParseRfc3339Seconds("0000-01-01T00:00:00+01:00"), DaysFromCivil(0, 1, 1) * 86400 - 3600);
}

TEST(TimeParseTest, Dates) {
  EXPECT_EQ(ParseDate("2024-02-29"), DaysFromCivil(2024, 2, 29));
  EXPECT_FALSE(ParseDate("2021-02-29"));
  EXPECT_FALSE(ParseDate("2021-02-2"));
  EXPECT_FALSE(ParseDate("2021-02-28T00:00:00Z"));
  EXPECT_EQ(ParseWall("2022-08-16 14:11:07"), 1660659067);
  EXPECT_EQ(ParseWall("2022-08-16T14:11:07"), 1660659067);
  EXPECT_EQ(ParseWall("2022-08-16"), 1660608000);
  EXPECT_FALSE(ParseWall("2022-08-16 14:11"));
  EXPECT_FALSE(ParseWall("2022-08-16t14:11:07"));
  EXPECT_FALSE(ParseWall("2022-08-16 14:11:07Z"));
}

TEST(TimeZoneTest, EasternAroundTheChanges) {
  // Winter: EST (-5); summer: EDT (-4).
  EXPECT_EQ(ParseWallInZone("2024-01-15 12:00:00", kUsEastern), ParseRfc3339Seconds("2024-01-15T17:00:00Z"));
  EXPECT_EQ(ParseWallInZone("2022-08-16 14:11:07", kUsEastern), ParseRfc3339Seconds("2022-08-16T18:11:07Z"));
  // 10 March 2024: 02:00 EST -> 03:00 EDT at 07:00 UTC. 01:59:59 is EST; 02:30 does not exist and reads with
  // the standard offset (07:30 UTC = 03:30 EDT); 03:00 is EDT.
  EXPECT_EQ(ParseWallInZone("2024-03-10 01:59:59", kUsEastern), ParseRfc3339Seconds("2024-03-10T06:59:59Z"));
  EXPECT_EQ(ParseWallInZone("2024-03-10 02:30:00", kUsEastern), ParseRfc3339Seconds("2024-03-10T07:30:00Z"));
  EXPECT_EQ(ParseWallInZone("2024-03-10 03:00:00", kUsEastern), ParseRfc3339Seconds("2024-03-10T07:00:00Z"));
  // 3 November 2024: 02:00 EDT -> 01:00 EST at 06:00 UTC. The repeated 01:30 reads as EDT (the earlier).
  EXPECT_EQ(ParseWallInZone("2024-11-03 01:30:00", kUsEastern), ParseRfc3339Seconds("2024-11-03T05:30:00Z"));
  EXPECT_EQ(ParseWallInZone("2024-11-03 02:00:00", kUsEastern), ParseRfc3339Seconds("2024-11-03T07:00:00Z"));
  EXPECT_FALSE(ParseWallInZone("2024-02-30 00:00:00", kUsEastern));

  EXPECT_EQ(FormatWallInZone(*ParseRfc3339Seconds("2024-11-03T05:30:00Z"), kUsEastern),
            "2024-11-03 01:30:00");
  EXPECT_EQ(FormatWallInZone(*ParseRfc3339Seconds("2024-11-03T06:30:00Z"), kUsEastern),
            "2024-11-03 01:30:00");
  EXPECT_EQ(FormatWallInZone(*ParseRfc3339Seconds("2024-03-10T07:00:00Z"), kUsEastern),
            "2024-03-10 03:00:00");
  EXPECT_EQ(FormatWallInZone(*ParseRfc3339Seconds("2024-03-10T06:59:59Z"), kUsEastern),
            "2024-03-10 01:59:59");
  EXPECT_EQ(UtcOffsetAt(kUsEastern, *ParseRfc3339Seconds("2024-07-01T00:00:00Z")), -4 * 3600);
  EXPECT_EQ(UtcOffsetAt(kUtc, 0), 0);
}

TEST(TimeZoneTest, OtherZonesAndNames) {
  ASSERT_TRUE(FindZone("America/New_York"));
  EXPECT_EQ(FindZone("America/New_York")->standard_offset_s, kUsEastern.standard_offset_s);
  EXPECT_EQ(FindZone("US/Pacific")->name, "US/Pacific");
  EXPECT_EQ(FindZone("UTC")->standard_offset_s, 0);
  EXPECT_FALSE(FindZone("Europe/Paris"));
  // US/Pacific changes at 02:00 local too: 10:00 UTC in March, 09:00 UTC in November.
  EXPECT_FALSE(InDaylightTime(kUsPacific, *ParseRfc3339Seconds("2024-03-10T09:59:59Z")));
  EXPECT_TRUE(InDaylightTime(kUsPacific, *ParseRfc3339Seconds("2024-03-10T10:00:00Z")));
  EXPECT_TRUE(InDaylightTime(kUsPacific, *ParseRfc3339Seconds("2024-11-03T08:59:59Z")));
  EXPECT_FALSE(InDaylightTime(kUsPacific, *ParseRfc3339Seconds("2024-11-03T09:00:00Z")));
  EXPECT_EQ(ParseWallInZone("2024-06-01 00:00:00", kUtc), ParseWall("2024-06-01 00:00:00"));
}

TEST(TimeParseTest, FormatAndParseAgree) {
  for (int64_t s :
       {int64_t{-62135596800}, int64_t{-1}, int64_t{0}, int64_t{951782400}, int64_t{253402300799}}) {
    EXPECT_EQ(ParseRfc3339Seconds(FormatRfc3339(s)), s);
    EXPECT_EQ(ParseWallInZone(FormatWallInZone(s, kUsEastern), kUsEastern).value_or(0) - s, 0) << s;
  }
}

}  // namespace
}  // namespace mlc::time
