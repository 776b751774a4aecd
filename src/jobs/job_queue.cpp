#include "jobs/job_queue.h"

#include <memory>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bus/event_bus.h"
#include "core/error.h"
#include "core/time.h"
#include "jobs/job_rules.h"

namespace barbossa {

JobClock system_job_clock() {
  return [] { return unix_now_ms(); };
}

DbJobQueue::DbJobQueue(Store& store, EventBus* bus, JobClock clock)
    : store_(store), bus_(bus), clock_(std::move(clock)) {}

// Events with one coalesce key per job: a slow socket keeps only a job's
// newest state, which carries everything the older ones said.
void DbJobQueue::publish(const std::optional<Job>& job, bool with_progress) {
  if (bus_ == nullptr || !job) return;
  nlohmann::json payload = nlohmann::json::object();
  payload["job_id"] = job->id;
  payload["queue"] = job->queue;
  payload["type"] = job->type;
  payload["status"] = to_string(job->status);
  payload["attempts"] = job->attempts;
  if (with_progress || job->status == JobStatus::kRunning || job->status == JobStatus::kSucceeded) {
    payload["progress"] = job->progress;
  }
  if (!job->last_error.empty() && job->status != JobStatus::kSucceeded) {
    payload["error"] = job->last_error;
  }
  bus_->publish(make_event_draft("job_update", Channel::kSystem, Audience::admins_only(),
                                 std::move(payload), "job:" + std::to_string(job->id)));
}

void DbJobQueue::notify(const JobSignal& signal) {
  std::lock_guard<std::mutex> lock(observers_mu_);
  for (const auto& [handle, observer] : observers_) observer(signal);
}

uint64_t DbJobQueue::add_observer(Observer observer) {
  std::lock_guard<std::mutex> lock(observers_mu_);
  uint64_t handle = next_observer_++;
  observers_.emplace_back(handle, std::move(observer));
  return handle;
}

void DbJobQueue::remove_observer(uint64_t handle) {
  std::lock_guard<std::mutex> lock(observers_mu_);
  std::erase_if(observers_, [&](const auto& entry) { return entry.first == handle; });
}

EnqueueResult DbJobQueue::enqueue(const NewJob& job) {
  check_new_job(job);
  int64_t now = clock_();
  EnqueueResult result = store_.write([&](StoreSession& s) { return s.jobs().enqueue(job, now); });
  if (result.created) {
    // The event is built from what was inserted: no read back.
    Job created;
    created.id = result.id;
    created.queue = job.queue;
    created.type = job.type;
    created.status = JobStatus::kQueued;
    publish(created);
    notify({JobSignal::Kind::kEnqueued, result.id, job.queue});
  }
  return result;
}

std::optional<Job> DbJobQueue::cancel(int64_t id) {
  int64_t now = clock_();
  std::optional<Job> job = store_.write([&](StoreSession& s) { return s.jobs().cancel(id, now); });
  if (job && job->updated_ms == now &&
      (job->status == JobStatus::kCancelled || job->cancel_requested)) {
    publish(job);
    if (job->status == JobStatus::kRunning)
      notify({JobSignal::Kind::kCancelRequested, id, job->queue});
  }
  return job;
}

std::optional<Job> DbJobQueue::retry(int64_t id) {
  int64_t now = clock_();
  std::optional<Job> job;
  try {
    job = store_.write([&](StoreSession& s) { return s.jobs().retry(id, now); });
  } catch (const StoreError& e) {
    // A live job holds its dedupe key: the admin's 409.
    if (e.kind() == StoreError::Kind::kConflict) throw ApiError::conflict(e.what());
    throw;
  }
  if (job && job->status == JobStatus::kQueued && job->updated_ms == now) {
    publish(job);
    notify({JobSignal::Kind::kRetried, id, job->queue});
  }
  return job;
}

PageResult<Job> DbJobQueue::list(const std::string& status, const std::string& queue, Page page) {
  return store_.read([&](StoreSession& s) { return s.jobs().list(status, queue, page); });
}

std::optional<Job> DbJobQueue::find(int64_t id) {
  return store_.read([&](StoreSession& s) { return s.jobs().find(id); });
}

std::vector<JobCount> DbJobQueue::counts() {
  return store_.read([&](StoreSession& s) { return s.jobs().counts(); });
}

std::optional<Job> DbJobQueue::claim(const std::vector<std::string>& queues,
                                     const std::string& holder, int64_t lease_ms) {
  int64_t now = clock_();
  std::optional<Job> job = store_.write(
      [&](StoreSession& s) { return s.jobs().claim_next(queues, holder, lease_ms, now); });
  publish(job);
  return job;
}

LeaseState DbJobQueue::heartbeat(int64_t id, const std::string& holder, int64_t lease_ms) {
  int64_t now = clock_();
  return store_.write(
      [&](StoreSession& s) { return s.jobs().heartbeat(id, holder, lease_ms, now); });
}

void DbJobQueue::progress(const Job& job, const std::string& holder, int percent) {
  int64_t now = clock_();
  bool held = store_.write(
      [&](StoreSession& s) { return s.jobs().set_progress(job.id, holder, percent, now); });
  if (!held) return;
  Job update = job;
  update.status = JobStatus::kRunning;
  update.progress = percent;
  publish(update, /*with_progress=*/true);
}

std::pair<std::optional<Job>, std::optional<Job>> DbJobQueue::finish_and_claim(
    int64_t id, const std::string& holder, const JobOutcome& outcome,
    const std::vector<std::string>& next_queues, int64_t lease_ms) {
  int64_t now = clock_();
  auto result = store_.write([&](StoreSession& s) {
    JobRepository& jobs = s.jobs();
    std::optional<Job> done;
    switch (outcome.kind) {
      case JobOutcome::Kind::kSucceeded:
        done = jobs.complete(id, holder, now);
        break;
      case JobOutcome::Kind::kFailed:
        done = fail_job(jobs, id, holder, outcome.error, outcome.retryable, outcome.backoff_base_ms,
                        now);
        break;
      case JobOutcome::Kind::kCancelled:
        done = jobs.finish_cancelled(id, holder, now);
        break;
    }
    std::optional<Job> next;
    if (!next_queues.empty()) next = jobs.claim_next(next_queues, holder, lease_ms, now);
    return std::make_pair(std::move(done), std::move(next));
  });
  publish(result.first);
  publish(result.second);
  return result;
}

std::optional<Job> DbJobQueue::complete(int64_t id, const std::string& holder) {
  return finish_and_claim(id, holder, {JobOutcome::Kind::kSucceeded, "", false, 0}, {}, 0).first;
}

std::optional<Job> DbJobQueue::fail(int64_t id, const std::string& holder, const std::string& error,
                                    bool retryable, int64_t backoff_base_ms) {
  return finish_and_claim(id, holder,
                          {JobOutcome::Kind::kFailed, error, retryable, backoff_base_ms}, {}, 0)
      .first;
}

std::optional<Job> DbJobQueue::finish_cancelled(int64_t id, const std::string& holder) {
  return finish_and_claim(id, holder, {JobOutcome::Kind::kCancelled, "", false, 0}, {}, 0).first;
}

std::vector<std::string> DbJobQueue::running_holders() {
  return store_.read([&](StoreSession& s) { return s.jobs().running_holders(); });
}

int64_t DbJobQueue::expire_leases(const std::string& holder) {
  int64_t now = clock_();
  return store_.write([&](StoreSession& s) { return s.jobs().expire_leases(holder, now); });
}

}  // namespace barbossa
