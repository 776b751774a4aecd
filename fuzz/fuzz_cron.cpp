// libFuzzer target: cron expressions (core/cron.h). Input: 8 bytes of a time
// (any int64, so the domain edges are reached), then the expression. Parsing
// may only throw CronError; next/last must agree with matches().
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "core/cron.h"

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "fuzz_cron: invariant violated: %s\n", what);
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  int64_t t = 0;
  memcpy(&t, data, 8);
  std::string_view expr(reinterpret_cast<const char*>(data + 8), size - 8);
  std::optional<barbossa::CronSchedule> schedule;
  try {
    schedule = barbossa::CronSchedule::parse(expr);
  } catch (const barbossa::CronError&) {
    return 0;  // the one documented failure; anything else escapes and is a finding
  }
  // The canonical text parses to the same schedule.
  check(barbossa::CronSchedule::parse(schedule->text()) == *schedule, "text() does not round-trip");
  if (auto next = schedule->next_after(t)) {
    check(*next > t, "next_after not after t");
    check(schedule->matches(*next), "next_after does not match");
    if (auto back = schedule->last_at_or_before(*next)) {
      check(*back == *next, "last_at_or_before(next) is not next");
    }
  }
  if (auto last = schedule->last_at_or_before(t)) {
    check(*last <= t, "last_at_or_before after t");
    check(schedule->matches(*last), "last_at_or_before does not match");
    if (auto after = schedule->next_after(*last - 1)) {
      check(*after == *last, "next_after(last - 1) is not last");
    }
  }
  return 0;
}
