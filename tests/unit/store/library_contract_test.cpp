// LibraryRepository contract: artists, albums and tracks, their uniqueness,
// listing, search and the importer's lookups.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/normalize.h"
#include "store/store.h"
#include "unit/store/store_fixture.h"

namespace barbossa::test {
namespace {

class LibraryContract : public StoreContractTest {};

TEST_P(LibraryContract, CreatesAndReadsArtistsAlbumsTracks) {
  Artist artist = make_artist("Björk");
  EXPECT_GT(artist.id, 0);
  EXPECT_EQ(artist.album_count, 0);
  Album album = make_album(artist.id, "Homogenic", "mbid-1");
  EXPECT_GT(album.id, 0);
  EXPECT_EQ(album.artist_name, "Björk");
  EXPECT_EQ(album.year, 1999);
  EXPECT_EQ(album.status, "available");
  EXPECT_EQ(album.musicbrainz_release_id, "mbid-1");
  EXPECT_TRUE(is_iso8601_ms_utc(album.created_at)) << album.created_at;

  Track t2 = make_track(album.id, 2, "Jóga");
  Track t1 = make_track(album.id, 1, "Hunter");
  Track d2 = make_track(album.id, 1, "Bonus", 2);
  EXPECT_GT(t1.id, 0);

  store_->read([&](StoreSession& s) {
    auto a = s.library().find_artist(artist.id);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->album_count, 1);
    EXPECT_EQ(a->musicbrainz_id, "");
    EXPECT_FALSE(s.library().find_artist(9999));

    auto al = s.library().find_album(album.id);
    ASSERT_TRUE(al);
    EXPECT_EQ(al->title, "Homogenic");
    EXPECT_EQ(al->artist_name, "Björk");
    EXPECT_FALSE(s.library().find_album(9999));

    auto tracks = s.library().album_tracks(album.id);
    ASSERT_EQ(tracks.size(), 3u);
    EXPECT_EQ(tracks[0].id, t1.id);
    EXPECT_EQ(tracks[1].id, t2.id);
    EXPECT_EQ(tracks[2].id, d2.id);

    auto t = s.library().find_track(t2.id);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->title, "Jóga");
    EXPECT_EQ(t->format, "flac");
    EXPECT_TRUE(t->lossless);
    EXPECT_EQ(t->sample_rate, 44100);
    EXPECT_EQ(t->duration_ms, 180000);
    EXPECT_EQ(t->checksum_verified_at, "");
    EXPECT_FALSE(s.library().find_track(9999));
  });
}

TEST_P(LibraryContract, AlbumUniquePerArtistTitleAndMbid) {
  Artist a = make_artist("Radiohead");
  Artist b = make_artist("Other");
  make_album(a.id, "OK Computer");
  // Same artist and normalized title, neither with an MBID: a duplicate.
  EXPECT_EQ(error_status([&] { make_album(a.id, "OK Computer"); }), 409);
  EXPECT_EQ(error_status([&] { make_album(a.id, "ok computer (Deluxe)"); }), 409);
  // A known MBID tells editions apart, but only once each.
  make_album(a.id, "OK Computer", "mbid-2");
  EXPECT_EQ(error_status([&] { make_album(a.id, "OK Computer", "mbid-2"); }), 409);
  // Another artist may have the same title.
  make_album(b.id, "OK Computer");
  // An album must belong to an existing artist.
  EXPECT_EQ(error_status([&] { make_album(9999, "Orphan"); }), 404);
  // Artists are unique by normalized name.
  EXPECT_EQ(error_status([&] { make_artist("RADIOHEAD"); }), 409);
}

TEST_P(LibraryContract, TrackUniquePerAlbumDiscNumber) {
  Artist a = make_artist("A");
  Album al = make_album(a.id, "X");
  Album other = make_album(a.id, "Y");
  make_track(al.id, 1, "One");
  EXPECT_EQ(error_status([&] { make_track(al.id, 1, "Another one"); }), 409);
  make_track(al.id, 1, "Disc two", 2);
  make_track(other.id, 1, "One");
  EXPECT_EQ(error_status([&] { make_track(9999, 1, "Orphan"); }), 404);
}

TEST_P(LibraryContract, ListsAndSearchesWithPaging) {
  Artist zappa = make_artist("Frank Zappa");
  Artist abba = make_artist("ABBA");
  Artist cure = make_artist("The Cure");
  make_album(zappa.id, "Hot Rats");
  make_album(zappa.id, "Apostrophe");
  make_album(abba.id, "Waterloo");
  make_album(abba.id, "Arrival");
  Album cure_album = make_album(cure.id, "Disintegration");
  make_track(cure_album.id, 1, "Plainsong");
  make_track(cure_album.id, 2, "Pictures of You");
  make_track(cure_album.id, 3, "Closedown");
  make_track(cure_album.id, 4, "Lullaby");

  store_->read([&](StoreSession& s) {
    auto& lib = s.library();
    auto all = lib.list_albums(0, "", Page{10, 0});
    EXPECT_EQ(all.total, 5);
    ASSERT_EQ(all.items.size(), 5u);
    // By artist normalized name, then title.
    std::vector<std::string> titles;
    for (const auto& a : all.items) titles.push_back(a.title);
    EXPECT_EQ(titles, (std::vector<std::string>{"Arrival", "Waterloo", "Apostrophe", "Hot Rats",
                                                "Disintegration"}));
    EXPECT_EQ(all.items[0].artist_name, "ABBA");

    auto page = lib.list_albums(0, "", Page{2, 2});
    EXPECT_EQ(page.total, 5);
    ASSERT_EQ(page.items.size(), 2u);
    EXPECT_EQ(page.items[0].title, "Apostrophe");
    auto past_end = lib.list_albums(0, "", Page{2, 10});
    EXPECT_EQ(past_end.total, 5);
    EXPECT_TRUE(past_end.items.empty());

    auto by_artist = lib.list_albums(zappa.id, "", Page{10, 0});
    EXPECT_EQ(by_artist.total, 2);
    ASSERT_EQ(by_artist.items.size(), 2u);
    EXPECT_EQ(by_artist.items[0].artist_id, zappa.id);

    // Matches the album title...
    auto rats = lib.list_albums(0, fold_for_search("RATS"), Page{10, 0});
    EXPECT_EQ(rats.total, 1);
    ASSERT_EQ(rats.items.size(), 1u);
    EXPECT_EQ(rats.items[0].title, "Hot Rats");
    // ...or the artist name.
    auto by_name = lib.list_albums(0, fold_for_search("zapp"), Page{10, 0});
    EXPECT_EQ(by_name.total, 2);
    auto filtered = lib.list_albums(abba.id, fold_for_search("water"), Page{10, 0});
    EXPECT_EQ(filtered.total, 1);
    EXPECT_EQ(lib.list_albums(zappa.id, fold_for_search("water"), Page{10, 0}).total, 0);

    auto artists = lib.list_artists("", Page{2, 0});
    EXPECT_EQ(artists.total, 3);
    ASSERT_EQ(artists.items.size(), 2u);
    EXPECT_EQ(artists.items[0].name, "ABBA");
    EXPECT_EQ(artists.items[0].album_count, 2);
    auto cure_only = lib.list_artists(fold_for_search("cure"), Page{10, 0});
    EXPECT_EQ(cure_only.total, 1);
    ASSERT_EQ(cure_only.items.size(), 1u);
    EXPECT_EQ(cure_only.items[0].album_count, 1);

    auto tracks = lib.search_tracks(fold_for_search("O"), Page{2, 0});
    EXPECT_EQ(tracks.total, 3);  // all but "Lullaby"
    EXPECT_EQ(tracks.items.size(), 2u);
    EXPECT_EQ(lib.search_tracks("", Page{10, 0}).total, 4);
    EXPECT_EQ(lib.search_tracks(fold_for_search("pictures"), Page{10, 0}).total, 1);
    EXPECT_EQ(lib.list_albums(0, fold_for_search("nothing like it"), Page{10, 0}).total, 0);

    // A negative limit must not mean "everything".
    EXPECT_TRUE(lib.list_albums(0, "", Page{-1, 0}).items.empty());
  });
}

TEST_P(LibraryContract, SearchTreatsLikeWildcardsLiterally) {
  Artist a = make_artist("A");
  Album al = make_album(a.id, "X");
  // Normalization strips most punctuation, so set the keys by hand to prove
  // that '%' and '_' in a query are not patterns.
  store_->write([&](StoreSession& s) {
    Track t;
    t.album_id = al.id;
    t.number = 1;
    t.title = "100% Pure";
    t.normalized_title = "100% pure";
    s.library().create_track(t);
    t.number = 2;
    t.title = "ab";
    t.normalized_title = "ab";
    s.library().create_track(t);
  });
  store_->read([](StoreSession& s) {
    EXPECT_EQ(s.library().search_tracks("%", Page{}).total, 1);
    EXPECT_EQ(s.library().search_tracks("0% p", Page{}).total, 1);
    EXPECT_EQ(s.library().search_tracks("a_", Page{}).total, 0);
    EXPECT_EQ(s.library().list_artists("_", Page{}).total, 0);
  });
}

TEST_P(LibraryContract, ImporterLookupsFindByNameReleaseAndChecksum) {
  Artist artist = make_artist("Sigur Rós");
  Album album = make_album(artist.id, "Ágætis byrjun (Remastered)", "rel-1");
  Track t = make_track(album.id, 1, "Intro");
  store_->write([&](StoreSession& s) {
    Track changed = t;
    changed.sha256 = std::string(64, 'a');
    changed.path = "Sigur Rós/Ágætis byrjun (1999)/01 - Intro.flac";
    s.library().update_track(changed);
  });
  store_->read([&](StoreSession& s) {
    auto& lib = s.library();
    auto found = lib.find_artist_by_normalized(normalize_name("SIGUR ROS"));
    ASSERT_TRUE(found);
    EXPECT_EQ(found->id, artist.id);
    EXPECT_FALSE(lib.find_artist_by_normalized("nobody"));
    auto by_name = lib.find_album_by_identity(artist.id, normalize_name("Agaetis Byrjun"));
    ASSERT_TRUE(by_name);
    EXPECT_EQ(by_name->id, album.id);
    EXPECT_EQ(lib.find_album_by_release("rel-1")->id, album.id);
    EXPECT_FALSE(lib.find_album_by_release(""));
    auto same = lib.find_tracks_by_sha256({"", std::string(64, 'b'), std::string(64, 'a')});
    ASSERT_EQ(same.size(), 1u);
    EXPECT_EQ(same[0].id, t.id);
    EXPECT_EQ(same[0].path, "Sigur Rós/Ágætis byrjun (1999)/01 - Intro.flac");
  });
}

TEST_P(LibraryContract, UpdateAndDeleteAlbumCascadeButKeepTrackIds) {
  Artist artist = make_artist("A");
  Album album = make_album(artist.id, "X");
  Track t1 = make_track(album.id, 1, "One");
  Track t2 = make_track(album.id, 2, "Two");
  User u = make_user("fan");
  store_->write([&](StoreSession& s) {
    s.library().heart_track(u.id, t1.id);
    Album changed = album;
    changed.path = "A/X (2000)";
    changed.year = 2000;
    changed.disc_count = 2;
    s.library().update_album(changed);
    Track moved = t2;
    moved.disc = 2;
    moved.number = 1;
    s.library().update_track(moved);
  });
  store_->read([&](StoreSession& s) {
    auto a = s.library().find_album(album.id);
    EXPECT_EQ(a->path, "A/X (2000)");
    EXPECT_EQ(a->year, 2000);
    EXPECT_EQ(s.library().find_track(t2.id)->disc, 2);
    auto holders = s.library().heart_holders(album.id);
    ASSERT_EQ(holders.size(), 1u);
    EXPECT_EQ(holders[0].username, "fan");
    EXPECT_FALSE(holders[0].album);
    EXPECT_EQ(holders[0].track_ids, std::vector<int64_t>{t1.id});
  });
  EXPECT_EQ(error_status([&] {
              store_->write([&](StoreSession& s) {
                Track clash = t1;
                clash.disc = 2;
                clash.number = 1;
                s.library().update_track(clash);
              });
            }),
            409);
  store_->write([&](StoreSession& s) {
    EXPECT_FALSE(s.library().delete_artist_if_empty(artist.id));
    EXPECT_TRUE(s.library().delete_album(album.id));
    EXPECT_TRUE(s.library().delete_artist_if_empty(artist.id));
    EXPECT_FALSE(s.library().delete_album(album.id));
  });
  store_->read([&](StoreSession& s) {
    EXPECT_FALSE(s.library().find_track(t1.id));
    EXPECT_TRUE(s.library().hearted_tracks(u.id, Page{}).items.empty());
  });
}

BARBOSSA_STORE_CONTRACT(LibraryContract);

}  // namespace
}  // namespace barbossa::test
