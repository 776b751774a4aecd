// The database side of a journaled change (files/journaled_change.h): the
// change's rows and the mark that its move is committed, written in one
// durable transaction, so the files and the records land together or not
// at all. Every site that moves library or import files uses it.
#pragma once

#include <utility>

#include "files/journaled_change.h"
#include "store/store.h"

namespace barbossa {

// Applies `move` (null: no files to move), then runs write_rows(session) in
// one durable write transaction that also marks the move committed.
template <class WriteRows>
void commit_journaled_change(Store& store, AlbumMover* mover, const AlbumMove* move,
                             WriteRows&& write_rows, const ChangeTidy& tidy = {}) {
  run_journaled_change(
      mover, move,
      [&] {
        store.write_durable([&](StoreSession& s) {
          write_rows(s);
          if (move != nullptr) s.imports().mark_move_committed(move->id);
        });
      },
      tidy);
}

}  // namespace barbossa
