// sha256_bench ROOT [ROUNDS]: SHA-256 throughput of media/sha256.h over every
// regular file under ROOT (page cache warmed first by one untimed pass).
// For each of sha256_file in a loop, sha256_files(threads=1) and
// sha256_files(threads=2) it prints the best of ROUNDS rounds: bytes, seconds,
// GB/s and GB/s per core (thread CPU time, so a busy machine shows up as
// lower wall-clock GB/s but not as lower per-core GB/s), one line each, plus
// a JSON line per mode for scripts.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "media/sha256.h"

namespace fs = std::filesystem;
using barbossa::sha256_file;
using barbossa::sha256_files;

namespace {

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Round {
  double wall = 0;
  double cpu = 0;
};

template <typename Fn>
Round timed(Fn&& fn) {
  const double c0 = process_cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  const auto t1 = std::chrono::steady_clock::now();
  return Round{std::chrono::duration<double>(t1 - t0).count(), process_cpu_seconds() - c0};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s ROOT [ROUNDS]\n", argv[0]);
    return 2;
  }
  const int rounds = argc > 2 ? std::max(1, std::atoi(argv[2])) : 5;
  std::vector<fs::path> paths;
  uint64_t bytes = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(argv[1], ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    paths.push_back(it->path());
    bytes += it->file_size(ec);
  }
  if (ec || paths.empty()) {
    std::fprintf(stderr, "sha256_bench: no files under %s (%s)\n", argv[1], ec.message().c_str());
    return 1;
  }
  std::sort(paths.begin(), paths.end());

  // Warm the page cache and check every file hashes.
  for (const auto& d : sha256_files(paths, 2)) {
    if (!d.error.empty()) {
      std::fprintf(stderr, "sha256_bench: %s\n", d.error.c_str());
      return 1;
    }
  }

  struct Mode {
    const char* name;
    unsigned threads;
    bool one_by_one;  // sha256_file per path on this thread, not sha256_files
  };
  const Mode modes[] = {{"sha256_file loop", 1, true},
                        {"sha256_files threads=1", 1, false},
                        {"sha256_files threads=2", 2, false}};
  std::printf("files=%zu bytes=%llu rounds=%d\n", paths.size(), static_cast<unsigned long long>(bytes), rounds);
  std::printf("%-24s %14s %10s %10s %10s %14s\n", "mode", "bytes", "wall_s", "cpu_s", "GB/s", "GB/s/core");
  for (const Mode& m : modes) {
    Round best{1e30, 0};
    Round best_cpu{0, 1e30};
    size_t sink = 0;
    for (int r = 0; r < rounds; ++r) {
      Round round;
      if (m.one_by_one) {
        round = timed([&] {
          for (const auto& p : paths) sink += sha256_file(p).size();
        });
      } else {
        round = timed([&] { sink += sha256_files(paths, m.threads).size(); });
      }
      if (round.wall < best.wall) best = round;
      if (round.cpu < best_cpu.cpu) best_cpu = round;
    }
    if (sink == 0) return 1;
    const double gbs = static_cast<double>(bytes) / best.wall / 1e9;
    // Per core: bytes over CPU seconds actually spent (all threads), so two
    // threads sharing the box with other work are not penalised for waiting.
    const double per_core = static_cast<double>(bytes) / best_cpu.cpu / 1e9;
    // Per core by wall clock: GB/s divided by the threads used.
    const double per_core_wall = gbs / m.threads;
    std::printf("%-24s %14llu %10.4f %10.4f %10.3f %14.3f\n", m.name, static_cast<unsigned long long>(bytes),
                best.wall, best_cpu.cpu, gbs, per_core);
    std::printf(
        "JSON {\"mode\":\"%s\",\"threads\":%u,\"files\":%zu,\"bytes\":%llu,\"rounds\":%d,\"best_wall_s\":%.6f,"
        "\"best_cpu_s\":%.6f,\"gb_s\":%.4f,\"gb_s_per_core_cpu\":%.4f,\"gb_s_per_core_wall\":%.4f}\n",
        m.name, m.threads, paths.size(), static_cast<unsigned long long>(bytes), rounds, best.wall, best_cpu.cpu,
        gbs, per_core, per_core_wall);
  }
  return 0;
}
