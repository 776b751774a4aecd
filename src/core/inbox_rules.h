// Rules of the watch folder (SPEC §6) without any I/O: which names are
// partial downloads or hidden, and when an inbox entry counts as complete.
//
// An entry is a top-level folder of an inbox, or all the loose audio files at
// its top together (they are grouped into albums by their tags only once all
// of them are quiet, so an album copied file by file is not split).
//
// Complete means: no filesystem event for the settle time, no partial names,
// and every file's size and mtime unchanged across that time. The watcher
// sees most changes as events; what it may not see (writes through a mount
// that sends no events, events lost to a queue overflow) shows in the
// snapshot: a newest mtime later than the last event seen means the entry
// changed silently, so the snapshot's digest is kept and compared one settle
// time later. A folder moved in whole (one rename) is complete at once.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace barbossa {

// ".part", ".tmp", ".crdownload", ".!qB", yt-dlp's ".part-Frag3" and ".ytdl"...
// Case-insensitive.
bool is_partial_download_name(std::string_view name);
// Dot-names at the top of an inbox (".DS_Store", a sync tool's ".stfolder",
// our own ".barbossa-loose-*") are never entries of their own.
bool is_hidden_name(std::string_view name);

// What the watcher saw of an entry on disk at one moment.
struct EntrySnapshot {
  bool exists = false;
  bool has_partial = false;     // some file inside has a partial-download name
  int64_t newest_mtime_ms = 0;  // over every file and folder inside
  uint64_t digest = 0;          // over (relative path, size, mtime) of everything
  int64_t files = 0;
};

enum class SettleVerdict {
  kReady,    // complete: queue the import
  kWaiting,  // not yet: re-armed for another settle time
  kGone,     // vanished: forgotten
};

// Deadlines per entry key (the entry's absolute path). Times: `now_ms` is a
// monotonic clock for deadlines, `wall_ms` the wall clock mtimes compare to.
// Not thread-safe: one owner (the watcher's thread).
class SettleTracker {
 public:
  explicit SettleTracker(int64_t settle_ms) : settle_ms_(settle_ms) {}

  // A filesystem event inside the entry: (re)arms its deadline. A folder
  // renamed in whole is due at once; any later event makes it wait again.
  void touch(const std::string& key, int64_t now_ms, int64_t wall_ms, bool moved_in_whole = false);
  // From a scan: arms the entry only when it is not already waiting, so a
  // periodic scan never delays an entry the watcher is timing.
  void touch_if_new(const std::string& key, int64_t now_ms, int64_t wall_ms);
  void forget(const std::string& key);
  bool tracking(const std::string& key) const { return entries_.count(key) > 0; }
  size_t size() const { return entries_.size(); }

  std::vector<std::string> due(int64_t now_ms) const;
  std::optional<int64_t> next_deadline() const;

  // Judges a due entry by its snapshot. kReady and kGone forget the entry;
  // kWaiting re-arms it for another settle time.
  SettleVerdict judge(const std::string& key, const EntrySnapshot& snapshot, int64_t now_ms);

 private:
  struct State {
    int64_t deadline_ms = 0;
    int64_t last_touch_wall_ms = 0;
    bool moved_in_whole = false;
    std::optional<uint64_t> previous_digest;  // set after a silent change
  };
  int64_t settle_ms_;
  std::map<std::string, State> entries_;
};

}  // namespace barbossa
