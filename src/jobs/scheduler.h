// Scheduler: turns the cron schedules of SPEC 8 into jobs on a JobQueue.
//
// A firing enqueues one job whose type is the schedule's name, with dedupe
// key "schedule:<name>", so a firing while the previous job of that schedule
// is still queued or running does not queue a second one (the live job's id
// is reported instead).
//
// Exactly once across processes: before enqueueing, a firing is claimed as a
// (name, fire_time) row in `schedule_firings`; only the process whose insert
// succeeds enqueues. The claim commits before the enqueue (the queue is an
// interface a Redis backend may implement, so they cannot share a
// transaction): a crash between the two loses that one firing, and the next
// one runs as usual. That is at-most-once for the crash window, preferred over
// a duplicate run.
//
// Missed firings (start_up): a schedule that should have fired while no
// process was running fires once at start-up, at its latest due time - never
// once per missed period. "Should have fired" means: its last_run is older
// than the latest due time, or its stored next_run has passed (the schedule
// was known but had not fired yet). A brand-new install (or a schedule just
// added) has neither, so nothing fires at once: installing must not start a
// backup, an integrity check and the rest all together.
//
// Lagging: a tick that comes late (a suspended machine) fires only the latest
// due time too, not the ones it slept through.
//
// last_run is the scheduled time of the latest firing, not when its job ran;
// run_now() does not move it, so an on-demand run cannot mask a missed firing.
//
// Times are Unix seconds, UTC. Thread-safety: all methods may be called from
// any thread; start_up() must come before tick().
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/cron.h"
#include "jobs/job_queue.h"
#include "store/store.h"

namespace barbossa {

struct ScheduleDef {
  std::string name;  // also the job type
  std::string cron;  // 5 fields, UTC
  std::string queue;
  bool enabled = true;
};

// The six schedules of SPEC 8.
std::vector<ScheduleDef> default_schedules();

// A firing this process won (or a run_now): the job it enqueued, or the live
// job that already held the dedupe key (created false).
struct ScheduleFiring {
  std::string name;
  int64_t fire_time = 0;
  int64_t job_id = 0;
  bool created = false;
};

// For GET /api/admin/schedules. Times are ISO-8601 UTC; empty when never ran
// (last_run) or disabled / never firing (next_run).
struct ScheduleInfo {
  std::string name;
  std::string cron;
  bool enabled = true;
  std::string last_run;
  std::string next_run;
};

class Scheduler {
 public:
  // Throws CronError for a bad expression. now_seconds: the clock (tests
  // inject one); empty means the system clock.
  Scheduler(Store& store, JobQueue& queue, std::vector<ScheduleDef> defs,
            std::function<int64_t()> now_seconds = {});
  ~Scheduler();  // stop()s
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Stores the definitions, fires missed schedules once (see above) and
  // computes every next run. Returns the firings this process won.
  std::vector<ScheduleFiring> start_up();
  // Fires every enabled schedule whose next firing is due; cheap when none
  // is (no database access). Returns the firings this process won.
  std::vector<ScheduleFiring> tick();
  // Enqueues the schedule's job now (deduped like a firing); returns its id.
  // Unknown name: ApiError 404.
  int64_t run_now(const std::string& name);
  // In definition order; last_run from the database (another process may
  // have fired), next_run computed from the clock.
  std::vector<ScheduleInfo> list();

  // The loop: start_up() must have run. run() ticks about once a second until
  // stop(); start() runs it on a thread owned by the Scheduler. Errors of one
  // tick are logged and the loop goes on (a busy database is not fatal).
  void run();
  void start();
  void stop();

 private:
  struct Entry {
    ScheduleDef def;
    CronSchedule cron;
    std::optional<int64_t> next;  // in memory; nullopt: disabled or never
  };

  const Entry& entry(const std::string& name) const;
  // Claims (name, fire_time) and, when won, enqueues. Records last_run and
  // next_run either way so the stored state shows the latest due firing.
  std::optional<ScheduleFiring> fire(const Entry& e, int64_t fire_time, int64_t now);
  int64_t enqueue(const Entry& e, bool* created);

  Store& store_;
  JobQueue& queue_;
  std::function<int64_t()> now_;

  std::mutex mu_;  // guards entries_' next, and serializes start_up/tick
  std::vector<Entry> entries_;

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace barbossa
