#include "files/album_mover.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "files/fs_util.h"
#include "test_support.h"

namespace barbossa {
namespace {

namespace fs = std::filesystem;
using testing::files_under;
using testing::lexists;
using testing::slurp;
using testing::TempDir;
using testing::write;

const auto kNeverCommitted = [](const std::string&) { return false; };
const auto kAlwaysCommitted = [](const std::string&) { return true; };

// begin() + apply() in a child process that SIGKILLs itself after `k`
// steps; returns the wait status. The child never returns into the test
// runner (which would go on running tests in two processes).
int apply_in_crashing_child(const fs::path& journal_dir, const AlbumMove& move, size_t k) {
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = ::fork();
  if (pid == 0) {
    try {
      AlbumMover mover(journal_dir);
      mover.set_crash_after_steps(k);
      mover.begin(move);
      mover.apply(move);
    } catch (...) {
      ::_exit(2);
    }
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

bool killed_by_sigkill(int status) {
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

// An inbox album with disc folders, artwork and one file larger than the
// copy buffer, planned into the library layout. `inbox_base` may be on
// another filesystem than `base` to exercise the copy path.
class AlbumMoverTest : public ::testing::Test {
 protected:
  void make_dirs(const fs::path& inbox_base) {
    inbox_ = inbox_base / "inbox";
    library_ = dir_ / "library";
    trash_ = dir_ / "trash";
    journal_ = dir_ / "journal";
    fs::create_directories(inbox_);
    fs::create_directories(library_);
    fs::create_directories(trash_);
  }

  AlbumMove make_album(const fs::path& inbox_base, bool keep_source = false) {
    make_dirs(inbox_base);
    fs::path src = inbox_ / "Some Album [FLAC]";
    fs::path dst = library_ / "Artist" / "Some Album (2001)";
    const std::vector<std::pair<std::string, std::string>> files = {
        {"CD1/01 first.flac", "Disc 1/01 - First.flac"},
        {"CD1/02 second.flac", "Disc 1/02 - Second.flac"},
        {"CD2/01 third.flac", "Disc 2/01 - Third.flac"},
        {"folder.jpg", "cover.jpg"},
        {"Scans/back.jpg", "Scans/back.jpg"},
    };
    AlbumMove move;
    move.id = "import-42";
    move.source_root = src;
    for (const auto& [from, to] : files) {
      std::string content = "bytes of " + from;
      if (from.starts_with("CD2")) content += std::string(2 * 1024 * 1024, 'x');
      write(src / from, content);
      originals_[src / from] = content;
      move.steps.push_back({src / from, dst / to, keep_source});
    }
    return move;
  }

  void expect_all_back(const AlbumMove& move, bool journal_empty = true) {
    for (const MoveStep& s : move.steps) {
      ASSERT_TRUE(lexists(s.from)) << s.from;
      EXPECT_EQ(slurp(s.from), originals_[s.from]) << s.from;
    }
    EXPECT_TRUE(files_under(library_).empty());
    EXPECT_TRUE(fs::is_empty(library_)) << "created folders are pruned";
    if (journal_empty) {
      EXPECT_TRUE(files_under(journal_).empty());
    }
  }

  void expect_finished(const AlbumMove& move) {
    for (const MoveStep& s : move.steps) {
      ASSERT_TRUE(lexists(s.to)) << s.to;
      EXPECT_EQ(slurp(s.to), originals_[s.from]);
      EXPECT_FALSE(lexists(s.from));
      EXPECT_FALSE(lexists(temp_path_for(s.to)));
    }
    EXPECT_FALSE(lexists(move.source_root)) << "the emptied album folder goes";
    EXPECT_TRUE(fs::is_directory(inbox_)) << "the inbox above it stays";
    EXPECT_TRUE(files_under(journal_).empty());
  }

  TempDir dir_;
  fs::path inbox_, library_, trash_, journal_;
  std::map<fs::path, std::string> originals_;
};

TEST_F(AlbumMoverTest, BeginWritesTheJournalBeforeAnythingMoves) {
  AlbumMove move = make_album(dir_.path());
  AlbumMover mover(journal_);
  mover.begin(move);
  EXPECT_EQ(files_under(journal_), std::vector<std::string>{"import-42.json"});
  auto doc = nlohmann::json::parse(slurp(journal_ / "import-42.json"));
  ASSERT_EQ(doc["steps"].size(), move.steps.size());
  EXPECT_EQ(doc["steps"][0]["from"], move.steps[0].from.string());
  EXPECT_EQ(doc["steps"][0]["to"], move.steps[0].to.string());
  EXPECT_FALSE(doc["created_dirs"].empty());
  for (const MoveStep& s : move.steps) EXPECT_TRUE(lexists(s.from));
  EXPECT_THROW(mover.begin(move), std::invalid_argument) << "ids are unique";
}

TEST_F(AlbumMoverTest, NormalMoveLeavesLibraryFilesAndRemovesEmptiedSource) {
  AlbumMove move = make_album(dir_.path());
  write(inbox_ / "Another Album" / "x.flac", "not ours");
  AlbumMover mover(journal_);
  mover.begin(move);
  mover.apply(move);
  mover.finish(move);
  expect_finished(move);
  EXPECT_EQ(slurp(inbox_ / "Another Album" / "x.flac"), "not ours");
}

TEST_F(AlbumMoverTest, SourceFolderWithLeftoversStays) {
  AlbumMove move = make_album(dir_.path());
  write(move.source_root / "CD1" / "rip.log", "not moved");
  AlbumMover mover(journal_);
  mover.begin(move);
  mover.apply(move);
  mover.finish(move);
  EXPECT_TRUE(lexists(move.source_root / "CD1" / "rip.log"));
  EXPECT_FALSE(lexists(move.source_root / "CD2")) << "emptied sub-folders still go";
  EXPECT_FALSE(lexists(move.source_root / "Scans"));
}

TEST_F(AlbumMoverTest, RollBackAfterApplyPutsEverythingBack) {
  AlbumMove move = make_album(dir_.path());
  AlbumMover mover(journal_);
  mover.begin(move);
  mover.apply(move);
  mover.roll_back(move);
  expect_all_back(move);
}

TEST_F(AlbumMoverTest, BeginRefusesExistingTargetsAndBadInput) {
  AlbumMove move = make_album(dir_.path());
  AlbumMover mover(journal_);
  write(move.steps[2].to, "already here");
  EXPECT_THROW(mover.begin(move), fs::filesystem_error);
  EXPECT_TRUE(files_under(journal_).empty());
  fs::remove(move.steps[2].to);

  AlbumMove bad = move;
  bad.id = "../escape";
  EXPECT_THROW(mover.begin(bad), std::invalid_argument);
  bad = move;
  bad.steps[0].to = "relative/path.flac";
  EXPECT_THROW(mover.begin(bad), std::invalid_argument);
  bad = move;
  bad.steps[1].to = bad.steps[0].to;
  EXPECT_THROW(mover.begin(bad), std::invalid_argument);
  bad = move;
  bad.steps.push_back({move.steps[0].to, dir_ / "elsewhere.flac", false});  // a chain
  EXPECT_THROW(mover.begin(bad), std::invalid_argument);
  EXPECT_TRUE(files_under(journal_).empty());
}

TEST_F(AlbumMoverTest, ApplyFailureMidwayUndoesDoneStepsAndRethrows) {
  AlbumMove move = make_album(dir_.path());
  AlbumMover mover(journal_);
  mover.begin(move);
  // Appears between begin() and apply(): step 3 must fail, steps 1-2 undone,
  // and the stranger's file left alone.
  write(move.steps[2].to, "someone else's");
  EXPECT_THROW(mover.apply(move), fs::filesystem_error);
  for (const MoveStep& s : move.steps) EXPECT_EQ(slurp(s.from), originals_[s.from]);
  EXPECT_EQ(slurp(move.steps[2].to), "someone else's");
  EXPECT_EQ(files_under(library_),
            std::vector<std::string>{"Artist/Some Album (2001)/Disc 2/01 - Third.flac"});
  EXPECT_FALSE(lexists(move.steps[0].to.parent_path())) << "Disc 1 was created and is empty";
  EXPECT_TRUE(files_under(journal_).empty());
}

TEST_F(AlbumMoverTest, CrashAtEveryStepRollsBackWhenNotCommitted) {
  make_album(dir_.path());
  const size_t n = 5;
  for (size_t k = 1; k < n; ++k) {
    SCOPED_TRACE("crash after step " + std::to_string(k));
    fs::remove_all(dir_.path() / "inbox");
    fs::remove_all(library_);
    originals_.clear();
    AlbumMove move = make_album(dir_.path());
    ASSERT_TRUE(killed_by_sigkill(apply_in_crashing_child(journal_, move, k)));
    EXPECT_EQ(files_under(library_).size(), k) << "the child really moved k files";

    AlbumMover mover(journal_);
    EXPECT_EQ(mover.recover(kNeverCommitted), 1u);
    expect_all_back(move);
  }
}

TEST_F(AlbumMoverTest, CrashAfterFullApplyIsFinishedWhenCommitted) {
  AlbumMove move = make_album(dir_.path());
  ASSERT_TRUE(killed_by_sigkill(apply_in_crashing_child(journal_, move, move.steps.size())));
  AlbumMover mover(journal_);
  std::vector<std::string> asked;
  EXPECT_EQ(mover.recover([&](const std::string& id) {
    asked.push_back(id);
    return true;
  }),
            1u);
  EXPECT_EQ(asked, std::vector<std::string>{"import-42"});
  expect_finished(move);
}

TEST_F(AlbumMoverTest, CrashAfterFullApplyIsUndoneWhenNotCommitted) {
  AlbumMove move = make_album(dir_.path());
  ASSERT_TRUE(killed_by_sigkill(apply_in_crashing_child(journal_, move, move.steps.size())));
  AlbumMover mover(journal_);
  EXPECT_EQ(mover.recover(kNeverCommitted), 1u);
  expect_all_back(move);
}

TEST_F(AlbumMoverTest, CrashRightAfterBeginChangesNothing) {
  AlbumMove move = make_album(dir_.path());
  AlbumMover(journal_).begin(move);
  EXPECT_EQ(AlbumMover(journal_).recover(kNeverCommitted), 1u);
  expect_all_back(move);
}

// The copy path left a complete, verified target but died before removing
// the source: both exist with the same bytes.
TEST_F(AlbumMoverTest, TargetAndSourceBothPresentResolveBothWays) {
  {
    AlbumMove move = make_album(dir_.path());
    AlbumMover(journal_).begin(move);  // and the process dies
    copy_file_durable(move.steps[0].from, move.steps[0].to);
    EXPECT_EQ(AlbumMover(journal_).recover(kNeverCommitted), 1u);
    expect_all_back(move);
  }
  {
    AlbumMove move = make_album(dir_.path());
    {
      AlbumMover crashed(journal_);
      crashed.begin(move);
      crashed.apply(move);
    }
    // Put the source of step 1 back as if its removal never happened.
    copy_file_durable(move.steps[0].to, move.steps[0].from);
    EXPECT_EQ(AlbumMover(journal_).recover(kAlwaysCommitted), 1u);
    expect_finished(move);
  }
}

TEST_F(AlbumMoverTest, HalfCopiedTempFileIsDeleted) {
  AlbumMove move = make_album(dir_.path());
  AlbumMover(journal_).begin(move);  // and the process dies
  AlbumMover mover(journal_);
  write(temp_path_for(move.steps[1].to), "half a fi");
  EXPECT_EQ(mover.recover(kNeverCommitted), 1u);
  expect_all_back(move);
}

TEST_F(AlbumMoverTest, KeepSourceStepsCopyAndUndoByDeletingTheCopy) {
  AlbumMove move = make_album(dir_.path(), /*keep_source=*/true);
  {
    AlbumMover mover(journal_);
    mover.begin(move);
    mover.apply(move);
    mover.finish(move);
    for (const MoveStep& s : move.steps) {
      EXPECT_EQ(slurp(s.from), originals_[s.from]);
      EXPECT_EQ(slurp(s.to), originals_[s.from]);
    }
    EXPECT_TRUE(files_under(journal_).empty());
  }
  fs::remove_all(library_ / "Artist");
  for (size_t k = 1; k <= move.steps.size(); ++k) {
    SCOPED_TRACE("crash after step " + std::to_string(k));
    ASSERT_TRUE(killed_by_sigkill(apply_in_crashing_child(journal_, move, k)));
    EXPECT_EQ(AlbumMover(journal_).recover(kNeverCommitted), 1u);
    expect_all_back(move);
  }
}

// A quality upgrade: the old files go to the trash, the new ones take their
// place (same name for the cover). Undone, the old library files are back.
class UpgradeTest : public AlbumMoverTest {
 protected:
  AlbumMove make_upgrade() {
    make_dirs(dir_.path());
    fs::path album = library_ / "Artist" / "Album (1999)";
    fs::path src = inbox_ / "Album 24-96";
    fs::path bin = trash_ / "20240101T000000Z-album-7";
    old_ = {{album / "01 - One.mp3", "old mp3 one"},
            {album / "02 - Two.mp3", "old mp3 two"},
            // Same bytes as the new cover: recovery must still tell the
            // library's file from a copy of ours by the trash step's state.
            {album / "cover.jpg", "the cover"}};
    for (const auto& [p, content] : old_) write(p, content);

    AlbumMove move;
    move.id = "upgrade-7";
    move.source_root = src;
    for (const auto& [p, content] : old_) move.steps.push_back({p, bin / p.filename(), false});
    const std::vector<std::pair<std::string, std::string>> incoming = {
        {"01.flac", "01 - One.flac"}, {"02.flac", "02 - Two.flac"}, {"cover.jpg", "cover.jpg"}};
    for (const auto& [from, to] : incoming) {
      std::string content = from == "cover.jpg" ? "the cover" : "new flac " + from;
      write(src / from, content);
      originals_[src / from] = content;
      move.steps.push_back({src / from, album / to, false});
    }
    return move;
  }

  void expect_old_state(const AlbumMove& move) {
    for (const auto& [p, content] : old_) {
      ASSERT_TRUE(lexists(p)) << p;
      EXPECT_EQ(slurp(p), content);
    }
    for (size_t i = old_.size(); i < move.steps.size(); ++i) {
      EXPECT_EQ(slurp(move.steps[i].from), originals_[move.steps[i].from]);
    }
    EXPECT_EQ(files_under(library_).size(), old_.size());
    EXPECT_TRUE(fs::is_empty(trash_));
    EXPECT_TRUE(files_under(journal_).empty());
  }

  std::map<fs::path, std::string> old_;
};

TEST_F(UpgradeTest, AppliedAndRolledBackRestoresOldFiles) {
  AlbumMove move = make_upgrade();
  AlbumMover mover(journal_);
  mover.begin(move);
  mover.apply(move);
  EXPECT_EQ(files_under(trash_).size(), 3u);
  EXPECT_EQ(slurp(library_ / "Artist" / "Album (1999)" / "01 - One.flac"), "new flac 01.flac");
  mover.roll_back(move);
  expect_old_state(move);
}

TEST_F(UpgradeTest, CrashAtEveryStepRestoresOldFiles) {
  for (size_t k = 0; k <= 6; ++k) {
    SCOPED_TRACE("crash after step " + std::to_string(k));
    fs::remove_all(dir_.path() / "inbox");
    fs::remove_all(library_);
    fs::remove_all(trash_);
    AlbumMove move = make_upgrade();
    if (k == 0) {
      AlbumMover(journal_).begin(move);  // died before the first step
    } else {
      ASSERT_TRUE(killed_by_sigkill(apply_in_crashing_child(journal_, move, k)));
    }
    EXPECT_EQ(AlbumMover(journal_).recover(kNeverCommitted), 1u);
    expect_old_state(move);
  }
}

TEST_F(UpgradeTest, CommittedUpgradeKeepsOldFilesInTrash) {
  AlbumMove move = make_upgrade();
  ASSERT_TRUE(killed_by_sigkill(apply_in_crashing_child(journal_, move, move.steps.size())));
  EXPECT_EQ(AlbumMover(journal_).recover(kAlwaysCommitted), 1u);
  EXPECT_EQ(files_under(trash_).size(), 3u);
  EXPECT_EQ(files_under(library_).size(), 3u);
  EXPECT_EQ(slurp(library_ / "Artist" / "Album (1999)" / "cover.jpg"), "the cover");
  EXPECT_FALSE(lexists(move.source_root));
}

TEST_F(AlbumMoverTest, CorruptJournalIsMovedAsideAndRecoveryContinues) {
  AlbumMove move = make_album(dir_.path());
  AlbumMover(journal_).begin(move);  // and the process dies
  AlbumMover mover(journal_);
  write(journal_ / "aaa-garbage.json", "{not json");
  write(journal_ / "bbb-schema.json", R"({"version":1,"id":"bbb-schema","steps":"nope"})");
  write(journal_ / "ccc-id.json", R"({"version":1,"id":"other","source_root":"","steps":[]})");
  write(
      journal_ / "ddd-relative.json",
      R"({"version":1,"id":"ddd-relative","source_root":"","steps":[{"from":"a","to":"/b","keep_source":false}]})");
  write(journal_ / ".zzz.json.tmp.0badf00d", "a write that never finished");

  std::vector<std::string> asked;
  EXPECT_EQ(mover.recover([&](const std::string& id) {
    asked.push_back(id);
    return false;
  }),
            1u);
  EXPECT_EQ(asked, std::vector<std::string>{"import-42"});
  EXPECT_EQ(files_under(journal_),
            (std::vector<std::string>{"aaa-garbage.json.bad", "bbb-schema.json.bad",
                                      "ccc-id.json.bad", "ddd-relative.json.bad"}));
  expect_all_back(move, /*journal_empty=*/false);

  // A second bad journal of the same name does not overwrite the first.
  write(journal_ / "aaa-garbage.json", "again");
  EXPECT_EQ(mover.recover(kNeverCommitted), 0u);
  EXPECT_TRUE(lexists(journal_ / "aaa-garbage.json.bad (2)"));
}

TEST_F(AlbumMoverTest, RecoveryFailureLeavesTheJournalForNextStart) {
  AlbumMove move = make_album(dir_.path());
  AlbumMover(journal_).begin(move);  // and the process dies
  AlbumMover mover(journal_);
  auto throwing = [](const std::string&) -> bool { throw std::runtime_error("database down"); };
  EXPECT_EQ(mover.recover(throwing), 0u);
  EXPECT_EQ(files_under(journal_), std::vector<std::string>{"import-42.json"});
  EXPECT_EQ(mover.recover(kNeverCommitted), 1u);
}

// A move in flight holds an flock on its journal: a recover() from another
// process (here: another mover, which has its own open file) leaves it alone.
TEST_F(AlbumMoverTest, RecoverySkipsAMoveStillInFlight) {
  AlbumMove move = make_album(dir_.path());
  AlbumMover running(journal_);
  running.begin(move);
  running.apply(move);
  EXPECT_EQ(AlbumMover(journal_).recover(kNeverCommitted), 0u);
  for (const MoveStep& s : move.steps) EXPECT_TRUE(lexists(s.to)) << s.to;
  running.finish(move);
  EXPECT_TRUE(files_under(journal_).empty());
}

// Another process (a `barbossa import` beside the server) owns a move that
// is applied but not yet committed: the server's recover() leaves it alone
// while the owner lives, and rolls it back once the owner is killed -9.
TEST_F(AlbumMoverTest, RecoveryTakesOverAMoveOnlyAfterItsOwnerProcessDies) {
  AlbumMove move = make_album(dir_.path());
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t owner = ::fork();
  if (owner == 0) {
    ::close(ready[0]);
    try {
      AlbumMover mover(journal_);
      mover.begin(move);
      mover.apply(move);
      char c = 'x';
      if (::write(ready[1], &c, 1) != 1) ::_exit(3);
      for (;;) ::pause();  // holding the move (and its lock) until killed
    } catch (...) {
      ::_exit(2);
    }
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1) << "the owner failed to apply";
  ::close(ready[0]);

  AlbumMover server(journal_);
  EXPECT_EQ(server.recover(kNeverCommitted), 0u);
  EXPECT_EQ(files_under(journal_), std::vector<std::string>{"import-42.json"});
  for (const MoveStep& s : move.steps) EXPECT_TRUE(lexists(s.to)) << s.to;

  ::kill(owner, SIGKILL);
  int status = 0;
  ::waitpid(owner, &status, 0);
  ASSERT_TRUE(killed_by_sigkill(status));
  EXPECT_EQ(server.recover(kNeverCommitted), 1u);
  expect_all_back(move);
}

// The temp file of a journal being written is locked from its creation:
// recover() removes only one whose writer is gone.
TEST_F(AlbumMoverTest, RecoveryRemovesOnlyJournalTempFilesOfDeadWriters) {
  make_dirs(dir_.path());
  AlbumMover mover(journal_);
  const fs::path live = journal_ / ".import-7.json.tmp.0123abcd";
  const fs::path dead = journal_ / ".import-8.json.tmp.4567cdef";
  write(live, "{\"version\": 1, \"id\": \"import-7\", \"st");
  write(dead, "{\"version\": 1, \"id\": \"import-8\", \"st");
  // An open file description of its own, as another process would have.
  int fd = ::open(live.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  EXPECT_EQ(mover.recover(kNeverCommitted), 0u);
  EXPECT_TRUE(lexists(live)) << "a live writer's temp file stays";
  EXPECT_FALSE(lexists(dead)) << "a dead writer's temp file goes";
  ::close(fd);  // the writer dies
  EXPECT_EQ(mover.recover(kNeverCommitted), 0u);
  EXPECT_TRUE(files_under(journal_).empty());
}

// A recover() running all the time beside moves in flight (the server's
// periodic recovery beside `barbossa import`) never takes a live move's
// journal or its temp file: every move completes. It used to remove temp
// files unconditionally ("cannot rename" in begin()) and could take a
// journal between its rename into place and the owner's lock.
TEST_F(AlbumMoverTest, RecoveryRacingLiveMovesNeverBreaksOne) {
  make_dirs(dir_.path());
  std::atomic<bool> done{false};
  std::atomic<size_t> taken{0};
  std::thread recovering([&] {
    AlbumMover other(journal_);
    while (!done) taken += other.recover(kNeverCommitted);
  });
  AlbumMover mover(journal_);
  size_t failures = 0;
  constexpr int kMoves = 100;
  for (int n = 0; n < kMoves; ++n) {
    const fs::path from = inbox_ / ("album-" + std::to_string(n)) / "01.flac";
    write(from, "track " + std::to_string(n));
    const fs::path to = library_ / "A" / from.parent_path().filename() / "01.flac";
    AlbumMove move{"move-" + std::to_string(n), {{from, to, false}}, from.parent_path()};
    try {
      mover.begin(move);
      mover.apply(move);
      mover.finish(move);
    } catch (const std::exception& e) {
      ++failures;
      ADD_FAILURE() << "move " << n << ": " << e.what();
    }
    if (failures > 3) break;
  }
  done = true;
  recovering.join();
  EXPECT_EQ(taken.load(), 0u) << "recover() took a live move";
  EXPECT_EQ(files_under(library_ / "A").size(), static_cast<size_t>(kMoves));
  EXPECT_TRUE(files_under(journal_).empty());
}

TEST_F(AlbumMoverTest, NonUtf8FileNamesSurviveTheJournal) {
  make_dirs(dir_.path());
  fs::path from = inbox_ / "Caf\xE9" / "01 - Caf\xE9.flac";  // Latin-1, invalid UTF-8
  write(from, "latin");
  AlbumMove move{"latin-1", {{from, library_ / "A" / "01.flac", false}}, inbox_ / "Caf\xE9"};
  ASSERT_TRUE(killed_by_sigkill(apply_in_crashing_child(journal_, move, 1)));
  EXPECT_EQ(AlbumMover(journal_).recover(kNeverCommitted), 1u);
  EXPECT_EQ(slurp(from), "latin");
  EXPECT_TRUE(files_under(journal_).empty());
}

class AlbumMoverCrossFsTest : public AlbumMoverTest {
 protected:
  void SetUp() override {
    if (!testing::other_fs_available()) {
      GTEST_SKIP() << "/dev/shm is not a separate writable filesystem here; copy path untested";
    }
    shm_ = std::make_unique<TempDir>("/dev/shm");
  }
  std::unique_ptr<TempDir> shm_;
};

TEST_F(AlbumMoverCrossFsTest, NormalMoveAcrossFilesystems) {
  AlbumMove move = make_album(shm_->path());
  AlbumMover mover(journal_);
  mover.begin(move);
  mover.apply(move);
  mover.finish(move);
  expect_finished(move);
}

TEST_F(AlbumMoverCrossFsTest, CrashAtEveryStepRollsBack) {
  make_album(shm_->path());
  for (size_t k = 1; k <= 5; ++k) {
    SCOPED_TRACE("crash after step " + std::to_string(k));
    fs::remove_all(inbox_);
    fs::remove_all(library_);
    originals_.clear();
    AlbumMove move = make_album(shm_->path());
    ASSERT_TRUE(killed_by_sigkill(apply_in_crashing_child(journal_, move, k)));
    EXPECT_EQ(AlbumMover(journal_).recover(kNeverCommitted), 1u);
    expect_all_back(move);
  }
}

// Never two movers on one folder: a delete and an upgrade of one album, an
// approve and a reject of one review item, each lease the folder first.
TEST(FolderLeaseTest, OneHolderPerFolderAcrossMoversAndThreads) {
  TempDir dir;
  AlbumMover a(dir.path() / "journal");
  AlbumMover b(dir.path() / "journal");  // another process on the same data
  const fs::path folder = dir.path() / "library" / "Artist" / "Album (2001)";
  FolderLease held = a.lease_folder(folder, false);
  ASSERT_TRUE(held.held());
  EXPECT_FALSE(a.lease_folder(folder, false).held());
  EXPECT_FALSE(b.lease_folder(folder, false).held());
  EXPECT_TRUE(b.lease_folder(folder / "other", false).held());  // other folders are free

  // A waiter gets the folder once the holder lets go, not before.
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    FolderLease mine = b.lease_folder(folder, true);
    got = mine.held();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(got.load());
  held = FolderLease{};  // release by moving an empty lease in
  waiter.join();
  EXPECT_TRUE(got.load());
  // Released leases leave no file behind: the journal folder holds only
  // moves in flight.
  EXPECT_TRUE(fs::is_empty(dir.path() / "journal"));
  EXPECT_TRUE(a.lease_folder(folder, false).held());
}

TEST(FolderLeaseTest, LeaseOfADeadProcessIsClearedAtRecoveryAndALiveOneKept) {
  TempDir dir;
  const fs::path journal = dir.path() / "journal";
  AlbumMover mover(journal);
  std::fflush(stdout);
  pid_t pid = ::fork();
  if (pid == 0) {
    FolderLease lease = AlbumMover(journal).lease_folder(dir.path() / "dead", false);
    ::_exit(lease.held() ? 0 : 1);  // dies holding it: the file stays, the flock goes
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  FolderLease live = mover.lease_folder(dir.path() / "live", false);
  ASSERT_EQ(files_under(journal).size(), 2u);
  mover.recover(kNeverCommitted);
  ASSERT_EQ(files_under(journal).size(), 1u);  // the live one
  EXPECT_FALSE(mover.lease_folder(dir.path() / "live", false).held());
  EXPECT_TRUE(mover.lease_folder(dir.path() / "dead", false).held());
}

TEST(FolderLeaseTest, ManyThreadsRacingForOneFolderNeverHoldItTogether) {
  TempDir dir;
  AlbumMover mover(dir.path() / "journal");
  const fs::path folder = dir.path() / "import" / "review" / "X";
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        FolderLease lease = mover.lease_folder(folder, i % 2 == 0);
        if (!lease.held()) continue;
        ++wins;
        if (inside.fetch_add(1) != 0) ++overlaps;
        std::this_thread::yield();
        inside.fetch_sub(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_GE(wins.load(), 800);  // every waiting attempt wins eventually
  EXPECT_TRUE(fs::is_empty(dir.path() / "journal"));
}

// The lease is keyed by the folder's canonical path: a `barbossa import`
// whose LIBRARY_DIR reaches the library through a symlink (or with "..")
// must be excluded by the server's lease on the same folder.
TEST(FolderLeaseTest, EverySpellingOfAFolderIsOneLease) {
  TempDir dir;
  AlbumMover server(dir.path() / "journal");
  AlbumMover cli(dir.path() / "journal");
  const fs::path real = dir.path() / "library";
  fs::create_directories(real / "Artist");
  fs::create_directory_symlink(real, dir.path() / "linked");
  const fs::path folder = real / "Artist" / "Album (2001)";  // not created yet: an import's
  FolderLease held = server.lease_folder(folder, false);
  ASSERT_TRUE(held.held());
  EXPECT_FALSE(cli.lease_folder(dir.path() / "linked" / "Artist" / "Album (2001)", false).held());
  EXPECT_FALSE(cli.lease_folder(real / "Artist" / ".." / "Artist" / "Album (2001)", false).held());
  EXPECT_TRUE(cli.lease_folder(dir.path() / "linked" / "Artist" / "Other", false).held());
  held = FolderLease{};
  EXPECT_TRUE(cli.lease_folder(dir.path() / "linked" / "Artist" / "Album (2001)", false).held());
}

// recover() clears the lock files of dead holders. It must not unlink a name
// that a live taker re-created and locked between its open and its lock:
// the next taker would then make a new file and hold the folder as well.
TEST(FolderLeaseTest, RecoveryRacingLeaseTakersNeverLetsTwoHoldOneFolder) {
  TempDir dir;
  AlbumMover mover(dir.path() / "journal");
  const fs::path folder = dir.path() / "library" / "Artist" / "Album";
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> takers;
  for (int t = 0; t < 3; ++t) {
    takers.emplace_back([&] {
      for (int i = 0; i < 3000; ++i) {
        FolderLease lease = mover.lease_folder(folder, true);
        if (inside.fetch_add(1) != 0) ++overlaps;
        std::this_thread::yield();
        inside.fetch_sub(1);
      }
    });
  }
  std::thread recovery([&] {
    while (!stop.load()) mover.recover(kNeverCommitted);
  });
  for (auto& t : takers) t.join();
  stop = true;
  recovery.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_TRUE(fs::is_empty(dir.path() / "journal"));
}

}  // namespace
}  // namespace barbossa
