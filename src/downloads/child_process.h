// Runs an external program (yt-dlp, streamrip's rip) for a download source:
// an argument vector, never a shell; its own process group, so cancel and
// timeout kill the program and everything it started; an environment holding
// only what is given; stdout handed over line by line; the tail of stderr
// kept for the error message a person reads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace barbossa::downloads {

// The program could not be started at all: "yt-dlp not found at /usr/bin/yt-dlp".
class ChildStartError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ChildSpec {
  std::filesystem::path program;      // absolute or relative path; PATH is not searched
  std::vector<std::string> args;      // argv[1..]; argv[0] is the program's file name
  std::filesystem::path working_dir;  // empty: inherit ours
  // The child's whole environment is PATH, HOME and LANG taken from ours (when
  // set) plus these; nothing else of ours leaks (tokens, config paths).
  std::map<std::string, std::string> extra_env;
  std::optional<std::chrono::milliseconds> timeout;
  // Set from another thread to stop the child; checked every poll tick.
  const std::atomic<bool>* cancel = nullptr;
  // After SIGTERM to the group, how long before SIGKILL.
  std::chrono::milliseconds kill_grace{2000};
  size_t stderr_limit = 8 * 1024;
};

struct ChildResult {
  enum class End { exited, signaled, cancelled, timed_out };
  End end = End::exited;
  int exit_code = -1;       // for exited
  int signal = 0;           // for signaled
  std::string stderr_tail;  // last stderr_limit bytes
  int pgid = 0;             // the group that was run (gone by the time run returns)

  bool ok() const { return end == End::exited && exit_code == 0; }
  // "exited with status 2: <stderr tail>", "killed by signal 9", "timed out after 30 s".
  std::string describe() const;
};

using LineCallback = std::function<void(std::string_view line)>;

// Blocks until the child and its whole process group are gone. Each stdout
// line goes to on_line without its "\n" (a last line without one too).
// Throws ChildStartError when the program is missing or cannot be run.
ChildResult run_child(const ChildSpec& spec, const LineCallback& on_line);

}  // namespace barbossa::downloads
