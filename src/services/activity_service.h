// ActivityService: records what happened in the activity table and tells
// everyone over the bus. Recording joins the caller's transaction; publishing
// happens only after that transaction commits, so no event ever describes a
// change that was rolled back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bus/event_bus.h"
#include "store/store.h"

namespace barbossa {

class ActivityService {
 public:
  ActivityService(Store& store, EventBus& bus) : store_(store), bus_(bus) {}

  Activity record(StoreSession& tx, std::optional<int64_t> user_id, const std::string& action,
                  const std::string& entity_type, int64_t entity_id, const nlohmann::json& details);
  // Publishes an `activity` event for a committed row; `username` is the actor's.
  uint64_t publish(const Activity& activity, const std::string& username);

  // Record in its own transaction and publish.
  Activity record_and_publish(std::optional<int64_t> user_id, const std::string& username,
                              const std::string& action, const std::string& entity_type,
                              int64_t entity_id, const nlohmann::json& details);

  std::vector<Activity> list(int64_t limit, int64_t before_id);

 private:
  Store& store_;
  EventBus& bus_;
};

nlohmann::json activity_json(const Activity& activity);

}  // namespace barbossa
