#include "core/cron.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace barbossa {
namespace {

// Calendar math for the tests, deliberately naive (walk the years and months)
// so it does not share a mistake with the closed-form code under test.
bool leap(int y) {
  return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}
int month_days(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// "2025-03-01T04:30" or "2025-03-01T04:30:15" (UTC) -> Unix seconds.
int64_t utc(const std::string& iso) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  y = std::stoi(iso.substr(0, 4));
  mo = std::stoi(iso.substr(5, 2));
  d = std::stoi(iso.substr(8, 2));
  h = std::stoi(iso.substr(11, 2));
  mi = std::stoi(iso.substr(14, 2));
  if (iso.size() >= 19) s = std::stoi(iso.substr(17, 2));
  int64_t days = 0;
  for (int yy = 1970; yy < y; ++yy) days += leap(yy) ? 366 : 365;
  for (int yy = y; yy < 1970; ++yy) days -= leap(yy) ? 366 : 365;
  for (int mm = 1; mm < mo; ++mm) days += month_days(y, mm);
  days += d - 1;
  return days * 86400 + h * 3600 + mi * 60 + s;
}

// Unix seconds -> "2025-03-01T04:30:00", for readable failure messages.
std::string iso(std::optional<int64_t> t) {
  if (!t) return "never";
  int64_t days = *t / 86400, rem = *t % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int y = 1970;
  while (days < 0) days += leap(--y) ? 366 : 365;
  while (days >= (leap(y) ? 366 : 365)) days -= leap(y++) ? 366 : 365;
  int m = 1;
  while (days >= month_days(y, m)) days -= month_days(y, m++);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", y, m, static_cast<int>(days) + 1,
                static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                static_cast<int>(rem % 60));
  return buf;
}

TEST(CronHelper, UtcMatchesKnownTimestamps) {
  EXPECT_EQ(utc("1970-01-01T00:00"), 0);
  EXPECT_EQ(utc("2000-01-01T00:00"), 946684800);
  EXPECT_EQ(utc("2024-02-29T12:34:56"), 1709210096);
  EXPECT_EQ(utc("1969-12-31T23:59:59"), -1);
  EXPECT_EQ(iso(utc("2100-03-01T01:02:03")), "2100-03-01T01:02:03");
  EXPECT_EQ(iso(utc("1900-02-28T23:00")), "1900-02-28T23:00:00");
}

struct Case {
  const char* expr;
  const char* from;
  const char* next;  // next_after(from); nullptr = never
  const char* last;  // last_at_or_before(from); nullptr = never
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << "'" << c.expr << "' from " << c.from;
}

class CronTableTest : public ::testing::TestWithParam<Case> {};

TEST_P(CronTableTest, NextAndLast) {
  const Case& c = GetParam();
  const CronSchedule s = CronSchedule::parse(c.expr);
  const int64_t from = utc(c.from);
  EXPECT_EQ(iso(s.next_after(from)), c.next ? iso(utc(c.next)) : "never");
  EXPECT_EQ(iso(s.last_at_or_before(from)), c.last ? iso(utc(c.last)) : "never");
}

INSTANTIATE_TEST_SUITE_P(
    Cron, CronTableTest,
    ::testing::Values(
        // The six schedules of SPEC §8 (2025-06-15 is a Sunday).
        Case{"*/5 * * * *", "2025-06-15T10:07:30", "2025-06-15T10:10", "2025-06-15T10:05"},
        Case{"*/5 * * * *", "2025-06-15T10:10", "2025-06-15T10:15", "2025-06-15T10:10"},
        Case{"*/5 * * * *", "2025-06-15T10:09:59", "2025-06-15T10:10", "2025-06-15T10:05"},
        Case{"0 * * * *", "2025-06-15T23:59:59", "2025-06-16T00:00", "2025-06-15T23:00"},
        Case{"0 3 * * *", "2025-06-15T03:00", "2025-06-16T03:00", "2025-06-15T03:00"},
        Case{"0 3 * * *", "2025-06-15T02:59:59", "2025-06-15T03:00", "2025-06-14T03:00"},
        Case{"0 4 * * 0", "2025-06-15T04:00:01", "2025-06-22T04:00", "2025-06-15T04:00"},
        Case{"0 4 * * 0", "2025-06-18T12:00", "2025-06-22T04:00", "2025-06-15T04:00"},
        Case{"0 4 * * 7", "2025-06-18T12:00", "2025-06-22T04:00", "2025-06-15T04:00"},
        Case{"30 4 * * sun", "2025-06-15T04:29", "2025-06-15T04:30", "2025-06-08T04:30"},
        Case{"30 4 * * SUN", "2025-06-15T04:30", "2025-06-22T04:30", "2025-06-15T04:30"},
        Case{"0 2 * * *", "2025-06-15T01:00", "2025-06-15T02:00", "2025-06-14T02:00"},
        // Year rollover.
        Case{"0 3 * * *", "2025-12-31T12:00", "2026-01-01T03:00", "2025-12-31T03:00"},
        Case{"59 23 31 12 *", "2025-12-31T23:59", "2026-12-31T23:59", "2025-12-31T23:59"},
        Case{"0 0 1 1 *", "2025-01-01T00:00", "2026-01-01T00:00", "2025-01-01T00:00"},
        Case{"0 0 1 1 *", "2025-06-15T00:00", "2026-01-01T00:00", "2025-01-01T00:00"},
        // Ranges, lists, steps over ranges.
        Case{"0 9-17 * * *", "2025-06-15T17:30", "2025-06-16T09:00", "2025-06-15T17:00"},
        Case{"15,45 1,13 * * *", "2025-06-15T01:16", "2025-06-15T01:45", "2025-06-15T01:15"},
        Case{"15,45 1,13 * * *", "2025-06-15T01:45", "2025-06-15T13:15", "2025-06-15T01:45"},
        Case{"0-30/10 * * * *", "2025-06-15T10:30", "2025-06-15T11:00", "2025-06-15T10:30"},
        Case{"0-30/10 * * * *", "2025-06-15T10:11", "2025-06-15T10:20", "2025-06-15T10:10"},
        Case{"1-30/10 * * * *", "2025-06-15T10:21", "2025-06-15T11:01", "2025-06-15T10:21"},
        Case{"5/15 * * * *", "2025-06-15T10:51", "2025-06-15T11:05", "2025-06-15T10:50"},
        Case{"0 */6 * * *", "2025-06-15T19:00", "2025-06-16T00:00", "2025-06-15T18:00"},
        Case{"0 0 1-10/3 * *", "2025-06-05T00:00", "2025-06-07T00:00", "2025-06-04T00:00"},
        Case{"0 0 1,15 */3 *", "2025-05-20T00:00", "2025-07-01T00:00", "2025-04-15T00:00"},
        // Names in ranges and lists; Sunday at the end of a range.
        Case{"0 9 * * mon-fri", "2025-06-13T09:00", "2025-06-16T09:00", "2025-06-13T09:00"},
        Case{"0 9 * * Fri-Sun", "2025-06-16T09:00", "2025-06-20T09:00", "2025-06-15T09:00"},
        Case{"0 9 * * 5-7", "2025-06-16T09:00", "2025-06-20T09:00", "2025-06-15T09:00"},
        Case{"0 12 1 jan-mar,dec *", "2025-03-02T00:00", "2025-12-01T12:00", "2025-03-01T12:00"},
        Case{"0 12 1 JUN *", "2025-06-01T12:00", "2026-06-01T12:00", "2025-06-01T12:00"},
        // Month ends: the 31st skips 30-day months and February.
        Case{"0 0 31 * *", "2025-04-01T00:00", "2025-05-31T00:00", "2025-03-31T00:00"},
        Case{"0 0 31 * *", "2025-07-15T00:00", "2025-07-31T00:00", "2025-05-31T00:00"},
        Case{"0 0 30 * *", "2025-01-30T00:00", "2025-03-30T00:00", "2025-01-30T00:00"},
        Case{"0 0 28-31 2 *", "2024-02-28T00:00", "2024-02-29T00:00", "2024-02-28T00:00"},
        // Leap days, including 2100, which is not a leap year.
        Case{"0 0 29 2 *", "2025-03-01T00:00", "2028-02-29T00:00", "2024-02-29T00:00"},
        Case{"0 0 29 2 *", "2096-03-01T00:00", "2104-02-29T00:00", "2096-02-29T00:00"},
        Case{"0 0 29 2 *", "2000-02-29T00:00", "2004-02-29T00:00", "2000-02-29T00:00"},
        // Vixie: both day fields restricted -> either matches. July 2025:
        // Fridays 4, 11, 18; the 13th is a Sunday.
        Case{"0 0 13 * fri", "2025-07-05T00:00", "2025-07-11T00:00", "2025-07-04T00:00"},
        Case{"0 0 13 * fri", "2025-07-11T00:00", "2025-07-13T00:00", "2025-07-11T00:00"},
        Case{"0 0 13 * fri", "2025-07-13T12:00", "2025-07-18T00:00", "2025-07-13T00:00"},
        Case{"0 0 30 2 mon", "2025-03-01T00:00", "2026-02-02T00:00", "2025-02-24T00:00"},
        // A day field starting with `*` keeps AND: odd days that are Mondays
        // (June 2025: 9, 23; July: 7, 21).
        Case{"0 0 */2 * mon", "2025-06-24T00:00", "2025-07-07T00:00", "2025-06-23T00:00"},
        Case{"0 0 */2 * mon", "2025-07-08T00:00", "2025-07-21T00:00", "2025-07-07T00:00"},
        Case{"0 0 * * mon", "2025-06-24T00:00", "2025-06-30T00:00", "2025-06-23T00:00"},
        Case{"0 0 13 * *", "2025-07-05T00:00", "2025-07-13T00:00", "2025-06-13T00:00"},
        // Impossible dates never fire, in either direction.
        Case{"0 0 30 2 *", "2025-01-01T00:00", nullptr, nullptr},
        Case{"0 0 31 4,6,9,11 *", "2025-01-01T00:00", nullptr, nullptr},
        Case{"0 0 31 2 */2", "2025-01-01T00:00", nullptr, nullptr},
        // Before 1970 (1969-12-28 was a Sunday).
        Case{"0 4 * * 0", "1970-01-01T00:00", "1970-01-04T04:00", "1969-12-28T04:00"}));

TEST(CronSchedule, TextIsNormalized) {
  EXPECT_EQ(CronSchedule::parse("  30\t4  * *   SUN ").text(), "30 4 * * sun");
  EXPECT_EQ(CronSchedule::parse("*/5 * * * *").text(), "*/5 * * * *");
}

TEST(CronSchedule, EqualityComparesFiringTimes) {
  EXPECT_EQ(CronSchedule::parse("0 0 * * 7"), CronSchedule::parse("0 0 * * sun"));
  EXPECT_EQ(CronSchedule::parse("0 0 * * 0"), CronSchedule::parse("0 0 * * 7"));
  EXPECT_EQ(CronSchedule::parse("*/15 * * * *"), CronSchedule::parse("0,15,30,45 * * * *"));
  EXPECT_EQ(CronSchedule::parse("0 0 * jan-mar *"), CronSchedule::parse("0 0 * 1,2,3 *"));
  EXPECT_FALSE(CronSchedule::parse("0 3 * * *") == CronSchedule::parse("0 4 * * *"));
  // Same sets, different day semantics: OR versus AND.
  EXPECT_FALSE(CronSchedule::parse("0 0 13 * *") == CronSchedule::parse("0 0 13 * 0-6"));
}

TEST(CronSchedule, MatchesOnlyAtSecondZero) {
  const CronSchedule s = CronSchedule::parse("0 3 * * *");
  EXPECT_TRUE(s.matches(utc("2025-06-15T03:00")));
  EXPECT_FALSE(s.matches(utc("2025-06-15T03:00:01")));
  EXPECT_FALSE(s.matches(utc("2025-06-15T03:01")));
}

// Any failure message must name the field, so an admin knows what to fix.
struct BadCase {
  const char* expr;
  const char* message;  // exact what()
};

void PrintTo(const BadCase& c, std::ostream* os) {
  *os << "'" << c.expr << "'";
}

class CronInvalidTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(CronInvalidTest, RejectedWithFieldNamed) {
  const BadCase& c = GetParam();
  try {
    CronSchedule::parse(c.expr);
    FAIL() << "accepted '" << c.expr << "'";
  } catch (const CronError& e) {
    EXPECT_EQ(std::string(e.what()), c.message);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cron, CronInvalidTest,
    ::testing::Values(
        BadCase{"",
                "cron expression must have 5 fields (minute hour day-of-month month "
                "day-of-week), got 0"},
        BadCase{"* * * *",
                "cron expression must have 5 fields (minute hour day-of-month month "
                "day-of-week), got 4"},
        BadCase{"* * * * * *",
                "cron expression must have 5 fields (minute hour day-of-month "
                "month day-of-week), got 6"},
        BadCase{"@daily",
                "cron expression must have 5 fields (minute hour day-of-month month "
                "day-of-week), got 1"},
        BadCase{"60 * * * *", "cron field 'minute': value 60 is out of range 0-59"},
        BadCase{"* 24 * * *", "cron field 'hour': value 24 is out of range 0-23"},
        BadCase{"* * 0 * *", "cron field 'day-of-month': value 0 is out of range 1-31"},
        BadCase{"* * 32 * *", "cron field 'day-of-month': value 32 is out of range 1-31"},
        BadCase{"* * * 0 *", "cron field 'month': value 0 is out of range 1-12"},
        BadCase{"* * * 13 *", "cron field 'month': value 13 is out of range 1-12"},
        BadCase{"* * * * 8", "cron field 'day-of-week': value 8 is out of range 0-7"},
        BadCase{"99999999999 * * * *",
                "cron field 'minute': value 99999999999 is out of range 0-59"},
        BadCase{"0 1-24 * * *", "cron field 'hour': value 24 is out of range 0-23"},
        BadCase{"*/0 * * * *", "cron field 'minute': step 0 is out of range 1-60"},
        BadCase{"* 0-12/0 * * *", "cron field 'hour': step 0 is out of range 1-24"},
        BadCase{"*/90 * * * *", "cron field 'minute': step 90 is out of range 1-60"},
        BadCase{"*/ * * * *", "cron field 'minute': step after '/' must be a number in '*/'"},
        BadCase{"*/x * * * *", "cron field 'minute': step after '/' must be a number in '*/x'"},
        BadCase{"abc * * * *", "cron field 'minute': 'abc' is not a number"},
        BadCase{"1x * * * *", "cron field 'minute': unexpected 'x' in '1x'"},
        BadCase{"* * * * mon;", "cron field 'day-of-week': unexpected ';' in 'mon;'"},
        BadCase{"*5 * * * *", "cron field 'minute': unexpected '5' in '*5'"},
        BadCase{"-5 * * * *", "cron field 'minute': unexpected '-5' in '-5'"},
        BadCase{"1- * * * *", "cron field 'minute': missing value at the end of '1-'"},
        BadCase{"1,,2 * * * *", "cron field 'minute': empty list item in '1,,2'"},
        BadCase{"* 1, * * *", "cron field 'hour': empty list item in '1,'"},
        BadCase{"* * ,1 * *", "cron field 'day-of-month': empty list item in ',1'"},
        BadCase{"5-1 * * * *", "cron field 'minute': range 5-1 is reversed (start after end)"},
        BadCase{"* * * dec-jan *",
                "cron field 'month': range dec-jan is reversed (start after end)"},
        BadCase{"* * * * sat-mon",
                "cron field 'day-of-week': range sat-mon is reversed (start after end)"},
        BadCase{"* * * foo *", "cron field 'month': unknown name 'foo' (expected jan-dec)"},
        BadCase{"* * * * mon-xyz",
                "cron field 'day-of-week': unknown name 'xyz' (expected sun-sat)"},
        BadCase{"* * * * monday",
                "cron field 'day-of-week': unknown name 'monday' (expected sun-sat)"},
        BadCase{"* * mon * *", "cron field 'day-of-month': 'mon' is not a number"}));

// The search skips whole months, days and hours; check it against a plain
// minute-by-minute walk (which only asks matches()) from many start points.
TEST(CronSchedule, SearchAgreesWithMinuteByMinuteWalk) {
  const std::vector<std::string> exprs = {
      "*/5 * * * *",    "0 3 * * *",         "0 4 * * 0",      "30 4 * * sun",
      "0 9-17 * * 1-5", "0 0 13 * fri",      "0 0 */2 * mon",  "15,45 1,13 * * *",
      "0 0 31 * *",     "7 22 * jan,jul *",  "*/17 */5 * * *", "0 12 1-7 * tue",
      "0 0 28-31 2 *",  "59 23 * * sat-sun", "0-30/10 6 * * *"};
  uint64_t seed = 42;
  auto next_random = [&seed] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return seed >> 33;
  };
  constexpr int64_t kWindow = 400 * 86400;  // longer than any gap above (Feb 28-31: a year)
  for (const std::string& e : exprs) {
    const CronSchedule s = CronSchedule::parse(e);
    for (int i = 0; i < 6; ++i) {
      // Anywhere between 2020 and 2040, at an arbitrary second.
      const int64_t from =
          utc("2020-01-01T00:00") + static_cast<int64_t>(next_random() % 631152000);
      std::optional<int64_t> walked;
      for (int64_t t = (from / 60 + 1) * 60; t <= from + kWindow; t += 60) {
        if (s.matches(t)) {
          walked = t;
          break;
        }
      }
      ASSERT_TRUE(walked) << e << " from " << iso(from);
      EXPECT_EQ(iso(s.next_after(from)), iso(walked)) << e << " from " << iso(from);

      std::optional<int64_t> walked_back;
      for (int64_t t = from / 60 * 60; t >= from - kWindow; t -= 60) {
        if (s.matches(t)) {
          walked_back = t;
          break;
        }
      }
      ASSERT_TRUE(walked_back) << e << " from " << iso(from);
      EXPECT_EQ(iso(s.last_at_or_before(from)), iso(walked_back)) << e << " from " << iso(from);
    }
  }
}

// "Missed while down, run once at start-up": with the last run recorded,
// one comparison tells whether anything was missed, however many days.
TEST(CronSchedule, MissedRunIsFoundOnceNotPerDay) {
  const CronSchedule s = CronSchedule::parse("0 3 * * *");
  const int64_t last_run = utc("2025-06-10T03:00");
  const int64_t started = utc("2025-06-15T12:00");
  const std::optional<int64_t> due = s.last_at_or_before(started);
  ASSERT_TRUE(due);
  EXPECT_GT(*due, last_run);
  EXPECT_EQ(iso(due), "2025-06-15T03:00:00");
  EXPECT_EQ(iso(s.next_after(started)), "2025-06-16T03:00:00");
}

TEST(CronSchedule, ImpossibleExpressionsAnswerQuickly) {
  // Decided at parse time; the answer must not cost a 400-year walk.
  const CronSchedule s = CronSchedule::parse("0 0 30 2 *");
  for (int i = 0; i < 10000; ++i) {
    ASSERT_FALSE(s.next_after(utc("2025-01-01T00:00") + i * 3600));
  }
}

TEST(CronSchedule, RareButPossibleIsFoundFarAhead) {
  // AND semantics (`*/28` starts with `*`): Feb 1 or Feb 29 on a Monday.
  const CronSchedule s = CronSchedule::parse("0 0 */28 2 mon");
  EXPECT_EQ(iso(s.next_after(utc("2021-02-02T00:00"))), "2027-02-01T00:00:00");
  // An 11-year gap: an "8 years and give up" bound would wrongly say never.
  EXPECT_EQ(iso(s.next_after(utc("2027-02-02T00:00"))), "2038-02-01T00:00:00");
  EXPECT_EQ(iso(s.last_at_or_before(utc("2038-01-31T00:00"))), "2027-02-01T00:00:00");
}

TEST(CronSchedule, DomainEdges) {
  const CronSchedule s = CronSchedule::parse("0 0 1 1 *");
  EXPECT_EQ(iso(s.next_after(utc("9998-06-01T00:00"))), "9999-01-01T00:00:00");
  EXPECT_FALSE(s.next_after(utc("9999-06-01T00:00")));
  EXPECT_FALSE(s.next_after(INT64_MAX));
  EXPECT_FALSE(s.last_at_or_before(INT64_MIN));
  EXPECT_EQ(iso(s.last_at_or_before(utc("0000-06-01T00:00"))), "0000-01-01T00:00:00");
  EXPECT_FALSE(CronSchedule::parse("0 0 2 1 *").last_at_or_before(utc("0000-01-01T12:00")));
}

}  // namespace
}  // namespace barbossa
