#include "store/sqlite/session.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <utility>

namespace barbossa::sqlite {

SqliteSession::SqliteSession(Lease lease, bool write, bool durable)
    : lease_(std::move(lease)),
      write_(write),
      durable_(write && durable),
      users_(lease_.conn()),
      library_(lease_.conn()),
      activity_(lease_.conn()),
      meta_(lease_.conn()),
      imports_(lease_.conn()),
      moves_(lease_.conn()),
      jobs_(lease_.conn()),
      schedules_(lease_.conn()),
      downloads_(lease_.conn()) {
  // IMMEDIATE takes the write lock now, under the busy timeout, instead of
  // failing with SQLITE_BUSY when a read later upgrades to a write.
  // WAL with synchronous=NORMAL makes a commit durable only at the next
  // checkpoint; FULL syncs the WAL at commit. The level is a connection
  // setting that cannot change inside a transaction: set it before BEGIN,
  // restore it for the pool's next user in the destructor.
  if (durable_) lease_.db().exec("PRAGMA synchronous = FULL");
  if (write_) lease_.db().exec("BEGIN IMMEDIATE");
}

SqliteSession::~SqliteSession() {
  end_transaction();
  if (durable_ && sqlite3_get_autocommit(lease_.db().getHandle()) != 0) {
    try {
      lease_.db().exec("PRAGMA synchronous = NORMAL");
    } catch (const SQLite::Exception&) {
      // Only costs speed on this connection.
    }
  }
}

void SqliteSession::end_transaction() {
  if (!write_ || committed_) return;
  // Errors such as disk full may already have ended the transaction.
  if (sqlite3_get_autocommit(lease_.db().getHandle()) != 0) return;
  try {
    lease_.db().exec("ROLLBACK");
  } catch (const SQLite::Exception&) {
    // The pool drops a connection still inside a transaction.
  }
}

void SqliteSession::commit() {
  if (!write_ || committed_) return;
  lease_.db().exec("COMMIT");
  committed_ = true;
}

}  // namespace barbossa::sqlite
