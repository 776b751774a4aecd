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

#include "media/worker_pool.h"
#include "store/store.h"

namespace barbossa {

// The meta key under which the last report is kept (for the admin API and
// the scheduled job to show without re-running the check).
inline constexpr const char* kIntegrityReportKey = "integrity_report";

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
};

// Checks every track in the store against the files under `library_dir`.
// A file that is absent, not a regular file, unreadable, or whose path
// escapes the library counts as missing. Good tracks get
// checksum_verified_at = now (one write transaction per batch). The report is
// stored under kIntegrityReportKey and returned.
// pool: shared hashing threads (may be null: threads are started per batch).
IntegrityReport verify_library(Store& store, const std::filesystem::path& library_dir,
                               WorkerPool* pool, const IntegrityOptions& options = {});
IntegrityReport verify_library(Store& store, const std::filesystem::path& library_dir,
                               WorkerPool* pool, size_t threads);

}  // namespace barbossa
