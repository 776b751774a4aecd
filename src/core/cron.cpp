#include "core/cron.h"

#include <array>
#include <string>
#include <vector>

#include "core/time.h"

namespace barbossa {
namespace {

// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the civil math below is
// exact far beyond this, but a fixed domain keeps every product in int64.
constexpr int64_t kMinTime = -62167219200;
constexpr int64_t kMaxTime = 253402300799;

// Dates and weekdays repeat every 400 years (146097 days, a multiple of 7),
// so if nothing fires in 400 years and a month, nothing ever will.
constexpr int kSearchMonths = 400 * 12 + 1;

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

struct Civil {
  int64_t year;
  int month;  // 1-12
  int day;    // 1-31
};

// Howard Hinnant's civil_from_days, the inverse of days_from_civil
// (core/time.h): day 0 = 1970-01-01, valid for negative years too.
Civil civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = floor_div(z, 146097);
  const int64_t doe = z - era * 146097;                                       // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                     // [0, 11]
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

bool is_leap(int64_t y) {
  return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

int days_in_month(int64_t y, int m) {
  static constexpr std::array<int, 13> kDays{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m];
}

// 0 = Sunday; 1970-01-01 was a Thursday.
int weekday_from_days(int64_t z) {
  return static_cast<int>(z - floor_div(z + 4, 7) * 7 + 4);
}

struct FieldSpec {
  const char* name;
  int min;
  int max;                            // largest value accepted as written (7 for day-of-week)
  int star_max;                       // what `*` and `N/S` run up to (6 for day-of-week)
  std::array<const char*, 12> names;  // index 0 = value `min`; empty when the field has none
};

constexpr std::array<FieldSpec, 5> kFields{{
    {"minute", 0, 59, 59, {}},
    {"hour", 0, 23, 23, {}},
    {"day-of-month", 1, 31, 31, {}},
    {"month",
     1,
     12,
     12,
     {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
    {"day-of-week", 0, 7, 6, {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}};

constexpr int kDayOfWeek = 4;

[[noreturn]] void fail(const FieldSpec& f, const std::string& what) {
  throw CronError("cron field '" + std::string(f.name) + "': " + what);
}

std::string range_text(int lo, int hi) {
  return std::to_string(lo) + "-" + std::to_string(hi);
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return c >= 'a' && c <= 'z';  // the expression is lower-cased before parsing
}

struct Value {
  int value;
  bool was_name;
};

// Reads a number or a name at `pos` in `item`, checking the field's range.
Value parse_value(const FieldSpec& f, std::string_view item, size_t& pos) {
  const size_t start = pos;
  if (pos < item.size() && is_digit(item[pos])) {
    while (pos < item.size() && is_digit(item[pos])) ++pos;
    std::string_view digits = item.substr(start, pos - start);
    // More than 4 digits cannot be in range; avoids overflow on "99999999999".
    int v = 0;
    if (digits.size() <= 4) {
      for (char c : digits) v = v * 10 + (c - '0');
    }
    if (digits.size() > 4 || v < f.min || v > f.max) {
      fail(f, "value " + std::string(digits) + " is out of range " + range_text(f.min, f.max));
    }
    return {v, false};
  }
  if (pos < item.size() && is_alpha(item[pos])) {
    while (pos < item.size() && is_alpha(item[pos])) ++pos;
    std::string_view word = item.substr(start, pos - start);
    if (f.names[0] == nullptr) {
      fail(f, "'" + std::string(word) + "' is not a number");
    }
    for (size_t i = 0; i < f.names.size() && f.names[i] != nullptr; ++i) {
      if (word == f.names[i]) return {f.min + static_cast<int>(i), true};
    }
    const std::string first = f.names[0];
    const std::string last = f.min == 1 ? "dec" : "sat";
    fail(f, "unknown name '" + std::string(word) + "' (expected " + first + "-" + last + ")");
  }
  if (pos >= item.size()) {
    fail(f, "missing value at the end of '" + std::string(item) + "'");
  }
  fail(f, "unexpected '" + std::string(item.substr(pos)) + "' in '" + std::string(item) + "'");
}

// One list item: `*`, `N`, `N-M`, each with an optional `/S`.
uint64_t parse_item(const FieldSpec& f, std::string_view item) {
  size_t pos = 0;
  int lo = f.min;
  int hi = f.star_max;
  bool single = false;
  if (item[0] == '*') {
    pos = 1;
  } else {
    const Value first = parse_value(f, item, pos);
    lo = first.value;
    if (pos < item.size() && item[pos] == '-') {
      ++pos;
      const Value last = parse_value(f, item, pos);
      hi = last.value;
      // `fri-sun` reads naturally; Sunday as a range end can only mean 7.
      if (&f == &kFields[kDayOfWeek] && last.was_name && hi == 0) hi = 7;
      if (lo > hi) {
        fail(f, "range " + std::string(item.substr(0, pos)) + " is reversed (start after end)");
      }
    } else {
      single = true;
      hi = lo;
    }
  }
  int step = 1;
  if (pos < item.size() && item[pos] == '/') {
    ++pos;
    const size_t start = pos;
    while (pos < item.size() && is_digit(item[pos])) ++pos;
    std::string_view digits = item.substr(start, pos - start);
    if (digits.empty()) {
      fail(f, "step after '/' must be a number in '" + std::string(item) + "'");
    }
    // A step longer than the field is a typo (`*/90` for minutes), not a wish.
    const int span = f.star_max - f.min + 1;
    int v = 0;
    if (digits.size() <= 4) {
      for (char c : digits) v = v * 10 + (c - '0');
    }
    if (digits.size() > 4 || v < 1 || v > span) {
      fail(f, "step " + std::string(digits) + " is out of range " + range_text(1, span));
    }
    step = v;
    if (single) hi = f.star_max < lo ? lo : f.star_max;  // `5/15` = `5-max/15`
  }
  if (pos != item.size()) {
    fail(f, "unexpected '" + std::string(item.substr(pos)) + "' in '" + std::string(item) + "'");
  }
  uint64_t bits = 0;
  for (int v = lo; v <= hi; v += step) bits |= uint64_t{1} << v;
  return bits;
}

uint64_t parse_field(const FieldSpec& f, std::string_view field) {
  uint64_t bits = 0;
  size_t start = 0;
  while (true) {
    const size_t comma = field.find(',', start);
    std::string_view item =
        field.substr(start, comma == std::string_view::npos ? comma : comma - start);
    if (item.empty()) fail(f, "empty list item in '" + std::string(field) + "'");
    bits |= parse_item(f, item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (&f == &kFields[kDayOfWeek] && (bits & (uint64_t{1} << 7))) {
    bits = (bits | 1) & 0x7f;  // 7 is Sunday too
  }
  return bits;
}

bool has(uint64_t bits, int v) {
  return (bits >> v) & 1;
}

}  // namespace

CronSchedule CronSchedule::parse(std::string_view expr) {
  std::vector<std::string> fields;
  std::string current;
  for (char c : expr) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (!current.empty()) fields.push_back(std::move(current));
      current.clear();
    } else {
      current += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
  }
  if (!current.empty()) fields.push_back(std::move(current));
  if (fields.size() != kFields.size()) {
    throw CronError(
        "cron expression must have 5 fields (minute hour day-of-month month day-of-week), got " +
        std::to_string(fields.size()));
  }

  CronSchedule s;
  s.minutes_ = parse_field(kFields[0], fields[0]);
  s.hours_ = static_cast<uint32_t>(parse_field(kFields[1], fields[1]));
  s.days_ = static_cast<uint32_t>(parse_field(kFields[2], fields[2]));
  s.months_ = static_cast<uint16_t>(parse_field(kFields[3], fields[3]));
  s.weekdays_ = static_cast<uint8_t>(parse_field(kFields[4], fields[4]));
  // Vixie looks at the first character, so `*/2` counts as unrestricted.
  s.days_or_ = fields[2][0] != '*' && fields[4][0] != '*';

  // With AND semantics a month/day pair that exists in no year (Feb 30, Apr
  // 31) can never fire. Any existing date falls on every weekday within the
  // 400-year cycle (Feb 29 too), and with OR semantics every month has every
  // weekday, so this is the only way an expression is impossible.
  if (!s.days_or_) {
    s.never_ = true;
    for (int m = 1; m <= 12 && s.never_; ++m) {
      if (!has(s.months_, m)) continue;
      const int longest = m == 2 ? 29 : days_in_month(2001, m);
      for (int d = 1; d <= longest; ++d) {
        if (has(s.days_, d)) {
          s.never_ = false;
          break;
        }
      }
    }
  }

  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) s.text_ += ' ';
    s.text_ += fields[i];
  }
  return s;
}

bool CronSchedule::day_matches(int day_of_month, int weekday) const {
  const bool dom = has(days_, day_of_month);
  const bool dow = has(weekdays_, weekday);
  return days_or_ ? (dom || dow) : (dom && dow);
}

// The first allowed (hour, minute) at or after (hour, minute) within one day.
bool CronSchedule::find_time_forward(int hour, int minute, int& out_hour, int& out_minute) const {
  for (int h = hour; h <= 23; ++h) {
    if (!has(hours_, h)) continue;
    for (int m = h == hour ? minute : 0; m <= 59; ++m) {
      if (has(minutes_, m)) {
        out_hour = h;
        out_minute = m;
        return true;
      }
    }
  }
  return false;
}

// The last allowed (hour, minute) at or before (hour, minute) within one day.
bool CronSchedule::find_time_backward(int hour, int minute, int& out_hour, int& out_minute) const {
  for (int h = hour; h >= 0; --h) {
    if (!has(hours_, h)) continue;
    for (int m = h == hour ? minute : 59; m >= 0; --m) {
      if (has(minutes_, m)) {
        out_hour = h;
        out_minute = m;
        return true;
      }
    }
  }
  return false;
}

std::optional<int64_t> CronSchedule::next_after(int64_t t) const {
  if (never_ || t < kMinTime || t > kMaxTime) return std::nullopt;
  const int64_t minute = floor_div(t, 60) + 1;  // strictly after t, at second 0
  const int64_t day0 = floor_div(minute, 1440);
  const int tod = static_cast<int>(minute - day0 * 1440);
  const Civil c = civil_from_days(day0);
  int64_t year = c.year;
  int month = c.month;
  int day = c.day;
  int hh = tod / 60;
  int mm = tod % 60;
  for (int i = 0; i <= kSearchMonths; ++i) {
    if (has(months_, month)) {
      const int len = days_in_month(year, month);
      const int64_t first = days_from_civil(year, month, 1);
      const int first_weekday = weekday_from_days(first);
      for (; day <= len; ++day, hh = 0, mm = 0) {
        if (!day_matches(day, (first_weekday + day - 1) % 7)) continue;
        int h = 0, m = 0;
        if (find_time_forward(hh, mm, h, m)) {
          const int64_t r = (first + day - 1) * 86400 + h * 3600 + m * 60;
          if (r > kMaxTime) return std::nullopt;
          return r;
        }
      }
    }
    day = 1;
    hh = mm = 0;
    if (++month > 12) {
      month = 1;
      ++year;
    }
  }
  return std::nullopt;
}

std::optional<int64_t> CronSchedule::last_at_or_before(int64_t t) const {
  if (never_ || t < kMinTime || t > kMaxTime) return std::nullopt;
  const int64_t minute = floor_div(t, 60);
  const int64_t day0 = floor_div(minute, 1440);
  const int tod = static_cast<int>(minute - day0 * 1440);
  const Civil c = civil_from_days(day0);
  int64_t year = c.year;
  int month = c.month;
  int day = c.day;
  int hh = tod / 60;
  int mm = tod % 60;
  for (int i = 0; i <= kSearchMonths; ++i) {
    if (has(months_, month)) {
      const int64_t first = days_from_civil(year, month, 1);
      const int first_weekday = weekday_from_days(first);
      for (; day >= 1; --day, hh = 23, mm = 59) {
        if (!day_matches(day, (first_weekday + day - 1) % 7)) continue;
        int h = 0, m = 0;
        if (find_time_backward(hh, mm, h, m)) {
          const int64_t r = (first + day - 1) * 86400 + h * 3600 + m * 60;
          if (r < kMinTime) return std::nullopt;
          return r;
        }
      }
    }
    if (--month < 1) {
      month = 12;
      --year;
    }
    day = days_in_month(year, month);
    hh = 23;
    mm = 59;
  }
  return std::nullopt;
}

bool CronSchedule::matches(int64_t t) const {
  if (t < kMinTime || t > kMaxTime || floor_div(t, 60) * 60 != t) return false;
  const int64_t days = floor_div(t, 86400);
  const int tod = static_cast<int>(t - days * 86400);
  const Civil c = civil_from_days(days);
  return has(minutes_, tod / 60 % 60) && has(hours_, tod / 3600) && has(months_, c.month) &&
         day_matches(c.day, weekday_from_days(days));
}

}  // namespace barbossa
