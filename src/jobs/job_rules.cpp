#include "jobs/job_rules.h"

#include <algorithm>

#include "core/error.h"

namespace barbossa {

bool is_job_status(const std::string& status) {
  return parse_job_status(status).has_value();
}

bool is_job_queue(const std::string& queue) {
  return queue == "downloads" || queue == "imports" || queue == "exports" || queue == "maintenance";
}

void check_new_job(const NewJob& job) {
  if (!is_job_queue(job.queue))
    throw ApiError::bad_request("Unknown job queue '" + job.queue + "'");
  if (job.type.empty()) throw ApiError::bad_request("A job needs a type");
}

int64_t retry_backoff_ms(int64_t base_ms, int attempt) {
  int shift = std::clamp(attempt - 1, 0, 20);
  return base_ms * (int64_t{1} << shift);
}

std::optional<Job> fail_job(JobRepository& jobs, int64_t id, const std::string& holder,
                            const std::string& error, bool retryable, int64_t backoff_base_ms,
                            int64_t now_ms) {
  // The attempt that failed is the one the holder claimed: while the lease
  // is held nobody else can claim the job, so attempts cannot move between
  // this read and fail() in the same transaction.
  std::optional<Job> running = jobs.find(id);
  if (!running) return std::nullopt;
  int64_t retry_at = now_ms + retry_backoff_ms(backoff_base_ms, running->attempts);
  return jobs.fail(id, holder, error, retryable, retry_at, now_ms);
}

}  // namespace barbossa
