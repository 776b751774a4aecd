// The publish stage (importer/import_publish.h): what goes out after an
// import's commit, in what order and on whose name, and the links of users
// who hearted an upgraded album following its new files.
#include "importer/import_publish.h"

#include <gtest/gtest.h>

#include "unit/importer/stage_fixture.h"

namespace barbossa::test {
namespace {

namespace fs = std::filesystem;

class PublishTest : public StageTest {
 protected:
  Activity activity_row(const std::string& action, int64_t album_id) {
    Activity a;
    a.id = static_cast<int64_t>(++activity_ids_);
    a.action = action;
    a.entity_type = "album";
    a.entity_id = album_id;
    return a;
  }

  ImportOutcome outcome(DecisionKind kind, int64_t album_id) {
    ImportOutcome o;
    o.kind = kind;
    o.album_id = album_id;
    o.artist = "Artist";
    o.album = "Album";
    o.year = 2001;
    return o;
  }

  int activity_ids_ = 0;
};

TEST_F(PublishTest, ActivitiesThenImportCompleteThenLibraryUpdatedEachOnItsActorsName) {
  RecordedImport recorded{7, {activity_row("import", 7), activity_row("review_approved", 7)}};
  ImportRequest request;
  request.username = "alice";
  request.source = "watch";

  publish_import(*bus_, *activity_, recorded, outcome(DecisionKind::kImport, 7), request, "root");

  auto events = published();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].first, "activity");
  EXPECT_EQ(events[0].second["action"], "import");
  EXPECT_EQ(events[0].second["username"], "alice");
  EXPECT_EQ(events[1].first, "activity");
  EXPECT_EQ(events[1].second["action"], "review_approved");
  EXPECT_EQ(events[1].second["username"], "root");  // the reviewer approved it
  EXPECT_EQ(events[2].first, "import_complete");
  EXPECT_EQ(events[2].second["album_id"], 7);
  EXPECT_EQ(events[2].second["artist"], "Artist");
  EXPECT_EQ(events[2].second["title"], "Album");
  EXPECT_EQ(events[2].second["year"], 2001);
  EXPECT_EQ(events[2].second["source"], "watch");
  EXPECT_EQ(events[2].second["status"], "imported");
  EXPECT_EQ(events[3].first, "library_updated");
  EXPECT_EQ(events[3].second["entity_type"], "album");
  EXPECT_EQ(events[3].second["entity_id"], 7);
  EXPECT_EQ(events[3].second["action"], "created");
}

TEST_F(PublishTest, AnUpgradeIsAnUpdateOfTheSameAlbum) {
  publish_import(*bus_, *activity_, RecordedImport{3, {}}, outcome(DecisionKind::kUpgrade, 3),
                 ImportRequest{}, "");
  auto events = published();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].second["status"], "upgraded");
  EXPECT_EQ(events[1].second["action"], "updated");
}

TEST_F(PublishTest, LinksOfHeartHoldersFollowTheUpgradedFiles) {
  Album album = seed_album("Artist", "Album", 2);
  int64_t alice = 0, bob = 0;
  std::vector<std::string> old_paths, new_paths;
  store_->write([&](StoreSession& s) {
    alice = s.users().create("alice", "hash", false).id;
    bob = s.users().create("bob", "hash", false).id;
    auto tracks = s.library().album_tracks(album.id);
    s.library().heart_album(alice, album.id);
    s.library().heart_track(bob, tracks[1].id);
    for (auto& t : tracks) {
      old_paths.push_back(t.path);
      t.path = album.path + "/0" + std::to_string(t.number) + ".flac";  // the better copy
      new_paths.push_back(t.path);
      s.library().update_track(t);
    }
  });
  for (const auto& p : old_paths) write_file(paths_.library_dir / p);
  for (const auto& p : new_paths) write_file(paths_.library_dir / p);
  UserLinks links(paths_.library_dir, root_ / "users");
  links.link("alice", old_paths);
  links.link("bob", {old_paths[1]});

  repoint_links_after_upgrade(*store_, links, album.id, old_paths);

  for (const auto& p : old_paths) EXPECT_FALSE(fs::exists(links.user_root("alice") / p)) << p;
  for (const auto& p : new_paths) EXPECT_TRUE(fs::exists(links.user_root("alice") / p)) << p;
  EXPECT_FALSE(fs::exists(links.user_root("bob") / old_paths[1]));
  EXPECT_TRUE(fs::exists(links.user_root("bob") / new_paths[1]));
  EXPECT_FALSE(fs::exists(links.user_root("bob") / new_paths[0]));  // only the hearted track
}

}  // namespace
}  // namespace barbossa::test
