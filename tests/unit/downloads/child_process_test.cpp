#include "downloads/child_process.h"

#include <errno.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <fstream>
#include <thread>

#include "unit/temp_dir.h"

namespace barbossa::downloads {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The child is a /bin/sh script written here; run_child execs it directly.
class ChildProcessTest : public ::testing::Test {
 protected:
  fs::path script(const std::string& name, const std::string& body) {
    fs::path p = dir_ / name;
    std::ofstream(p) << "#!/bin/sh\n" << body << "\n";
    fs::permissions(p, fs::perms::owner_all);
    return p;
  }
  // kill(-pgid, 0) fails with ESRCH once every process of the group is gone
  // (the init process reaps orphans shortly after they die).
  static bool group_gone(int pgid) {
    for (int i = 0; i < 500; ++i) {
      if (::kill(-pgid, 0) != 0 && errno == ESRCH) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  test::TempDir dir_;
};

TEST_F(ChildProcessTest, LinesArriveInOrderWithArguments) {
  ChildSpec spec;
  spec.program =
      script("count",
             "i=1; while [ $i -le 300 ]; do echo \"line $i $1\"; i=$((i+1)); done; printf 'last'");
  spec.args = {"a b; $(rm -rf /)"};  // one argument, never seen by a shell of ours
  std::vector<std::string> lines;
  ChildResult r = run_child(spec, [&](std::string_view l) { lines.emplace_back(l); });
  EXPECT_TRUE(r.ok()) << r.describe();
  ASSERT_EQ(lines.size(), 301u);
  for (int i = 1; i <= 300; ++i) {
    EXPECT_EQ(lines[i - 1], "line " + std::to_string(i) + " a b; $(rm -rf /)");
  }
  EXPECT_EQ(lines.back(), "last");
}

TEST_F(ChildProcessTest, ExitStatusAndBoundedStderr) {
  ChildSpec spec;
  spec.program = script("loud",
                        "i=0; while [ $i -lt 2000 ]; do echo 'noise noise noise noise noise' >&2; "
                        "i=$((i+1)); done; echo 'ERROR: Unsupported URL' >&2; exit 3");
  ChildResult r = run_child(spec, nullptr);
  EXPECT_EQ(r.end, ChildResult::End::exited);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_LE(r.stderr_tail.size(), 8u * 1024);
  EXPECT_GT(r.stderr_tail.size(), 8u * 1024 - 64);
  EXPECT_TRUE(r.stderr_tail.ends_with("ERROR: Unsupported URL\n"));
  EXPECT_TRUE(r.describe().starts_with("exited with status 3: "));
  EXPECT_TRUE(r.describe().ends_with("ERROR: Unsupported URL"));
}

TEST_F(ChildProcessTest, CancelKillsTheWholeGroup) {
  ChildSpec spec;
  spec.program =
      script("tree", "sleep 300 & sleep 300 & (sleep 300; echo late) & echo started; wait");
  std::atomic<bool> cancel{false};
  spec.cancel = &cancel;
  auto start = std::chrono::steady_clock::now();
  std::vector<std::string> lines;
  ChildResult r = run_child(spec, [&](std::string_view l) {
    lines.emplace_back(l);
    cancel = true;
  });
  EXPECT_EQ(r.end, ChildResult::End::cancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_EQ(lines, std::vector<std::string>{"started"});
  EXPECT_TRUE(group_gone(r.pgid));
}

TEST_F(ChildProcessTest, TimeoutEscalatesToSigkill) {
  ChildSpec spec;
  // Ignores SIGTERM, so only the SIGKILL after the grace ends it.
  spec.program = script("stubborn", "trap '' TERM; echo ready; while :; do sleep 0.05; done");
  spec.timeout = 300ms;
  spec.kill_grace = 300ms;
  auto start = std::chrono::steady_clock::now();
  ChildResult r = run_child(spec, nullptr);
  EXPECT_EQ(r.end, ChildResult::End::timed_out);
  EXPECT_EQ(r.describe(), "timed out");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_TRUE(group_gone(r.pgid));
}

TEST_F(ChildProcessTest, LeftoverGrandchildrenGoWithTheGroup) {
  ChildSpec spec;
  spec.program = script("leaves", "sleep 300 & echo bye");
  spec.kill_grace = 300ms;
  ChildResult r = run_child(spec, nullptr);
  EXPECT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(group_gone(r.pgid));
}

TEST_F(ChildProcessTest, MissingProgramIsAClearError) {
  ChildSpec spec;
  spec.program = dir_ / "bin" / "yt-dlp";
  try {
    run_child(spec, nullptr);
    FAIL() << "no error";
  } catch (const ChildStartError& e) {
    EXPECT_EQ(std::string(e.what()), "yt-dlp not found at " + spec.program.string());
  }
  fs::create_directories(dir_ / "bin");
  std::ofstream(dir_ / "bin" / "yt-dlp") << "not a program";
  EXPECT_THROW(run_child(spec, nullptr), ChildStartError);  // not executable
}

TEST_F(ChildProcessTest, EnvironmentIsOnlyWhatIsGiven) {
  ::setenv("BARBOSSA_CHILD_SECRET", "leaked", 1);
  ChildSpec spec;
  spec.program = script("env",
                        "echo \"secret=${BARBOSSA_CHILD_SECRET-unset}\"; echo \"extra=$EXTRA\"; "
                        "echo \"path=${PATH:+set}\"; pwd");
  spec.extra_env = {{"EXTRA", "yes"}};
  spec.working_dir = dir_.path();
  std::vector<std::string> lines;
  ChildResult r = run_child(spec, [&](std::string_view l) { lines.emplace_back(l); });
  ::unsetenv("BARBOSSA_CHILD_SECRET");
  EXPECT_TRUE(r.ok()) << r.describe();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "secret=unset");
  EXPECT_EQ(lines[1], "extra=yes");
  EXPECT_EQ(lines[2], "path=set");
  EXPECT_EQ(fs::canonical(lines[3]), fs::canonical(dir_.path()));
}

}  // namespace
}  // namespace barbossa::downloads
