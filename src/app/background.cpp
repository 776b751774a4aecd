#include "app/background.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "core/time.h"
#include "files/fs_util.h"
#include "importer/integrity.h"
#include "maintenance/maintenance.h"
#include "media/audio_file.h"
#include "services/events.h"

namespace barbossa {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path normalized_absolute(const std::string& path) {
  return fs::absolute(fs::path(path)).lexically_normal();
}

std::string trim(const std::string& v) {
  size_t b = v.find_first_not_of(" \t");
  size_t e = v.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : v.substr(b, e - b + 1);
}

// One start-up step: a failure is logged and the others still run, so the
// server serves (and /health shows the component down) instead of exiting.
template <class F>
void start_step(const char* what, F&& step) {
  try {
    step();
  } catch (const std::exception& e) {
    spdlog::error("start-up: {} failed: {}; the server runs without it", what, e.what());
  } catch (...) {
    spdlog::error("start-up: {} failed: unknown exception; the server runs without it", what);
  }
}

ImportInbox import_inbox(const Inbox& inbox) {
  return ImportInbox{inbox.root, inbox.copy, inbox.source};
}

}  // namespace

fs::path backup_dir(const Config& config) {
  return normalized_absolute(config.get("DATA_DIR")) / "backups";
}

std::vector<Inbox> configured_inboxes(const Config& config) {
  std::vector<Inbox> inboxes;
  inboxes.push_back(
      Inbox{normalized_absolute(config.get("IMPORT_DIR")) / "pending", false, "watch"});
  const std::string& list = config.get("WATCH_DIRS");
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string item = trim(list.substr(start, comma - start));
    start = comma + 1;
    if (item.empty()) continue;
    Inbox inbox;
    inbox.copy = true;
    size_t eq = item.rfind('=');
    std::string path = eq == std::string::npos ? item : trim(item.substr(0, eq));
    if (eq != std::string::npos) inbox.source = trim(item.substr(eq + 1));
    if (path.empty() || inbox.source.empty()) {
      throw ConfigError("WATCH_DIRS must be a comma-separated list of path[=source], got '" + item +
                        "'");
    }
    inbox.root = normalized_absolute(path);
    inboxes.push_back(inbox);
  }
  return inboxes;
}

Background::Background(const Config& config, Store& store, EventBus& bus, LibraryStack& stack)
    : config_(config), store_(store), bus_(bus), stack_(stack) {
  inboxes_ = configured_inboxes(config);
  queue_ = std::make_unique<DbJobQueue>(store, &bus);
  import_job_ = make_import_job();

  JobWorkersOptions options;
  options.workers = static_cast<int>(config.get_int("WORKERS", 0, 1LL << 31));
  options.lease_ms = config.get_int("JOB_LEASE_SECONDS", 1, 1LL << 31) * 1000;
  options.backoff_base_ms = config.get_int("JOB_BACKOFF_SECONDS", 0, 1LL << 31) * 1000;
  workers_ = std::make_unique<JobWorkers>(*queue_, options);
  register_handlers();

  scheduler_ = std::make_unique<Scheduler>(store, *queue_, default_schedules());

  const auto settle = std::chrono::seconds(config.get_int("WATCH_SETTLE_SECONDS", 0, 1LL << 31));
  watcher_ = std::make_unique<InboxWatcher>(
      inboxes_, settle,
      [this](const Inbox& inbox, const InboxEntry& entry) { queue_import(inbox, entry); });
}

// The import job runs in importer/; here it gets the inboxes, the watch
// folder's listings and the queue.
std::unique_ptr<ImportJob> Background::make_import_job() {
  std::vector<ImportInbox> inboxes;
  for (const Inbox& inbox : inboxes_) inboxes.push_back(import_inbox(inbox));
  ImportJobPorts ports;
  ports.loose_files = [](const fs::path& root) { return loose_audio_files(root); };
  ports.entry_signature = [](const fs::path& entry) {
    return std::to_string(snapshot_entry(InboxEntry{entry, false}).digest);
  };
  ports.queue_import = [this](const ImportJobPayload& p) { return enqueue_import(p).id; };
  return std::make_unique<ImportJob>(store_, *stack_.importer, std::move(inboxes),
                                     std::move(ports));
}

Background::~Background() {
  stop(std::chrono::milliseconds(0));
}

void Background::register_handlers() {
  workers_->register_handler("import", [this](JobContext& ctx) { import_job(ctx); });
  workers_->register_handler("scan-import-folder",
                             [this](JobContext& ctx) { scan_inboxes_job(ctx); });
  workers_->register_handler("verify-integrity",
                             [this](JobContext& ctx) { verify_integrity_job(ctx); });
  workers_->register_handler("cleanup-downloads", [this](JobContext& ctx) {
    // Download rows and their staging folders arrive with the downloads
    // module; until then this purges the trash.
    const int days = static_cast<int>(config_.get_int("TRASH_DAYS", 0, 1LL << 31));
    int64_t removed =
        purge_trash(stack_.files.trash_dir, days, unix_now_ms(), stack_.mover->journal_dir());
    spdlog::info("job {}: removed {} trash entr{} older than {} days", ctx.job_id(), removed,
                 removed == 1 ? "y" : "ies", days);
  });
  workers_->register_handler("update-album-stats", [this](JobContext& ctx) {
    int64_t changed = update_album_stats(store_);
    spdlog::info("job {}: album counts corrected for {} album(s)", ctx.job_id(), changed);
  });
  workers_->register_handler("repair-user-links", [this](JobContext& ctx) {
    RepairLinksResult r = repair_user_links(store_, *stack_.links);
    spdlog::info("job {}: {} user(s): {} link(s) made, {} removed, {} failed", ctx.job_id(),
                 r.users, r.created, r.removed, r.failed);
    if (r.failed > 0) {
      throw RetryableError(std::to_string(r.failed) +
                           " user(s) could not be repaired; see the log");
    }
  });
  workers_->register_handler("backup-database", [this](JobContext& ctx) {
    BackupResult r =
        backup_database(store_, backup_dir(config_),
                        static_cast<int>(config_.get_int("BACKUP_KEEP", 1, 10000)), unix_now_ms());
    spdlog::info("job {}: database backed up to {} ({} bytes); {} old backup(s) removed",
                 ctx.job_id(), r.path.string(), r.bytes, r.deleted);
  });
}

void Background::start() {
  if (started_) return;
  for (const Inbox& inbox : inboxes_) {
    std::error_code ec;
    if (!inbox.copy) fs::create_directories(inbox.root, ec);
    if (!fs::is_directory(inbox.root, ec)) {
      spdlog::warn("watch: inbox {} does not exist; it is watched once it does (periodic scan)",
                   inbox.root.string());
    }
  }
  start_step("starting the job workers", [this] { workers_->start(); });
  start_step("resuming gathered loose files", [this] { import_job_->resume_gathered_files(); });
  start_step("firing schedules missed while down", [this] {
    for (const ScheduleFiring& f : scheduler_->start_up()) {
      spdlog::info("schedule {} missed while the server was down: queued job {}", f.name, f.job_id);
    }
  });
  start_step("starting the scheduler", [this] { scheduler_->start(); });
  start_step("starting the inbox watcher", [this] { watcher_->start(); });
  started_ = true;
}

void Background::stop(std::chrono::milliseconds grace) {
  if (!started_) return;
  started_ = false;
  watcher_->stop();
  scheduler_->stop();
  if (size_t abandoned = workers_->stop(grace); abandoned > 0) {
    spdlog::warn("{} job(s) still running at shutdown run again after the next start", abandoned);
  }
}

// --- the watch folder

void Background::queue_import(const Inbox& inbox, const InboxEntry& entry) {
  // Imported before and unchanged since: nothing to do (no job at all, so a
  // seeding folder does not cost a job every scan).
  if (import_job_->unchanged_since_import(import_inbox(inbox), entry.path, entry.loose_files)) {
    return;
  }
  ImportJobPayload payload;
  payload.path = entry.path;
  payload.inbox = inbox.root;
  payload.loose = entry.loose_files;
  EnqueueResult r = enqueue_import(payload);
  if (r.created) {
    spdlog::info("watch: {} is complete: import job {} queued", entry.path.string(), r.id);
  }
}

EnqueueResult Background::enqueue_import(const ImportJobPayload& payload) {
  NewJob job;
  job.queue = "imports";
  job.type = "import";
  job.payload_json = import_payload_json(payload);
  job.dedupe_key = import_dedupe_key(payload.path);
  return queue_->enqueue(job);
}

void Background::scan_inboxes_job(JobContext& ctx) {
  recover_orphaned_moves(*stack_.importer, ctx.job_id());
  watcher_->rescan();
}

void Background::import_job(JobContext& ctx) {
  try {
    import_job_->run(ctx.job_id(), ctx.payload(), [&ctx] { return ctx.cancelled(); });
  } catch (const FinalImportError& e) {
    throw FinalError(e.what());
  }
}

// --- maintenance

void Background::verify_integrity_job(JobContext& ctx) {
  const int64_t budget_ms = config_.get_int("VERIFY_BUDGET_SECONDS", 1, 1LL << 31) * 1000;
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t total = std::max<int64_t>(1, store_.read([](StoreSession& s) {
    return s.library().search_tracks("", Page{1, 0}).total;
  }));
  IntegrityOptions options;
  options.resume = true;
  options.progress = [&](int64_t checked) {
    ctx.progress(static_cast<int>(std::min<int64_t>(99, checked * 100 / total)));
  };
  options.should_stop = [&] {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    return ctx.cancelled() || ms >= budget_ms;
  };
  IntegrityReport report =
      verify_library(store_, stack_.files.library_dir, stack_.pool.get(), options);
  if (!report.complete) return;  // the next run goes on where this one stopped

  bus_.publish(integrity_report_event(report.checked, report.missing.size(),
                                      report.mismatched.size(), report.duration_ms));
  if (!report.clean()) {
    spdlog::warn("integrity: {} missing and {} mismatched of {} tracks", report.missing.size(),
                 report.mismatched.size(), report.checked);
  }
}

// --- health

json Background::health() {
  json c = json::object();
  {
    int64_t queued = 0, running = 0, dead = 0;
    try {
      for (const JobCount& n : queue_->counts()) {
        if (n.status == JobStatus::kQueued) queued += n.count;
        if (n.status == JobStatus::kRunning) running += n.count;
        if (n.status == JobStatus::kDead) dead += n.count;
      }
      c["job_queue"] = {
          {"status", dead > 0 ? "degraded" : "ok"},
          {"detail", std::to_string(queued) + " queued, " + std::to_string(running) + " running, " +
                         std::to_string(dead) + " dead; " + std::to_string(workers_->running()) +
                         " running in this process"}};
    } catch (const std::exception& e) {
      c["job_queue"] = {{"status", "down"}, {"detail", e.what()}};
    }
  }
  {
    std::string next;
    std::string name;
    for (const ScheduleInfo& s : scheduler_->list()) {
      if (!s.next_run.empty() && (next.empty() || s.next_run < next)) {
        next = s.next_run;
        name = s.name;
      }
    }
    c["scheduler"] = {
        {"status", started_ ? "ok" : "down"},
        {"detail", next.empty() ? "no schedule due" : "next: " + name + " at " + next}};
  }
  {
    InboxWatcherStatus w = watcher_->status();
    std::string status = !w.running                              ? "down"
                         : (!w.inotify || !w.last_error.empty()) ? "degraded"
                                                                 : "ok";
    std::string detail = std::to_string(inboxes_.size()) + " inbox(es), " +
                         std::to_string(w.watches) + " folders watched, " +
                         std::to_string(w.tracking) + " entries settling";
    if (w.overflows > 0) {
      detail += "; event queue overflowed " + std::to_string(w.overflows) + " time(s), rescanned";
    }
    if (!w.last_error.empty()) detail += "; " + w.last_error;
    c["watcher"] = {{"status", status}, {"detail", detail}};
  }
  {
    // Tag reads that overran their time bound and whose threads are still
    // stuck (a dead mount, a FIFO); at the cap no file is read.
    const TagReaderStats t = tag_reader_stats();
    const std::string status = t.abandoned >= t.abandoned_max ? "down"
                               : t.abandoned > 0              ? "degraded"
                                                              : "ok";
    c["tag_reader"] = {
        {"status", status},
        {"detail", std::to_string(t.abandoned) + " stuck tag read(s) (cap " +
                       std::to_string(t.abandoned_max) + "), " + std::to_string(t.abandoned_total) +
                       " abandoned since start"}};
  }
  {
    struct statvfs st {};
    const fs::path library = stack_.files.library_dir;
    if (::statvfs(library.c_str(), &st) == 0) {
      const double free_bytes = static_cast<double>(st.f_bavail) * static_cast<double>(st.f_frsize);
      const double total = static_cast<double>(st.f_blocks) * static_cast<double>(st.f_frsize);
      const double free_gib = free_bytes / (1024.0 * 1024.0 * 1024.0);
      const bool low = total > 0 && free_bytes / total < 0.05;
      char text[96];
      std::snprintf(text, sizeof text, "%.1f GiB free (%.0f%%) on the library's disk", free_gib,
                    total > 0 ? 100.0 * free_bytes / total : 0.0);
      c["disk"] = {{"status", low ? "degraded" : "ok"}, {"detail", text}};
    } else {
      c["disk"] = {{"status", "down"}, {"detail", "cannot stat " + library.string()}};
    }
  }
  return c;
}

}  // namespace barbossa
