#include "core/inbox_rules.h"

#include "core/normalize.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace barbossa {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

bool is_partial_download_name(std::string_view name) {
  // Browsers, torrent clients, yt-dlp, rsync and office tools; what they
  // write is renamed to its final name when it is done.
  static constexpr std::array<std::string_view, 12> kSuffixes = {
      ".part", ".partial", ".tmp",  ".temp",     ".crdownload", ".download",
      ".!qb",  ".!ut",     ".ytdl", ".filepart", ".aria2",      ".opdownload"};
  const std::string l = ascii_lower(name);
  for (std::string_view suffix : kSuffixes) {
    if (ends_with(l, suffix)) return true;
  }
  // yt-dlp fragments: "x.f251.webm.part-Frag12".
  if (l.find(".part-frag") != std::string::npos) return true;
  return false;
}

bool is_hidden_name(std::string_view name) {
  return !name.empty() && name.front() == '.';
}

void SettleTracker::touch(const std::string& key, int64_t now_ms, int64_t wall_ms,
                          bool moved_in_whole) {
  State& s = entries_[key];
  s.deadline_ms = moved_in_whole ? now_ms : now_ms + settle_ms_;
  s.last_touch_wall_ms = std::max(s.last_touch_wall_ms, wall_ms);
  s.moved_in_whole = moved_in_whole;
  s.previous_digest.reset();
}

void SettleTracker::touch_if_new(const std::string& key, int64_t now_ms, int64_t wall_ms) {
  if (entries_.count(key) == 0) touch(key, now_ms, wall_ms);
}

void SettleTracker::forget(const std::string& key) {
  entries_.erase(key);
}

std::vector<std::string> SettleTracker::due(int64_t now_ms) const {
  std::vector<std::string> keys;
  for (const auto& [key, state] : entries_) {
    if (state.deadline_ms <= now_ms) keys.push_back(key);
  }
  return keys;
}

std::optional<int64_t> SettleTracker::next_deadline() const {
  std::optional<int64_t> next;
  for (const auto& [key, state] : entries_) {
    if (!next || state.deadline_ms < *next) next = state.deadline_ms;
  }
  return next;
}

SettleVerdict SettleTracker::judge(const std::string& key, const EntrySnapshot& snapshot,
                                   int64_t now_ms) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return SettleVerdict::kGone;
  State& s = it->second;
  if (!snapshot.exists) {
    entries_.erase(it);
    return SettleVerdict::kGone;
  }
  auto wait = [&] {
    s.deadline_ms = now_ms + settle_ms_;
    s.moved_in_whole = false;
    return SettleVerdict::kWaiting;
  };
  if (snapshot.has_partial) {
    s.previous_digest.reset();
    return wait();
  }
  const bool quiet_since_last_event = snapshot.newest_mtime_ms <= s.last_touch_wall_ms;
  const bool unchanged_since_last_look = s.previous_digest && *s.previous_digest == snapshot.digest;
  if (s.moved_in_whole || quiet_since_last_event || unchanged_since_last_look) {
    entries_.erase(it);
    return SettleVerdict::kReady;
  }
  s.previous_digest = snapshot.digest;
  return wait();
}

}  // namespace barbossa
