// The filesystem side of the watch folder (SPEC §6): an inbox's entries and
// a snapshot of one entry, shared by the inotify watcher, the start-up scan
// and the periodic scan so all three judge completeness the same way. The
// judging itself (settle times, partial names) is core/inbox_rules.h.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/inbox_rules.h"

namespace barbossa {

struct Inbox {
  std::filesystem::path root;  // absolute, normalized
  bool copy = false;           // WATCH_DIRS: copy out and leave in place (seeding)
  std::string source = "watch";
};

// One thing to import: a top-level folder, or (loose_files) the loose audio
// files at the top of the inbox, whose key is the inbox root itself.
struct InboxEntry {
  std::filesystem::path path;
  bool loose_files = false;
};

// Top-level non-hidden folders, plus one loose-files entry when audio files
// (or partial downloads) lie at the top. Symlinks are not entries (an inbox
// must not pull in files from elsewhere). An unreadable inbox yields nothing
// and is logged.
std::vector<InboxEntry> list_inbox(const std::filesystem::path& root);

// Walks an entry without following symlinks. A folder or file that vanishes
// during the walk is skipped; when the entry itself is gone, exists is false.
EntrySnapshot snapshot_entry(const InboxEntry& entry);

// The loose audio files at the top of an inbox, sorted.
std::vector<std::filesystem::path> loose_audio_files(const std::filesystem::path& root);

// The dedupe key of an entry's import job: one per path, whoever found it.
std::string import_dedupe_key(const std::filesystem::path& entry_path);

}  // namespace barbossa
