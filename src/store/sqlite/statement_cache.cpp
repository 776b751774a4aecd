#include "store/sqlite/statement_cache.h"

#include <utility>

namespace barbossa::sqlite {

StatementHandle StatementCache::get(std::string_view sql) {
  auto it = entries_.find(sql);
  if (it != entries_.end()) {
    Entry& e = it->second;
    if (e.in_use) {
      // The same text is already lent out further up this thread's stack;
      // sharing it would reset that caller's statement under it.
      return StatementHandle(std::make_unique<SQLite::Statement>(db_, std::string(sql)));
    }
    e.last_used = ++clock_;
    // Handles reset on release already; this also drops the previous
    // caller's bindings so no parameter can leak into this use.
    e.statement.tryReset();
    e.statement.clearBindings();
    return StatementHandle(e.statement, e.in_use);
  }
  if (entries_.size() >= kMaxCachedStatements && !evict_one()) {
    return StatementHandle(std::make_unique<SQLite::Statement>(db_, std::string(sql)));
  }
  // Prepared before insertion: SQL that fails to compile leaves no entry.
  Entry& e = entries_.try_emplace(std::string(sql), db_, sql).first->second;
  e.last_used = ++clock_;
  return StatementHandle(e.statement, e.in_use);
}

bool StatementCache::evict_one() {
  auto victim = entries_.end();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->second.in_use) continue;
    if (victim == entries_.end() || it->second.last_used < victim->second.last_used) victim = it;
  }
  if (victim == entries_.end()) return false;
  entries_.erase(victim);
  return true;
}

}  // namespace barbossa::sqlite
