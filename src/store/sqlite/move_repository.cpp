// SqliteMoveRepository: committed_moves, the album mover's commit points.

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

void SqliteMoveRepository::mark_move_committed(const std::string& move_id) {
  StatementHandle q = conn_.statement("INSERT OR IGNORE INTO committed_moves (id) VALUES (?)");
  q->bind(1, move_id);
  q->exec();
}

bool SqliteMoveRepository::is_move_committed(const std::string& move_id) {
  StatementHandle q = conn_.statement("SELECT 1 FROM committed_moves WHERE id = ?");
  q->bind(1, move_id);
  return q->executeStep();
}

}  // namespace barbossa::sqlite
