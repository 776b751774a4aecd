// Exercises the SQLite store against real database files in a temp dir.

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/normalize.h"
#include "store/migrations.h"
#include "store/store.h"
#include "unit/temp_dir.h"

namespace barbossa {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
using test::TempDir;

bool is_iso8601_ms_utc(const std::string& s) {
  static const std::regex re(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$)");
  return std::regex_match(s, re);
}

// Runs f and returns the ApiError status it throws, or 0 when none.
template <typename F>
int api_status(F&& f) {
  try {
    f();
  } catch (const ApiError& e) {
    return e.status();
  }
  return 0;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open_store("sqlite://" + (dir_.path() / "db" / "barbossa.db").string());
    store_->migrate();
  }

  Artist make_artist(const std::string& name) {
    Artist a;
    a.name = name;
    a.sort_name = name;
    a.normalized_name = normalize_name(name);
    return store_->write([&](StoreSession& s) { return s.library().create_artist(a); });
  }

  Album make_album(int64_t artist_id, const std::string& title, const std::string& mbid = "") {
    Album a;
    a.artist_id = artist_id;
    a.title = title;
    a.normalized_title = normalize_name(title);
    a.year = 1999;
    a.musicbrainz_release_id = mbid;
    return store_->write([&](StoreSession& s) { return s.library().create_album(a); });
  }

  Track make_track(int64_t album_id, int number, const std::string& title, int disc = 1) {
    Track t;
    t.album_id = album_id;
    t.disc = disc;
    t.number = number;
    t.title = title;
    t.normalized_title = normalize_name(title);
    t.duration_ms = 180000;
    t.format = "flac";
    t.lossless = true;
    t.sample_rate = 44100;
    t.bit_depth = 16;
    t.channels = 2;
    return store_->write([&](StoreSession& s) { return s.library().create_track(t); });
  }

  User make_user(const std::string& name, bool admin = false) {
    return store_->write([&](StoreSession& s) { return s.users().create(name, "hash", admin); });
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

// --- Opening and migrations ------------------------------------------------

TEST(StoreOpenTest, MigrateIsIdempotentAcrossReopen) {
  TempDir dir;
  std::string url = "sqlite://" + (dir.path() / "a.db").string();
  {
    auto store = open_store(url);
    EXPECT_EQ(store->schema_version(), 0);
    EXPECT_EQ(store->migrate(), static_cast<int>(sqlite_migrations().size()));
    EXPECT_EQ(store->schema_version(), store->latest_schema_version());
    EXPECT_EQ(store->migrate(), 0);
    EXPECT_EQ(store->schema_version(), store->latest_schema_version());
  }
  auto reopened = open_store(url);
  EXPECT_EQ(reopened->schema_version(), reopened->latest_schema_version());
  EXPECT_EQ(reopened->migrate(), 0);
}

TEST(StoreOpenTest, MigrationVersionsStrictlyIncrease) {
  const auto& all = sqlite_migrations();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front().version, 1);
  for (size_t i = 1; i < all.size(); ++i) EXPECT_GT(all[i].version, all[i - 1].version);
  EXPECT_EQ(latest_sqlite_schema_version(), all.back().version);
}

TEST(StoreOpenTest, AbsoluteUrlCreatesParentDirectories) {
  TempDir dir;
  fs::path db = dir.path() / "nested" / "deeper" / "x.db";
  auto store = open_store("sqlite://" + db.string());  // "sqlite:///abs/..."
  EXPECT_TRUE(fs::exists(db));
  EXPECT_TRUE(store->ping());
}

TEST(StoreOpenTest, BarePathWorks) {
  TempDir dir;
  fs::path db = dir.path() / "sub" / "bare.db";
  auto store = open_store(db.string());
  EXPECT_TRUE(fs::exists(db));
  EXPECT_EQ(store->migrate(), store->latest_schema_version());
}

TEST(StoreOpenTest, RelativeUrlIsRelativeToWorkingDirectory) {
  TempDir dir;
  fs::path old_cwd = fs::current_path();
  fs::current_path(dir.path());
  {
    auto store = open_store("sqlite://data/rel.db");
    EXPECT_TRUE(store->ping());
  }
  fs::current_path(old_cwd);
  EXPECT_TRUE(fs::exists(dir.path() / "data" / "rel.db"));
}

TEST(StoreOpenTest, UnsupportedSchemeThrows) {
  try {
    open_store("postgresql://user@localhost/barbossa");
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("postgresql"), std::string::npos) << e.what();
  }
  EXPECT_THROW(open_store("mysql://x"), std::runtime_error);
  EXPECT_THROW(open_store("sqlite://"), std::runtime_error);
  EXPECT_THROW(open_store(":memory:"), std::runtime_error);
}

TEST(StoreOpenTest, UnopenableFileThrows) {
  TempDir dir;
  // A directory where the database file should be cannot be opened.
  fs::create_directories(dir.path() / "isdir.db");
  EXPECT_THROW(open_store((dir.path() / "isdir.db").string()), std::runtime_error);
}

TEST_F(StoreTest, PingAndConnectionPragmas) {
  EXPECT_TRUE(store_->ping());
  EXPECT_TRUE(fs::exists(dir_.path() / "db" / "barbossa.db-wal"));
  EXPECT_EQ(store_->latest_schema_version(), latest_sqlite_schema_version());
}

// --- Users -----------------------------------------------------------------

TEST_F(StoreTest, UserCrud) {
  User alice = make_user("Alice", true);
  EXPECT_GT(alice.id, 0);
  EXPECT_EQ(alice.username, "Alice");
  EXPECT_TRUE(alice.is_admin);
  EXPECT_TRUE(is_iso8601_ms_utc(alice.created_at)) << alice.created_at;
  User bob = make_user("bob");

  store_->read([&](StoreSession& s) {
    auto found = s.users().find_by_id(alice.id);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->username, "Alice");
    EXPECT_EQ(found->password_hash, "hash");
    EXPECT_EQ(found->created_at, alice.created_at);
    auto by_name = s.users().find_by_name("ALICE");
    ASSERT_TRUE(by_name);
    EXPECT_EQ(by_name->id, alice.id);
    EXPECT_FALSE(s.users().find_by_id(9999));
    EXPECT_FALSE(s.users().find_by_name("carol"));
    EXPECT_EQ(s.users().count(), 2);
    EXPECT_EQ(s.users().count_admins(), 1);
    auto all = s.users().list();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].id, alice.id);
    EXPECT_EQ(all[1].id, bob.id);
  });

  store_->write([&](StoreSession& s) {
    EXPECT_TRUE(s.users().update_password(bob.id, "new-hash"));
    EXPECT_TRUE(s.users().update_admin(bob.id, true));
    EXPECT_TRUE(s.users().update_username(bob.id, "Robert"));
    EXPECT_FALSE(s.users().update_password(9999, "x"));
    EXPECT_FALSE(s.users().update_admin(9999, true));
    EXPECT_FALSE(s.users().update_username(9999, "ghost"));
  });
  store_->read([&](StoreSession& s) {
    auto robert = s.users().find_by_id(bob.id);
    ASSERT_TRUE(robert);
    EXPECT_EQ(robert->username, "Robert");
    EXPECT_EQ(robert->password_hash, "new-hash");
    EXPECT_TRUE(robert->is_admin);
    EXPECT_EQ(s.users().count_admins(), 2);
  });

  store_->write([&](StoreSession& s) {
    EXPECT_TRUE(s.users().remove(bob.id));
    EXPECT_FALSE(s.users().remove(bob.id));
  });
  store_->read([&](StoreSession& s) { EXPECT_EQ(s.users().count(), 1); });
}

TEST_F(StoreTest, UsernamesAreUniqueCaseInsensitively) {
  User alice = make_user("alice");
  User bob = make_user("bob");
  EXPECT_EQ(api_status([&] { make_user("ALICE"); }), 409);
  try {
    make_user("Alice");
    FAIL() << "expected ApiError";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), "conflict");
  }
  EXPECT_EQ(api_status([&] {
              store_->write([&](StoreSession& s) { s.users().update_username(bob.id, "Alice"); });
            }),
            409);
  // Re-casing one's own name is not a clash.
  store_->write(
      [&](StoreSession& s) { EXPECT_TRUE(s.users().update_username(alice.id, "Alice")); });
  store_->read([&](StoreSession& s) { EXPECT_EQ(s.users().count(), 2); });
}

// --- Library ---------------------------------------------------------------

TEST_F(StoreTest, CreatesAndReadsArtistsAlbumsTracks) {
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

TEST_F(StoreTest, AlbumUniquePerArtistTitleAndMbid) {
  Artist a = make_artist("Radiohead");
  Artist b = make_artist("Other");
  make_album(a.id, "OK Computer");
  // Same artist and normalized title, neither with an MBID: a duplicate.
  EXPECT_EQ(api_status([&] { make_album(a.id, "OK Computer"); }), 409);
  EXPECT_EQ(api_status([&] { make_album(a.id, "ok computer (Deluxe)"); }), 409);
  // A known MBID tells editions apart, but only once each.
  make_album(a.id, "OK Computer", "mbid-2");
  EXPECT_EQ(api_status([&] { make_album(a.id, "OK Computer", "mbid-2"); }), 409);
  // Another artist may have the same title.
  make_album(b.id, "OK Computer");
  // An album must belong to an existing artist.
  EXPECT_EQ(api_status([&] { make_album(9999, "Orphan"); }), 404);
  // Artists are unique by normalized name.
  EXPECT_EQ(api_status([&] { make_artist("RADIOHEAD"); }), 409);
}

TEST_F(StoreTest, TrackUniquePerAlbumDiscNumber) {
  Artist a = make_artist("A");
  Album al = make_album(a.id, "X");
  Album other = make_album(a.id, "Y");
  make_track(al.id, 1, "One");
  EXPECT_EQ(api_status([&] { make_track(al.id, 1, "Another one"); }), 409);
  make_track(al.id, 1, "Disc two", 2);
  make_track(other.id, 1, "One");
  EXPECT_EQ(api_status([&] { make_track(9999, 1, "Orphan"); }), 404);
}

TEST_F(StoreTest, ListsAndSearchesWithPaging) {
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

TEST_F(StoreTest, SearchTreatsLikeWildcardsLiterally) {
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

// --- Hearts ----------------------------------------------------------------

TEST_F(StoreTest, HeartsAreIdempotent) {
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

TEST_F(StoreTest, HeartingMissingThingsIsNotFound) {
  User u = make_user("u");
  Artist a = make_artist("A");
  Album al = make_album(a.id, "X");
  store_->write([&](StoreSession& s) {
    EXPECT_EQ(api_status([&] { s.library().heart_album(u.id, 9999); }), 404);
    EXPECT_EQ(api_status([&] { s.library().heart_track(u.id, 9999); }), 404);
    EXPECT_EQ(api_status([&] { s.library().heart_album(9999, al.id); }), 404);
    // The session stays usable after a failed statement.
    EXPECT_TRUE(s.library().heart_album(u.id, al.id));
    EXPECT_FALSE(s.library().unheart_track(u.id, 9999));
  });
  store_->read(
      [&](StoreSession& s) { EXPECT_EQ(s.library().hearted_albums(u.id, Page{}).total, 1); });
}

TEST_F(StoreTest, AllTracksHearted) {
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

// --- Activity and meta -----------------------------------------------------

TEST_F(StoreTest, ActivityNewestFirstWithBeforeId) {
  User u = make_user("alice");
  std::vector<int64_t> ids;
  store_->write([&](StoreSession& s) {
    for (int i = 0; i < 5; ++i) {
      Activity a;
      if (i % 2 == 0) a.user_id = u.id;
      a.action = "heart";
      a.entity_type = "album";
      a.entity_id = i;
      a.details_json = R"({"n":)" + std::to_string(i) + "}";
      Activity saved = s.activity().insert(a);
      EXPECT_GT(saved.id, 0);
      EXPECT_TRUE(is_iso8601_ms_utc(saved.created_at)) << saved.created_at;
      EXPECT_EQ(saved.username, i % 2 == 0 ? "alice" : "");
      ids.push_back(saved.id);
    }
  });

  store_->read([&](StoreSession& s) {
    auto newest = s.activity().list(3, 0);
    ASSERT_EQ(newest.size(), 3u);
    EXPECT_EQ(newest[0].id, ids[4]);
    EXPECT_EQ(newest[1].id, ids[3]);
    EXPECT_EQ(newest[2].id, ids[2]);
    EXPECT_EQ(newest[0].username, "alice");
    EXPECT_EQ(newest[0].user_id, u.id);
    EXPECT_FALSE(newest[1].user_id.has_value());
    EXPECT_EQ(newest[1].username, "");
    EXPECT_EQ(newest[0].details_json, R"({"n":4})");
    EXPECT_EQ(newest[0].entity_type, "album");
    EXPECT_EQ(newest[0].entity_id, 4);

    auto older = s.activity().list(10, newest.back().id);
    ASSERT_EQ(older.size(), 2u);
    EXPECT_EQ(older[0].id, ids[1]);
    EXPECT_EQ(older[1].id, ids[0]);
    EXPECT_TRUE(s.activity().list(10, ids[0]).empty());
  });
}

TEST_F(StoreTest, MetaGetPut) {
  store_->write([](StoreSession& s) {
    EXPECT_FALSE(s.meta().get("seq"));
    s.meta().put("seq", "1");
    s.meta().put("seq", "2");
    EXPECT_EQ(s.meta().get("seq"), "2");
  });
  store_->read([](StoreSession& s) { EXPECT_EQ(s.meta().get("seq"), "2"); });
}

// --- Sessions and transactions ---------------------------------------------

TEST_F(StoreTest, UncommittedWriteSessionRollsBack) {
  {
    auto session = store_->open_session(true);
    session->users().create("ghost", "hash", false);
    EXPECT_TRUE(session->users().find_by_name("ghost"));
  }
  store_->read([](StoreSession& s) { EXPECT_FALSE(s.users().find_by_name("ghost")); });

  {
    auto session = store_->open_session(true);
    session->users().create("kept", "hash", false);
    session->commit();
    session->commit();  // a second commit changes nothing
  }
  store_->read([](StoreSession& s) { EXPECT_TRUE(s.users().find_by_name("kept")); });
}

TEST_F(StoreTest, ExceptionEscapingWriteRollsBack) {
  EXPECT_THROW(store_->write([](StoreSession& s) {
    s.users().create("ghost", "hash", false);
    s.meta().put("k", "v");
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  store_->read([](StoreSession& s) {
    EXPECT_FALSE(s.users().find_by_name("ghost"));
    EXPECT_FALSE(s.meta().get("k"));
  });
  // The connection went back to the pool clean: the next write works.
  int64_t id =
      store_->write([](StoreSession& s) { return s.users().create("real", "h", false).id; });
  EXPECT_GT(id, 0);
}

TEST_F(StoreTest, ReadSessionInsideWriteSeesCommittedState) {
  auto writer = store_->open_session(true);
  writer->users().create("pending", "hash", false);
  // A second lease from the same thread must not block, and WAL isolates it.
  store_->read([](StoreSession& s) { EXPECT_FALSE(s.users().find_by_name("pending")); });
  writer->commit();
  store_->read([](StoreSession& s) { EXPECT_TRUE(s.users().find_by_name("pending")); });
}

TEST_F(StoreTest, WriterWaitsForLockHolderUnderBusyTimeout) {
  // Without the busy timeout the second BEGIN IMMEDIATE fails at once with
  // SQLITE_BUSY; with it, the second writer waits for the first to commit.
  std::atomic<bool> locked{false};
  std::thread holder([&] {
    auto session = store_->open_session(true);
    session->meta().put("holder", "1");
    locked = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    session->commit();
  });
  while (!locked) std::this_thread::yield();
  auto start = std::chrono::steady_clock::now();
  store_->write([](StoreSession& s) {
    // Serialized after the holder, so its write is visible.
    EXPECT_EQ(s.meta().get("holder"), "1");
    s.meta().put("waiter", "1");
  });
  auto waited = std::chrono::steady_clock::now() - start;
  holder.join();
  EXPECT_GE(waited, std::chrono::milliseconds(200));
  store_->read([](StoreSession& s) { EXPECT_EQ(s.meta().get("waiter"), "1"); });
}

TEST_F(StoreTest, ConcurrentWritersBothSucceed) {
  constexpr int kPerThread = 50;
  std::atomic<int> failures{0};
  auto work = [&](int thread) {
    for (int i = 0; i < kPerThread; ++i) {
      try {
        store_->write([&](StoreSession& s) {
          // Read-modify-write: lost updates would show in the final count.
          auto current = s.meta().get("counter");
          int n = current ? std::stoi(*current) : 0;
          s.meta().put("counter", std::to_string(n + 1));
          s.users().create("t" + std::to_string(thread) + "-" + std::to_string(i), "h", false);
        });
      } catch (const std::exception&) {
        failures.fetch_add(1);
      }
    }
  };
  std::thread a(work, 0);
  std::thread b(work, 1);
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  store_->read([&](StoreSession& s) {
    EXPECT_EQ(s.meta().get("counter"), std::to_string(2 * kPerThread));
    EXPECT_EQ(s.users().count(), 2 * kPerThread);
  });
}

TEST_F(StoreTest, ConcurrentWritersAcrossStoresOnOneFile) {
  // Two Store objects model two processes: only SQLite's locks and the busy
  // timeout keep them apart.
  auto other = open_store((dir_.path() / "db" / "barbossa.db").string());
  std::atomic<int> failures{0};
  auto work = [&](Store* store, int thread) {
    for (int i = 0; i < 30; ++i) {
      try {
        store->write([&](StoreSession& s) {
          s.users().create("p" + std::to_string(thread) + "-" + std::to_string(i), "h", false);
        });
      } catch (const std::exception&) {
        failures.fetch_add(1);
      }
    }
  };
  std::thread a(work, store_.get(), 0);
  std::thread b(work, other.get(), 1);
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  store_->read([](StoreSession& s) { EXPECT_EQ(s.users().count(), 60); });
}

TEST_F(StoreTest, DeletingUserCascadesHeartsAndNullsActivity) {
  User u = make_user("gone");
  User stays = make_user("stays");
  Artist a = make_artist("A");
  Album al = make_album(a.id, "X");
  Track t = make_track(al.id, 1, "One");
  store_->write([&](StoreSession& s) {
    s.library().heart_album(u.id, al.id);
    s.library().heart_track(u.id, t.id);
    s.library().heart_album(stays.id, al.id);
    Activity act;
    act.user_id = u.id;
    act.action = "heart";
    act.entity_type = "album";
    act.entity_id = al.id;
    s.activity().insert(act);
  });

  store_->write([&](StoreSession& s) { EXPECT_TRUE(s.users().remove(u.id)); });

  store_->read([&](StoreSession& s) {
    EXPECT_FALSE(s.library().is_album_hearted(u.id, al.id));
    EXPECT_EQ(s.library().hearted_albums(u.id, Page{}).total, 0);
    EXPECT_EQ(s.library().hearted_tracks(u.id, Page{}).total, 0);
    EXPECT_TRUE(s.library().is_album_hearted(stays.id, al.id));
    auto acts = s.activity().list(10, 0);
    ASSERT_EQ(acts.size(), 1u);
    EXPECT_FALSE(acts[0].user_id.has_value());
    EXPECT_EQ(acts[0].username, "");
    EXPECT_EQ(acts[0].action, "heart");
  });
}

}  // namespace
}  // namespace barbossa

// --- Import pipeline rows --------------------------------------------------

namespace barbossa {
namespace {

TEST_F(StoreTest, ImporterLookupsFindByNameReleaseAndChecksum) {
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

TEST_F(StoreTest, UpdateAndDeleteAlbumCascadeButKeepTrackIds) {
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
  EXPECT_EQ(api_status([&] {
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

TEST_F(StoreTest, ReviewItemsRoundTripFilterAndUpdate) {
  User owner = make_user("owner");
  ReviewItem item;
  item.path = "/data/import/review/X";
  item.path_name = "X";
  item.suggested_artist = "A";
  item.suggested_album = "X";
  item.suggested_year = 2001;
  item.confidence = 0.7;
  item.reasons = {"generic title 'Track 01': 01.flac", "caf\xC3\xA9"};
  item.track_count = 3;
  item.source = "http";
  item.download_id = 5;
  item.user_id = owner.id;
  ReviewItem created =
      store_->write([&](StoreSession& s) { return s.imports().create_review(item); });
  EXPECT_GT(created.id, 0);
  EXPECT_EQ(created.status, "pending");
  EXPECT_EQ(created.reasons, item.reasons);
  EXPECT_EQ(created.download_id, std::optional<int64_t>(5));
  EXPECT_FALSE(created.reviewer_id);
  EXPECT_TRUE(is_iso8601_ms_utc(created.created_at));
  ReviewItem other = item;
  other.user_id.reset();
  store_->write([&](StoreSession& s) { s.imports().create_review(other); });

  store_->read([&](StoreSession& s) {
    EXPECT_EQ(s.imports().list_reviews("", std::nullopt, Page{}).total, 2);
    EXPECT_EQ(s.imports().list_reviews("pending", owner.id, Page{}).total, 1);
    EXPECT_EQ(s.imports().list_reviews("approved", std::nullopt, Page{}).total, 0);
  });
  created.status = "rejected";
  created.reviewer_id = owner.id;
  created.path = "";
  store_->write([&](StoreSession& s) { s.imports().update_review(created); });
  auto back = store_->read([&](StoreSession& s) { return s.imports().find_review(created.id); });
  EXPECT_EQ(back->status, "rejected");
  EXPECT_EQ(back->reviewer_id, std::optional<int64_t>(owner.id));
  EXPECT_EQ(back->path, "");
  // The CHECK constraint keeps statuses honest.
  created.status = "maybe";
  EXPECT_THROW(store_->write([&](StoreSession& s) { s.imports().update_review(created); }),
               std::exception);
}

// Approve and reject of one item race in different threads (or processes):
// the guard in the UPDATE lets exactly one decision write.
TEST_F(StoreTest, ReviewDecisionWritesOnlyWhilePending) {
  ReviewItem item;
  item.path = "/data/import/review/Y";
  item.path_name = "Y";
  item = store_->write([&](StoreSession& s) { return s.imports().create_review(item); });
  ReviewItem approved = item;
  approved.status = "approved";
  ReviewItem rejected = item;
  rejected.status = "rejected";
  rejected.path = "";
  EXPECT_TRUE(store_->write([&](StoreSession& s) { return s.imports().decide_review(approved); }));
  EXPECT_FALSE(store_->write([&](StoreSession& s) { return s.imports().decide_review(rejected); }));
  auto back = store_->read([&](StoreSession& s) { return s.imports().find_review(item.id); });
  EXPECT_EQ(back->status, "approved");
  EXPECT_EQ(back->path, "/data/import/review/Y");
}

// Crash loop: a duplicate's review item was read, the album it duplicates
// was deleted, and the decision then wrote the stale duplicate_of back:
// "FOREIGN KEY constraint failed", approve and reject answered 500.
TEST_F(StoreTest, ReviewDecisionAfterTheDuplicatedAlbumIsDeletedSucceeds) {
  Album original = make_album(make_artist("A").id, "X");
  ReviewItem item;
  item.path = "/data/import/review/X";
  item.path_name = "X";
  item.duplicate_of = original.id;
  item = store_->write([&](StoreSession& s) { return s.imports().create_review(item); });
  ASSERT_EQ(item.duplicate_of, original.id);
  store_->write([&](StoreSession& s) { s.library().delete_album(original.id); });

  ReviewItem rejected = item;  // as read before the delete
  rejected.status = "rejected";
  EXPECT_TRUE(store_->write([&](StoreSession& s) { return s.imports().decide_review(rejected); }));
  auto back = store_->read([&](StoreSession& s) { return s.imports().find_review(item.id); });
  EXPECT_EQ(back->status, "rejected");
  EXPECT_FALSE(back->duplicate_of.has_value());
}

TEST_F(StoreTest, DurableWriteCommitsAndLaterWritesStillWork) {
  store_->write_durable([&](StoreSession& s) { s.imports().mark_move_committed("durable-1"); });
  EXPECT_TRUE(
      store_->read([&](StoreSession& s) { return s.imports().is_move_committed("durable-1"); }));
  EXPECT_THROW(store_->write_durable([&](StoreSession& s) {
    s.imports().mark_move_committed("durable-2");
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  EXPECT_FALSE(
      store_->read([&](StoreSession& s) { return s.imports().is_move_committed("durable-2"); }));
  make_user("after");  // the pooled connection is usable afterwards
}

TEST_F(StoreTest, CommittedMovesAndHistory) {
  store_->write([&](StoreSession& s) {
    s.imports().mark_move_committed("import-1");
    s.imports().mark_move_committed("import-1");  // idempotent
    ImportHistoryRow h;
    h.normalized_artist = "a";
    h.normalized_album = "x";
    h.normalized_track = "one";
    h.sha256 = "ff";
    s.imports().add_history(h);
  });
  store_->read([&](StoreSession& s) {
    EXPECT_TRUE(s.imports().is_move_committed("import-1"));
    EXPECT_FALSE(s.imports().is_move_committed("import-2"));
  });
  // Rolled back with its transaction: the commit point is the transaction.
  {
    auto session = store_->open_session(true);
    session->imports().mark_move_committed("import-3");
  }
  EXPECT_FALSE(
      store_->read([&](StoreSession& s) { return s.imports().is_move_committed("import-3"); }));
}

// --- Prepared statement cache ----------------------------------------------
// Each pooled connection keeps its prepared statements; these check that a
// reused statement never serves stale rows or keeps locks.

TEST_F(StoreTest, CachedQueriesSeeChangesWithinAndAcrossSessions) {
  Artist artist = make_artist("Cache");
  Album album = make_album(artist.id, "First");
  auto title_of = [&](StoreSession& s) { return s.library().find_album(album.id)->title; };
  auto titles = [&](StoreSession& s) {
    std::vector<std::string> out;
    for (const Album& a : s.library().list_albums(artist.id, "", Page{}).items) {
      out.push_back(a.title);
    }
    return out;
  };

  // Within one write session: the same statements, run again after the
  // session's own changes.
  store_->write([&](StoreSession& s) {
    EXPECT_EQ(title_of(s), "First");
    EXPECT_EQ(titles(s), std::vector<std::string>{"First"});
    Album changed = *s.library().find_album(album.id);
    changed.title = "Second";
    changed.normalized_title = "";
    s.library().update_album(changed);
    EXPECT_EQ(title_of(s), "Second");
    Album extra;
    extra.artist_id = artist.id;
    extra.title = "Extra";
    s.library().create_album(extra);
    EXPECT_EQ(titles(s), (std::vector<std::string>{"Extra", "Second"}));
  });

  // Across sessions (the pool hands the same connection back, with its
  // statements): each session sees what the previous one committed.
  EXPECT_EQ(store_->read(title_of), "Second");
  store_->write([&](StoreSession& s) {
    Album changed = *s.library().find_album(album.id);
    changed.title = "Third";
    changed.normalized_title = "";
    s.library().update_album(changed);
  });
  EXPECT_EQ(store_->read(title_of), "Third");
  EXPECT_EQ(store_->read(titles), (std::vector<std::string>{"Extra", "Third"}));

  // Within one read session, while another connection commits in between.
  auto reader = store_->open_session(false);
  EXPECT_EQ(title_of(*reader), "Third");
  EXPECT_EQ(reader->library().list_albums(0, "", Page{}).total, 2);
  store_->write([&](StoreSession& s) {
    Album changed = *s.library().find_album(album.id);
    changed.title = "Fourth";
    changed.normalized_title = "";
    s.library().update_album(changed);
    s.library().delete_album(s.library().find_album_by_identity(artist.id, "extra")->id);
  });
  EXPECT_EQ(title_of(*reader), "Fourth");
  EXPECT_EQ(reader->library().list_albums(0, "", Page{}).total, 1);
  EXPECT_EQ(titles(*reader), std::vector<std::string>{"Fourth"});
}

TEST_F(StoreTest, AbandonedLookupKeepsNoSnapshotOrLock) {
  make_user("alice");
  {
    auto reader = store_->open_session(false);
    // A single-row lookup steps once and leaves its statement mid-result; the
    // cache must reset it, or its read transaction would stay open.
    ASSERT_TRUE(reader->users().find_by_name("alice"));
    ASSERT_TRUE(reader->meta().get("absent") == std::nullopt);

    // A writer on another connection goes straight through: far below the
    // 5 s busy timeout it would otherwise wait out and then fail.
    auto start = std::chrono::steady_clock::now();
    store_->write([](StoreSession& s) { s.users().create("bob", "hash", false); });
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));

    // The reader's next statements see the commit: no old snapshot pinned.
    EXPECT_EQ(reader->users().count(), 2);
    EXPECT_TRUE(reader->users().find_by_name("bob"));
  }
  // The pool hands the reader's connection to the next session. A snapshot
  // older than bob's commit would make its BEGIN IMMEDIATE fail at once with
  // SQLITE_BUSY_SNAPSHOT, which no busy timeout can wait out.
  auto start = std::chrono::steady_clock::now();
  EXPECT_NO_THROW(store_->write([](StoreSession& s) { s.users().create("carol", "hash", false); }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(store_->read([](StoreSession& s) { return s.users().count(); }), 3);
}

TEST_F(StoreTest, AbandonedLookupInAnotherThreadDoesNotBlockWriters) {
  // Like WriterWaitsForLockHolderUnderBusyTimeout, but the holder only reads:
  // a lookup left after one step, then the session is kept open.
  make_user("alice");
  std::atomic<bool> looked_up{false};
  std::atomic<bool> writer_done{false};
  std::thread holder([&] {
    auto session = store_->open_session(false);
    EXPECT_TRUE(session->users().find_by_name("alice"));
    looked_up = true;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (!writer_done && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    // Sees the writer's commit in the same session.
    EXPECT_EQ(session->users().count(), 2);
  });
  while (!looked_up) std::this_thread::yield();
  auto start = std::chrono::steady_clock::now();
  store_->write([](StoreSession& s) { s.users().create("bob", "hash", false); });
  auto waited = std::chrono::steady_clock::now() - start;
  writer_done = true;
  holder.join();
  EXPECT_LT(waited, std::chrono::seconds(2));
}

TEST_F(StoreTest, CachedStatementsSurviveSchemaChanges) {
  Artist artist = make_artist("Schema");
  Album album = make_album(artist.id, "Changes");
  Track t = make_track(album.id, 1, "One");
  store_->write([&](StoreSession& s) {
    Track changed = t;
    changed.sha256 = std::string(64, 'c');
    s.library().update_track(changed);
  });
  auto by_sha = [](StoreSession& s) {
    return s.library().find_tracks_by_sha256({std::string(64, 'c')}).size();
  };
  ASSERT_EQ(store_->read(by_sha), 1u);
  ASSERT_TRUE(store_->read([](StoreSession& s) { return s.users().find_by_name("x"); }) ==
              std::nullopt);

  // Another connection changes the schema under the cached statements: the
  // index their plan uses disappears, a table they read gains a column.
  {
    SQLite::Database other((dir_.path() / "db" / "barbossa.db").string(), SQLite::OPEN_READWRITE);
    other.exec("PRAGMA busy_timeout = 5000");
    other.exec("DROP INDEX tracks_sha256");
    other.exec("ALTER TABLE users ADD COLUMN nickname TEXT");
  }
  EXPECT_EQ(store_->read(by_sha), 1u);
  make_user("x");
  EXPECT_EQ(store_->read([](StoreSession& s) { return s.users().find_by_name("x")->username; }),
            "x");
}

TEST(StoreOpenTest, MigrationOnAConnectionWithCachedStatements) {
  // A database at schema version 1, used through the store (which caches its
  // statements), then migrated on the same pooled connection.
  TempDir dir;
  std::string path = (dir.path() / "v1.db").string();
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(
        "CREATE TABLE schema_migrations ("
        "  version    INTEGER PRIMARY KEY,"
        "  applied_at TEXT NOT NULL)");
    db.exec(std::string(sqlite_migrations().front().sql));
    db.exec("INSERT INTO schema_migrations VALUES (1, '2024-01-01T00:00:00.000Z')");
    // Written here: the store's own user statements need later columns.
    db.exec("INSERT INTO users (username, password_hash) VALUES ('early', 'hash')");
  }
  auto store = open_store(path);
  ASSERT_EQ(store->schema_version(), 1);
  store->write([](StoreSession& s) { s.meta().put("k", "1"); });
  EXPECT_EQ(store->read([](StoreSession& s) { return s.users().count(); }), 1);

  EXPECT_EQ(store->migrate(), static_cast<int>(sqlite_migrations().size()) - 1);
  EXPECT_EQ(store->schema_version(), store->latest_schema_version());
  store->write([](StoreSession& s) {
    EXPECT_TRUE(s.users().find_by_name("early"));
    s.users().create("late", "hash", false);
    s.meta().put("k", "2");
    s.imports().mark_move_committed("after-migration");
  });
  store->read([](StoreSession& s) {
    EXPECT_EQ(s.users().count(), 2);
    EXPECT_EQ(s.meta().get("k"), "2");
    EXPECT_TRUE(s.imports().is_move_committed("after-migration"));
  });
}

}  // namespace
}  // namespace barbossa
