// What admins do with jobs and schedules, shared by the admin API and
// `barbossa jobs`: filters, retry and cancel with the exact status rules,
// and the JSON both show.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "jobs/job_queue.h"
#include "jobs/job_rules.h"
#include "jobs/scheduler.h"

namespace barbossa {

// Admin actions shared by the API and `barbossa jobs`. ApiError 404 for an
// unknown id, 409 for a job in the wrong state.
// dead | failed | cancelled -> queued (attempts reset, due now).
Job retry_job(JobQueue& queue, int64_t id);
// queued -> cancelled; running -> cancel requested (its worker ends it and
// the job stays running until then); finished -> 409.
Job cancel_job(JobQueue& queue, int64_t id);

// A job as the admin API and `barbossa jobs list --json` show it: {id, queue,
// type, status, attempts, max_attempts, progress, last_error, dedupe_key,
// payload (parsed), cancel_requested, run_after, created_at, updated_at,
// finished_at}; times ISO 8601 UTC, finished_at null while unfinished.
nlohmann::json job_json(const Job& job);
// {name, cron, enabled, last_run, next_run}; times null when unknown.
nlohmann::json schedule_json(const ScheduleInfo& info);

}  // namespace barbossa
