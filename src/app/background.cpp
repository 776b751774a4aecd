#include "app/background.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "auth/password.h"
#include "core/normalize.h"
#include "core/time.h"
#include "files/fs_util.h"
#include "importer/integrity.h"
#include "maintenance/maintenance.h"
#include "media/audio_file.h"

namespace barbossa {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Hidden, so the watcher never takes them for entries of their own.
constexpr const char* kGatheringPrefix = ".barbossa-gathering-";
constexpr const char* kLoosePrefix = ".barbossa-loose-";
// What a copy inbox's entry looked like when it was last imported (SPEC §6:
// WATCH_DIRS are copied, so the entry stays and must not be imported again).
constexpr const char* kSeenPrefix = "watch_seen:";

fs::path normalized_absolute(const std::string& path) {
  return fs::absolute(fs::path(path)).lexically_normal();
}

std::string trim(const std::string& v) {
  size_t b = v.find_first_not_of(" \t");
  size_t e = v.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : v.substr(b, e - b + 1);
}

std::optional<std::string> meta_get(Store& store, const std::string& key) {
  auto v = store.read([&](StoreSession& s) { return s.meta().get(key); });
  if (v && v->empty()) return std::nullopt;
  return v;
}

void meta_put(Store& store, const std::string& key, const std::string& value) {
  store.write([&](StoreSession& s) { s.meta().put(key, value); });
}

// Fingerprint of a loose file in a copy inbox.
std::string file_signature(const fs::path& file) {
  std::error_code ec;
  auto size = fs::file_size(file, ec);
  auto mtime = fs::last_write_time(file, ec);
  return std::to_string(size) + ":" + std::to_string(mtime.time_since_epoch().count());
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

// The start-up recovery is long past when a `barbossa import` beside the
// server dies in the middle of a move: its journal waits for a recovery, and
// the half-moved folder must not be imported as it is. So every import job
// and the 5-minute scan first take back such orphans. Cheap (a listing of
// DATA_DIR/journal) and safe: a move in flight, this server's or another
// process's, holds a lock on its journal and is left alone.
void recover_orphaned_moves(ImportService& importer, int64_t job_id) {
  try {
    if (size_t n = importer.recover(); n > 0) {
      spdlog::warn("job {}: finished or rolled back {} album move(s) left by a process that died",
                   job_id, n);
    }
  } catch (const std::exception& e) {
    // The journals stay for the next attempt; the job's own work goes on.
    spdlog::error("job {}: recovering interrupted album moves failed: {}", job_id, e.what());
  }
}

std::string outcome_summary(const ImportOutcome& o) {
  std::string text = o.status() + ": " + o.artist + " - " + o.album;
  if (o.review_id != 0) text += " (review item " + std::to_string(o.review_id) + ")";
  for (const std::string& r : o.reasons) text += "; " + r;
  return text;
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
  start_step("resuming gathered loose files", [this] { requeue_interrupted_loose_imports(); });
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
  if (inbox.copy) {
    // Imported before and unchanged since: nothing to do (no job at all, so a
    // seeding folder does not cost a job every scan).
    if (entry.loose_files) {
      const auto files = loose_audio_files(entry.path);
      if (std::all_of(files.begin(), files.end(), [&](const fs::path& f) {
            return meta_get(store_, kSeenPrefix + f.string()) == file_signature(f);
          })) {
        return;
      }
    } else {
      const EntrySnapshot snap = snapshot_entry(entry);
      auto seen = meta_get(store_, kSeenPrefix + entry.path.string());
      if (seen && *seen == std::to_string(snap.digest)) return;
    }
  }
  json payload = json::object();
  // path_to_json: a folder named in Latin-1 must still be found (and dump).
  payload["path"] = path_to_json(entry.path);
  payload["inbox"] = path_to_json(inbox.root);
  payload["loose"] = entry.loose_files;
  NewJob job;
  job.queue = "imports";
  job.type = "import";
  job.payload_json = payload.dump();
  job.dedupe_key = import_dedupe_key(entry.path);
  EnqueueResult r = queue_->enqueue(job);
  if (r.created) {
    spdlog::info("watch: {} is complete: import job {} queued", entry.path.string(), r.id);
  }
}

// A crash while loose files were gathered, or before their group's job was
// queued, leaves a hidden folder the watcher ignores: finish it here. A
// half-gathered group is imported as it is (the rest of its files are still
// loose and form another group, which then usually ends in review).
void Background::requeue_interrupted_loose_imports() {
  const Inbox& pending = inboxes_.front();
  std::vector<fs::path> found;
  std::error_code ec;
  for (fs::directory_iterator it(pending.root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code kind;
    if (!it->is_directory(kind) || it->is_symlink(kind)) continue;
    if (name.rfind(kGatheringPrefix, 0) == 0) {
      fs::path staging =
          unique_child(pending.root, kLoosePrefix + name.substr(std::strlen(kGatheringPrefix)));
      fs::rename(it->path(), staging, kind);
      if (!kind) found.push_back(staging);
    } else if (name.rfind(kLoosePrefix, 0) == 0) {
      found.push_back(it->path());
    }
  }
  for (const fs::path& staging : found) {
    spdlog::warn("watch: resuming the import of gathered loose files {}", staging.string());
    start_step("queueing the resumed import",
               [&] { queue_staging_import(staging, pending.source); });
  }
}

void Background::scan_inboxes_job(JobContext& ctx) {
  recover_orphaned_moves(*stack_.importer, ctx.job_id());
  watcher_->rescan();
}

void Background::import_job(JobContext& ctx) {
  recover_orphaned_moves(*stack_.importer, ctx.job_id());
  json payload;
  try {
    payload = json::parse(ctx.payload());
  } catch (const std::exception& e) {
    throw FinalError(std::string("bad payload: ") + e.what());
  }
  fs::path path;
  fs::path root;
  try {
    path = path_from_json(payload.value("path", json(""))).lexically_normal();
    root = path_from_json(payload.value("inbox", json(""))).lexically_normal();
  } catch (const std::exception& e) {
    throw FinalError(std::string("bad payload: ") + e.what());
  }
  const bool loose = payload.value("loose", false);
  // The inbox decides copy and source, not the payload; the path must lie in
  // a configured inbox.
  const Inbox* inbox = nullptr;
  for (const Inbox& i : inboxes_) {
    if (i.root == root) inbox = &i;
  }
  if (inbox == nullptr || path.empty() || !is_lexically_within(root, path) ||
      (!loose && path == root)) {
    throw FinalError("not an entry of a configured inbox: " + path.string());
  }
  if (loose) {
    gather_loose_files(ctx, *inbox, path);
    return;
  }

  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(path, ec))) {
    // Imported by a job before this one, or taken away: nothing to do.
    spdlog::info("import job {}: {} is gone; nothing to import", ctx.job_id(), path.string());
    return;
  }
  std::string seen_key;
  std::string digest;
  if (inbox->copy) {
    seen_key = kSeenPrefix + path.string();
    digest = std::to_string(snapshot_entry(InboxEntry{path, false}).digest);
    if (meta_get(store_, seen_key) == digest) return;
  }
  ImportRequest request;
  request.folder = path;
  request.copy = inbox->copy;
  request.source = inbox->source;
  // A gathered group of loose files keeps the source of the inbox it came from.
  if (path.filename().string().rfind(kLoosePrefix, 0) == 0) {
    request.source = payload.value("source", inbox->source);
  }
  const ImportOutcome outcome = stack_.importer->import_folder(request);
  if (inbox->copy) meta_put(store_, seen_key, digest);
  spdlog::info("import job {}: {}", ctx.job_id(), outcome_summary(outcome));
  // Retrying cannot change a review verdict; the item waits for a person.
  if (outcome.status() == "review" || outcome.status() == "duplicate") {
    throw FinalError(outcome_summary(outcome));
  }
}

// Loose files become albums by their tags. Each group is gathered into a
// hidden folder in pending (moved there from pending itself, copied from a
// copy inbox), renamed complete in one step, and imported by its own job, so
// a group's failure or review is retried or shown on its own.
void Background::gather_loose_files(JobContext& ctx, const Inbox& inbox, const fs::path& root) {
  const Inbox& pending = inboxes_.front();
  std::map<std::string, std::vector<fs::path>> groups;
  for (const fs::path& file : loose_audio_files(root)) {
    if (inbox.copy && meta_get(store_, kSeenPrefix + file.string()) == file_signature(file)) {
      continue;
    }
    AudioReadResult read = read_audio_file(file);
    std::string key = "?";  // untagged or unreadable: one group, bound for review
    if (read.info) {
      const AudioTags& t = read.info->tags;
      const std::string& artist = t.album_artist.empty() ? t.artist : t.album_artist;
      if (!t.album.empty()) key = normalize_name(artist) + "\x1f" + normalize_name(t.album);
    }
    groups[key].push_back(file);
  }
  for (auto& [key, files] : groups) {
    if (ctx.cancelled()) return;
    const std::string token = random_token(8);
    const fs::path gathering = unique_child(pending.root, kGatheringPrefix + token);
    fs::create_directory(gathering);
    std::vector<std::pair<std::string, std::string>> seen;
    for (const fs::path& file : files) {
      if (inbox.copy) {
        seen.emplace_back(kSeenPrefix + file.string(), file_signature(file));
        copy_file_durable(file, gathering / file.filename());
      } else {
        move_file(file, gathering / file.filename());
      }
    }
    const fs::path staging = unique_child(pending.root, kLoosePrefix + token);
    fs::rename(gathering, staging);
    for (const auto& [k, v] : seen) meta_put(store_, k, v);
    const int64_t id = queue_staging_import(staging, inbox.source);
    spdlog::info("import job {}: {} loose file(s) gathered into {}: import job {}", ctx.job_id(),
                 files.size(), staging.filename().string(), id);
  }
}

int64_t Background::queue_staging_import(const fs::path& staging, const std::string& source) {
  json payload = json::object();
  payload["path"] = path_to_json(staging);
  payload["inbox"] = path_to_json(inboxes_.front().root);
  payload["loose"] = false;
  payload["source"] = source;
  NewJob job;
  job.queue = "imports";
  job.type = "import";
  job.payload_json = payload.dump();
  job.dedupe_key = import_dedupe_key(staging);
  return queue_->enqueue(job).id;
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

  auto payload = std::make_shared<json>(json::object());
  (*payload)["checked"] = report.checked;
  (*payload)["missing"] = report.missing.size();
  (*payload)["mismatched"] = report.mismatched.size();
  (*payload)["duration_ms"] = report.duration_ms;
  EventDraft draft;
  draft.type = "integrity_report";
  draft.channel = Channel::kSystem;
  draft.audience = Audience::admins_only();
  draft.payload = std::move(payload);
  bus_.publish(draft);
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
        if (n.status == "queued") queued += n.count;
        if (n.status == "running") running += n.count;
        if (n.status == "dead") dead += n.count;
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
