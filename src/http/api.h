// The REST API of SPEC §10 as routes on a Router. Handlers validate every
// input, check the role server-side and call services; they hold no state.
#pragma once

#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "http/router.h"
#include "importer/import_service.h"
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
};

// The returned handle owns the handlers' state; keep it as long as `router`.
[[nodiscard]] std::shared_ptr<void> register_api_routes(Router& router, ApiContext& context);

}  // namespace barbossa
