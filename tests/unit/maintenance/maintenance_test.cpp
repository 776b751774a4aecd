// The maintenance jobs' functions against a real SQLite store and real
// folders in a temp dir.

#include "maintenance/maintenance.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/normalize.h"
#include "core/time.h"
#include "files/album_mover.h"
#include "store/store.h"
#include "unit/temp_dir.h"

namespace barbossa {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kNow = 1'790'000'000'000;  // 2026-09-21, a fixed "now"

void write(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool lexists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(p, ec));
}

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

class MaintenanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open_store("sqlite://" + (dir_ / "db" / "barbossa.db").string());
    store_->migrate();
  }

  int64_t add_user(const std::string& name) {
    return store_->write([&](StoreSession& s) { return s.users().create(name, "x", false).id; });
  }

  // An album with one track per entry of `discs` (its disc number), numbered
  // per disc, stored with the given counts whether or not they are right.
  int64_t add_album(const std::string& title, const std::vector<int>& discs, int total,
                    int available, int disc_count) {
    return store_->write([&](StoreSession& s) {
      Artist artist;
      artist.name = "Artist " + title;
      artist.sort_name = artist.name;
      artist.normalized_name = normalize_name(artist.name);
      artist = s.library().create_artist(artist);
      Album album;
      album.artist_id = artist.id;
      album.title = title;
      album.normalized_title = normalize_name(title);
      album.path = "Artist/" + title;
      album.total_tracks = total;
      album.available_tracks = available;
      album.disc_count = disc_count;
      album = s.library().create_album(album);
      std::vector<int> next(16, 1);
      for (int disc : discs) {
        Track t;
        t.album_id = album.id;
        t.disc = disc;
        t.number = next[disc]++;
        t.title = "Track " + std::to_string(t.number);
        t.normalized_title = normalize_name(t.title);
        t.path = album.path + "/" + std::to_string(disc) + "-" + std::to_string(t.number) + ".flac";
        s.library().create_track(t);
      }
      return album.id;
    });
  }

  Album album(int64_t id) {
    return *store_->read([&](StoreSession& s) { return s.library().find_album(id); });
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

// --- backup_database ------------------------------------------------------

TEST_F(MaintenanceTest, BackupIsAValidDatabaseWithTheSameRows) {
  add_user("alice");
  add_user("bob");
  int64_t album_id = add_album("Record", {1, 1, 2}, 3, 3, 2);

  BackupResult r = backup_database(*store_, dir_ / "backups", 7, kNow);

  EXPECT_EQ(r.path, dir_ / "backups" / ("barbossa-" + compact_utc_stamp(kNow) + ".db"));
  ASSERT_TRUE(fs::is_regular_file(r.path));
  EXPECT_EQ(r.bytes, static_cast<int64_t>(fs::file_size(r.path)));
  EXPECT_GT(r.bytes, 0);
  EXPECT_EQ(r.deleted, 0);
  // Nothing but the backup itself: no temp file, no -wal/-journal beside it.
  EXPECT_EQ(names_in(dir_ / "backups"), std::set<std::string>{r.path.filename().string()});

  // Written after the backup: must not be in it.
  add_user("carol");

  SQLite::Database db(r.path.string(), SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("PRAGMA integrity_check").getString(), "ok");
  EXPECT_EQ(db.execAndGet("PRAGMA journal_mode").getString(), "delete");
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM users").getInt(), 2);
  EXPECT_EQ(db.execAndGet("SELECT group_concat(username, ',') FROM (SELECT username FROM users "
                          "ORDER BY username)")
                .getString(),
            "alice,bob");
  EXPECT_EQ(
      db.execAndGet("SELECT COUNT(*) FROM tracks WHERE album_id = " + std::to_string(album_id))
          .getInt(),
      3);
  EXPECT_EQ(db.execAndGet("SELECT title FROM albums").getString(), "Record");
}

TEST_F(MaintenanceTest, BackupKeepsTheNewestSevenAndLeavesOtherFilesAlone) {
  const fs::path backups = dir_ / "backups";
  write(backups / "notes.txt", "mine");
  write(backups / "barbossa-latest.db", "not a stamped backup");
  write(backups / ("barbossa-" + compact_utc_stamp(kNow) + ".db.bak"), "a copy");
  fs::create_directories(backups / "sub");

  std::vector<std::string> made;
  int deleted = 0;
  for (int i = 0; i < 9; ++i) {
    BackupResult r = backup_database(*store_, backups, 7, kNow + i * kDayMs);
    made.push_back(r.path.filename().string());
    deleted += r.deleted;
  }
  EXPECT_EQ(deleted, 2);

  std::set<std::string> expected(made.begin() + 2, made.end());  // the 7 newest
  expected.insert({"notes.txt", "barbossa-latest.db", "sub",
                   "barbossa-" + compact_utc_stamp(kNow) + ".db.bak"});
  EXPECT_EQ(names_in(backups), expected);
  EXPECT_EQ(slurp(backups / "notes.txt"), "mine");
  EXPECT_EQ(slurp(backups / "barbossa-latest.db"), "not a stamped backup");
}

TEST_F(MaintenanceTest, BackupRefusesToKeepNone) {
  EXPECT_THROW(backup_database(*store_, dir_ / "backups", 0, kNow), std::invalid_argument);
}

// --- purge_trash ----------------------------------------------------------

TEST_F(MaintenanceTest, PurgeTrashRemovesOldKeepsNewAndNeverFollowsSymlinks) {
  const int64_t now = unix_now_ms();  // mtimes are real time
  const fs::path trash = dir_ / "trash";
  const fs::path outside = dir_ / "outside";
  write(outside / "precious.flac", "keep me");

  auto entry = [&](int64_t age_ms, const std::string& id) {
    return trash / (compact_utc_stamp(now - age_ms) + "-" + id);
  };
  const fs::path old_import = entry(31 * kDayMs, "import-a");
  write(old_import / "replaced" / "01.flac", "old");
  fs::create_directory_symlink(outside, old_import / "escape");  // inside an old entry
  const fs::path old_link = entry(40 * kDayMs, "link");          // an entry that is a symlink
  fs::create_directories(trash);
  fs::create_directory_symlink(outside, old_link);
  const fs::path fresh = entry(1 * kDayMs, "album-7");
  write(fresh / "01.flac", "new");
  const fs::path unstamped_old = trash / "leftover-old";
  write(unstamped_old / "x", "x");
  fs::last_write_time(unstamped_old,
                      fs::last_write_time(unstamped_old) - std::chrono::hours(24 * 40));
  const fs::path unstamped_new = trash / "leftover-new";
  write(unstamped_new / "x", "x");

  EXPECT_EQ(purge_trash(trash, 30, now, dir_ / "journal"), 3);
  EXPECT_FALSE(lexists(old_import));
  EXPECT_FALSE(lexists(old_link));
  EXPECT_FALSE(lexists(unstamped_old));
  EXPECT_TRUE(fs::exists(fresh / "01.flac"));
  EXPECT_TRUE(fs::exists(unstamped_new / "x"));
  EXPECT_EQ(slurp(outside / "precious.flac"), "keep me");

  EXPECT_EQ(purge_trash(trash, 30, now, dir_ / "journal"), 0);
  // 0 days: everything at least an hour old.
  EXPECT_EQ(purge_trash(trash, 0, now + 2 * 3'600'000, dir_ / "journal"), 2);
  EXPECT_TRUE(fs::is_directory(trash));
  EXPECT_TRUE(names_in(trash).empty());
  EXPECT_EQ(slurp(outside / "precious.flac"), "keep me");
}

TEST_F(MaintenanceTest, PurgeTrashOfAMissingFolderIsNothing) {
  EXPECT_EQ(purge_trash(dir_ / "no-trash", 30, kNow, dir_ / "journal"), 0);
}

// Files never vanish outside the journal: with TRASH_DAYS=0 the purge must
// not take an upgrade's old copy (or a rejected folder) while its move is
// uncommitted, or a rollback has nothing to restore.
TEST_F(MaintenanceTest, PurgeTrashKeepsWhatAnUncommittedMoveNamesAndWhatIsYoungerThanAnHour) {
  const int64_t now = unix_now_ms();
  const fs::path trash = dir_ / "trash";
  const fs::path journal = dir_ / "journal";
  auto entry = [&](int64_t age_ms, const std::string& id) {
    return trash / (compact_utc_stamp(now - age_ms) + "-" + id);
  };
  const fs::path replaced = entry(40 * kDayMs, "upgrade-1");  // a stamp far in the past
  write(replaced / "replaced" / "01.flac", "old copy");
  const fs::path rejected = entry(40 * kDayMs, "reject-2");
  fs::create_directories(rejected);
  const fs::path stale = entry(40 * kDayMs, "import-3");
  write(stale / "leftovers" / "x", "x");
  const fs::path young = entry(10 * 60'000, "delete-4");  // ten minutes old, no journal
  write(young / "01.flac", "y");
  fs::create_directory_symlink(trash, dir_ / "trash-link");  // the journal's spelling of it

  AlbumMover mover(journal);
  write(dir_ / "library" / "A" / "02.flac", "old copy 2");
  write(dir_ / "import" / "review" / "R" / "01.flac", "rejected");
  AlbumMove move;
  move.id = "upgrade-1";
  move.steps.push_back({dir_ / "library" / "A" / "02.flac", replaced / "replaced" / "02.flac"});
  move.steps.push_back({dir_ / "import" / "review" / "R" / "01.flac",
                        dir_ / "trash-link" / rejected.filename() / "01.flac"});
  mover.begin(move);
  mover.apply(move);  // in flight: applied, not committed

  EXPECT_EQ(purge_trash(trash, 0, now, journal), 1);
  EXPECT_FALSE(lexists(stale));
  EXPECT_EQ(slurp(replaced / "replaced" / "01.flac"), "old copy");
  EXPECT_TRUE(fs::exists(rejected / "01.flac"));
  EXPECT_TRUE(fs::exists(young / "01.flac"));

  mover.roll_back(move);  // what the rollback needs is still there
  EXPECT_EQ(slurp(dir_ / "library" / "A" / "02.flac"), "old copy 2");
  EXPECT_EQ(slurp(dir_ / "import" / "review" / "R" / "01.flac"), "rejected");
  EXPECT_EQ(purge_trash(trash, 0, now, journal), 2);  // no journal names them now
  EXPECT_TRUE(fs::exists(young / "01.flac"));
}

// A journal that cannot be read may name any entry: nothing is purged.
TEST_F(MaintenanceTest, PurgeTrashRemovesNothingWhileAJournalCannotBeRead) {
  const int64_t now = unix_now_ms();
  const fs::path trash = dir_ / "trash";
  const fs::path old = trash / (compact_utc_stamp(now - 40 * kDayMs) + "-upgrade-9");
  write(old / "01.flac", "old");
  write(dir_ / "journal" / "upgrade-9.json", "{\"version\": 1, \"id\": ");  // torn
  EXPECT_EQ(purge_trash(trash, 0, now, dir_ / "journal"), 0);
  EXPECT_TRUE(fs::exists(old / "01.flac"));
  fs::remove(dir_ / "journal" / "upgrade-9.json");
  EXPECT_EQ(purge_trash(trash, 0, now, dir_ / "journal"), 1);
}

// --- update_album_stats ---------------------------------------------------

TEST_F(MaintenanceTest, UpdateAlbumStatsFixesWrongCountsOnce) {
  int64_t right = add_album("Right", {1, 1, 2}, 3, 3, 2);
  int64_t wrong = add_album("Wrong", {1, 2, 2, 3}, 9, 1, 1);
  int64_t empty = add_album("Empty", {}, 0, 0, 1);

  EXPECT_EQ(update_album_stats(*store_), 1);
  Album a = album(wrong);
  EXPECT_EQ(a.total_tracks, 4);
  EXPECT_EQ(a.available_tracks, 4);
  EXPECT_EQ(a.disc_count, 3);
  a = album(right);
  EXPECT_EQ(a.total_tracks, 3);
  EXPECT_EQ(a.disc_count, 2);
  EXPECT_EQ(album(empty).total_tracks, 0);
  EXPECT_EQ(album(empty).disc_count, 1);

  EXPECT_EQ(update_album_stats(*store_), 0);

  // A track gone behind the importer's back is noticed.
  store_->write([&](StoreSession& s) {
    s.library().delete_track(s.library().album_tracks(right).back().id);
  });
  EXPECT_EQ(update_album_stats(*store_), 1);
  EXPECT_EQ(album(right).total_tracks, 2);
  EXPECT_EQ(album(right).disc_count, 1);
}

// --- repair_user_links ----------------------------------------------------

TEST_F(MaintenanceTest, RepairUserLinksRecreatesMissingAndRemovesDangling) {
  const fs::path library = dir_ / "library";
  const fs::path users = dir_ / "users";
  // Created first so its failure comes before the others are repaired.
  int64_t carol = add_user("carol");
  int64_t alice = add_user("alice");
  add_user("bob");
  int64_t album_id = add_album("Record", {1, 1}, 2, 2, 1);
  std::vector<Track> tracks =
      store_->read([&](StoreSession& s) { return s.library().album_tracks(album_id); });
  for (const Track& t : tracks) write(library / t.path, "audio " + t.path);
  int64_t bad_album = add_album("Bad", {1}, 1, 1, 1);
  store_->write([&](StoreSession& s) {
    Track t = s.library().album_tracks(bad_album).front();
    t.path = "../escape.flac";  // refused by UserLinks: carol's repair throws
    s.library().update_track(t);
    s.library().heart_album(alice, album_id);
    s.library().heart_album(carol, bad_album);
  });
  UserLinks links(library, users);

  RepairLinksResult first = repair_user_links(*store_, links);
  EXPECT_EQ(first.users, 3);
  EXPECT_EQ(first.created, 2);
  EXPECT_EQ(first.removed, 0);
  EXPECT_EQ(first.failed, 1);

  const fs::path alice_first = users / "alice" / tracks[0].path;
  ASSERT_TRUE(fs::exists(alice_first));
  fs::remove(alice_first);
  const fs::path dangling = users / "bob" / "Artist" / "Gone" / "01.flac";
  fs::create_directories(dangling.parent_path());
  fs::create_symlink(library / "Artist" / "Gone" / "01.flac", dangling);

  RepairLinksResult second = repair_user_links(*store_, links);
  EXPECT_EQ(second.users, 3);
  EXPECT_EQ(second.created, 1);
  EXPECT_EQ(second.removed, 1);
  EXPECT_EQ(second.failed, 1);
  EXPECT_EQ(slurp(alice_first), "audio " + tracks[0].path);
  EXPECT_FALSE(lexists(dangling));

  RepairLinksResult third = repair_user_links(*store_, links);
  EXPECT_EQ(third.created, 0);
  EXPECT_EQ(third.removed, 0);
}

}  // namespace
}  // namespace barbossa
