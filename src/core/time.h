// Wall-clock helpers. Time is passed in (not read) by the rules that need it,
// so tests can choose it; these helpers only format and read the clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace barbossa {

int64_t unix_now();                        // seconds
int64_t unix_now_ms();                     // milliseconds
std::string iso8601_utc(int64_t unix_ms);  // 2026-11-26T12:00:00.123Z
// 20261126T120000Z: sorts as text and is safe in a file name.
std::string compact_utc_stamp(int64_t unix_ms);
// Its inverse, to the second; nullopt for anything that is not exactly such
// a stamp (trash entries and backups are aged by the stamp in their name).
std::optional<int64_t> parse_compact_utc_stamp(std::string_view stamp);
// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil: no tables, valid for negative years): timegm() is not
// standard and mktime() is local time.
int64_t days_from_civil(int64_t year, int month, int day);
inline std::string iso8601_now() {
  return iso8601_utc(unix_now_ms());
}

}  // namespace barbossa
