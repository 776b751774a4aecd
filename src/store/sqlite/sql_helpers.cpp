#include "store/sqlite/sql_helpers.h"

#include <sqlite3.h>

namespace barbossa::sqlite {

std::string text(const SQLite::Statement& q, int col) {
  SQLite::Column c = q.getColumn(col);
  return c.isNull() ? std::string() : c.getString();
}

void bind_text_or_null(SQLite::Statement& q, int index, const std::string& value) {
  if (value.empty()) {
    q.bind(index);
  } else {
    q.bind(index, value);
  }
}

void bind_int_or_null(SQLite::Statement& q, int index, int64_t value) {
  if (value == 0) {
    q.bind(index);
  } else {
    q.bind(index, value);
  }
}

int64_t safe_limit(const Page& p) {
  return p.limit < 0 ? 0 : p.limit;
}
int64_t safe_offset(const Page& p) {
  return p.offset < 0 ? 0 : p.offset;
}

bool is_unique_violation(const SQLite::Exception& e) {
  int code = e.getExtendedErrorCode();
  return code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY;
}

bool is_foreign_key_violation(const SQLite::Exception& e) {
  return e.getExtendedErrorCode() == SQLITE_CONSTRAINT_FOREIGNKEY;
}

int64_t count_of(SQLite::Statement& q) {
  q.executeStep();
  return q.getColumn(0).getInt64();
}

std::optional<int64_t> opt_int(const SQLite::Statement& q, int col) {
  SQLite::Column c = q.getColumn(col);
  if (c.isNull()) return std::nullopt;
  return c.getInt64();
}

void bind_opt(SQLite::Statement& q, int index, const std::optional<int64_t>& value) {
  if (value) {
    q.bind(index, *value);
  } else {
    q.bind(index);
  }
}

}  // namespace barbossa::sqlite
