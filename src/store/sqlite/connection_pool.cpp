#include "store/sqlite/connection_pool.h"

#include <sqlite3.h>

#include <utility>

namespace barbossa::sqlite {

namespace {

// ---------------------------------------------------------------------------
// Connections

// Busy timeout first: switching to WAL takes a lock another connection may
// hold at that moment.
constexpr const char* kConnectionPragmas =
    "PRAGMA busy_timeout = 5000;"
    "PRAGMA journal_mode = WAL;"
    "PRAGMA foreign_keys = ON;"
    "PRAGMA synchronous = NORMAL;";

// Idle connections kept for reuse. More may be open at once (one per live
// session); the extras are closed when returned. Never blocking on a lease
// means a thread holding a session can open another without deadlocking.
constexpr size_t kMaxIdleConnections = 8;

}  // namespace

Connection::Connection(const std::string& path)
    : db_(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE), cache_(db_) {
  db_.exec(kConnectionPragmas);
}

Lease ConnectionPool::acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn));
    }
  }
  // Opening does I/O, so outside the lock.
  return Lease(this, std::make_unique<Connection>(path_));
}

void ConnectionPool::release(std::unique_ptr<Connection> conn) {
  // A connection stuck inside a transaction (a failed rollback) would hand
  // its open transaction to the next session; closing it rolls it back.
  // Its cached statements go with it.
  if (sqlite3_get_autocommit(conn->db().getHandle()) == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < kMaxIdleConnections) idle_.push_back(std::move(conn));
}

Lease::~Lease() {
  if (conn_) pool_->release(std::move(conn_));
}

}  // namespace barbossa::sqlite
