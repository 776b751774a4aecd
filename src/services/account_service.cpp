#include "services/account_service.h"

#include <spdlog/spdlog.h>

#include "auth/password.h"
#include "core/error.h"
#include "core/time.h"

namespace barbossa {
namespace {

const char* kBadCredentials = "Invalid username or password";

AuthUser to_auth(const User& u) {
  return {u.id, u.username, u.is_admin, u.token_version};
}

void require_password_ok(const std::string& password) {
  std::string problem = password_problem(password);
  if (!problem.empty()) throw ApiError::bad_request(problem);
}

}  // namespace

AccountService::AccountService(Store& store, std::string jwt_secret, AccountOptions options)
    : store_(store), signer_(std::move(jwt_secret)), options_(options), throttle_(options.login) {}

std::string AccountService::username_problem(const std::string& username) {
  // Usernames name a folder under USERS_DIR, so they stay filesystem-plain.
  if (username.empty() || username.size() > 64) return "Username must be 1 to 64 characters";
  for (char c : username) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return "Username may contain only letters, digits, '.', '_' and '-'";
  }
  if (username.front() == '.') return "Username must not start with '.'";
  return {};
}

LoginResult AccountService::login(const std::string& username, const std::string& password,
                                  const std::string& client_address) {
  int64_t now = unix_now();
  // Refused before any password check: a refused guess costs no hashing.
  int wait = throttle_.refuse_for(client_address, username, now);
  if (wait > 0) {
    spdlog::info("login refused for {} seconds: too many failures from {}", wait, client_address);
    throw RateLimitedError(wait);
  }

  auto user = store_.read([&](StoreSession& s) { return s.users().find_by_name(username); });
  bool ok;
  if (user) {
    ok = verify_password(password, user->password_hash);
  } else {
    std::call_once(dummy_once_, [this] { dummy_hash_ = hash_password("not-a-real-password"); });
    verify_password(password, dummy_hash_);
    ok = false;
  }
  if (!ok) {
    throttle_.record_failure(client_address, username, now);
    spdlog::info("login failed for a user from {}", client_address);
    throw ApiError::unauthorized(kBadCredentials);
  }
  throttle_.record_success(client_address, username);
  LoginResult result;
  result.user = to_auth(*user);
  result.expires_in = static_cast<int64_t>(options_.token_hours) * 3600;
  result.access_token = issue_token(result.user, now);
  return result;
}

LoginAdmission AccountService::admit_login(const std::string& username,
                                           const std::string& client_address) {
  LoginAdmission admission = throttle_.admit(client_address, username, unix_now());
  if (admission.refuse_seconds > 0) {
    spdlog::info(
        "login refused for {} seconds: too many failures from {}, or another attempt "
        "at the name from a failing address is under way",
        admission.refuse_seconds, client_address);
    throw RateLimitedError(admission.refuse_seconds);
  }
  return admission;
}

std::string AccountService::issue_token(const AuthUser& user, int64_t now) const {
  TokenClaims claims;
  claims.user_id = user.id;
  claims.username = user.username;
  claims.is_admin = user.is_admin;
  claims.issued_at = now;
  claims.expires_at = now + static_cast<int64_t>(options_.token_hours) * 3600;
  claims.version = user.token_version;
  return signer_.issue(claims);
}

std::optional<AuthUser> AccountService::try_authenticate(const std::string& token) noexcept {
  try {
    auto claims = signer_.verify(token, unix_now());
    if (!claims) return std::nullopt;
    auto user = store_.read([&](StoreSession& s) { return s.users().find_by_id(claims->user_id); });
    if (!user) return std::nullopt;  // deleted since the token was issued
    // Password or role changed since (ids are never reused, so a removed
    // user's token cannot match anyone else's row).
    if (claims->version != user->token_version) return std::nullopt;
    return to_auth(*user);
  } catch (const std::exception& e) {
    spdlog::error("token check failed: {}", e.what());
    return std::nullopt;
  }
}

AuthUser AccountService::authenticate(const std::string& token) {
  auto user = try_authenticate(token);
  if (!user) throw ApiError::unauthorized("Invalid or expired token");
  return *user;
}

User AccountService::create_user(const std::string& username, const std::string& password,
                                 bool is_admin) {
  std::string problem = username_problem(username);
  if (!problem.empty()) throw ApiError::bad_request(problem);
  require_password_ok(password);
  std::string hash = hash_password(password);
  User created =
      store_.write([&](StoreSession& s) { return s.users().create(username, hash, is_admin); });
  drop_links(created.username);  // a new user has no hearts, so no links yet
  return created;
}

void AccountService::drop_links(const std::string& username) noexcept {
  if (!links_) return;
  try {
    links_->remove_user(username);
  } catch (const std::exception& e) {
    // The database is the truth; repair-user-links clears what is left.
    spdlog::warn("could not remove the link folder of user '{}': {}", username, e.what());
  }
}

std::vector<User> AccountService::list_users() {
  return store_.read([](StoreSession& s) { return s.users().list(); });
}

User AccountService::get_user(int64_t id) {
  auto user = store_.read([&](StoreSession& s) { return s.users().find_by_id(id); });
  if (!user) throw ApiError::not_found("User not found");
  return *user;
}

User AccountService::update_user(int64_t id, const UserChanges& changes, int64_t acting_user_id) {
  if (changes.username) {
    std::string problem = username_problem(*changes.username);
    if (!problem.empty()) throw ApiError::bad_request(problem);
  }
  std::string hash;
  if (changes.password) {
    require_password_ok(*changes.password);
    hash = hash_password(*changes.password);
  }
  return store_.write([&](StoreSession& s) {
    auto user = s.users().find_by_id(id);
    if (!user) throw ApiError::not_found("User not found");
    if (changes.is_admin && !*changes.is_admin && user->is_admin) {
      if (id == acting_user_id)
        throw ApiError::unprocessable("You cannot remove your own admin role");
      if (s.users().count_admins() <= 1)
        throw ApiError::unprocessable("The last admin must stay admin");
    }
    if (changes.username) s.users().update_username(id, *changes.username);
    if (changes.password) s.users().update_password(id, hash);
    if (changes.is_admin) s.users().update_admin(id, *changes.is_admin);
    return *s.users().find_by_id(id);
  });
}

void AccountService::remove_user(int64_t id, int64_t acting_user_id) {
  std::string gone = store_.write([&](StoreSession& s) {
    auto user = s.users().find_by_id(id);
    if (!user) throw ApiError::not_found("User not found");
    if (id == acting_user_id) throw ApiError::unprocessable("You cannot delete yourself");
    if (user->is_admin && s.users().count_admins() <= 1) {
      throw ApiError::unprocessable("The last admin cannot be deleted");
    }
    s.users().remove(id);
    return user->username;
  });
  drop_links(gone);
}

void AccountService::set_password(const std::string& username, const std::string& password) {
  require_password_ok(password);
  std::string hash = hash_password(password);
  store_.write([&](StoreSession& s) {
    auto user = s.users().find_by_name(username);
    if (!user) throw ApiError::not_found("No such user: " + username);
    s.users().update_password(user->id, hash);
  });
}

void AccountService::remove_user_by_name(const std::string& username) {
  std::string gone = store_.write([&](StoreSession& s) {
    auto user = s.users().find_by_name(username);
    if (!user) throw ApiError::not_found("No such user: " + username);
    if (user->is_admin && s.users().count_admins() <= 1) {
      throw ApiError::unprocessable("The last admin cannot be deleted");
    }
    s.users().remove(user->id);
    return user->username;
  });
  drop_links(gone);
}

std::optional<std::string> AccountService::bootstrap_admin(const std::string& username,
                                                           const std::string& password) {
  bool empty = store_.read([](StoreSession& s) { return s.users().count() == 0; });
  if (!empty) return std::nullopt;
  std::string name = username.empty() ? "admin" : username;
  std::string pw = password.empty() ? random_token(12) : password;
  create_user(name, pw, true);
  spdlog::info("created admin user '{}'", name);
  if (password.empty()) return pw;
  return std::nullopt;
}

}  // namespace barbossa
