// Users in the SQLite store: ids never reused, token versions, and the
// migration that made it so (a rebuild of a table others reference).

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <string>

#include "store/migrations.h"
#include "store/store.h"
#include "unit/temp_dir.h"

namespace barbossa {
namespace {

using test::TempDir;

class UsersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open_store("sqlite://" + (dir_.path() / "barbossa.db").string());
    store_->migrate();
  }
  User create(const std::string& name, bool admin = false) {
    return store_->write([&](StoreSession& s) { return s.users().create(name, "hash", admin); });
  }
  std::optional<User> find(int64_t id) {
    return store_->read([&](StoreSession& s) { return s.users().find_by_id(id); });
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

// A removed user's id must never name the next user: a token or link of the
// removed one would become theirs (and an admin's rights with it).
TEST_F(UsersTest, RemovedUserIdIsNeverReused) {
  User a = create("alice");
  User b = create("bob", true);
  store_->write([&](StoreSession& s) { s.users().remove(b.id); });
  User again = create("bob", true);
  EXPECT_GT(again.id, b.id);
  store_->write([&](StoreSession& s) { s.users().remove(again.id); });
  store_->write([&](StoreSession& s) { s.users().remove(a.id); });
  EXPECT_GT(create("carol").id, again.id);
}

TEST_F(UsersTest, PasswordAndRoleChangesBumpTokenVersion) {
  User u = create("alice");
  EXPECT_EQ(u.token_version, 1);  // new rows start at 1 (0 is "before versions")
  store_->write([&](StoreSession& s) { s.users().update_password(u.id, "other"); });
  EXPECT_EQ(find(u.id)->token_version, 2);
  store_->write([&](StoreSession& s) { s.users().update_admin(u.id, true); });
  EXPECT_EQ(find(u.id)->token_version, 3);
  EXPECT_TRUE(find(u.id)->is_admin);
  store_->write([&](StoreSession& s) { s.users().update_admin(u.id, true); });  // no change
  EXPECT_EQ(find(u.id)->token_version, 3);
  store_->write([&](StoreSession& s) { s.users().update_admin(u.id, false); });
  EXPECT_EQ(find(u.id)->token_version, 4);
  EXPECT_FALSE(find(u.id)->is_admin);
  store_->write([&](StoreSession& s) { s.users().update_username(u.id, "alicia"); });
  EXPECT_EQ(find(u.id)->token_version, 4);  // a rename revokes nothing
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

}  // namespace
}  // namespace barbossa
