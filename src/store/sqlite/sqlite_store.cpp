#include "store/sqlite/sqlite_store.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <filesystem>
#include <stdexcept>

#include "store/sqlite/backup.h"
#include "store/sqlite/connection_pool.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/session.h"

namespace barbossa::sqlite {
namespace {

class SqliteStore final : public Store {
 public:
  // Opens one connection at once, so a bad path fails here.
  explicit SqliteStore(const std::string& path);

  int migrate() override;

  int schema_version() override;

  int latest_schema_version() const override { return latest_sqlite_schema_version(); }

  bool ping() override;

  std::unique_ptr<StoreSession> open_session(bool write, bool durable) override;

  void backup_to(const std::filesystem::path& destination) override;

 private:
  const std::string path_;
  ConnectionPool pool_;
};

SqliteStore::SqliteStore(const std::string& path) : path_(path), pool_(path) {
  // Open one connection now so a bad path fails at startup, not at the
  // first request; it goes back to the pool for reuse.
  pool_.acquire();
}

int SqliteStore::migrate() {
  Lease lease = pool_.acquire();
  return apply_migrations(lease.db());
}

int SqliteStore::schema_version() {
  Lease lease = pool_.acquire();
  return applied_schema_version(lease.db());
}

bool SqliteStore::ping() {
  try {
    Lease lease = pool_.acquire();
    return lease.db().execAndGet("SELECT 1").getInt() == 1;
  } catch (const std::exception&) {
    return false;
  }
}

std::unique_ptr<StoreSession> SqliteStore::open_session(bool write, bool durable) {
  return std::make_unique<SqliteSession>(pool_.acquire(), write, durable);
}

void SqliteStore::backup_to(const std::filesystem::path& destination) {
  try {
    backup_database_file(path_, destination);
  } catch (const std::exception& e) {
    throw std::runtime_error("Cannot back up database '" + path_ + "' to '" + destination.string() +
                             "': " + e.what());
  }
}

// The database holds password hashes and everyone's hearts: owner-only. A new
// one is created empty with mode 0600 before SQLite opens it (SQLite makes its
// -wal and -shm with the database's mode); an existing one, and its -wal and
// -shm, lose any group and other bits.
void make_database_owner_only(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    return;
  }
  if (errno != EEXIST) return;  // SQLite's own open reports what is wrong
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    const std::string file = path + suffix;
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0) {
      ::chmod(file.c_str(), st.st_mode & 0700);
    }
  }
}

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string& path) {
  try {
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    make_database_owner_only(path);
    return std::make_unique<SqliteStore>(path);
  } catch (const std::exception& e) {
    throw std::runtime_error("Cannot open database '" + path + "': " + e.what());
  }
}

}  // namespace barbossa::sqlite
