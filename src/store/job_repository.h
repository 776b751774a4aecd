// The durable jobs table (SPEC 3, 8). What a valid queue is and how long a
// retry waits are job rules (jobs/job_rules.h): the store stores.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/job_status.h"
#include "store/page.h"

namespace barbossa {

// A durable job (SPEC 3, 8). Times are milliseconds since the epoch; every
// JobRepository call takes `now_ms` from its caller so tests control time.
struct Job {
  int64_t id = 0;
  std::string queue;  // downloads | imports | exports | maintenance
  std::string type;   // handler name
  std::string payload_json = "{}";
  std::string dedupe_key;  // empty: none
  JobStatus status = JobStatus::kQueued;
  int attempts = 0;
  int max_attempts = 3;
  int64_t run_after_ms = 0;
  std::string lease_holder;
  int64_t lease_expires_ms = 0;  // 0: no lease
  bool cancel_requested = false;
  std::string last_error;
  int progress = 0;  // 0-100
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  int64_t finished_ms = 0;  // 0: not finished
};

struct NewJob {
  std::string queue;
  std::string type;
  std::string payload_json = "{}";
  std::string dedupe_key;  // empty: no deduplication
  int max_attempts = 3;
  int64_t run_after_ms = 0;  // 0: now
};

struct EnqueueResult {
  int64_t id = 0;
  bool created = false;  // false: a live job already held the dedupe key
};

// What a worker learns when it extends its lease.
struct LeaseState {
  bool held = false;  // false: the lease expired and someone else may run it
  bool cancel_requested = false;
};

struct JobCount {
  std::string queue;
  JobStatus status = JobStatus::kQueued;
  int64_t count = 0;
};

// Writes (enqueue, claim, outcomes) belong in a write session: claim_next
// relies on its BEGIN IMMEDIATE to be atomic across processes. Calls a worker
// makes about its own job are fenced by `holder`: they change nothing (and
// return false/nullopt) once the lease passed to someone else.
class JobRepository {
 public:
  virtual ~JobRepository() = default;
  // The queue name is trusted (jobs/job_rules.h checks it first). A live job
  // with the same dedupe key: its id.
  virtual EnqueueResult enqueue(const NewJob& job, int64_t now_ms) = 0;
  // The first due job of `queues` by (run_after, id) - queued and due, or
  // running with an expired lease (its worker died: late acknowledgement) -
  // made running with attempts + 1 and a lease until now + lease_ms. Expired
  // jobs that used their last attempt end dead, and expired ones whose cancel
  // was requested end cancelled, instead of running again.
  virtual std::optional<Job> claim_next(const std::vector<std::string>& queues,
                                        const std::string& holder, int64_t lease_ms,
                                        int64_t now_ms) = 0;
  virtual LeaseState heartbeat(int64_t id, const std::string& holder, int64_t lease_ms,
                               int64_t now_ms) = 0;
  virtual bool set_progress(int64_t id, const std::string& holder, int progress,
                            int64_t now_ms) = 0;
  virtual std::optional<Job> complete(int64_t id, const std::string& holder, int64_t now_ms) = 0;
  // retryable and attempts left: queued again, due at retry_at_ms (the
  // caller's backoff, jobs/job_rules.h); retryable and none left: dead; not
  // retryable: failed.
  virtual std::optional<Job> fail(int64_t id, const std::string& holder, const std::string& error,
                                  bool retryable, int64_t retry_at_ms, int64_t now_ms) = 0;
  // The worker's end of a running job whose cancel was requested.
  virtual std::optional<Job> finish_cancelled(int64_t id, const std::string& holder,
                                              int64_t now_ms) = 0;
  // queued -> cancelled; running -> cancel_requested set (the worker ends it).
  // nullopt when the job does not exist; finished jobs are returned unchanged.
  virtual std::optional<Job> cancel(int64_t id, int64_t now_ms) = 0;
  // dead | failed | cancelled -> queued, attempts reset, due now. nullopt when
  // missing; other states unchanged. StoreError kConflict when a live job holds
  // its dedupe key.
  virtual std::optional<Job> retry(int64_t id, int64_t now_ms) = 0;
  // Newest first; empty status/queue: any (a status as to_string() spells it).
  virtual PageResult<Job> list(const std::string& status, const std::string& queue, Page page) = 0;
  virtual std::optional<Job> find(int64_t id) = 0;
  virtual std::vector<JobCount> counts() = 0;
  // Distinct lease holders of running jobs, and a way to end their leases now:
  // for a restarted process to take back what its previous instance held.
  virtual std::vector<std::string> running_holders() = 0;
  virtual int64_t expire_leases(const std::string& holder, int64_t now_ms) = 0;
};

}  // namespace barbossa
