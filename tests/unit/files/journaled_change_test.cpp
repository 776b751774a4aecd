// The one journaled-change sequence and the one folder walk that every move
// site uses: the files and the record land together, or neither does.
#include "files/journaled_change.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

#include "unit/files/test_support.h"

namespace barbossa {
namespace {

namespace fs = std::filesystem;
using testing::lexists;
using testing::slurp;
using testing::TempDir;
using testing::write;

class JournaledChangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    from_ = dir_ / "review" / "Album";
    to_ = dir_ / "rejected" / "Album";
    write(from_ / "1.flac", "one");
    write(from_ / "Scans" / "back.jpg", "back");
    fs::create_directories(from_ / "Empty");
  }

  TempDir dir_;
  AlbumMover mover_{dir_ / "journal"};
  fs::path from_, to_;
};

TEST_F(JournaledChangeTest, WalkVisitsEveryFileAndSymlinkButNoFolder) {
  fs::create_symlink("1.flac", from_ / "link.flac");
  std::vector<fs::path> seen;
  EXPECT_FALSE(walk_files(from_, [&](const fs::path& p) { seen.push_back(p); }));
  std::sort(seen.begin(), seen.end());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], from_ / "1.flac");
  EXPECT_EQ(seen[1], from_ / "Scans" / "back.jpg");
  EXPECT_EQ(seen[2], from_ / "link.flac");
  EXPECT_TRUE(walk_files(dir_ / "missing", [](const fs::path&) {}));
}

TEST_F(JournaledChangeTest, FolderStepsKeepTheLayoutAndLeaveOutSkippedFiles) {
  std::vector<MoveStep> steps;
  EXPECT_FALSE(add_folder_steps(steps, from_, to_, true, {from_ / "1.flac"}));
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].to, to_ / "Scans" / "back.jpg");
  EXPECT_TRUE(steps[0].keep_source);

  AlbumMove move = folder_move(from_, to_, false, "reject");
  EXPECT_EQ(move.id.rfind("reject-", 0), 0u) << move.id;
  EXPECT_EQ(move.steps.size(), 2u);
  EXPECT_EQ(move.source_root, from_);
  EXPECT_TRUE(folder_move(from_, to_, true, "review").source_root.empty());
  EXPECT_THROW(folder_move(dir_ / "missing", to_, false, "review"), std::runtime_error);
  EXPECT_NE(new_move_id("x"), new_move_id("x"));
}

TEST_F(JournaledChangeTest, ARecordedChangeIsFinished) {
  AlbumMove move = folder_move(from_, to_, false, "reject");
  bool recorded = false;
  bool tidied = false;
  ChangeTidy tidy;
  tidy.after_finish = [&] { tidied = true; };
  tidy.after_roll_back = [] { FAIL() << "nothing to roll back"; };
  run_journaled_change(
      &mover_, &move, [&] { recorded = true; }, tidy);
  EXPECT_TRUE(recorded);
  EXPECT_TRUE(tidied);
  EXPECT_EQ(slurp(to_ / "1.flac"), "one");
  EXPECT_FALSE(lexists(from_ / "1.flac"));
  EXPECT_TRUE(fs::is_empty(dir_ / "journal")) << "finish deletes the journal";
}

TEST_F(JournaledChangeTest, AFailedRecordPutsEveryFileBack) {
  AlbumMove move = folder_move(from_, to_, false, "reject");
  bool rolled_back = false;
  ChangeTidy tidy;
  tidy.after_roll_back = [&] {
    rolled_back = true;
    EXPECT_TRUE(lexists(from_ / "1.flac")) << "the files are back before the tidy runs";
  };
  tidy.after_finish = [] { FAIL() << "not finished"; };
  EXPECT_THROW(run_journaled_change(
                   &mover_, &move, [] { throw std::runtime_error("constraint failed"); }, tidy),
               std::runtime_error);
  EXPECT_TRUE(rolled_back);
  EXPECT_EQ(slurp(from_ / "1.flac"), "one");
  EXPECT_EQ(slurp(from_ / "Scans" / "back.jpg"), "back");
  EXPECT_FALSE(lexists(to_ / "1.flac"));
  EXPECT_TRUE(fs::is_empty(dir_ / "journal"));
}

TEST_F(JournaledChangeTest, ARecordWithoutFilesRunsAlone) {
  bool recorded = false;
  run_journaled_change(nullptr, nullptr, [&] { recorded = true; });
  EXPECT_TRUE(recorded);
  EXPECT_THROW(run_journaled_change(nullptr, nullptr, [] { throw std::runtime_error("x"); }),
               std::runtime_error);
}

TEST_F(JournaledChangeTest, AMoveThatCannotBeginRecordsNothing) {
  write(to_ / "1.flac", "already there");
  AlbumMove move = folder_move(from_, to_, false, "reject");
  bool recorded = false;
  EXPECT_THROW(run_journaled_change(&mover_, &move, [&] { recorded = true; }), std::exception);
  EXPECT_FALSE(recorded);
  EXPECT_EQ(slurp(from_ / "1.flac"), "one");
}

}  // namespace
}  // namespace barbossa
