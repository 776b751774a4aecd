// One change of files and records that a crash leaves whole or undone: the
// sequence every move site runs (import, quality upgrade, review, reject,
// album delete), written once.
//
//   begin + apply the journaled move -> record (one durable database
//   transaction that also marks the move committed: the commit point) ->
//   on failure roll back, on success finish.
//
// The mover's recovery settles a crash between any two of these steps by the
// database's word on the move id (files/album_mover.h).
#pragma once

#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "files/album_mover.h"

namespace barbossa {

// Calls `visit` for every regular file and symlink below `root` (symlinks
// are not followed), in the order the directory walk meets them. Returns the
// error that ended the walk early; the files visited before it stay visited.
std::error_code walk_files(const std::filesystem::path& root,
                           const std::function<void(const std::filesystem::path&)>& visit);

// Appends one step per file below `from` (walk_files) to the same place
// below `to`, leaving out the files in `skip`. Returns walk_files' error.
std::error_code add_folder_steps(std::vector<MoveStep>& steps, const std::filesystem::path& from,
                                 const std::filesystem::path& to, bool keep_source,
                                 const std::set<std::filesystem::path>& skip = {});

// A unique move id, "<kind>-<unix ms>-<random hex>": it names the journal.
std::string new_move_id(const char* kind);

// A whole folder as one journaled move: every file below `from` to the same
// place below `to`; the emptied `from` is pruned by finish() unless
// keep_source. Throws std::runtime_error when `from` cannot be listed.
AlbumMove folder_move(const std::filesystem::path& from, const std::filesystem::path& to,
                      bool keep_source, const char* kind);

// What a site tidies beyond the mover: after a roll-back (a target folder
// the move emptied again) and after finish (a source folder it emptied).
struct ChangeTidy {
  std::function<void()> after_roll_back;
  std::function<void()> after_finish;
};

// Runs the sequence above. `move` may be null (a change of records alone;
// then `mover` may be null too). `record` must mark move->id committed in
// its transaction when there is a move. What apply() or `record` throws
// propagates after the files are back where they were.
void run_journaled_change(AlbumMover* mover, const AlbumMove* move,
                          const std::function<void()>& record, const ChangeTidy& tidy = {});

}  // namespace barbossa
