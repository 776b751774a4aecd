// `barbossa import` and `barbossa verify`: the library commands that work
// offline, whether or not a server runs on the same data (the database
// serializes the commits).
#include "app/cli_commands.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app/library_stack.h"
#include "bus/event_bus.h"
#include "importer/integrity.h"
#include "media/parallel_pool.h"
#include "services/activity_service.h"

namespace barbossa {
namespace {

// One folder's decision, as `barbossa import` prints it.
struct ImportReport {
  nlohmann::json line = nlohmann::json::object();
  std::string text;
  int exit_code = 0;  // 0 imported, 2 review, 1 error
};

ImportReport import_one(ImportService& importer, const std::string& path, bool copy,
                        const std::string& source) {
  ImportReport r;
  r.line["path"] = path;
  try {
    ImportRequest request;
    request.folder = std::filesystem::absolute(path).lexically_normal();
    if (!request.folder.has_filename()) request.folder = request.folder.parent_path();
    request.copy = copy;
    request.source = source;
    ImportOutcome o = importer.import_folder(request);
    bool imported = o.kind == DecisionKind::kImport || o.kind == DecisionKind::kUpgrade;
    r.exit_code = imported ? 0 : 2;
    r.line["status"] = o.status();
    r.line["artist"] = o.artist;
    r.line["album"] = o.album;
    r.line["year"] = o.year;
    r.line["confidence"] = o.confidence;
    r.line["album_id"] = o.album_id;
    r.line["review_id"] = o.review_id;
    r.line["reasons"] = o.reasons;
    r.text = o.status() + ": " + path + ": " + o.artist + " - " + o.album;
    if (o.year > 0) r.text += " (" + std::to_string(o.year) + ")";
    if (imported) r.text += " -> album " + std::to_string(o.album_id);
    if (o.review_id != 0) r.text += " -> review item " + std::to_string(o.review_id);
    r.text += fmt::format(" [confidence {:.2f}]\n", o.confidence);
    for (const auto& reason : o.reasons) r.text += "  - " + reason + "\n";
  } catch (const std::exception& e) {
    r.exit_code = 1;
    r.line["status"] = "error";
    r.line["error"] = e.what();
    r.text = "error: " + path + ": " + std::string(e.what()) + "\n";
  }
  return r;
}

struct ImportCommandOptions {
  std::vector<std::string> paths;
  bool copy = false;
  bool json = false;
  std::string source = "manual";
  size_t jobs = 0;  // folders at once; 0: cores + 1
};

// Imports the folders `jobs` at a time; prints each report in the order the
// folders were given, as soon as it and those before it are done.
int run_import(const Config& config, Store& store, const ImportCommandOptions& o) {
  const std::vector<std::string>& paths = o.paths;
  // Events from the CLI have no sockets to reach yet; seq stays in memory.
  SeqPersistence no_persistence{[] { return uint64_t{0}; }, [](uint64_t) {}};
  auto bus = make_memory_event_bus(16, no_persistence);
  ActivityService activity(store, *bus);
  LibraryStack stack = make_library_stack(config, store, *bus, activity);

  // Several folders at once: an album spends most of its time waiting for
  // fsync, which another album's reading and hashing can use. Reports are
  // printed in the order the folders were given.
  size_t jobs = o.jobs;
  if (jobs == 0) jobs = std::max<unsigned>(1, std::thread::hardware_concurrency()) + 1;
  jobs = std::min(jobs, paths.size());
  std::vector<std::optional<ImportReport>> reports(paths.size());
  std::mutex mutex;
  std::condition_variable ready;
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < paths.size();) {
      ImportReport r = import_one(*stack.importer, paths[i], o.copy, o.source);
      std::lock_guard lock(mutex);
      reports[i] = std::move(r);
      ready.notify_all();
    }
  };
  std::vector<std::jthread> workers;
  for (size_t w = 1; w < jobs; ++w) workers.emplace_back(worker);
  std::jthread own(worker);

  int exit_code = 0;
  for (size_t i = 0; i < paths.size(); ++i) {
    ImportReport r;
    {
      std::unique_lock lock(mutex);
      ready.wait(lock, [&] { return reports[i].has_value(); });
      r = std::move(*reports[i]);
    }
    if (r.exit_code == 1 || exit_code == 0) exit_code = std::max(exit_code, r.exit_code);
    if (o.json) {
      std::cout << r.line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      std::cout << r.text;
    }
    std::cout << std::flush;
  }
  return exit_code;
}

struct VerifyCommandOptions {
  bool json = false;
  size_t threads = 0;  // hashing threads; 0: cores
};

// `barbossa verify`: offline, and allowed while a server runs on the same
// data (its only writes are checksum_verified_at and the stored report). No
// library stack: that would create folders and replay crashed album moves,
// which a checker has no business doing.
int run_verify(const Config& config, Store& store, bool as_json, size_t threads) {
  if (threads == 0) threads = std::max<size_t>(1, std::thread::hardware_concurrency());
  // One pool for the whole run: threads (and their hash buffers) started per
  // batch cost more than they save.
  ParallelPool pool(std::max<size_t>(1, threads - 1));
  IntegrityOptions options;
  options.threads = threads;
  const std::filesystem::path library =
      std::filesystem::absolute(config.get("LIBRARY_DIR")).lexically_normal();
  IntegrityReport r = verify_library(store, library, &pool, options);
  if (as_json) {
    std::cout << r.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
              << std::endl;
  } else {
    std::cout << fmt::format("checked {} track(s) in {} ms: ", r.checked, r.duration_ms);
    if (r.clean()) {
      std::cout << "all files present and intact\n";
    } else {
      std::cout << fmt::format("{} missing, {} mismatched\n", r.missing.size(),
                               r.mismatched.size());
    }
    for (const MissingTrack& m : r.missing) {
      std::cout << fmt::format("  missing     track {}: {}\n", m.track_id, m.path);
    }
    for (const MismatchedTrack& m : r.mismatched) {
      std::cout << fmt::format("  mismatched  track {}: {} (expected {}, found {})\n", m.track_id,
                               m.path, m.expected, m.actual);
    }
    std::cout << std::flush;
  }
  return r.clean() ? 0 : 1;
}

}  // namespace

StoreCommand add_import_command(CLI::App& app) {
  auto o = std::make_shared<ImportCommandOptions>();
  auto* cmd = app.add_subcommand(
      "import",
      "Import album folders now and print each decision (exit 0 imported, 2 review, 1 error)");
  cmd->add_option("PATH", o->paths, "Album folders")->required();
  cmd->add_flag("--copy", o->copy, "Copy into the library and leave the folders in place");
  cmd->add_option("--source", o->source, "Source name recorded with the album");
  cmd->add_flag("--json", o->json, "One JSON object per folder instead of text");
  cmd->add_option("--jobs", o->jobs, "Folders imported at once (0: cores + 1)");
  return {cmd, [o](const Config& config, Store& store) { return run_import(config, store, *o); }};
}

StoreCommand add_verify_command(CLI::App& app) {
  auto o = std::make_shared<VerifyCommandOptions>();
  auto* cmd = app.add_subcommand(
      "verify",
      "Check every track's file exists and matches its SHA-256 (exit 0 clean, 1 problems or "
      "error)");
  cmd->add_flag("--json", o->json, "Print the report as JSON (SPEC 8 shape)");
  cmd->add_option("--threads", o->threads, "Hashing threads (0: cores)");
  return {cmd, [o](const Config& config, Store& store) {
            return run_verify(config, store, o->json, o->threads);
          }};
}

}  // namespace barbossa
