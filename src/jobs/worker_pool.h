// JobWorkers: WORKERS threads that claim jobs from a JobQueue and run the
// handler registered for each job's type.
//
// Outcomes: a handler that returns has succeeded. It throws RetryableError
// for a transient failure (retried with backoff until max_attempts, then
// dead) and FinalError for an outcome that retrying cannot change (failed at
// once, e.g. an import that ends in review). Any other exception counts as
// retryable: an unexpected error is presumed transient until the attempts run
// out. A job of an unknown type fails final. Cancellation wins: when a cancel
// was requested while the handler ran, the job ends cancelled however the
// handler exits, so a handler that sees cancelled() may simply return.
//
// Per-queue limits (per process) keep one queue from occupying every worker:
// a long maintenance job never starves imports. A queue missing from the map
// is not served by this pool.
//
// Leases: the pool renews the leases of its running jobs every
// min(lease/3, 1 s); that renewal also brings cancel requests made by other
// processes. The lease holder is "<host>:<pid>:<process start ticks>:<nonce>".
// At start the pool ends the leases of running jobs whose holder is on this
// host but whose process is gone (no such pid, or a pid reused by a process
// that started at another time - also the case of a container's pid 1), so a
// restarted server re-runs them at once instead of after lease expiry.
//
// Stop: stop() stops claiming and waits up to the grace for running handlers;
// handlers still running are then abandoned: cancelled() turns true, their
// outcome is not recorded and their leases are no longer renewed, so the jobs
// run again after expiry or at the next start. The destructor joins threads.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "jobs/job_queue.h"

namespace barbossa {

class RetryableError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class FinalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a handler sees of its job. Lives on the worker's stack for one run.
class JobContext {
 public:
  JobContext(const Job& job, std::function<void(int)> on_progress,
             std::function<bool()> is_cancelled)
      : job_(job), on_progress_(std::move(on_progress)), is_cancelled_(std::move(is_cancelled)) {}

  int64_t job_id() const { return job_.id; }
  const std::string& type() const { return job_.type; }
  const std::string& payload() const { return job_.payload_json; }
  int attempt() const { return job_.attempts; }  // 1 on the first run
  const Job& job() const { return job_; }
  // 0-100; stored and published at most every progress_interval_ms.
  void progress(int percent) { on_progress_(percent); }
  // True once a cancel was requested, the lease was lost or the pool gave up
  // on this run at shutdown: the handler should stop soon.
  bool cancelled() const { return is_cancelled_(); }

 private:
  const Job& job_;
  std::function<void(int)> on_progress_;
  std::function<bool()> is_cancelled_;
};

struct JobWorkersOptions {
  int workers = 4;
  std::map<std::string, int> queue_limits = {
      {"downloads", 2}, {"imports", 2}, {"exports", 1}, {"maintenance", 1}};
  int64_t lease_ms = 60'000;         // JOB_LEASE_SECONDS
  int64_t backoff_base_ms = 60'000;  // attempt n waits base * 2^(n-1)
  // Idle wait between claims without a nudge: what other processes' enqueues
  // (and due retries) wait for at most.
  int64_t poll_ms = 500;
  int64_t progress_interval_ms = 250;
  std::string holder;  // empty: make_lease_holder()
};

// "<host>:<pid>:<process start ticks>:<nonce>".
std::string make_lease_holder();
// Whether `holder` names a process on this host that no longer runs.
bool lease_holder_is_dead_local(const std::string& holder);

class JobWorkers {
 public:
  using Handler = std::function<void(JobContext&)>;

  JobWorkers(JobQueue& queue, JobWorkersOptions options);
  ~JobWorkers();
  JobWorkers(const JobWorkers&) = delete;
  JobWorkers& operator=(const JobWorkers&) = delete;

  // Before start().
  void register_handler(const std::string& type, Handler handler);
  // Takes back leases of dead local predecessors, then starts the threads.
  void start();
  // Returns how many handlers were abandoned (still running after the grace).
  size_t stop(std::chrono::milliseconds grace);

  const std::string& holder() const { return options_.holder; }
  // Jobs running in this process now.
  size_t running() const;

 private:
  struct Active;

  void worker_loop();
  void heartbeat_loop();
  std::optional<Job> try_claim();
  // Runs a claimed job; returns the next one claimed with its outcome.
  std::optional<Job> run(const Job& job);
  std::optional<Job> finish(const Job& job, Active& active, const JobOutcome& outcome);
  void forget(const Job& job) noexcept;
  void on_signal(const JobSignal& signal);
  void wake_locked();

  JobQueue& queue_;
  JobWorkersOptions options_;
  std::unordered_map<std::string, Handler> handlers_;

  mutable std::mutex mu_;
  std::condition_variable wake_cv_;  // idle workers: work may be claimable
  std::condition_variable idle_cv_;  // stop(): a handler finished
  std::condition_variable heartbeat_cv_;
  uint64_t wake_seq_ = 0;
  bool started_ = false;
  bool stopping_ = false;
  bool heartbeat_stop_ = false;
  uint64_t observer_handle_ = 0;  // 0: not registered
  std::map<std::string, int> running_per_queue_;
  std::unordered_map<int64_t, std::shared_ptr<Active>> active_;

  // Claims are serialized in-process so the free-slot check and the claim
  // are one step; across processes SQLite's write lock serializes them.
  std::mutex claim_mu_;
  std::vector<std::thread> threads_;
  std::thread heartbeat_thread_;
};

}  // namespace barbossa
