// Numbered schema migrations for the SQLite backend. Versions only ever grow;
// a shipped migration is never edited, a later one amends it. Each migration
// runs in its own transaction and is recorded in schema_migrations, so a crash
// half way leaves the database at the last whole version.
#pragma once

#include <string_view>
#include <vector>

namespace SQLite {
class Database;
}  // namespace SQLite

namespace barbossa {

struct Migration {
  int version;
  std::string_view sql;
  // A table rebuild (create new, copy, drop old, rename) of a table others
  // reference: with foreign keys on, DROP TABLE would run the children's ON
  // DELETE actions and empty them. Such a migration runs with foreign keys
  // off (SQLite's documented procedure) and is checked with
  // PRAGMA foreign_key_check before it commits.
  bool rebuilds_tables = false;
};

// In ascending version order.
const std::vector<Migration>& sqlite_migrations();

int latest_sqlite_schema_version();

// Highest applied version; 0 for a database never migrated.
int applied_schema_version(SQLite::Database& db);

// Applies every pending migration in order and returns how many ran. Safe
// against a concurrent migrator: each version is re-checked under the write
// lock. Throws std::runtime_error when the database is newer than this build.
int apply_migrations(SQLite::Database& db);

}  // namespace barbossa
