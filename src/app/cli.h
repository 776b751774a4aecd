// The `barbossa` command line: serve, migrate, version, user
// (add/list/passwd/remove), import, verify, jobs (list/retry/cancel/
// schedules/run) and dev (seed/add-album). Every command but serve and
// version works on the database directly, allowed while a server runs on
// the same data. Each command's options and body are in app/cli.cpp,
// app/cli_library.cpp (import, verify) and app/cli_users.cpp.
#pragma once

namespace barbossa {

// Parses argv, runs the command, returns the process exit code
// (0 success, 1 failure, 2 usage or configuration error).
int run_cli(int argc, char** argv, char** env);

}  // namespace barbossa
