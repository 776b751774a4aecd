// MoveRepository contract: the album mover's commit points live and die
// with their transaction; durable writes.

#include <gtest/gtest.h>

#include <stdexcept>

#include "store/store.h"
#include "unit/store/store_fixture.h"

namespace barbossa::test {
namespace {

class MovesContract : public StoreContractTest {};

TEST_P(MovesContract, CommittedMovesAndHistory) {
  store_->write([&](StoreSession& s) {
    s.imports().mark_move_committed("import-1");
    s.imports().mark_move_committed("import-1");  // idempotent
    ImportHistoryRow h;
    h.normalized_artist = "a";
    h.normalized_album = "x";
    h.normalized_track = "one";
    h.sha256 = "ff";
    s.imports().add_history(h);
  });
  store_->read([&](StoreSession& s) {
    EXPECT_TRUE(s.imports().is_move_committed("import-1"));
    EXPECT_FALSE(s.imports().is_move_committed("import-2"));
  });
  // Rolled back with its transaction: the commit point is the transaction.
  {
    auto session = store_->open_session(true);
    session->imports().mark_move_committed("import-3");
  }
  EXPECT_FALSE(
      store_->read([&](StoreSession& s) { return s.imports().is_move_committed("import-3"); }));
}

TEST_P(MovesContract, DurableWriteCommitsAndLaterWritesStillWork) {
  store_->write_durable([&](StoreSession& s) { s.imports().mark_move_committed("durable-1"); });
  EXPECT_TRUE(
      store_->read([&](StoreSession& s) { return s.imports().is_move_committed("durable-1"); }));
  EXPECT_THROW(store_->write_durable([&](StoreSession& s) {
    s.imports().mark_move_committed("durable-2");
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  EXPECT_FALSE(
      store_->read([&](StoreSession& s) { return s.imports().is_move_committed("durable-2"); }));
  make_user("after");  // the pooled connection is usable afterwards
}

// moves() and imports() are one table: either records, both see it.
TEST_P(MovesContract, MovesAndImportsShareTheCommitPoints) {
  store_->write([&](StoreSession& s) { s.moves().mark_move_committed("via-moves"); });
  store_->write([&](StoreSession& s) { s.imports().mark_move_committed("via-imports"); });
  store_->read([&](StoreSession& s) {
    EXPECT_TRUE(s.imports().is_move_committed("via-moves"));
    EXPECT_TRUE(s.moves().is_move_committed("via-imports"));
    EXPECT_FALSE(s.moves().is_move_committed("neither"));
  });
}

BARBOSSA_STORE_CONTRACT(MovesContract);

}  // namespace
}  // namespace barbossa::test
