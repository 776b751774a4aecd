// SQLite connections, each with its statement cache, and the small pool
// sessions lease them from.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "store/sqlite/statement_cache.h"

namespace barbossa::sqlite {

// One pooled connection with its statement cache. The cache is declared after
// the database so it is destroyed first: sqlite3_close() refuses to close a
// connection that still has unfinalized statements, and SQLiteCpp would then
// leak the handle. Dropping a connection thus drops its cache with it.
class Connection {
 public:
  // Opens (creating) the file and applies the connection pragmas.
  explicit Connection(const std::string& path);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  SQLite::Database& db() { return db_; }
  StatementHandle statement(std::string_view sql) { return cache_.get(sql); }

 private:
  SQLite::Database db_;
  StatementCache cache_;
};

class ConnectionPool;

// A leased connection; hands it back to the pool when it goes out of scope.
class Lease {
 public:
  Lease(ConnectionPool* pool, std::unique_ptr<Connection> conn)
      : pool_(pool), conn_(std::move(conn)) {}
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  ~Lease();

  Connection& conn() { return *conn_; }
  SQLite::Database& db() { return conn_->db(); }

 private:
  ConnectionPool* pool_;
  std::unique_ptr<Connection> conn_;
};

// Idle connections are kept for reuse; a lease never waits (see
// kMaxIdleConnections in connection_pool.cpp).
class ConnectionPool {
 public:
  explicit ConnectionPool(std::string path) : path_(std::move(path)) {}

  Lease acquire();

  void release(std::unique_ptr<Connection> conn);

 private:
  const std::string path_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace barbossa::sqlite
