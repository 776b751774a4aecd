// SqliteActivityRepository: the activity table.

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/sqlite/repositories.h"
#include "store/sqlite/row_readers.h"
#include "store/sqlite/sql_helpers.h"
#include "store/store_error.h"

namespace barbossa::sqlite {

Activity SqliteActivityRepository::insert(const Activity& activity) {
  StatementHandle q = conn_.statement(
      "INSERT INTO activity (user_id, action, entity_type, entity_id, details) "
      "VALUES (?, ?, ?, ?, ?) RETURNING id");
  if (activity.user_id) {
    q->bind(1, *activity.user_id);
  } else {
    q->bind(1);
  }
  q->bind(2, activity.action);
  q->bind(3, activity.entity_type);
  q->bind(4, activity.entity_id);
  q->bind(5, activity.details_json.empty() ? std::string("{}") : activity.details_json);
  try {
    q->executeStep();
  } catch (const SQLite::Exception& e) {
    if (is_foreign_key_violation(e)) {
      throw StoreError::not_found("User " + std::to_string(*activity.user_id) + " not found");
    }
    throw;
  }
  int64_t id = q->getColumn(0).getInt64();
  q->reset();
  // Re-read for created_at and username, exactly as list() reports them.
  StatementHandle r = conn_.statement(std::string("SELECT ") + kActivityColumns +
                                      " FROM activity ac LEFT JOIN users u ON u.id = ac.user_id"
                                      " WHERE ac.id = ?");
  r->bind(1, id);
  r->executeStep();
  return read_activity(*r);
}

std::vector<Activity> SqliteActivityRepository::list(int64_t limit, int64_t before_id) {
  StatementHandle q =
      conn_.statement(std::string("SELECT ") + kActivityColumns +
                      " FROM activity ac LEFT JOIN users u ON u.id = ac.user_id" +
                      (before_id > 0 ? " WHERE ac.id < ?2" : "") + " ORDER BY ac.id DESC LIMIT ?1");
  q->bind(1, limit < 0 ? int64_t{0} : limit);
  if (before_id > 0) q->bind(2, before_id);
  std::vector<Activity> out;
  while (q->executeStep()) out.push_back(read_activity(*q));
  return out;
}

}  // namespace barbossa::sqlite
