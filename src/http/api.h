// The REST API of SPEC §10 as routes on a Router. Handlers validate every
// input, check the role server-side and call services; they hold no state.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "http/router.h"
#include "importer/import_service.h"
#include "jobs/job_queue.h"
#include "jobs/scheduler.h"
#include "services/account_service.h"
#include "services/activity_service.h"
#include "services/library_service.h"

namespace barbossa {

struct ApiContext {
  AccountService& accounts;
  LibraryService& library;
  ActivityService& activity;
  EventBus& bus;
  // Component health for /api/admin/health: {name: {status, detail}}.
  std::function<nlohmann::json()> component_health;
  int64_t max_page = 200;
  // Review queue and album deletion need the importer; null: those routes 503.
  ImportService* importer = nullptr;
  // Admin jobs and schedules routes (SPEC 8); null: those routes 503.
  JobQueue* jobs = nullptr;
  Scheduler* scheduler = nullptr;
  // The last stored integrity report as JSON text (nullopt: none yet);
  // empty function: GET /api/admin/integrity 503s.
  std::function<std::optional<std::string>()> integrity_report = {};
};

// Job filters of GET /api/admin/jobs and `barbossa jobs list`.
bool is_job_status(const std::string& status);  // queued|running|succeeded|failed|dead|cancelled
bool is_job_queue(const std::string& queue);    // downloads|imports|exports|maintenance

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

// The returned handle owns the handlers' state; keep it as long as `router`.
[[nodiscard]] std::shared_ptr<void> register_api_routes(Router& router, ApiContext& context);

}  // namespace barbossa
