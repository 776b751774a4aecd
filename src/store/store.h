// Store: the one door to persistent state. Repositories are reached through a
// StoreSession, which is one database connection leased for the caller's
// scope; a write session is one transaction that commits only when asked, so
// an exception anywhere rolls everything back. SQLite is the embedded backend;
// PostgreSQL implements the same interfaces later.
//
// Each repository and its records has its own header (included here, so a
// caller needs only this one); the SQLite implementation is under sqlite/.
// Repositories throw StoreError (store/store_error.h), never ApiError.
//
// Thread-safety: a Store is shared by all threads; a StoreSession belongs to
// the thread that opened it and must not outlive its scope.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <type_traits>

#include "store/activity_repository.h"
#include "store/download_repository.h"
#include "store/import_repository.h"
#include "store/job_repository.h"
#include "store/library_repository.h"
#include "store/meta_repository.h"
#include "store/move_repository.h"
#include "store/page.h"
#include "store/schedule_repository.h"
#include "store/store_error.h"
#include "store/user_repository.h"

namespace barbossa {

class StoreSession {
 public:
  virtual ~StoreSession() = default;  // rolls back an uncommitted write session
  virtual UserRepository& users() = 0;
  virtual LibraryRepository& library() = 0;
  virtual ActivityRepository& activity() = 0;
  virtual MetaRepository& meta() = 0;
  virtual ImportRepository& imports() = 0;
  virtual MoveRepository& moves() = 0;
  virtual JobRepository& jobs() = 0;
  virtual ScheduleRepository& schedules() = 0;
  virtual DownloadRepository& downloads() = 0;
  virtual void commit() = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Applies every pending numbered migration; safe to call at each start.
  // Returns the number of migrations applied.
  virtual int migrate() = 0;
  virtual int schema_version() = 0;
  virtual int latest_schema_version() const = 0;
  // Cheap liveness probe for health reporting.
  virtual bool ping() = 0;

  // Writes a consistent copy of the whole database to `destination` while
  // the store stays in use (SPEC 8 backup-database). The copy appears under
  // that name complete and on disk, or not at all: a crash leaves at most a
  // temporary file beside it. Throws std::runtime_error when the backend
  // cannot back up or the copy fails.
  virtual void backup_to(const std::filesystem::path& destination) = 0;

  // durable: only with write; see write_durable().
  virtual std::unique_ptr<StoreSession> open_session(bool write, bool durable = false) = 0;

  template <typename F>
  auto read(F&& f) {
    auto session = open_session(false);
    return f(*session);
  }

  // Like write(), but the commit is on disk when this returns, whatever the
  // backend's usual sync level: for commits that files depend on (the album
  // mover deletes its journal right after).
  template <typename F>
  auto write_durable(F&& f) {
    auto session = open_session(true, /*durable=*/true);
    if constexpr (std::is_void_v<decltype(f(*session))>) {
      f(*session);
      session->commit();
    } else {
      auto result = f(*session);
      session->commit();
      return result;
    }
  }

  template <typename F>
  auto write(F&& f) {
    auto session = open_session(true);
    if constexpr (std::is_void_v<decltype(f(*session))>) {
      f(*session);
      session->commit();
    } else {
      auto result = f(*session);
      session->commit();
      return result;
    }
  }
};

// url: "sqlite:///abs/path.db", "sqlite://relative.db" or a bare path.
// Throws std::runtime_error for an unsupported scheme or an unopenable file.
std::unique_ptr<Store> open_store(const std::string& url);

}  // namespace barbossa