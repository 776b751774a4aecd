// The record stage: the rows one import writes in its transaction.
#include "importer/import_record.h"

#include <nlohmann/json.hpp>

#include "bus/event_bus.h"
#include "core/error.h"
#include "unit/importer/stage_fixture.h"

namespace barbossa {
namespace {

using test::StageTest;

class ImportRecordTest : public StageTest {
 protected:
  ImportPlan plan_for(const std::string& album_rel, size_t tracks) {
    ImportPlan plan;
    plan.artist_rel = "Artist";
    plan.album_rel = album_rel;
    for (size_t i = 1; i <= tracks; ++i) {
      plan.track_rel.push_back(album_rel + "/0" + std::to_string(i) + " - Song.flac");
    }
    return plan;
  }

  RecordedImport record(const RecordInput& in) {
    return store_->write([&](StoreSession& s) { return record_import(s, *activity_, in); });
  }
};

TEST_F(ImportRecordTest, NewAlbumWritesArtistAlbumTracksHistoryAndActivity) {
  AlbumCandidate c = candidate("new", 2);
  Identification id = ident("Artist", "Record", 2);
  ImportRequest req;
  req.source = "qobuz";
  req.user_id = std::nullopt;
  ImportPlan plan = plan_for("Artist/Record (2001)", 2);
  RecordedImport out = record(RecordInput{req, c, id, plan, Quality{true, 44100, 16, 0, 1000},
                                          nullptr, Quality{}, nullptr, 0});

  auto album = store_->read([&](StoreSession& s) { return s.library().find_album(out.album_id); });
  ASSERT_TRUE(album);
  EXPECT_EQ(album->title, "Record");
  EXPECT_EQ(album->path, "Artist/Record (2001)");
  EXPECT_EQ(album->source, "qobuz");
  EXPECT_EQ(album->total_tracks, 2);
  auto tracks =
      store_->read([&](StoreSession& s) { return s.library().album_tracks(out.album_id); });
  ASSERT_EQ(tracks.size(), 2u);
  EXPECT_EQ(tracks[1].path, plan.track_rel[1]);
  EXPECT_EQ(tracks[1].sha256, c.tracks[1].sha256);
  EXPECT_FALSE(tracks[0].checksum_verified_at.empty());

  ASSERT_EQ(out.activities.size(), 1u);
  EXPECT_EQ(out.activities[0].action, "new_album");
  auto details = nlohmann::json::parse(out.activities[0].details_json);
  EXPECT_EQ(details["tracks"], 2);
  EXPECT_EQ(details["source"], "qobuz");
}

TEST_F(ImportRecordTest, UpgradeKeepsTrackIdsByPositionAndDropsTheRest) {
  Album old = seed_album("Artist", "Record", 3);
  ExistingCopy existing;
  existing.album = old;
  existing.tracks = store_->read([&](StoreSession& s) { return s.library().album_tracks(old.id); });
  AlbumCandidate c = candidate("better", 2);
  Identification id = ident("Artist", "Record", 2);
  ImportRequest req;
  ImportPlan plan = plan_for(old.path, 2);
  RecordedImport out =
      record(RecordInput{req, c, id, plan, Quality{true, 44100, 16, 0, 1000}, &existing,
                         Quality{false, 44100, 16, 128, 1000}, nullptr, 0});

  EXPECT_EQ(out.album_id, old.id);
  auto tracks = store_->read([&](StoreSession& s) { return s.library().album_tracks(old.id); });
  ASSERT_EQ(tracks.size(), 2u);
  EXPECT_EQ(tracks[0].id, existing.tracks[0].id);
  EXPECT_EQ(tracks[1].id, existing.tracks[1].id);
  EXPECT_EQ(tracks[0].format, "FLAC");
  ASSERT_EQ(out.activities.size(), 1u);
  EXPECT_EQ(out.activities[0].action, "quality_upgrade");
  auto details = nlohmann::json::parse(out.activities[0].details_json);
  EXPECT_TRUE(details.contains("from_quality"));
}

TEST_F(ImportRecordTest, ApprovalDecidesTheItemOnceAndLosesToAnEarlierDecision) {
  store_->write([](StoreSession& s) { s.users().create("admin", "hash", true); });
  ReviewItem item;
  item.path = (paths_.import_dir / "review" / "x").string();
  item.path_name = "x";
  item = store_->write([&](StoreSession& s) { return s.imports().create_review(item); });
  AlbumCandidate c = candidate("x", 1);
  Identification id = ident("Artist", "Record", 1);
  ImportRequest req;
  ImportPlan plan = plan_for("Artist/Record (2001)", 1);
  const RecordInput in{req, c, id, plan, Quality{}, nullptr, Quality{}, &item, 1};

  RecordedImport out = record(in);
  ASSERT_EQ(out.activities.size(), 2u);
  EXPECT_EQ(out.activities[1].action, "review_approved");
  auto decided = store_->read([&](StoreSession& s) { return s.imports().find_review(item.id); });
  ASSERT_TRUE(decided->album_id);
  EXPECT_EQ(*decided->album_id, out.album_id);

  // The same pending item again: the guard in the SQL refuses it.
  ImportPlan other = plan_for("Artist/Other (2001)", 1);
  Identification id2 = ident("Artist", "Other", 1);
  try {
    record(RecordInput{req, c, id2, other, Quality{}, nullptr, Quality{}, &item, 1});
    FAIL() << "a second decision must lose";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 409);
  }
}

}  // namespace
}  // namespace barbossa
