// libFuzzer target: the progress-line parsers (core/download_progress.h).
// Any bytes are a line a child process might print: parsing never throws,
// and what it finds is in range.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "core/download_progress.h"

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "fuzz_download_progress: invariant violated: %s\n", what);
    abort();
  }
}

void check_progress(const barbossa::DownloadProgress& p) {
  check(p.percent && *p.percent >= 0 && *p.percent <= 100, "percent missing or out of range");
  check(!p.bytes_done || *p.bytes_done >= 0, "negative bytes done");
  check(!p.bytes_total || *p.bytes_total >= 0, "negative total");
  check(!p.bytes_per_second || *p.bytes_per_second >= 0, "negative speed");
  check(!p.eta_seconds || *p.eta_seconds >= 0, "negative eta");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  if (auto y = barbossa::parse_ytdlp_line(line)) {
    check(y->progress.has_value() != y->destination.has_value(), "neither or both");
    if (y->progress) check_progress(*y->progress);
    if (y->destination) check(!y->destination->empty(), "empty destination");
  }
  if (auto r = barbossa::parse_rip_line(line)) check_progress(*r);
  barbossa::parse_byte_size(line);
  barbossa::parse_clock(line);
  return 0;
}
