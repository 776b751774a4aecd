// SqliteMetaRepository: the meta key/value table.

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

std::optional<std::string> SqliteMetaRepository::get(const std::string& key) {
  StatementHandle q = conn_.statement("SELECT value FROM meta WHERE key = ?");
  q->bind(1, key);
  if (!q->executeStep()) return std::nullopt;
  return text(*q, 0);
}

void SqliteMetaRepository::put(const std::string& key, const std::string& value) {
  StatementHandle q = conn_.statement(
      "INSERT INTO meta (key, value) VALUES (?, ?) "
      "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  q->bind(1, key);
  q->bind(2, value);
  q->exec();
}

}  // namespace barbossa::sqlite
