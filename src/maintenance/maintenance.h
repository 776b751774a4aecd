// The scheduled maintenance jobs' work (SPEC 8), as plain functions the job
// handlers call. Each is idempotent, so an at-least-once job may run it again
// after a crash; times are passed in so tests choose them.
#pragma once

#include <cstdint>
#include <filesystem>

#include "files/user_links.h"
#include "store/store.h"

namespace barbossa {

struct BackupResult {
  std::filesystem::path path;  // the new backup
  int64_t bytes = 0;           // its size
  int deleted = 0;             // older backups removed to keep `keep`
};

// backup-database: an online copy of the whole database to
// backup_dir/barbossa-<compact utc stamp of now_ms>.db, complete and synced
// before it takes that name, then only the newest `keep` (at least 1) files
// named like that are kept; other files in backup_dir are never touched.
// Creates backup_dir. Throws std::invalid_argument for keep < 1 and
// std::runtime_error when the store cannot back up (not SQLite) or the copy
// fails, in which case no old backup is deleted.
BackupResult backup_database(Store& store, const std::filesystem::path& backup_dir, int keep,
                             int64_t now_ms);

// cleanup-downloads' trash part: removes each top-level entry of trash_dir
// (`<compact utc stamp>-<id>`, as the importer and album deletion name them)
// older than `days` days by the stamp in its name, or by its own mtime when
// the name has none; days == 0 removes every entry at least an hour old.
// Files never vanish outside the journal: an entry that a journal in
// journal_dir names (an upgrade's old copy, a rejected folder, while their
// move is uncommitted and a rollback may need them) is kept whatever its
// age, and when a journal cannot be read nothing is removed (logged). The
// hour is a belt for a move whose journal is not there yet. Symlinks are
// removed as links, never followed, so nothing outside the trash is touched.
// An entry that cannot be removed is logged and skipped. Returns entries
// removed; a missing trash_dir is 0. Throws std::invalid_argument for days < 0.
int64_t purge_trash(const std::filesystem::path& trash_dir, int days, int64_t now_ms,
                    const std::filesystem::path& journal_dir);

// update-album-stats: recounts total_tracks, available_tracks and disc_count
// of every album from its tracks in one write transaction, so counts that
// drifted (a track deleted or added outside the importer) are fixed. Returns
// the number of albums whose counts changed; 0 when all were right.
int64_t update_album_stats(Store& store);

struct RepairLinksResult {
  int64_t users = 0;    // users visited
  int64_t created = 0;  // links made
  int64_t removed = 0;  // dangling or unwanted links removed
  int64_t failed = 0;   // users whose repair threw (logged)
};

// repair-user-links: brings each user's folder in line with their hearts
// (UserLinks::sync with LibraryRepository::hearted_paths). One user's failure
// (a bad path, a permission) is logged and counted, and the others still run.
RepairLinksResult repair_user_links(Store& store, UserLinks& links);

}  // namespace barbossa
