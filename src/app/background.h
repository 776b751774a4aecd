// Background work in a server process (SPEC §6, §8): the durable job queue,
// the worker pool with every job handler, the scheduler and the inbox
// watcher, built from the configuration and started and stopped together.
// The composition root owns one; the admin API reads it.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/config.h"
#include "app/library_stack.h"
#include "bus/event_bus.h"
#include "importer/import_job.h"
#include "jobs/job_queue.h"
#include "jobs/scheduler.h"
#include "jobs/worker_pool.h"
#include "services/activity_service.h"
#include "store/store.h"
#include "watch/inbox_watcher.h"

namespace barbossa {

// IMPORT_DIR/pending (moved out) and WATCH_DIRS "path[=source],..." (copied
// out). Throws ConfigError for a malformed list.
std::vector<Inbox> configured_inboxes(const Config& config);
// DATA_DIR/backups: where backup-database keeps its newest BACKUP_KEEP copies.
std::filesystem::path backup_dir(const Config& config);

class Background {
 public:
  Background(const Config& config, Store& store, EventBus& bus, LibraryStack& stack);
  ~Background();  // stop()s
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  // Workers first (they re-run what a dead predecessor left running), then
  // the scheduler's start-up (missed runs), then the watcher's start-up scan.
  void start();
  // Stops the watcher and the scheduler, then gives running jobs the grace
  // to finish; what does not finish runs again after the next start.
  void stop(std::chrono::milliseconds grace);

  JobQueue& queue() { return *queue_; }
  Scheduler& scheduler() { return *scheduler_; }
  // {job_queue, scheduler, watcher, disk}: {status: ok|degraded|down, detail}.
  nlohmann::json health();

 private:
  void register_handlers();
  void import_job(JobContext& ctx);
  void scan_inboxes_job(JobContext& ctx);
  void verify_integrity_job(JobContext& ctx);
  std::unique_ptr<ImportJob> make_import_job();
  void queue_import(const Inbox& inbox, const InboxEntry& entry);
  EnqueueResult enqueue_import(const ImportJobPayload& payload);

  const Config& config_;
  Store& store_;
  EventBus& bus_;
  LibraryStack& stack_;
  std::vector<Inbox> inboxes_;
  std::unique_ptr<DbJobQueue> queue_;
  std::unique_ptr<ImportJob> import_job_;
  std::unique_ptr<JobWorkers> workers_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<InboxWatcher> watcher_;
  std::atomic<bool> started_{false};  // read by health() from request threads
};

}  // namespace barbossa
