#include "jobs/scheduler.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>
#include <utility>

#include "core/error.h"
#include "core/fault.h"
#include "core/time.h"

namespace barbossa {

namespace {

// Firing rows only need to outlive any process that might still claim the
// same time; a claim is always for a time within the last tick or so, so a
// week is far more than enough and keeps the table small.
constexpr int64_t kFiringHistorySeconds = 7 * 24 * 3600;

// A firing that failed (database busy, disk full) is tried again this much
// later, for the same due time, so a lasting failure logs once a minute.
constexpr int64_t kRetryFailedFiringSeconds = 60;

std::string dedupe_key_for(const std::string& name) {
  return "schedule:" + name;
}

std::string iso_or_empty(const std::optional<int64_t>& seconds) {
  return seconds ? iso8601_utc(*seconds * 1000) : std::string();
}

}  // namespace

std::vector<ScheduleDef> default_schedules() {
  return {
      {"scan-import-folder", "*/5 * * * *", "imports", true},
      {"cleanup-downloads", "0 * * * *", "maintenance", true},
      {"verify-integrity", "0 3 * * *", "maintenance", true},
      {"update-album-stats", "0 4 * * 0", "maintenance", true},
      {"repair-user-links", "30 4 * * 0", "maintenance", true},
      {"backup-database", "0 2 * * *", "maintenance", true},
  };
}

Scheduler::Scheduler(Store& store, JobQueue& queue, std::vector<ScheduleDef> defs,
                     std::function<int64_t()> now_seconds)
    : store_(store), queue_(queue), now_(std::move(now_seconds)) {
  if (!now_) now_ = [] { return unix_now(); };
  entries_.reserve(defs.size());
  for (auto& def : defs) {
    CronSchedule cron = CronSchedule::parse(def.cron);
    entries_.push_back(Entry{std::move(def), std::move(cron), std::nullopt});
  }
}

Scheduler::~Scheduler() {
  stop();
}

const Scheduler::Entry& Scheduler::entry(const std::string& name) const {
  for (const auto& e : entries_) {
    if (e.def.name == name) return e;
  }
  throw ApiError::not_found("Unknown schedule '" + name + "'");
}

int64_t Scheduler::enqueue(const Entry& e, bool* created) {
  NewJob job;
  job.queue = e.def.queue;
  job.type = e.def.name;
  job.dedupe_key = dedupe_key_for(e.def.name);
  EnqueueResult result = queue_.enqueue(job);
  if (created != nullptr) *created = result.created;
  return result.id;
}

std::optional<ScheduleFiring> Scheduler::fire(const Entry& e, int64_t fire_time, int64_t now) {
  fault::maybe_throw("scheduler_fire");
  std::optional<int64_t> next = e.cron.next_after(now);
  bool won = store_.write([&](StoreSession& s) {
    auto& repo = s.schedules();
    bool claimed = repo.claim_firing(e.def.name, fire_time);
    // The loser records the same: whichever process commits last, the row
    // ends with the latest firing and the following next run.
    repo.set_last_run(e.def.name, fire_time);
    repo.set_next_run(e.def.name, next);
    if (claimed) repo.prune_firings(e.def.name, fire_time - kFiringHistorySeconds);
    return claimed;
  });
  if (!won) return std::nullopt;
  ScheduleFiring firing{e.def.name, fire_time, 0, false};
  firing.job_id = enqueue(e, &firing.created);
  spdlog::info("schedule {} fired for {}: job {}{}", e.def.name, iso8601_utc(fire_time * 1000),
               firing.job_id, firing.created ? "" : " (previous run still live)");
  return firing;
}

std::vector<ScheduleFiring> Scheduler::start_up() {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t now = now_();
  std::vector<std::optional<ScheduleRow>> rows = store_.write([&](StoreSession& s) {
    std::vector<std::optional<ScheduleRow>> out;
    for (const auto& e : entries_) {
      s.schedules().upsert(e.def.name, e.cron.text(), e.def.enabled);
      out.push_back(s.schedules().find(e.def.name));
    }
    return out;
  });

  std::vector<ScheduleFiring> fired;
  for (size_t i = 0; i < entries_.size(); ++i) {
    Entry& e = entries_[i];
    if (!e.def.enabled) {
      e.next.reset();
      store_.write([&](StoreSession& s) { s.schedules().set_next_run(e.def.name, std::nullopt); });
      continue;
    }
    const std::optional<ScheduleRow>& row = rows[i];
    std::optional<int64_t> latest = e.cron.last_at_or_before(now);
    bool missed =
        latest && row &&
        ((row->last_run && *latest > *row->last_run) || (row->next_run && *row->next_run <= now));
    if (missed) {
      try {
        if (auto firing = fire(e, *latest, now)) fired.push_back(std::move(*firing));
      } catch (const std::exception& ex) {
        // One schedule's failure neither stops the others nor the start;
        // the missed firing is tried again by tick() shortly.
        spdlog::error("schedule {}: the firing missed while down failed: {}; retrying in {} s",
                      e.def.name, ex.what(), kRetryFailedFiringSeconds);
        e.next = now + kRetryFailedFiringSeconds;
        continue;
      }
    } else {
      store_.write(
          [&](StoreSession& s) { s.schedules().set_next_run(e.def.name, e.cron.next_after(now)); });
    }
    e.next = e.cron.next_after(now);
  }
  return fired;
}

std::vector<ScheduleFiring> Scheduler::tick() {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t now = now_();
  std::vector<ScheduleFiring> fired;
  for (auto& e : entries_) {
    if (!e.def.enabled || !e.next || *e.next > now) continue;
    // The latest due time, not e.next: a late tick fires once, not once per
    // period it slept through, and names the firing as every process would.
    std::optional<int64_t> due = e.cron.last_at_or_before(now);
    if (due) {
      try {
        if (auto firing = fire(e, *due, now)) fired.push_back(std::move(*firing));
      } catch (const std::exception& ex) {
        // The others still fire; this one is tried again for the same due
        // time (the claim keeps it to one firing).
        spdlog::error("schedule {}: firing for {} failed: {}; retrying in {} s", e.def.name,
                      iso8601_utc(*due * 1000), ex.what(), kRetryFailedFiringSeconds);
        e.next = now + kRetryFailedFiringSeconds;
        continue;
      }
    }
    e.next = e.cron.next_after(now);
  }
  return fired;
}

int64_t Scheduler::run_now(const std::string& name) {
  const Entry& e = entry(name);  // entries_ is fixed after construction
  bool created = false;
  int64_t id = enqueue(e, &created);
  spdlog::info("schedule {} run on demand: job {}{}", name, id,
               created ? "" : " (previous run still live)");
  return id;
}

std::vector<ScheduleInfo> Scheduler::list() {
  int64_t now = now_();
  std::vector<ScheduleRow> rows = store_.read([](StoreSession& s) { return s.schedules().list(); });
  std::vector<ScheduleInfo> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) {
    ScheduleInfo info{e.def.name, e.cron.text(), e.def.enabled, {}, {}};
    for (const auto& row : rows) {
      if (row.name == e.def.name) info.last_run = iso_or_empty(row.last_run);
    }
    if (e.def.enabled) info.next_run = iso_or_empty(e.cron.next_after(now));
    out.push_back(std::move(info));
  }
  return out;
}

void Scheduler::run() {
  std::unique_lock<std::mutex> lock(loop_mu_);
  while (!stopping_) {
    lock.unlock();
    try {
      tick();
    } catch (const std::exception& ex) {
      spdlog::error("scheduler tick failed: {}", ex.what());
    } catch (...) {
      spdlog::error("scheduler tick failed: unknown exception");
    }
    lock.lock();
    // A second keeps firings within about a second of their minute while
    // costing nothing between them: tick() touches the database only when
    // something is due.
    loop_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
  }
}

void Scheduler::start() {
  std::lock_guard<std::mutex> lock(loop_mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void Scheduler::stop() {
  std::thread thread;
  {
    std::lock_guard<std::mutex> lock(loop_mu_);
    stopping_ = true;
    // Taken under the lock so concurrent stop() calls never join one thread
    // twice.
    thread = std::move(thread_);
  }
  loop_cv_.notify_all();
  if (thread.joinable()) thread.join();
}

}  // namespace barbossa
