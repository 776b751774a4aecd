#include "services/activity_service.h"

#include "services/events.h"

namespace barbossa {

Activity ActivityService::record(StoreSession& tx, std::optional<int64_t> user_id,
                                 const std::string& action, const std::string& entity_type,
                                 int64_t entity_id, const nlohmann::json& details) {
  Activity row;
  row.user_id = user_id;
  row.action = action;
  row.entity_type = entity_type;
  row.entity_id = entity_id;
  // replace: details quote names and tags; a stray invalid byte becomes
  // U+FFFD instead of failing the transaction that records the activity.
  row.details_json = details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return tx.activity().insert(row);
}

uint64_t ActivityService::publish(const Activity& activity, const std::string& username) {
  return bus_.publish(activity_event(activity, username));
}

Activity ActivityService::record_and_publish(std::optional<int64_t> user_id,
                                             const std::string& username, const std::string& action,
                                             const std::string& entity_type, int64_t entity_id,
                                             const nlohmann::json& details) {
  Activity row = store_.write([&](StoreSession& tx) {
    return record(tx, user_id, action, entity_type, entity_id, details);
  });
  publish(row, username);
  return row;
}

std::vector<Activity> ActivityService::list(int64_t limit, int64_t before_id) {
  return store_.read([&](StoreSession& s) { return s.activity().list(limit, before_id); });
}

nlohmann::json activity_json(const Activity& a) {
  nlohmann::json j = nlohmann::json::object();
  j["id"] = a.id;
  j["user_id"] = a.user_id ? nlohmann::json(*a.user_id) : nlohmann::json(nullptr);
  j["username"] = a.username.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.username);
  j["action"] = a.action;
  j["entity_type"] = a.entity_type;
  j["entity_id"] = a.entity_id;
  j["details"] = nlohmann::json::parse(a.details_json, nullptr, false);
  if (j["details"].is_discarded()) j["details"] = nlohmann::json::object();
  j["created_at"] = a.created_at;
  return j;
}

}  // namespace barbossa
