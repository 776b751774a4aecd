// The REST API of SPEC §10 as routes on a Router. Handlers validate every
// input, check the role server-side and call services; they hold no state.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "auth/trusted_proxies.h"
#include "http/router.h"
#include "hub/hub.h"
#include "importer/import_service.h"
#include "jobs/job_admin.h"
#include "jobs/job_queue.h"
#include "jobs/scheduler.h"
#include "services/account_service.h"
#include "services/activity_service.h"
#include "services/download_service.h"
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
  // Open sockets follow account changes (removed, password, role); null: no
  // live sockets to follow (tests without a hub).
  Hub* hub = nullptr;
  // /api/downloads; null: those routes 503.
  DownloadService* downloads = nullptr;
  // Who may name the client in X-Forwarded-For (login limits count per client).
  TrustedProxies trusted_proxies = {};
};

// The returned handle owns the handlers' state; keep it as long as `router`.
[[nodiscard]] std::shared_ptr<void> register_api_routes(Router& router, ApiContext& context);

}  // namespace barbossa
