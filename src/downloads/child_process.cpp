#include "downloads/child_process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

namespace barbossa::downloads {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kPollMs = 50;
// A line longer than this is handed over in pieces, so a child that never
// prints "\n" cannot grow our memory without bound.
constexpr size_t kMaxLine = 64 * 1024;

// Closes on scope exit; -1 means nothing to close.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

struct Pipe {
  Fd read, write;
};

void make_pipe(Pipe* p) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw ChildStartError(std::string("pipe: ") + strerror(errno));
  p->read.reset(fds[0]);
  p->write.reset(fds[1]);
}

void check_program(const std::filesystem::path& program) {
  std::string name = program.filename().string();
  std::error_code ec;
  if (!std::filesystem::exists(program, ec)) {
    throw ChildStartError(name + " not found at " + program.string());
  }
  if (std::filesystem::is_directory(program, ec) || ::access(program.c_str(), X_OK) != 0) {
    throw ChildStartError(name + " at " + program.string() + " is not an executable file");
  }
}

std::vector<std::string> child_environment(const ChildSpec& spec) {
  std::vector<std::string> env;
  for (const char* name : {"PATH", "HOME", "LANG"}) {
    if (spec.extra_env.count(name)) continue;
    if (const char* value = std::getenv(name)) env.push_back(std::string(name) + "=" + value);
  }
  for (const auto& [name, value] : spec.extra_env) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// posix_spawn in a new process group (pgid = the child's pid), stdin from
// /dev/null, stdout and stderr to our pipes.
pid_t spawn(const ChildSpec& spec, int out_fd, int err_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  if (!spec.working_dir.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, spec.working_dir.c_str());
  }
  // The child starts with default signal handling and nothing blocked, whatever ours are.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> argv_s{spec.program.filename().string()};
  argv_s.insert(argv_s.end(), spec.args.begin(), spec.args.end());
  std::vector<std::string> env_s = child_environment(spec);
  auto argv = c_strings(argv_s);
  auto envp = c_strings(env_s);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, spec.program.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    throw ChildStartError("cannot start " + spec.program.string() + ": " + strerror(rc));
  }
  return pid;
}

// Collects stdout into lines and keeps the tail of stderr.
class Output {
 public:
  Output(const LineCallback& on_line, size_t stderr_limit)
      : on_line_(on_line), stderr_limit_(stderr_limit) {}

  void out(const char* data, size_t n) {
    line_.append(data, n);
    size_t start = 0, nl;
    while ((nl = line_.find('\n', start)) != std::string::npos) {
      emit(std::string_view(line_).substr(start, nl - start));
      start = nl + 1;
    }
    line_.erase(0, start);
    if (line_.size() >= kMaxLine) {
      emit(line_);
      line_.clear();
    }
  }
  void err(const char* data, size_t n) {
    err_.append(data, n);
    if (err_.size() > stderr_limit_) err_.erase(0, err_.size() - stderr_limit_);
  }
  void finish() {
    if (!line_.empty()) emit(line_);
    line_.clear();
  }
  std::string take_stderr() { return std::move(err_); }

 private:
  void emit(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (on_line_) on_line_(line);
  }
  const LineCallback& on_line_;
  size_t stderr_limit_;
  std::string line_, err_;
};

// Reads what is ready on the open pipes for up to kPollMs; closes a pipe at EOF.
void pump(Fd* out, Fd* err, Output* output) {
  pollfd fds[2] = {{out->get(), POLLIN, 0}, {err->get(), POLLIN, 0}};
  if (::poll(fds, 2, kPollMs) <= 0) return;
  char buf[8192];
  for (int i = 0; i < 2; ++i) {
    if (fds[i].fd < 0 || fds[i].revents == 0) continue;
    ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      (i == 0 ? out : err)->reset();
      continue;
    }
    if (i == 0) {
      output->out(buf, static_cast<size_t>(n));
    } else {
      output->err(buf, static_cast<size_t>(n));
    }
  }
}

bool group_alive(pid_t pgid) {
  return ::kill(-pgid, 0) == 0 || errno == EPERM;
}

// Reaps our child if it has exited; true once it has been.
bool reap(pid_t pid, int* status, bool* reaped) {
  if (!*reaped && ::waitpid(pid, status, WNOHANG) == pid) *reaped = true;
  return *reaped;
}

// SIGTERM to the whole group, SIGKILL to what is left after the grace.
void kill_group(pid_t pgid, int* status, bool* reaped, std::chrono::milliseconds grace) {
  ::kill(-pgid, SIGTERM);
  auto deadline = Clock::now() + grace;
  while (Clock::now() < deadline) {
    reap(pgid, status, reaped);
    if (!group_alive(pgid)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(-pgid, SIGKILL);
  if (!*reaped && ::waitpid(pgid, status, 0) == pgid) *reaped = true;
}

ChildResult::End why_stop(const ChildSpec& spec, Clock::time_point start) {
  if (spec.cancel && spec.cancel->load()) return ChildResult::End::cancelled;
  if (spec.timeout && Clock::now() - start >= *spec.timeout) return ChildResult::End::timed_out;
  return ChildResult::End::exited;
}

}  // namespace

std::string ChildResult::describe() const {
  std::string what;
  switch (end) {
    case End::exited:
      what = "exited with status " + std::to_string(exit_code);
      break;
    case End::signaled:
      what = "killed by signal " + std::to_string(signal);
      break;
    case End::cancelled:
      what = "cancelled";
      break;
    case End::timed_out:
      what = "timed out";
      break;
  }
  std::string_view tail = stderr_tail;
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.remove_suffix(1);
  if (!tail.empty()) what += ": " + std::string(tail);
  return what;
}

ChildResult run_child(const ChildSpec& spec, const LineCallback& on_line) {
  check_program(spec.program);
  Pipe out, err;
  make_pipe(&out);
  make_pipe(&err);
  const auto start = Clock::now();
  pid_t pid = spawn(spec, out.write.get(), err.write.get());
  out.write.reset();
  err.write.reset();

  ChildResult result;
  result.pgid = pid;
  Output output(on_line, spec.stderr_limit);
  int status = 0;
  bool reaped = false;
  ChildResult::End stop = ChildResult::End::exited;
  while (out.read.get() >= 0 || err.read.get() >= 0 || !reap(pid, &status, &reaped)) {
    stop = why_stop(spec, start);
    if (stop != ChildResult::End::exited) break;
    if (out.read.get() >= 0 || err.read.get() >= 0) {
      pump(&out.read, &err.read, &output);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    // The program is done but something it started still holds the pipes:
    // that leftover goes with the group.
    if (reap(pid, &status, &reaped) && group_alive(pid)) break;
  }
  // Whatever is left of the group goes, whether we stop it or it stopped itself.
  if (!reaped || group_alive(pid)) kill_group(pid, &status, &reaped, spec.kill_grace);
  // Drain what was written before the end (the pipes close with the group).
  auto drain_until = Clock::now() + std::chrono::milliseconds(500);
  while ((out.read.get() >= 0 || err.read.get() >= 0) && Clock::now() < drain_until) {
    pump(&out.read, &err.read, &output);
  }
  output.finish();
  result.stderr_tail = output.take_stderr();
  result.end = stop;
  if (stop == ChildResult::End::exited) {
    if (WIFEXITED(status)) {
      result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      result.end = ChildResult::End::signaled;
      result.signal = WTERMSIG(status);
    }
  }
  return result;
}

}  // namespace barbossa::downloads
