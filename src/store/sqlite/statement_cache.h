// A connection's prepared statements, keyed by SQL text, so SQL is compiled
// once per connection instead of on every call.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace barbossa::sqlite {

// Prepared statements kept per connection. The repositories have about 75
// distinct texts (counting every variant of the WHERE clauses built per
// call), so all fit; the cap only bounds memory should that ever grow.
constexpr size_t kMaxCachedStatements = 128;

// A prepared statement lent out for one use. It is reset when the handle goes
// out of scope: a SELECT left mid-iteration (every single-row lookup stops
// after one step) would otherwise keep its implicit read transaction open, so
// later reads on the connection would see an old snapshot and its next
// BEGIN IMMEDIATE would fail with SQLITE_BUSY_SNAPSHOT, which the busy
// timeout cannot wait out.
class StatementHandle {
 public:
  // Lent by the cache, which marks it busy until this handle is gone.
  StatementHandle(SQLite::Statement& statement, bool& in_use)
      : statement_(&statement), in_use_(&in_use) {
    in_use = true;
  }
  // Not cached (see StatementCache::get): owned and finalized here.
  explicit StatementHandle(std::unique_ptr<SQLite::Statement> owned)
      : statement_(owned.get()), owned_(std::move(owned)) {}
  StatementHandle(const StatementHandle&) = delete;
  StatementHandle& operator=(const StatementHandle&) = delete;
  ~StatementHandle() {
    // The result is the last step's error, already thrown by that step.
    statement_->tryReset();
    if (in_use_ != nullptr) *in_use_ = false;
  }

  SQLite::Statement& operator*() const { return *statement_; }
  SQLite::Statement* operator->() const { return statement_; }

 private:
  SQLite::Statement* statement_;
  bool* in_use_ = nullptr;
  std::unique_ptr<SQLite::Statement> owned_;
};

// The prepared statements of one connection, keyed by SQL text, so SQL is
// compiled once per connection instead of on every call. Only the thread
// holding the connection's lease uses it, hence no locking. Schema changes
// (migrations, another process) need no invalidation: statements prepared
// with sqlite3_prepare_v2, as SQLiteCpp does, are recompiled by SQLite on
// their next step.
class StatementCache {
 public:
  explicit StatementCache(SQLite::Database& db) : db_(db) {}
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  StatementHandle get(std::string_view sql);

 private:
  struct Entry {
    Entry(SQLite::Database& db, std::string_view sql) : statement(db, std::string(sql)) {}
    SQLite::Statement statement;
    uint64_t last_used = 0;
    bool in_use = false;  // lent to a live handle: must not be evicted
  };

  // Heterogeneous lookup: a call site's SQL literal needs no std::string.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  // Drops the least recently used idle statement; false when all are lent.
  // A linear scan is fine: it only runs once the cap is reached.
  bool evict_one();

  SQLite::Database& db_;
  // Node-based: an entry stays put while others are added or erased, so a
  // handle's pointers into it remain valid.
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
  uint64_t clock_ = 0;
};

}  // namespace barbossa::sqlite
