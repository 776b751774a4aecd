// SqliteScheduleRepository: schedules and schedule_firings.

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

void SqliteScheduleRepository::upsert(const std::string& name, const std::string& cron,
                                      bool enabled) {
  // SET expressions see the old row, so the CASE compares with the old cron.
  StatementHandle q = conn_.statement(
      "INSERT INTO schedules (name, cron, enabled) VALUES (?, ?, ?) "
      "ON CONFLICT (name) DO UPDATE SET "
      "next_run = CASE WHEN schedules.cron = excluded.cron THEN schedules.next_run END, "
      "cron = excluded.cron, enabled = excluded.enabled");
  q->bind(1, name);
  q->bind(2, cron);
  q->bind(3, enabled ? 1 : 0);
  q->exec();
}

std::vector<ScheduleRow> SqliteScheduleRepository::list() {
  StatementHandle q =
      conn_.statement(std::string("SELECT ") + kScheduleColumns + " FROM schedules ORDER BY name");
  std::vector<ScheduleRow> out;
  while (q->executeStep()) out.push_back(read_schedule(*q));
  return out;
}

std::optional<ScheduleRow> SqliteScheduleRepository::find(const std::string& name) {
  StatementHandle q =
      conn_.statement(std::string("SELECT ") + kScheduleColumns + " FROM schedules WHERE name = ?");
  q->bind(1, name);
  if (!q->executeStep()) return std::nullopt;
  return read_schedule(*q);
}

bool SqliteScheduleRepository::claim_firing(const std::string& name, int64_t fire_time) {
  StatementHandle q =
      conn_.statement("INSERT OR IGNORE INTO schedule_firings (name, fire_time) VALUES (?, ?)");
  q->bind(1, name);
  q->bind(2, fire_time);
  return q->exec() > 0;
}

int64_t SqliteScheduleRepository::prune_firings(const std::string& name, int64_t before) {
  StatementHandle q =
      conn_.statement("DELETE FROM schedule_firings WHERE name = ? AND fire_time < ?");
  q->bind(1, name);
  q->bind(2, before);
  return q->exec();
}

void SqliteScheduleRepository::set_last_run(const std::string& name, int64_t fire_time) {
  StatementHandle q = conn_.statement(
      "UPDATE schedules SET last_run = MAX(COALESCE(last_run, ?1), ?1) WHERE name = ?2");
  q->bind(1, fire_time);
  q->bind(2, name);
  q->exec();
}

void SqliteScheduleRepository::set_next_run(const std::string& name,
                                            std::optional<int64_t> next_run) {
  StatementHandle q = conn_.statement("UPDATE schedules SET next_run = ? WHERE name = ?");
  bind_opt(*q, 1, next_run);
  q->bind(2, name);
  q->exec();
}

}  // namespace barbossa::sqlite
