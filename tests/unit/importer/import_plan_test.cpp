// The plan stage: where a new album's files go, what an upgrade sends to the
// trash first, and where review and reject move a folder. Nothing moves here.
#include "importer/import_plan.h"

#include <algorithm>

#include "unit/importer/stage_fixture.h"

namespace barbossa {
namespace {

namespace fs = std::filesystem;
using test::StageTest;
using test::write_file;

const MoveStep* step_from(const AlbumMove& move, const fs::path& from) {
  auto it = std::find_if(move.steps.begin(), move.steps.end(),
                         [&](const MoveStep& s) { return s.from == from; });
  return it == move.steps.end() ? nullptr : &*it;
}

class ImportPlanTest : public StageTest {};

TEST_F(ImportPlanTest, NewAlbumGetsNamedTracksACoverAndItsLeftoversGoToTheTrash) {
  AlbumCandidate c = candidate("new", 2, {"Front.JPG", "notes.txt"});
  write_file(c.root / "desktop.ini");  // neither audio nor an extra
  Identification id = ident("Artist", "Record", 2);
  ImportRequest req;
  req.folder = c.root;

  ImportPlan plan;
  plan.artist_rel = artist_folder(id);
  plan.album_rel = new_album_folder(paths_.library_dir, plan.artist_rel, id,
                                    [](const std::string&) { return false; });
  EXPECT_EQ(plan.album_rel, "Artist/Record (2001)");
  plan_files(plan, FilePlanInput{c, id, req, paths_, nullptr});

  EXPECT_EQ(plan.move.id.rfind("import-", 0), 0u) << plan.move.id;
  EXPECT_EQ(plan.move.source_root, c.root);
  ASSERT_EQ(plan.track_rel.size(), 2u);
  EXPECT_EQ(plan.track_rel[0], "Artist/Record (2001)/01 - Song 1.flac");
  const fs::path album_dir = paths_.library_dir / plan.album_rel;
  ASSERT_NE(step_from(plan.move, c.tracks[1].path), nullptr);
  EXPECT_EQ(step_from(plan.move, c.tracks[1].path)->to, album_dir / "02 - Song 2.flac");
  EXPECT_EQ(step_from(plan.move, c.root / "Front.JPG")->to, album_dir / "cover.JPG");
  EXPECT_EQ(step_from(plan.move, c.root / "notes.txt")->to, album_dir / "notes.txt");
  const MoveStep* leftover = step_from(plan.move, c.root / "desktop.ini");
  ASSERT_NE(leftover, nullptr);
  EXPECT_TRUE(leftover->to.string().find("/leftovers/desktop.ini") != std::string::npos);
  EXPECT_EQ(leftover->to.string().rfind(paths_.trash_dir.string(), 0), 0u);
  EXPECT_EQ(plan.move.steps.size(), 5u);
  EXPECT_TRUE(plan.old_paths.empty());
}

TEST_F(ImportPlanTest, CopyKeepsTheSourceAndLeavesTheRestAlone) {
  AlbumCandidate c = candidate("copied", 1);
  write_file(c.root / "desktop.ini");
  Identification id = ident("Artist", "Record", 1);
  ImportRequest req;
  req.folder = c.root;
  req.copy = true;
  ImportPlan plan;
  plan.artist_rel = "Artist";
  plan.album_rel = "Artist/Record (2001)";
  plan_files(plan, FilePlanInput{c, id, req, paths_, nullptr});
  ASSERT_EQ(plan.move.steps.size(), 1u);
  EXPECT_TRUE(plan.move.steps[0].keep_source);
  EXPECT_TRUE(plan.move.source_root.empty());
}

TEST_F(ImportPlanTest, TakenFolderNamesGetANumber) {
  Identification id = ident("Artist", "Record", 1);
  fs::create_directories(paths_.library_dir / "Artist" / "Record (2001)");
  auto reserved = [](const std::string& rel) { return rel == "Artist/Record (2001) (2)"; };
  EXPECT_EQ(new_album_folder(paths_.library_dir, "Artist", id, reserved),
            "Artist/Record (2001) (3)");
}

TEST_F(ImportPlanTest, UpgradeSendsTheOldFilesToTheTrashFirst) {
  Album old = seed_album("Artist", "Record", 2);
  const fs::path album_dir = paths_.library_dir / old.path;
  write_file(album_dir / "01.mp3");
  write_file(album_dir / "02.mp3");
  std::vector<Track> old_tracks =
      store_->read([&](StoreSession& s) { return s.library().album_tracks(old.id); });
  AlbumCandidate c = candidate("better", 2);
  Identification id = ident("Artist", "Record", 2);
  ImportRequest req;
  req.folder = c.root;

  ImportPlan plan;
  plan.artist_rel = "Artist";
  plan.album_rel = old.path;
  plan_files(plan, FilePlanInput{c, id, req, paths_, &old_tracks});

  EXPECT_EQ(plan.move.id.rfind("upgrade-", 0), 0u) << plan.move.id;
  ASSERT_EQ(plan.old_paths.size(), 2u);
  EXPECT_EQ(plan.old_paths[0], old_tracks[0].path);
  ASSERT_EQ(plan.move.steps.size(), 4u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(plan.move.steps[i].from.parent_path(), album_dir);
    EXPECT_TRUE(plan.move.steps[i].to.string().find("/replaced/") != std::string::npos);
  }
  EXPECT_EQ(plan.move.steps[2].from, c.tracks[0].path);
  EXPECT_EQ(plan.move.steps[2].to, album_dir / "01 - Song 1.flac");
}

TEST_F(ImportPlanTest, ReviewMovesTheFolderIntoReviewUnderItsOwnName) {
  AlbumCandidate c = candidate("Vague", 2);
  ImportRequest req;
  req.folder = c.root;
  FolderPlacement to_review = plan_review_move(paths_, req);
  EXPECT_EQ(to_review.target, paths_.import_dir / "review" / "Vague");
  ASSERT_TRUE(to_review.move);
  EXPECT_EQ(to_review.move->id.rfind("review-", 0), 0u);
  EXPECT_EQ(to_review.move->steps.size(), 2u);
  EXPECT_EQ(to_review.move->source_root, c.root);

  // Already in review (an approval that ends in review again): no move.
  ImportRequest in_review;
  in_review.folder = paths_.import_dir / "review" / "Vague";
  fs::create_directories(in_review.folder);
  FolderPlacement stays = plan_review_move(paths_, in_review);
  EXPECT_FALSE(stays.move);
  EXPECT_EQ(stays.target, in_review.folder);
}

TEST_F(ImportPlanTest, RejectionGoesToRejectedOrWithDeleteFilesToTheTrash) {
  ReviewItem item;
  item.id = 7;
  item.path = (paths_.import_dir / "review" / "Vague").string();
  item.path_name = "Vague";
  write_file(fs::path(item.path) / "1.flac");
  FolderPlacement rejected = plan_rejection(paths_, item, false);
  EXPECT_EQ(rejected.target, paths_.import_dir / "rejected" / "Vague");
  EXPECT_EQ(rejected.move->id.rfind("reject-", 0), 0u);
  ASSERT_EQ(rejected.move->steps.size(), 1u);
  EXPECT_EQ(rejected.move->steps[0].to, rejected.target / "1.flac");

  FolderPlacement discarded = plan_rejection(paths_, item, true);
  EXPECT_EQ(discarded.target.parent_path(), paths_.trash_dir);
  EXPECT_TRUE(discarded.target.filename().string().find("-review-7") != std::string::npos);
  EXPECT_EQ(discarded.move->id.rfind("discard-", 0), 0u);
}

}  // namespace
}  // namespace barbossa
