// The album mover's commit points (files/album_mover.h): a journaled move is
// committed once its id is recorded, in the same transaction as the rows the
// move is for, so after a crash recovery knows whether to finish the move or
// roll it back.
#pragma once

#include <string>

namespace barbossa {

class MoveRepository {
 public:
  virtual ~MoveRepository() = default;
  // Idempotent: recording the same id twice is one record.
  virtual void mark_move_committed(const std::string& move_id) = 0;
  virtual bool is_move_committed(const std::string& move_id) = 0;
};

}  // namespace barbossa
