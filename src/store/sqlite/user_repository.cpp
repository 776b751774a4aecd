// SqliteUserRepository: the users table.

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

User SqliteUserRepository::create(const std::string& username, const std::string& password_hash,
                                  bool is_admin) {
  StatementHandle q =
      conn_.statement(std::string("INSERT INTO users (username, password_hash, is_admin) "
                                  "VALUES (?, ?, ?) RETURNING ") +
                      kUserColumns);
  q->bind(1, username);
  q->bind(2, password_hash);
  q->bind(3, is_admin ? 1 : 0);
  try {
    q->executeStep();
  } catch (const SQLite::Exception& e) {
    if (is_unique_violation(e)) throw taken(username);
    throw;
  }
  return read_user(*q);
}

std::optional<User> SqliteUserRepository::find_by_id(int64_t id) {
  StatementHandle q =
      conn_.statement(std::string("SELECT ") + kUserColumns + " FROM users WHERE id = ?");
  q->bind(1, id);
  if (!q->executeStep()) return std::nullopt;
  return read_user(*q);
}

std::optional<User> SqliteUserRepository::find_by_name(const std::string& username) {
  // The column's NOCASE collation makes this lookup case-insensitive too.
  StatementHandle q =
      conn_.statement(std::string("SELECT ") + kUserColumns + " FROM users WHERE username = ?");
  q->bind(1, username);
  if (!q->executeStep()) return std::nullopt;
  return read_user(*q);
}

std::vector<User> SqliteUserRepository::list() {
  StatementHandle q =
      conn_.statement(std::string("SELECT ") + kUserColumns + " FROM users ORDER BY id");
  std::vector<User> out;
  while (q->executeStep()) out.push_back(read_user(*q));
  return out;
}

std::vector<AccountState> SqliteUserRepository::account_states() {
  StatementHandle q = conn_.statement("SELECT id, token_version, is_admin FROM users");
  std::vector<AccountState> out;
  while (q->executeStep()) {
    out.push_back(
        {q->getColumn(0).getInt64(), q->getColumn(1).getInt64(), q->getColumn(2).getInt() != 0});
  }
  return out;
}

int64_t SqliteUserRepository::count() {
  StatementHandle q = conn_.statement("SELECT COUNT(*) FROM users");
  return count_of(*q);
}

int64_t SqliteUserRepository::count_admins() {
  StatementHandle q = conn_.statement("SELECT COUNT(*) FROM users WHERE is_admin = 1");
  return count_of(*q);
}

bool SqliteUserRepository::update_password(int64_t id, const std::string& password_hash) {
  // A new password revokes every token issued before it.
  StatementHandle q = conn_.statement(
      "UPDATE users SET password_hash = ?, token_version = token_version + 1 WHERE id = ?");
  q->bind(1, password_hash);
  q->bind(2, id);
  return q->exec() > 0;
}

bool SqliteUserRepository::update_admin(int64_t id, bool is_admin) {
  // A changed role revokes tokens that still claim the old one; setting
  // the role a user already has changes nothing.
  StatementHandle q = conn_.statement(
      "UPDATE users SET token_version = token_version + (is_admin != ?1), is_admin = ?1 "
      "WHERE id = ?2");
  q->bind(1, is_admin ? 1 : 0);
  q->bind(2, id);
  return q->exec() > 0;
}

bool SqliteUserRepository::update_username(int64_t id, const std::string& username) {
  StatementHandle q = conn_.statement("UPDATE users SET username = ? WHERE id = ?");
  q->bind(1, username);
  q->bind(2, id);
  try {
    return q->exec() > 0;
  } catch (const SQLite::Exception& e) {
    if (is_unique_violation(e)) throw taken(username);
    throw;
  }
}

bool SqliteUserRepository::remove(int64_t id) {
  StatementHandle q = conn_.statement("DELETE FROM users WHERE id = ?");
  q->bind(1, id);
  return q->exec() > 0;
}

StoreError SqliteUserRepository::taken(const std::string& username) {
  return StoreError::conflict("Username '" + username + "' is already taken");
}

}  // namespace barbossa::sqlite
