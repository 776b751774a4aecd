// Cron schedules for the scheduler (SPEC §8): five fields, always UTC, no I/O.
//
//   minute (0-59)  hour (0-23)  day-of-month (1-31)  month (1-12 or jan-dec)
//   day-of-week (0-7 or sun-sat; 0 and 7 are both Sunday)
//
// Each field is a comma list of items: `*`, `N`, `N-M`, each optionally with a
// step (`*/5`, `1-30/10`); `N/S` means `N-<max>/S`. Names are three letters,
// case-insensitive, and may appear in ranges (`mon-fri`, `jan-mar`); `sun` at
// the end of a range means 7, so `fri-sun` works. Ranges do not wrap (`5-1` is
// an error). Day matching follows Vixie cron: when both day fields are
// restricted (neither starts with `*`) a day matches if EITHER matches
// (`0 0 13 * fri` fires on every 13th and every Friday); otherwise both must.
//
// Times are Unix seconds. The supported domain is 0000-01-01T00:00:00Z to
// 9999-12-31T23:59:59Z; inputs outside it, and results that would leave it,
// give std::nullopt rather than overflowing.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace barbossa {

// Message names the field: "cron field 'hour': value 24 is out of range 0-23".
class CronError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class CronSchedule {
 public:
  // Throws CronError. Leading, trailing and repeated blanks are accepted.
  static CronSchedule parse(std::string_view expr);

  // The first firing strictly after t (always at second 0), or std::nullopt
  // when the expression can never fire (`0 0 30 2 *`, `0 0 31 4,6 *`).
  // "Never" is exact, not a give-up: it is decided at parse time, and the
  // search is bounded by one 400-year Gregorian cycle, after which dates and
  // weekdays repeat, so a schedule that can fire always fires inside it.
  // Cost is a few thousand cheap steps in the worst case: whole months,
  // days and hours that cannot match are skipped, never scanned minute by
  // minute.
  std::optional<int64_t> next_after(int64_t t) const;

  // The latest firing at or before t, or std::nullopt (as above). This is
  // what "a schedule missed while the server was down runs once at start-up"
  // needs: compare it with the last recorded run.
  std::optional<int64_t> last_at_or_before(int64_t t) const;

  // Whether t is a firing time (second 0 and every field matches).
  bool matches(int64_t t) const;

  // The expression lower-cased with single spaces between fields, e.g.
  // "30 4 * * sun" for "30  4 * * SUN"; stable for display and storage.
  const std::string& text() const { return text_; }

  // Same firing times, judged by the parsed sets: `0 0 * * 7` equals
  // `0 0 * * 0`; the text may differ.
  friend bool operator==(const CronSchedule& a, const CronSchedule& b) {
    return a.minutes_ == b.minutes_ && a.hours_ == b.hours_ && a.days_ == b.days_ &&
           a.months_ == b.months_ && a.weekdays_ == b.weekdays_ && a.days_or_ == b.days_or_;
  }

 private:
  CronSchedule() = default;

  bool day_matches(int day_of_month, int weekday) const;
  bool find_time_forward(int hour, int minute, int& out_hour, int& out_minute) const;
  bool find_time_backward(int hour, int minute, int& out_hour, int& out_minute) const;

  // Bit n set = value n allowed (weekday bit 0 is Sunday; bit 7 is folded in).
  uint64_t minutes_ = 0;
  uint32_t hours_ = 0;
  uint32_t days_ = 0;
  uint16_t months_ = 0;
  uint8_t weekdays_ = 0;
  bool days_or_ = false;  // both day fields restricted: Vixie OR semantics
  bool never_ = false;    // no allowed (month, day) exists in any year
  std::string text_;
};

}  // namespace barbossa
