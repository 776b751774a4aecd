// The SQLite backend only: opening by URL, pragmas and files, the statement
// cache, migrations (numbered SQL, table rebuilds) and the online backup.

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/migrations.h"
#include "store/store.h"
#include "unit/store/store_fixture.h"
#include "unit/temp_dir.h"

namespace barbossa::test {
namespace {

namespace fs = std::filesystem;

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

// --- Pragmas, files and the statement cache ----------------------------------

TEST_F(SqliteStoreTest, PingAndConnectionPragmas) {
  EXPECT_TRUE(store_->ping());
  EXPECT_TRUE(fs::exists(dir_.path() / "db" / "barbossa.db-wal"));
  EXPECT_EQ(store_->latest_schema_version(), latest_sqlite_schema_version());
}

TEST_F(SqliteStoreTest, ConcurrentWritersAcrossStoresOnOneFile) {
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

TEST_F(SqliteStoreTest, CachedQueriesSeeChangesWithinAndAcrossSessions) {
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

TEST_F(SqliteStoreTest, AbandonedLookupKeepsNoSnapshotOrLock) {
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

TEST_F(SqliteStoreTest, AbandonedLookupInAnotherThreadDoesNotBlockWriters) {
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

TEST_F(SqliteStoreTest, CachedStatementsSurviveSchemaChanges) {
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

// The AUTOINCREMENT rebuild of `users` must keep every row that references a
// user: with foreign keys on, DROP TABLE users would have cascaded.
TEST(UsersMigrationTest, RebuildKeepsUsersHeartsActivityAndReviewItems) {
  TempDir dir;
  std::string path = (dir.path() / "old.db").string();
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA foreign_keys = ON");
    db.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)");
    for (const Migration& m : sqlite_migrations()) {
      if (m.version > 3) break;
      db.exec(std::string(m.sql));
      db.exec("INSERT INTO schema_migrations VALUES (" + std::to_string(m.version) + ", 'x')");
    }
    db.exec(
        "INSERT INTO users (id, username, password_hash, is_admin) VALUES "
        "(1, 'admin', 'h1', 1), (2, 'alice', 'h2', 0), (5, 'bob', 'h5', 0);"
        "INSERT INTO artists (id, name, normalized_name) VALUES (1, 'A', 'a');"
        "INSERT INTO albums (id, artist_id, title, normalized_title) VALUES (1, 1, 'X', 'x');"
        "INSERT INTO tracks (id, album_id, number, title, normalized_title) "
        "  VALUES (1, 1, 1, 'T', 't');"
        "INSERT INTO album_hearts (user_id, album_id) VALUES (2, 1), (5, 1);"
        "INSERT INTO track_hearts (user_id, track_id) VALUES (2, 1);"
        "INSERT INTO activity (user_id, action) VALUES (5, 'login');"
        "INSERT INTO review_items (path, path_name, user_id, reviewer_id) "
        "  VALUES ('/p', 'p', 2, 1);");
  }
  auto store = open_store("sqlite://" + path);
  EXPECT_EQ(store->migrate(), latest_sqlite_schema_version() - 3);

  SQLite::Database db(path);
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM users").getInt(), 3);
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM album_hearts").getInt(), 2);
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM track_hearts").getInt(), 1);
  EXPECT_EQ(db.execAndGet("SELECT user_id FROM activity").getInt(), 5);
  EXPECT_EQ(db.execAndGet("SELECT reviewer_id FROM review_items").getInt(), 1);
  EXPECT_EQ(db.execAndGet("SELECT token_version FROM users WHERE id = 5").getInt(), 0);
  EXPECT_NE(db.execAndGet("SELECT sql FROM sqlite_master WHERE name = 'users'")
                .getString()
                .find("AUTOINCREMENT"),
            std::string::npos);

  // The references still hold and still act: removing bob cascades his
  // hearts and clears his activity, and his id is not handed out again.
  store->write([](StoreSession& s) { s.users().remove(5); });
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM album_hearts").getInt(), 1);
  EXPECT_TRUE(db.execAndGet("SELECT user_id FROM activity").isNull());
  User next = store->write([](StoreSession& s) { return s.users().create("bob", "h", false); });
  EXPECT_GT(next.id, 5);
  EXPECT_EQ(next.token_version, 1);
  EXPECT_THROW(store->write([](StoreSession& s) { s.library().heart_album(999, 1); }),
               std::exception);
}

// --- Online backup -----------------------------------------------------------

TEST_F(SqliteStoreTest, BackupIsOneSelfContainedFileWithTheSameRows) {
  make_user("alice");
  const fs::path copy = dir_.path() / "backups" / "copy.db";
  fs::create_directories(copy.parent_path());
  store_->backup_to(copy);
  EXPECT_TRUE(fs::exists(copy));
  EXPECT_FALSE(fs::exists(copy.string() + ".tmp"));
  SQLite::Database db(copy.string());
  EXPECT_EQ(db.execAndGet("PRAGMA journal_mode").getString(), "delete");
  EXPECT_EQ(db.execAndGet("SELECT username FROM users").getString(), "alice");
  // A folder that does not exist: an error, and nothing left behind.
  EXPECT_THROW(store_->backup_to(dir_.path() / "missing" / "copy.db"), std::runtime_error);
  EXPECT_FALSE(fs::exists(dir_.path() / "missing"));
}

}  // namespace
}  // namespace barbossa::test
