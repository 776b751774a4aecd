// Moves an album's files into the library atomically, with a journal so a
// crash at any point is finished or rolled back at the next start.
//
// Protocol (the database transaction is the commit point):
//   1. begin(): the journal lists every step (file to library, replaced file
//      to trash) and is written durably before anything moves.
//   2. apply(): performs the steps in order. Copy mode (or a move across
//      filesystems) copies, fsyncs and verifies instead of renaming.
//   3. The caller records the album in the database in one transaction that
//      also marks the journal id committed.
//   4. finish(): removes sources (copy of a move across filesystems), prunes
//      emptied source folders, deletes the journal.
// recover() looks at each journal left behind by a dead process: committed
// in the database -> finish it; not committed -> undo every step that
// happened, so the files are back where they were. It runs at start-up and,
// in the server, periodically (a `barbossa import` beside the server may die
// at any time); ownership makes that safe: the process running a move holds
// an flock on its journal, so recover() touches only orphans.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "files/journal_file.h"

namespace barbossa {

struct MoveStep {
  std::filesystem::path from;  // absolute
  std::filesystem::path to;    // absolute
  bool keep_source = false;    // copy (import --copy, WATCH_DIRS): the source stays
};

struct AlbumMove {
  std::string id;  // unique; the database records it on commit
  std::vector<MoveStep> steps;
  std::filesystem::path source_root;  // pruned of empty folders by finish(); may be empty
};

// Exclusive hold on one folder (an album's in the library, a review item's)
// for the whole of a change to it: import or upgrade, delete, approve or
// reject. Never two movers on one folder. Released when destroyed.
class FolderLease {
 public:
  FolderLease() = default;
  FolderLease(FolderLease&& other) noexcept;
  FolderLease& operator=(FolderLease&& other) noexcept;
  FolderLease(const FolderLease&) = delete;
  FolderLease& operator=(const FolderLease&) = delete;
  ~FolderLease();
  bool held() const { return fd_ >= 0; }

 private:
  friend class AlbumMover;
  void release() noexcept;
  int fd_ = -1;
  std::filesystem::path lock_file_;
};

class AlbumMover {
 public:
  // journal_dir holds one file per move in flight; created when missing.
  explicit AlbumMover(std::filesystem::path journal_dir);
  ~AlbumMover();
  AlbumMover(const AlbumMover&) = delete;
  AlbumMover& operator=(const AlbumMover&) = delete;

  // Test hook: when > 0, the process kills itself (SIGKILL) after this many
  // steps of apply(), to prove recovery.
  void set_crash_after_steps(size_t steps) { crash_after_steps_ = steps; }

  // Throws, writing nothing, when a source is missing, a target exists
  // (unless an earlier step moves that file away: an upgrade's trash step),
  // or the plan chains (a source that is another step's target, or is used
  // by two steps).
  void begin(const AlbumMove& move);
  // On failure undoes the steps already done, deletes the journal and rethrows.
  void apply(const AlbumMove& move);
  void finish(const AlbumMove& move);
  // Undo after apply() when the database transaction failed.
  void roll_back(const AlbumMove& move);

  // is_committed(id): did the database record this move?
  // Returns the number of journals resolved. A journal whose move is still
  // in flight in a live process (this one, or a server running beside the
  // `barbossa import` command) is skipped: each move holds an flock on its
  // journal (taken on its temp file before the first byte is written) from
  // begin() until finish()/roll_back() or a failed apply() gives the move up;
  // the kernel releases it when the process dies. Temp files of journals
  // whose writer died are removed; a locked one is left alone. A corrupt
  // journal is logged and moved aside as <name>.bad; a journal whose recovery
  // fails (is_committed throws, a file operation fails) is logged and kept
  // for the next recover().
  size_t recover(const std::function<bool(const std::string& id)>& is_committed);

  // Leases `folder` (compared by its canonical path, so every spelling of
  // it through symlinks or relative paths is one lease). wait: block
  // until the holder lets go; else return an empty lease at once when it is
  // held. It is an flock on a lock file named after the folder,
  // <journal_dir>/<sha256 of the path>.lease, so it excludes other threads and other processes
  // (`barbossa import` beside the server) alike, and a crash releases it.
  FolderLease lease_folder(const std::filesystem::path& folder, bool wait);

  const std::filesystem::path& journal_dir() const { return journal_dir_; }

 private:
  std::filesystem::path journal_path(const std::string& id) const;
  // Writes the journal with an flock held from its creation (see recover()).
  void write_journal(const std::string& id, const std::string& text);
  void unlock_journal(const std::string& id);

  std::filesystem::path journal_dir_;
  size_t crash_after_steps_ = 0;
  std::mutex locks_mutex_;
  std::map<std::string, LockedFile> journal_locks_;  // move id -> its journal, locked
};

// Every path the journals in `journal_dir` name (each step's source and
// target, each move's source root): what a move in flight, or the recovery of
// a dead one, may still read or restore, so nothing else (the trash purge)
// may delete it. A journal finished meanwhile is skipped; one that cannot be
// read throws, since what it names is unknown.
std::vector<std::filesystem::path> journaled_paths(const std::filesystem::path& journal_dir);

}  // namespace barbossa
