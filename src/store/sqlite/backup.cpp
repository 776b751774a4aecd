#include "store/sqlite/backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

namespace barbossa::sqlite {
namespace {

// Online backup, on raw handles: SQLiteCpp has no backup into a file that is
// not yet a database, and the copy needs its own connections anyway.

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using SqliteHandle = std::unique_ptr<sqlite3, SqliteCloser>;

struct BackupFinisher {
  void operator()(sqlite3_backup* b) const { sqlite3_backup_finish(b); }
};
using BackupHandle = std::unique_ptr<sqlite3_backup, BackupFinisher>;

SqliteHandle open_raw(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  SqliteHandle db(raw);  // a failed open still returns a handle to close
  if (rc != SQLITE_OK) {
    throw std::runtime_error("cannot open '" + path +
                             "': " + (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  return db;
}

void fsync_or_throw(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + path.string());
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) throw std::system_error(err, std::generic_category(), "fsync " + path.string());
}

// The backup's temporary file and SQLite's journal beside it, removed unless
// the copy made it to its final name.
class TempBackupFile {
 public:
  explicit TempBackupFile(std::filesystem::path path) : path_(std::move(path)) { remove(); }
  TempBackupFile(const TempBackupFile&) = delete;
  TempBackupFile& operator=(const TempBackupFile&) = delete;
  ~TempBackupFile() {
    if (armed_) remove();
  }
  const std::filesystem::path& path() const { return path_; }
  void release() { armed_ = false; }

 private:
  void remove() {
    std::error_code ec;
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
      std::filesystem::remove(std::filesystem::path(path_.string() + suffix), ec);
    }
  }
  std::filesystem::path path_;
  bool armed_ = true;
};

// A backup step that meets a lock is retried this often, kBackupRetryDelay
// apart, before the backup fails (the next scheduled run tries again).
constexpr int kBackupBusyRetries = 100;
constexpr std::chrono::milliseconds kBackupRetryDelay{100};

}  // namespace

void backup_database_file(const std::string& source_path,
                          const std::filesystem::path& destination) {
  namespace fs = std::filesystem;
  fs::path dir = destination.parent_path();
  if (dir.empty()) dir = ".";
  // The same folder, so the rename is atomic; a leftover of a crashed
  // backup with this name is ours to replace.
  TempBackupFile temp(destination.string() + ".tmp");
  {
    // Its own connection, not a pooled one: the copy must not run inside a
    // session's transaction or change a pooled connection's settings. No
    // OPEN_CREATE: a vanished database is an error, not an empty backup.
    SqliteHandle source = open_raw(source_path, SQLITE_OPEN_READWRITE);
    sqlite3_busy_timeout(source.get(), 5000);
    SqliteHandle dest = open_raw(temp.path().string(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    BackupHandle backup(sqlite3_backup_init(dest.get(), "main", source.get(), "main"));
    if (!backup) throw std::runtime_error(std::string("backup: ") + sqlite3_errmsg(dest.get()));
    // -1: every page in one step, inside one read transaction of the
    // source, so the copy is one consistent snapshot; under WAL that read
    // does not block writers.
    int rc = SQLITE_OK;
    for (int attempt = 0;; ++attempt) {
      rc = sqlite3_backup_step(backup.get(), -1);
      if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || attempt >= kBackupBusyRetries) break;
      std::this_thread::sleep_for(kBackupRetryDelay);
    }
    if (rc != SQLITE_DONE) {
      throw std::runtime_error(std::string("backup: ") + sqlite3_errstr(rc));
    }
    rc = sqlite3_backup_finish(backup.release());
    if (rc != SQLITE_OK) {
      throw std::runtime_error(std::string("backup: ") + sqlite3_errmsg(dest.get()));
    }
    // The copy carries the source's WAL flag; a backup should be one
    // self-contained file that opens anywhere, so it goes back to a
    // rollback journal.
    char* error = nullptr;
    if (sqlite3_exec(dest.get(), "PRAGMA journal_mode = DELETE", nullptr, nullptr, &error) !=
        SQLITE_OK) {
      std::string message = error != nullptr ? error : "unknown error";
      sqlite3_free(error);
      throw std::runtime_error("backup: " + message);
    }
    // Closed (checked) before the fsync, so every page is written.
    if (sqlite3_close(dest.get()) != SQLITE_OK) {
      throw std::runtime_error(std::string("backup: cannot close: ") + sqlite3_errmsg(dest.get()));
    }
    dest.release();
  }
  fsync_or_throw(temp.path());
  fs::rename(temp.path(), destination);
  temp.release();
  // The rename itself is durable only once the folder is synced.
  fsync_or_throw(dir);
}

}  // namespace barbossa::sqlite
