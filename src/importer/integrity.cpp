#include "importer/integrity.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <system_error>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/time.h"
#include "files/fs_util.h"
#include "media/sha256.h"

namespace barbossa {

namespace fs = std::filesystem;

namespace {

enum class Verdict { kGood, kMissing, kMismatched };

struct Check {
  Verdict verdict = Verdict::kMissing;
  std::string actual;  // set for kGood and kMismatched
};

Check check_track(const fs::path& library, const Track& track) {
  Check c;
  if (track.path.empty()) return c;
  const fs::path file = library / fs::path(track.path);
  // A path outside the library (absolute, "..", or a symlink leading out) is
  // not a library file at all: reading it would let a tampered row make us
  // hash arbitrary files, so it counts as missing.
  if (!is_within(library, file)) return c;
  std::error_code ec;
  fs::file_status st = fs::status(file, ec);
  if (ec || !fs::is_regular_file(st)) return c;
  try {
    c.actual = sha256_file(file);
  } catch (const std::exception& e) {
    // Unreadable is as good as gone for playback; the report's shape has no
    // third kind, so say why in the log.
    spdlog::warn("integrity: track {}: {}", track.id, e.what());
    return c;
  }
  c.verdict = c.actual == track.sha256 ? Verdict::kGood : Verdict::kMismatched;
  return c;
}

// Paths come from tags: replace invalid UTF-8 rather than fail the run.
std::string dump_lenient(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct SavedProgress {
  IntegrityReport report;
  int64_t after_id = 0;
};

void save_progress(Store& store, const IntegrityReport& report, int64_t after_id) {
  nlohmann::json j = nlohmann::json::object();
  j["report"] = report.to_json();
  j["after_id"] = after_id;
  const std::string text = dump_lenient(j);
  store.write([&](StoreSession& s) { s.meta().put(kIntegrityProgressKey, text); });
}

std::optional<SavedProgress> load_progress(Store& store) {
  auto text = store.read([](StoreSession& s) { return s.meta().get(kIntegrityProgressKey); });
  if (!text || text->empty()) return std::nullopt;
  try {
    nlohmann::json j = nlohmann::json::parse(*text);
    SavedProgress p;
    p.after_id = j.at("after_id").get<int64_t>();
    const nlohmann::json& r = j.at("report");
    p.report.checked = r.at("checked").get<int64_t>();
    for (const auto& m : r.at("missing")) {
      p.report.missing.push_back(
          MissingTrack{m.at("track_id").get<int64_t>(), m.at("path").get<std::string>()});
    }
    for (const auto& m : r.at("mismatched")) {
      p.report.mismatched.push_back(
          MismatchedTrack{m.at("track_id").get<int64_t>(), m.at("path").get<std::string>(),
                          m.at("expected").get<std::string>(), m.at("actual").get<std::string>()});
    }
    p.report.started_at = r.at("started_at").get<std::string>();
    p.report.duration_ms = r.at("duration_ms").get<int64_t>();
    return p;
  } catch (const std::exception& e) {
    // Not worth failing over: the pass starts again from the first track.
    spdlog::warn("integrity: ignoring unreadable saved progress: {}", e.what());
    return std::nullopt;
  }
}

// One pass over the library, possibly spread over several runs.
struct Pass {
  IntegrityReport report;
  int64_t after_id = 0;    // the last track id checked
  int64_t earlier_ms = 0;  // working time of the runs this one resumes
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  int64_t elapsed_ms() const {
    return earlier_ms + std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
  }
};

Pass start_pass(Store& store, bool resume) {
  Pass pass;
  pass.report.started_at = iso8601_now();
  if (!resume) return pass;
  if (auto saved = load_progress(store)) {
    pass.report = std::move(saved->report);
    pass.after_id = saved->after_id;
    pass.earlier_ms = pass.report.duration_ms;
    spdlog::info("integrity: resuming after track {} ({} checked so far)", pass.after_id,
                 pass.report.checked);
  }
  return pass;
}

// Stopped early: the partial report is kept for the next run to go on from.
IntegrityReport pause_pass(Store& store, Pass& pass) {
  pass.report.complete = false;
  pass.report.duration_ms = pass.elapsed_ms();
  save_progress(store, pass.report, pass.after_id);
  spdlog::info("integrity: paused after track {} ({} checked); the next run goes on", pass.after_id,
               pass.report.checked);
  return pass.report;
}

// Keyset pages: memory is one batch of rows whatever the library's size, and
// no read transaction stays open while files are hashed (a server's writers
// are never held back by a long snapshot).
std::vector<Track> next_batch(Store& store, int64_t after_id, int64_t batch_size) {
  return store.read(
      [&](StoreSession& s) { return s.library().tracks_after(after_id, batch_size); });
}

std::vector<Check> hash_batch(const fs::path& library, const std::vector<Track>& batch,
                              ParallelPool* pool, size_t threads) {
  std::vector<Check> checks(batch.size());
  auto one = [&](size_t i) { checks[i] = check_track(library, batch[i]); };
  if (pool != nullptr) {
    pool->run(batch.size(), threads - 1, one);
  } else {
    parallel_for(batch.size(), threads, one);
  }
  return checks;
}

// A problem may be an import or delete that ran while we hashed (the server
// is allowed to be up): look at the row again and judge the file by what is
// recorded now. Rare, so done serially. A deleted track gets id 0.
void recheck_problems(Store& store, const fs::path& library, std::vector<Track>& batch,
                      std::vector<Check>& checks) {
  for (size_t i = 0; i < batch.size(); ++i) {
    if (checks[i].verdict == Verdict::kGood) continue;
    std::optional<Track> now =
        store.read([&](StoreSession& s) { return s.library().find_track(batch[i].id); });
    if (!now) {
      checks[i].verdict = Verdict::kGood;  // deleted meanwhile: nothing to report...
      batch[i].id = 0;                     // ...and nothing to mark
      continue;
    }
    if (now->path != batch[i].path || now->sha256 != batch[i].sha256) {
      batch[i] = *now;
      checks[i] = check_track(library, batch[i]);
    }
  }
}

void mark_verified(Store& store, const std::vector<Track>& batch,
                   const std::vector<Check>& checks) {
  const std::string verified_at = iso8601_now();
  store.write([&](StoreSession& s) {
    LibraryRepository& lib = s.library();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (checks[i].verdict != Verdict::kGood || batch[i].id == 0) continue;
      // Guarded by path and digest, so a row changed meanwhile is neither
      // overwritten nor marked verified for a file we did not hash.
      lib.mark_track_verified(batch[i].id, batch[i].path, batch[i].sha256, verified_at);
    }
  });
}

void add_to_report(IntegrityReport& report, const std::vector<Track>& batch,
                   const std::vector<Check>& checks) {
  for (size_t i = 0; i < batch.size(); ++i) {
    const Track& t = batch[i];
    if (t.id == 0) continue;
    ++report.checked;
    if (checks[i].verdict == Verdict::kMissing) {
      report.missing.push_back(MissingTrack{t.id, t.path});
    } else if (checks[i].verdict == Verdict::kMismatched) {
      report.mismatched.push_back(MismatchedTrack{t.id, t.path, t.sha256, checks[i].actual});
    }
  }
}

// Complete: the report is stored as the last one and the progress cleared.
IntegrityReport finish_pass(Store& store, Pass& pass) {
  pass.report.finished_at = iso8601_now();
  pass.report.duration_ms = pass.elapsed_ms();
  const std::string stored = dump_lenient(pass.report.to_json());
  store.write([&](StoreSession& s) {
    s.meta().put(kIntegrityReportKey, stored);
    s.meta().put(kIntegrityProgressKey, "");
  });
  return pass.report;
}

}  // namespace

nlohmann::json IntegrityReport::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  j["checked"] = checked;
  nlohmann::json m = nlohmann::json::array();
  for (const MissingTrack& t : missing) {
    nlohmann::json row = nlohmann::json::object();
    row["track_id"] = t.track_id;
    row["path"] = t.path;
    m.push_back(std::move(row));
  }
  j["missing"] = std::move(m);
  nlohmann::json mm = nlohmann::json::array();
  for (const MismatchedTrack& t : mismatched) {
    nlohmann::json row = nlohmann::json::object();
    row["track_id"] = t.track_id;
    row["path"] = t.path;
    row["expected"] = t.expected;
    row["actual"] = t.actual;
    mm.push_back(std::move(row));
  }
  j["mismatched"] = std::move(mm);
  j["started_at"] = started_at;
  j["finished_at"] = finished_at;
  j["duration_ms"] = duration_ms;
  return j;
}

IntegrityReport verify_library(Store& store, const fs::path& library_dir, ParallelPool* pool,
                               const IntegrityOptions& options) {
  Pass pass = start_pass(store, options.resume);
  const fs::path library = fs::absolute(library_dir).lexically_normal();
  size_t threads = options.threads;
  if (threads == 0) threads = std::max<size_t>(1, std::thread::hardware_concurrency());
  const int64_t batch_size = std::max<int64_t>(1, options.batch_size);
  for (;;) {
    if (options.should_stop && options.should_stop()) return pause_pass(store, pass);
    std::vector<Track> batch = next_batch(store, pass.after_id, batch_size);
    if (batch.empty()) break;
    pass.after_id = batch.back().id;
    std::vector<Check> checks = hash_batch(library, batch, pool, threads);
    recheck_problems(store, library, batch, checks);
    mark_verified(store, batch, checks);
    add_to_report(pass.report, batch, checks);
    if (options.progress) options.progress(pass.report.checked);
  }
  return finish_pass(store, pass);
}

IntegrityReport verify_library(Store& store, const fs::path& library_dir, ParallelPool* pool,
                               size_t threads) {
  IntegrityOptions options;
  options.threads = threads;
  return verify_library(store, library_dir, pool, options);
}

}  // namespace barbossa
