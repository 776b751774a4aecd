// LibraryRepository contract, hearts: idempotent, not found for missing
// rows, all-tracks-hearted.

#include <gtest/gtest.h>

#include <vector>

#include "store/store.h"
#include "unit/store/store_fixture.h"

namespace barbossa::test {
namespace {

class HeartsContract : public StoreContractTest {};

TEST_P(HeartsContract, HeartsAreIdempotent) {
  User u = make_user("u");
  Artist a = make_artist("A");
  Album first = make_album(a.id, "First");
  Album second = make_album(a.id, "Second");
  Track t1 = make_track(first.id, 1, "One");
  Track t2 = make_track(first.id, 2, "Two");

  store_->write([&](StoreSession& s) {
    auto& lib = s.library();
    EXPECT_TRUE(lib.heart_album(u.id, first.id));
    EXPECT_FALSE(lib.heart_album(u.id, first.id));
    EXPECT_TRUE(lib.heart_album(u.id, second.id));
    EXPECT_TRUE(lib.is_album_hearted(u.id, first.id));
    EXPECT_TRUE(lib.unheart_album(u.id, first.id));
    EXPECT_FALSE(lib.unheart_album(u.id, first.id));
    EXPECT_FALSE(lib.is_album_hearted(u.id, first.id));

    EXPECT_TRUE(lib.heart_track(u.id, t2.id));
    EXPECT_FALSE(lib.heart_track(u.id, t2.id));
    EXPECT_TRUE(lib.heart_track(u.id, t1.id));
    EXPECT_TRUE(lib.unheart_track(u.id, t1.id));
    EXPECT_FALSE(lib.unheart_track(u.id, t1.id));
    EXPECT_TRUE(lib.heart_track(u.id, t1.id));
  });

  store_->read([&](StoreSession& s) {
    auto& lib = s.library();
    EXPECT_EQ(lib.hearted_track_ids(u.id, first.id), (std::vector<int64_t>{t1.id, t2.id}));
    EXPECT_TRUE(lib.hearted_track_ids(u.id, second.id).empty());
    auto albums = lib.hearted_albums(u.id, Page{10, 0});
    EXPECT_EQ(albums.total, 1);
    ASSERT_EQ(albums.items.size(), 1u);
    EXPECT_EQ(albums.items[0].id, second.id);
    EXPECT_EQ(albums.items[0].artist_name, "A");
    auto tracks = lib.hearted_tracks(u.id, Page{1, 0});
    EXPECT_EQ(tracks.total, 2);
    ASSERT_EQ(tracks.items.size(), 1u);
    EXPECT_EQ(tracks.items[0].id, t1.id);  // newest heart first
  });
}

TEST_P(HeartsContract, HeartingMissingThingsIsNotFound) {
  User u = make_user("u");
  Artist a = make_artist("A");
  Album al = make_album(a.id, "X");
  store_->write([&](StoreSession& s) {
    EXPECT_EQ(error_status([&] { s.library().heart_album(u.id, 9999); }), 404);
    EXPECT_EQ(error_status([&] { s.library().heart_track(u.id, 9999); }), 404);
    EXPECT_EQ(error_status([&] { s.library().heart_album(9999, al.id); }), 404);
    // The session stays usable after a failed statement.
    EXPECT_TRUE(s.library().heart_album(u.id, al.id));
    EXPECT_FALSE(s.library().unheart_track(u.id, 9999));
  });
  store_->read(
      [&](StoreSession& s) { EXPECT_EQ(s.library().hearted_albums(u.id, Page{}).total, 1); });
}

TEST_P(HeartsContract, AllTracksHearted) {
  User u = make_user("u");
  User other = make_user("other");
  Artist a = make_artist("A");
  Album empty = make_album(a.id, "Empty");
  Album al = make_album(a.id, "Full");
  Track t1 = make_track(al.id, 1, "One");
  Track t2 = make_track(al.id, 2, "Two");

  store_->write([&](StoreSession& s) {
    auto& lib = s.library();
    EXPECT_FALSE(lib.all_tracks_hearted(u.id, empty.id));
    EXPECT_FALSE(lib.all_tracks_hearted(u.id, al.id));
    lib.heart_track(u.id, t1.id);
    EXPECT_FALSE(lib.all_tracks_hearted(u.id, al.id));
    lib.heart_track(other.id, t2.id);
    EXPECT_FALSE(lib.all_tracks_hearted(u.id, al.id));
    lib.heart_track(u.id, t2.id);
    EXPECT_TRUE(lib.all_tracks_hearted(u.id, al.id));
    EXPECT_FALSE(lib.all_tracks_hearted(other.id, al.id));
    EXPECT_FALSE(lib.all_tracks_hearted(u.id, 9999));
  });
}

BARBOSSA_STORE_CONTRACT(HeartsContract);

}  // namespace
}  // namespace barbossa::test
