#include "jobs/job_admin.h"

#include "core/error.h"
#include "core/time.h"

namespace barbossa {

using nlohmann::json;

Job retry_job(JobQueue& queue, int64_t id) {
  auto conflict = [](const Job& j) {
    return ApiError::conflict("Job " + std::to_string(j.id) + " is " +
                              std::string(to_string(j.status)) +
                              "; only dead, failed or cancelled jobs can be retried");
  };
  auto before = queue.find(id);
  if (!before) throw ApiError::not_found("Job " + std::to_string(id) + " not found");
  if (before->status != JobStatus::kDead && before->status != JobStatus::kFailed &&
      before->status != JobStatus::kCancelled) {
    throw conflict(*before);
  }
  auto after = queue.retry(id);  // 409 itself when a live job holds the dedupe key
  if (!after) throw ApiError::not_found("Job " + std::to_string(id) + " not found");
  if (after->status != JobStatus::kQueued) throw conflict(*after);  // changed in between
  return *after;
}

Job cancel_job(JobQueue& queue, int64_t id) {
  auto conflict = [](const Job& j) {
    return ApiError::conflict("Job " + std::to_string(j.id) + " has already finished (" +
                              std::string(to_string(j.status)) + ")");
  };
  auto before = queue.find(id);
  if (!before) throw ApiError::not_found("Job " + std::to_string(id) + " not found");
  if (before->status != JobStatus::kQueued && before->status != JobStatus::kRunning) {
    throw conflict(*before);
  }
  auto after = queue.cancel(id);
  if (!after) throw ApiError::not_found("Job " + std::to_string(id) + " not found");
  // It may have finished between the two reads: cancel() returns it unchanged.
  bool requested = after->status == JobStatus::kRunning && after->cancel_requested;
  if (after->status != JobStatus::kCancelled && !requested) throw conflict(*after);
  return *after;
}

json job_json(const Job& job) {
  json j = json::object();
  j["id"] = job.id;
  j["queue"] = job.queue;
  j["type"] = job.type;
  j["status"] = to_string(job.status);
  j["attempts"] = job.attempts;
  j["max_attempts"] = job.max_attempts;
  j["progress"] = job.progress;
  j["last_error"] = job.last_error.empty() ? json(nullptr) : json(job.last_error);
  j["dedupe_key"] = job.dedupe_key.empty() ? json(nullptr) : json(job.dedupe_key);
  json payload = json::parse(job.payload_json, nullptr, /*allow_exceptions=*/false);
  j["payload"] = payload.is_discarded() ? json(job.payload_json) : std::move(payload);
  j["cancel_requested"] = job.cancel_requested;
  j["run_after"] = job.run_after_ms > 0 ? json(iso8601_utc(job.run_after_ms)) : json(nullptr);
  j["created_at"] = iso8601_utc(job.created_ms);
  j["updated_at"] = iso8601_utc(job.updated_ms);
  j["finished_at"] = job.finished_ms > 0 ? json(iso8601_utc(job.finished_ms)) : json(nullptr);
  return j;
}

json schedule_json(const ScheduleInfo& info) {
  json j = json::object();
  j["name"] = info.name;
  j["cron"] = info.cron;
  j["enabled"] = info.enabled;
  j["last_run"] = info.last_run.empty() ? json(nullptr) : json(info.last_run);
  j["next_run"] = info.next_run.empty() ? json(nullptr) : json(info.next_run);
  return j;
}

}  // namespace barbossa
