// The duplicate lookup's rules: each finds an album by one aspect and says
// which; find_existing takes the first that matches.
#include "importer/duplicate_lookup.h"

#include "unit/importer/stage_fixture.h"

namespace barbossa {
namespace {

using test::StageTest;

class DuplicateLookupTest : public StageTest {
 protected:
  ExistingCopy lookup(const DuplicateQuery& q) {
    return store_->read([&](StoreSession& s) { return find_existing(s, q); });
  }
};

TEST_F(DuplicateLookupTest, EachRuleNamesWhatItMatchedBy) {
  Album by_name = seed_album("Artist", "Record", 2);
  Album by_release = seed_album("Other", "Elsewhere", 1, "mb-release-1");

  DuplicateQuery q;
  q.artist = "ARTIST";  // normalized by the rule
  q.album = "record";
  auto name = store_->read([&](StoreSession& s) { return match_by_identity(s, q); });
  ASSERT_TRUE(name);
  EXPECT_EQ(name->album.id, by_name.id);
  EXPECT_EQ(name->matched_by, "artist and album");

  q = DuplicateQuery{};
  q.release_id = "mb-release-1";
  auto release = store_->read([&](StoreSession& s) { return match_by_release(s, q); });
  ASSERT_TRUE(release);
  EXPECT_EQ(release->album.id, by_release.id);
  EXPECT_EQ(release->matched_by, "MusicBrainz release");

  q = DuplicateQuery{};
  q.checksums = {"nothing", std::string(63, 'f') + "2"};
  auto checksum = store_->read([&](StoreSession& s) { return match_by_checksum(s, q); });
  ASSERT_TRUE(checksum);
  EXPECT_EQ(checksum->album.id, by_name.id);
  EXPECT_EQ(checksum->matched_by, "identical file checksum");
}

TEST_F(DuplicateLookupTest, RulesFindNothingForANewAlbum) {
  seed_album("Artist", "Record", 1, "mb-1");
  DuplicateQuery q;
  q.artist = "Artist";
  q.album = "Another";
  q.checksums = {"0000"};
  EXPECT_FALSE(store_->read([&](StoreSession& s) { return match_by_identity(s, q); }));
  EXPECT_FALSE(store_->read([&](StoreSession& s) { return match_by_release(s, q); }));
  EXPECT_FALSE(store_->read([&](StoreSession& s) { return match_by_checksum(s, q); }));
  ExistingCopy none = lookup(q);
  EXPECT_FALSE(none.album);
  EXPECT_TRUE(none.tracks.empty());
}

TEST_F(DuplicateLookupTest, NameWinsOverReleaseAndTheTracksComeAlong) {
  Album named = seed_album("Artist", "Record", 3);
  seed_album("Other", "Elsewhere", 1, "mb-2");
  Identification id = ident("Artist", "Record", 3);
  id.musicbrainz_release_id = "mb-2";
  ExistingCopy found = lookup(duplicate_query(id, {}));
  ASSERT_TRUE(found.album);
  EXPECT_EQ(found.album->id, named.id);
  EXPECT_EQ(found.matched_by, "artist and album");
  EXPECT_EQ(found.tracks.size(), 3u);
}

TEST_F(DuplicateLookupTest, SameExistingSeesAChangedCopy) {
  seed_album("Artist", "Record", 2);
  DuplicateQuery q = duplicate_query(ident("Artist", "Record", 2), {});
  ExistingCopy before = lookup(q);
  EXPECT_TRUE(same_existing(before, lookup(q)));

  store_->write([&](StoreSession& s) { s.library().delete_track(before.tracks.back().id); });
  EXPECT_FALSE(same_existing(before, lookup(q)));
  EXPECT_FALSE(same_existing(before, ExistingCopy{}));
  EXPECT_TRUE(same_existing(ExistingCopy{}, ExistingCopy{}));
}

}  // namespace
}  // namespace barbossa
