// Accounts: who may log in, their password hash, role and token version.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace barbossa {

struct User {
  int64_t id = 0;
  std::string username;
  std::string password_hash;
  bool is_admin = false;
  std::string created_at;
  // Tokens carry it (claim `ver`); a password or role change bumps it.
  int64_t token_version = 0;
};

struct AccountState {
  int64_t id = 0;
  int64_t token_version = 0;
  bool is_admin = false;
};

class UserRepository {
 public:
  virtual ~UserRepository() = default;
  // Throws StoreError::Kind::kConflict when the username is taken (case-insensitive).
  virtual User create(const std::string& username, const std::string& password_hash,
                      bool is_admin) = 0;
  virtual std::optional<User> find_by_id(int64_t id) = 0;
  virtual std::optional<User> find_by_name(const std::string& username) = 0;
  virtual std::vector<User> list() = 0;
  // Every account's id, token_version and role, and nothing else: polled
  // every few seconds so open sockets follow changes made by another process.
  virtual std::vector<AccountState> account_states() = 0;
  virtual int64_t count() = 0;
  virtual int64_t count_admins() = 0;
  // Each returns false when the user does not exist. A new password, or a
  // role different from the current one, also bumps token_version.
  virtual bool update_password(int64_t id, const std::string& password_hash) = 0;
  virtual bool update_admin(int64_t id, bool is_admin) = 0;
  // StoreError kConflict on a clash.
  virtual bool update_username(int64_t id, const std::string& username) = 0;
  virtual bool remove(int64_t id) = 0;
};

}  // namespace barbossa
