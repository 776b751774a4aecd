// Wall-clock helpers. Time is passed in (not read) by the rules that need it,
// so tests can choose it; these helpers only format and read the clock.
#pragma once

#include <cstdint>
#include <string>

namespace barbossa {

int64_t unix_now();                        // seconds
int64_t unix_now_ms();                     // milliseconds
std::string iso8601_utc(int64_t unix_ms);  // 2026-11-26T12:00:00.123Z
// 20261126T120000Z: sorts as text and is safe in a file name.
std::string compact_utc_stamp(int64_t unix_ms);
inline std::string iso8601_now() {
  return iso8601_utc(unix_now_ms());
}

}  // namespace barbossa
