// `barbossa user add|list|passwd|remove`: accounts managed offline, allowed
// while a server runs on the same data (its sockets follow within
// ACCOUNT_SYNC_SECONDS).
#include "app/cli_commands.h"

#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "app/server_app.h"
#include "auth/password.h"
#include "core/error.h"
#include "files/user_links.h"
#include "services/account_service.h"

namespace barbossa {
namespace {

std::string read_password_stdin() {
  std::string line;
  std::getline(std::cin, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  return line;
}

// Prompts on the terminal with echo off, so the password never shows on
// screen or in a terminal's scrollback.
std::string prompt_password(const std::string& who) {
  termios saved{};
  bool restore = tcgetattr(STDIN_FILENO, &saved) == 0;
  if (restore) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  // Prompt only once echo is off, so nothing typed after it can show.
  std::cerr << "Password for " << who << ": " << std::flush;
  std::string pw = read_password_stdin();
  if (restore) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  return pw;
}

struct UserOptions {
  std::string name;
  bool admin = false;
  bool password_stdin = false;
};

// The password from stdin when asked, else from the terminal; "" when there
// is neither (the caller generates one or refuses).
std::string password_for(const UserOptions& o) {
  if (o.password_stdin) {
    // Asked for stdin and got nothing: an error, not a silently generated password.
    std::string pw = read_password_stdin();
    if (pw.empty()) {
      throw ApiError::bad_request("--password-stdin given but stdin held no password");
    }
    return pw;
  }
  if (isatty(STDIN_FILENO)) return prompt_password(o.name);
  return std::string();
}

// The account service as the server has it. Link folders follow accounts
// here too: removed with the user, and a re-created name starts without the
// old owner's links.
struct OfflineAccounts {
  OfflineAccounts(Store& store, const Config& config)
      : accounts(store, load_or_create_jwt_secret(config), AccountOptions{}),
        links(config.get("LIBRARY_DIR"), config.get("USERS_DIR")) {
    accounts.attach_user_links(&links);
  }
  AccountService accounts;
  UserLinks links;
};

int add_user(const UserOptions& o, AccountService& accounts) {
  std::string pw = password_for(o);
  bool generated = pw.empty();
  if (generated) pw = random_token(12);
  auto u = accounts.create_user(o.name, pw, o.admin);
  std::cout << "created user '" << u.username << "' (id " << u.id << (u.is_admin ? ", admin" : "")
            << ")";
  if (generated) std::cout << " with password: " << pw;
  std::cout << std::endl;
  return 0;
}

int list_users(AccountService& accounts) {
  for (auto& u : accounts.list_users()) {
    std::cout << u.id << "\t" << u.username << "\t" << (u.is_admin ? "admin" : "user") << "\t"
              << u.created_at << "\n";
  }
  return 0;
}

int set_password(const UserOptions& o, AccountService& accounts) {
  std::string pw = password_for(o);
  if (pw.empty()) throw ApiError::bad_request("no password given (use --password-stdin)");
  accounts.set_password(o.name, pw);
  std::cout << "password changed for '" << o.name << "'" << std::endl;
  return 0;
}

int remove_user(const UserOptions& o, AccountService& accounts) {
  accounts.remove_user_by_name(o.name);
  std::cout << "removed user '" << o.name << "'" << std::endl;
  return 0;
}

// A user subcommand that runs `action` with the accounts.
template <typename Action>
StoreCommand user_command(CLI::App* cli, Action action) {
  return {cli, [action](const Config& config, Store& store) {
            OfflineAccounts offline(store, config);
            return action(offline.accounts);
          }};
}

}  // namespace

std::vector<StoreCommand> add_user_commands(CLI::App& app) {
  auto o = std::make_shared<UserOptions>();
  auto* user = app.add_subcommand("user", "Manage accounts");
  user->require_subcommand(1);
  auto* add = user->add_subcommand("add", "Create a user");
  add->add_option("NAME", o->name, "Username")->required();
  add->add_flag("--admin", o->admin, "Give the admin role");
  add->add_flag("--password-stdin", o->password_stdin, "Read the password from stdin");
  auto* list = user->add_subcommand("list", "List users");
  auto* passwd = user->add_subcommand("passwd", "Set a user's password");
  passwd->add_option("NAME", o->name, "Username")->required();
  passwd->add_flag("--password-stdin", o->password_stdin, "Read the password from stdin");
  auto* remove = user->add_subcommand("remove", "Delete a user");
  remove->add_option("NAME", o->name, "Username")->required();

  std::vector<StoreCommand> commands;
  commands.push_back(user_command(add, [o](AccountService& a) { return add_user(*o, a); }));
  commands.push_back(user_command(list, [](AccountService& a) { return list_users(a); }));
  commands.push_back(user_command(passwd, [o](AccountService& a) { return set_password(*o, a); }));
  commands.push_back(user_command(remove, [o](AccountService& a) { return remove_user(*o, a); }));
  return commands;
}

}  // namespace barbossa
