// JobQueue: durable background work (SPEC 8). Admin-side calls (enqueue,
// cancel, retry, list) and the worker-side lease protocol (claim, heartbeat,
// outcome) live on one interface so a Redis backend can implement both later;
// DbJobQueue is the embedded implementation over the Store (the `jobs` table).
//
// Delivery is at-least-once: a claimed job carries a lease; a worker that dies
// stops renewing it and the job is claimed again once it expires. Handlers
// must therefore be idempotent.
//
// Every state change is published as a `job_update` event to admins on the
// system channel, after its transaction commits.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/store.h"

namespace barbossa {

class EventBus;

// Milliseconds since the epoch; injectable so tests can move time.
using JobClock = std::function<int64_t()>;
JobClock system_job_clock();

// In-process hints to workers so they react at once instead of at their
// next poll. Other processes learn the same through polling.
struct JobSignal {
  enum class Kind { kEnqueued, kCancelRequested, kRetried };
  Kind kind = Kind::kEnqueued;
  int64_t job_id = 0;
  std::string queue;
};

// How a run ended, as the worker reports it.
struct JobOutcome {
  enum class Kind { kSucceeded, kFailed, kCancelled };
  Kind kind = Kind::kSucceeded;
  std::string error;
  bool retryable = false;
  int64_t backoff_base_ms = 60'000;
};

class JobQueue {
 public:
  // Called on the thread that made the change, under the queue's observer
  // lock: only hand the signal off (notify a condition variable).
  using Observer = std::function<void(const JobSignal&)>;

  virtual ~JobQueue() = default;

  // --- admin side
  virtual EnqueueResult enqueue(const NewJob& job) = 0;
  virtual std::optional<Job> cancel(int64_t id) = 0;
  virtual std::optional<Job> retry(int64_t id) = 0;
  virtual PageResult<Job> list(const std::string& status, const std::string& queue, Page page) = 0;
  virtual std::optional<Job> find(int64_t id) = 0;
  virtual std::vector<JobCount> counts() = 0;
  // Returns a handle for remove_observer(), which an observer's owner must
  // call before it goes away.
  virtual uint64_t add_observer(Observer observer) = 0;
  virtual void remove_observer(uint64_t handle) = 0;

  // --- worker side (see JobRepository for the exact semantics)
  virtual int64_t now_ms() const = 0;
  virtual std::optional<Job> claim(const std::vector<std::string>& queues,
                                   const std::string& holder, int64_t lease_ms) = 0;
  virtual LeaseState heartbeat(int64_t id, const std::string& holder, int64_t lease_ms) = 0;
  virtual void progress(const Job& job, const std::string& holder, int percent) = 0;
  virtual std::optional<Job> complete(int64_t id, const std::string& holder) = 0;
  virtual std::optional<Job> fail(int64_t id, const std::string& holder, const std::string& error,
                                  bool retryable, int64_t backoff_base_ms) = 0;
  virtual std::optional<Job> finish_cancelled(int64_t id, const std::string& holder) = 0;
  // Records a run's outcome and, in the same transaction, claims the next job
  // of `next_queues` (none when empty): one commit per job instead of two
  // while there is work. Returns (the finished job, the next one).
  virtual std::pair<std::optional<Job>, std::optional<Job>> finish_and_claim(
      int64_t id, const std::string& holder, const JobOutcome& outcome,
      const std::vector<std::string>& next_queues, int64_t lease_ms) = 0;
  virtual std::vector<std::string> running_holders() = 0;
  // Ends now the leases `holder` has on running jobs; returns how many.
  virtual int64_t expire_leases(const std::string& holder) = 0;
};

class DbJobQueue final : public JobQueue {
 public:
  // bus may be null (CLI tools, tests): nothing is published.
  DbJobQueue(Store& store, EventBus* bus, JobClock clock = system_job_clock());

  EnqueueResult enqueue(const NewJob& job) override;
  std::optional<Job> cancel(int64_t id) override;
  std::optional<Job> retry(int64_t id) override;
  PageResult<Job> list(const std::string& status, const std::string& queue, Page page) override;
  std::optional<Job> find(int64_t id) override;
  std::vector<JobCount> counts() override;
  uint64_t add_observer(Observer observer) override;
  void remove_observer(uint64_t handle) override;

  int64_t now_ms() const override { return clock_(); }
  std::optional<Job> claim(const std::vector<std::string>& queues, const std::string& holder,
                           int64_t lease_ms) override;
  LeaseState heartbeat(int64_t id, const std::string& holder, int64_t lease_ms) override;
  void progress(const Job& job, const std::string& holder, int percent) override;
  std::optional<Job> complete(int64_t id, const std::string& holder) override;
  std::optional<Job> fail(int64_t id, const std::string& holder, const std::string& error,
                          bool retryable, int64_t backoff_base_ms) override;
  std::optional<Job> finish_cancelled(int64_t id, const std::string& holder) override;
  std::pair<std::optional<Job>, std::optional<Job>> finish_and_claim(
      int64_t id, const std::string& holder, const JobOutcome& outcome,
      const std::vector<std::string>& next_queues, int64_t lease_ms) override;
  std::vector<std::string> running_holders() override;
  int64_t expire_leases(const std::string& holder) override;

 private:
  void publish(const std::optional<Job>& job, bool with_progress = false);
  void notify(const JobSignal& signal);

  Store& store_;
  EventBus* bus_;
  JobClock clock_;
  std::mutex observers_mu_;
  uint64_t next_observer_ = 1;
  std::vector<std::pair<uint64_t, Observer>> observers_;
};

}  // namespace barbossa
