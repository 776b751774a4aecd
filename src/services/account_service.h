// AccountService: users, passwords, login and token checks. Roles are decided
// here from the database, never from what a client claims.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "auth/login_throttle.h"
#include "auth/tokens.h"
#include "files/user_links.h"
#include "store/store.h"

namespace barbossa {

struct AuthUser {
  int64_t id = 0;
  std::string username;
  bool is_admin = false;
  int64_t token_version = 0;  // what tokens issued now carry as `ver`
};

struct LoginResult {
  std::string access_token;
  int64_t expires_in = 0;  // seconds
  AuthUser user;
};

struct UserChanges {
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::optional<bool> is_admin;
};

struct AccountOptions {
  int token_hours = 24;
  LoginLimits login;
};

class AccountService {
 public:
  AccountService(Store& store, std::string jwt_secret, AccountOptions options);

  // Throws ApiError 401 (same message for unknown user and wrong password) or
  // RateLimitedError 429 (too many failures from this address, or from it
  // for this name). `client_address` is the client as TrustedProxies names it.
  LoginResult login(const std::string& username, const std::string& password,
                    const std::string& client_address);
  // The first half of a login, before any password is looked at: throws
  // RateLimitedError (429) when refused, else says how long to wait before
  // calling login() and hands the name's slot to hold until it is answered
  // (see LoginThrottle::admit). The caller waits without holding a thread
  // (HttpResponse::delay and then).
  LoginAdmission admit_login(const std::string& username, const std::string& client_address);
  // Verifies the token and loads the user; throws ApiError 401. A token is
  // good only while its `ver` matches the user's token_version: a password
  // or role change, or removal, ends it.
  AuthUser authenticate(const std::string& token);
  std::optional<AuthUser> try_authenticate(const std::string& token) noexcept;
  std::string issue_token(const AuthUser& user, int64_t now) const;

  // Validate inputs (400), then act (404/409 as fitting).
  User create_user(const std::string& username, const std::string& password, bool is_admin);
  std::vector<User> list_users();
  User get_user(int64_t id);
  User update_user(int64_t id, const UserChanges& changes, int64_t acting_user_id);
  void remove_user(int64_t id, int64_t acting_user_id);
  void set_password(const std::string& username, const std::string& password);
  void remove_user_by_name(const std::string& username);

  // First start: when there are no users, creates the admin. Returns the
  // password when it had to be generated (to be printed once).
  std::optional<std::string> bootstrap_admin(const std::string& username,
                                             const std::string& password);

  static std::string username_problem(const std::string& username);

  // The per-user link folders (USERS_DIR/<name>): removed with the user, and
  // cleared when a user is created under a name whose folder was left over,
  // so a re-created name never inherits the old owner's links. Optional
  // (null: no folders are touched).
  void attach_user_links(UserLinks* links) { links_ = links; }

 private:
  void drop_links(const std::string& username) noexcept;

  Store& store_;
  TokenSigner signer_;
  AccountOptions options_;
  LoginThrottle throttle_;
  UserLinks* links_ = nullptr;
  std::once_flag dummy_once_;
  std::string dummy_hash_;  // verified against for unknown users, to equalize timing
};

}  // namespace barbossa
