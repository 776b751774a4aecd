// The rules of jobs that the store does not decide: which queues exist, what
// a new job must carry, and how long a failed attempt waits before the next.
// The queue and admin layers apply them before calling the store, which
// stores what it is given.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "store/store.h"

namespace barbossa {

// Job filters of GET /api/admin/jobs and `barbossa jobs list`.
bool is_job_status(const std::string& status);  // queued|running|succeeded|failed|dead|cancelled
bool is_job_queue(const std::string& queue);    // downloads|imports|exports|maintenance

// ApiError 400 for an unknown queue or a job without a type.
void check_new_job(const NewJob& job);

// How long attempt n (1-based) waits after it failed: base * 2^(n-1), the
// shift capped so a large max_attempts cannot overflow.
int64_t retry_backoff_ms(int64_t base_ms, int attempt);

// Records a failed run of a job `holder` runs, with the backoff above for a
// retryable one: the store's fail() with the retry time computed here. In
// the caller's write session. nullopt when the lease is no longer held.
std::optional<Job> fail_job(JobRepository& jobs, int64_t id, const std::string& holder,
                            const std::string& error, bool retryable, int64_t backoff_base_ms,
                            int64_t now_ms);

}  // namespace barbossa
