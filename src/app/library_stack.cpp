#include "app/library_stack.h"

#include <algorithm>
#include <filesystem>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/fault.h"
#include "media/audio_file.h"

namespace barbossa {

namespace fs = std::filesystem;

LibraryStack make_library_stack(const Config& config, Store& store, EventBus& bus,
                                ActivityService& activity) {
  const fs::path library = fs::absolute(config.get("LIBRARY_DIR")).lexically_normal();
  const fs::path users = fs::absolute(config.get("USERS_DIR")).lexically_normal();
  const fs::path import = fs::absolute(config.get("IMPORT_DIR")).lexically_normal();
  const fs::path trash = fs::absolute(config.get("TRASH_DIR")).lexically_normal();
  const fs::path journal = fs::absolute(config.get("DATA_DIR")).lexically_normal() / "journal";
  for (const fs::path& dir : {library, users, trash, journal, import / "pending", import / "review",
                              import / "rejected"}) {
    fs::create_directories(dir);
  }

  LibraryStack stack;
  stack.links = std::make_unique<UserLinks>(library, users);
  stack.mover = std::make_unique<AlbumMover>(journal);
  if (auto steps = config.get_int("CRASH_AFTER_MOVE_STEPS", 0, 1LL << 31);
      steps > 0 && !fault::test_build()) {
    spdlog::warn("CRASH_AFTER_MOVE_STEPS is ignored: it works only in the test build (barbossa-test)");
  } else if (steps > 0) {
    spdlog::warn("test hook: the process kills itself after {} album move steps", steps);
    stack.mover->set_crash_after_steps(static_cast<size_t>(steps));
  }
  stack.identifier = make_tag_identifier();

  ImportOptions options;
  options.threshold = config.get_double("IMPORT_THRESHOLD", 0.0, 1.0);
  options.source_thresholds = config.source_thresholds();
  options.scan.threads = static_cast<size_t>(config.get_int("IMPORT_THREADS", 0, 256));
  // The caller of a scan works too: one pool thread fewer than the threads a
  // scan may use.
  size_t cores = std::max<size_t>(1, std::thread::hardware_concurrency());
  size_t scan_threads = options.scan.threads == 0 ? cores : options.scan.threads;
  stack.pool = std::make_unique<ParallelPool>(std::max<size_t>(1, scan_threads - 1));
  options.scan.pool = stack.pool.get();
  options.scan.per_file_time_bound =
      std::chrono::milliseconds(config.get_int("TAG_READ_TIMEOUT_MS", 10, 600000));
  // Process-wide, as the reader threads it caps are.
  set_tag_reader_abandoned_max(
      static_cast<int>(config.get_int("TAG_READER_ABANDONED_MAX", 1, 10000)));
  stack.importer = std::make_unique<ImportService>(store, bus, activity, *stack.links, *stack.mover,
                                                   *stack.identifier,
                                                   ImportPaths{library, import, trash}, options);
  if (size_t recovered = stack.importer->recover(); recovered > 0) {
    spdlog::warn("finished or rolled back {} album move(s) interrupted by a crash", recovered);
  }
  stack.files = LibraryFiles{library, trash, stack.links.get(), stack.mover.get()};
  return stack;
}

}  // namespace barbossa
