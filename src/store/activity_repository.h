// The activity feed: what users (or the system) did, newest first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace barbossa {

struct Activity {
  int64_t id = 0;
  std::optional<int64_t> user_id;
  std::string username;  // filled by reads (empty for system activity)
  std::string action;
  std::string entity_type;
  int64_t entity_id = 0;
  std::string details_json = "{}";
  std::string created_at;
};

class ActivityRepository {
 public:
  virtual ~ActivityRepository() = default;
  virtual Activity insert(const Activity& activity) = 0;  // returns it with id and created_at
  // Newest first; before_id 0 means from the newest.
  virtual std::vector<Activity> list(int64_t limit, int64_t before_id) = 0;
};

}  // namespace barbossa
