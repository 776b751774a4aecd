// Integrity verification (SPEC §8 `verify-integrity`, `barbossa verify`):
// every track's file exists inside the library and its SHA-256 still matches
// the digest recorded at import. Files are streamed through sha256_file's
// fixed buffer, so memory does not depend on file size, and hashed in
// parallel. Safe while a server runs on the same data: the only writes are
// tracks.checksum_verified_at and the stored report.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "media/parallel_pool.h"
#include "store/store.h"

namespace barbossa {

// The meta key under which the last report is kept (for the admin API and
// the scheduled job to show without re-running the check).
inline constexpr const char* kIntegrityReportKey = "integrity_report";
// Where a run stopped early (time budget, cancel): the partial report and the
// last track id checked, so the next run goes on from there.
inline constexpr const char* kIntegrityProgressKey = "integrity_progress";

struct MissingTrack {
  int64_t track_id = 0;
  std::string path;  // as recorded, relative to the library
};

struct MismatchedTrack {
  int64_t track_id = 0;
  std::string path;
  std::string expected;  // the recorded digest
  std::string actual;    // the digest of the file now
};

struct IntegrityReport {
  int64_t checked = 0;
  std::vector<MissingTrack> missing;
  std::vector<MismatchedTrack> mismatched;
  std::string started_at;  // ISO 8601 UTC
  std::string finished_at;
  int64_t duration_ms = 0;

  // False when the run stopped early (should_stop); the report then covers
  // the tracks checked so far and was not stored as the last report.
  bool complete = true;

  bool clean() const { return missing.empty() && mismatched.empty(); }
  // Exactly SPEC §8: {checked, missing: [{track_id, path}], mismatched:
  // [{track_id, path, expected, actual}], started_at, finished_at, duration_ms}.
  nlohmann::json to_json() const;
};

struct IntegrityOptions {
  size_t threads = 0;        // hashing threads including the caller; 0: hardware concurrency
  int64_t batch_size = 512;  // tracks read, hashed and marked verified per round
  // Called after each batch with the tracks checked so far (for job progress).
  std::function<void(int64_t checked)> progress;
  // Asked between batches; true ends the run early, keeping where it stopped
  // under kIntegrityProgressKey (the scheduled job's time budget and cancel).
  std::function<bool()> should_stop;
  // Go on from a run that stopped early, when one did; otherwise start over.
  bool resume = false;
};

// Checks every track in the store against the files under `library_dir`,
// in id order.
// A file that is absent, not a regular file, unreadable, or whose path
// escapes the library counts as missing. Good tracks get
// checksum_verified_at = now (one write transaction per batch). A complete
// run stores its report under kIntegrityReportKey (and clears any progress);
// one that stopped early stores progress instead. checked counts the tracks
// of the whole pass, resumed parts included; duration_ms is the pass's
// working time, not the pauses between runs.
// pool: shared hashing threads (may be null: threads are started per batch).
IntegrityReport verify_library(Store& store, const std::filesystem::path& library_dir,
                               ParallelPool* pool, const IntegrityOptions& options = {});
IntegrityReport verify_library(Store& store, const std::filesystem::path& library_dir,
                               ParallelPool* pool, size_t threads);

}  // namespace barbossa
