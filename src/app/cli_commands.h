// The `barbossa` subcommands that work on the database, one registration
// function each: it declares the subcommand and its options on the CLI11 app
// and returns what runs it once parsed. run_cli (app/cli.cpp) registers them
// all, then runs the one given against the migrated store. Internal to app/.
#pragma once

#include <functional>
#include <vector>

#include "app/config.h"
#include "store/store.h"

namespace CLI {
class App;
}  // namespace CLI

namespace barbossa {

struct StoreCommand {
  CLI::App* cli = nullptr;  // parsed() says whether this command was given
  // The process exit code; ApiError and ConfigError are run_cli's to report.
  std::function<int(const Config& config, Store& store)> run;
};

// `import` and `verify`: offline library commands (app/cli_library.cpp).
StoreCommand add_import_command(CLI::App& app);
StoreCommand add_verify_command(CLI::App& app);

// `user add|list|passwd|remove` (app/cli_users.cpp).
std::vector<StoreCommand> add_user_commands(CLI::App& app);

}  // namespace barbossa
