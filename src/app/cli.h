// The `barbossa` command line: serve, user, migrate, version.
#pragma once

namespace barbossa {

// Parses argv, runs the command, returns the process exit code
// (0 success, 1 failure, 2 usage or configuration error).
int run_cli(int argc, char** argv, char** env);

}  // namespace barbossa
