#include "maintenance/maintenance.h"

#include <sys/stat.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/time.h"
#include "files/album_mover.h"

namespace barbossa {
namespace fs = std::filesystem;

namespace {

constexpr int64_t kMsPerDay = 86'400'000;
constexpr std::string_view kBackupPrefix = "barbossa-";
constexpr std::string_view kBackupSuffix = ".db";
constexpr size_t kStampLength = 16;  // 20261126T120000Z
// Whatever TRASH_DAYS says, an entry younger than this stays: a belt beside
// the journal check for a move that writes into the trash (see purge_trash).
constexpr int64_t kMinTrashAgeMs = 3'600'000;

// barbossa-<stamp>.db exactly: the only files backup retention may delete.
bool is_backup_name(const std::string& name) {
  if (name.size() != kBackupPrefix.size() + kStampLength + kBackupSuffix.size()) return false;
  if (name.compare(0, kBackupPrefix.size(), kBackupPrefix) != 0) return false;
  if (name.compare(name.size() - kBackupSuffix.size(), kBackupSuffix.size(), kBackupSuffix) != 0) {
    return false;
  }
  return parse_compact_utc_stamp(std::string_view(name).substr(kBackupPrefix.size(), kStampLength))
      .has_value();
}

// When a trash entry was made: the stamp its name starts with
// (`<stamp>-<id>`), else the entry's own mtime (lstat: a symlink's target
// says nothing about the entry).
std::optional<int64_t> trash_entry_time_ms(const fs::path& entry) {
  const std::string name = entry.filename().string();
  if (name.size() >= kStampLength && (name.size() == kStampLength || name[kStampLength] == '-')) {
    if (auto ms = parse_compact_utc_stamp(std::string_view(name).substr(0, kStampLength)))
      return ms;
  }
  struct stat st {};
  if (::lstat(entry.c_str(), &st) != 0) return std::nullopt;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
}

// Names of the top-level trash entries a journal names: an upgrade's old
// copy or a rejected folder still being moved in, or one a rollback must
// restore. Compared by canonical path, as the journal may spell the trash
// folder differently.
std::set<std::string> trash_entries_named_by_journals(const fs::path& trash_dir,
                                                      const fs::path& journal_dir) {
  std::set<std::string> names;
  if (journal_dir.empty()) return names;
  const fs::path trash = fs::weakly_canonical(fs::absolute(trash_dir));
  for (const fs::path& p : journaled_paths(journal_dir)) {
    const fs::path rel = fs::weakly_canonical(p).lexically_relative(trash);
    if (rel.empty() || *rel.begin() == ".." || *rel.begin() == ".") continue;
    names.insert(rel.begin()->string());
  }
  return names;
}

}  // namespace

BackupResult backup_database(Store& store, const fs::path& backup_dir, int keep, int64_t now_ms) {
  if (keep < 1) throw std::invalid_argument("backup keep must be at least 1");
  fs::create_directories(backup_dir);
  BackupResult result;
  result.path = backup_dir / (std::string(kBackupPrefix) + compact_utc_stamp(now_ms) +
                              std::string(kBackupSuffix));
  // Throws before anything is deleted: a failed backup never costs an old one.
  store.backup_to(result.path);
  result.bytes = static_cast<int64_t>(fs::file_size(result.path));

  // Stamps sort as text, so name order is age order. Symlinks and folders
  // are not ours even when named like a backup.
  std::vector<fs::path> older;
  for (const fs::directory_entry& e : fs::directory_iterator(backup_dir)) {
    std::error_code ec;
    if (!e.is_regular_file(ec) || e.is_symlink(ec)) continue;
    if (e.path() == result.path || !is_backup_name(e.path().filename().string())) continue;
    older.push_back(e.path());
  }
  // The new backup always counts as the newest, even if the clock went back
  // and an older run left a "later" stamp.
  std::sort(older.begin(), older.end(), std::greater<>());
  for (size_t i = static_cast<size_t>(keep - 1); i < older.size(); ++i) {
    std::error_code ec;
    if (fs::remove(older[i], ec)) {
      ++result.deleted;
    } else if (ec) {
      spdlog::warn("backup: cannot delete old backup {}: {}", older[i].string(), ec.message());
    }
  }
  return result;
}

int64_t purge_trash(const fs::path& trash_dir, int days, int64_t now_ms,
                    const fs::path& journal_dir) {
  if (days < 0) throw std::invalid_argument("trash days must not be negative");
  std::error_code ec;
  if (!fs::is_directory(trash_dir, ec)) return 0;

  // Collected first, removed after: removing while iterating is unspecified.
  std::vector<fs::path> entries;
  for (const fs::directory_entry& e : fs::directory_iterator(trash_dir))
    entries.push_back(e.path());

  // Read after the listing: a move that begins later writes into an entry of
  // its own (named after its id), which the listing does not hold.
  std::set<std::string> journaled;
  try {
    journaled = trash_entries_named_by_journals(trash_dir, journal_dir);
  } catch (const std::exception& e) {
    spdlog::warn("trash: not purged: cannot tell which entries a move in flight needs: {}",
                 e.what());
    return 0;
  }

  const int64_t max_age_ms = std::max(static_cast<int64_t>(days) * kMsPerDay, kMinTrashAgeMs);
  int64_t removed = 0;
  for (const fs::path& entry : entries) {
    if (journaled.count(entry.filename().string()) != 0) continue;
    std::optional<int64_t> made = trash_entry_time_ms(entry);
    if (!made || now_ms - *made <= max_age_ms) continue;
    // remove() takes a symlink itself; remove_all() only recurses into real
    // folders and removes the symlinks it meets inside as links.
    fs::file_status status = fs::symlink_status(entry, ec);
    if (ec) {
      if (ec == std::errc::no_such_file_or_directory) continue;  // gone meanwhile
      spdlog::warn("trash: cannot stat {}: {}", entry.string(), ec.message());
      continue;
    }
    if (fs::is_directory(status)) {
      fs::remove_all(entry, ec);
    } else {
      fs::remove(entry, ec);
    }
    if (ec) {
      spdlog::warn("trash: cannot remove {}: {}", entry.string(), ec.message());
      continue;
    }
    ++removed;
  }
  return removed;
}

int64_t update_album_stats(Store& store) {
  return store.write([](StoreSession& s) { return s.library().recount_album_stats(); });
}

RepairLinksResult repair_user_links(Store& store, UserLinks& links) {
  RepairLinksResult result;
  const std::vector<User> users = store.read([](StoreSession& s) { return s.users().list(); });
  for (const User& user : users) {
    ++result.users;
    try {
      // One short read per user: no connection is held during the
      // filesystem work, and only one user's paths are in memory.
      std::vector<std::string> wanted =
          store.read([&](StoreSession& s) { return s.library().hearted_paths(user.id); });
      auto [created, removed] = links.sync(user.username, wanted);
      result.created += static_cast<int64_t>(created);
      result.removed += static_cast<int64_t>(removed);
    } catch (const std::exception& e) {
      ++result.failed;
      spdlog::warn("repair-user-links: user {} ({}): {}", user.username, user.id, e.what());
    }
  }
  return result;
}

}  // namespace barbossa
