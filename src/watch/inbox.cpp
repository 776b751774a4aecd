#include "watch/inbox.h"

#include <sys/stat.h>

#include <algorithm>
#include <limits>
#include <system_error>

#include <spdlog/spdlog.h>

#include "media/audio_file.h"

namespace barbossa {

namespace fs = std::filesystem;

namespace {

// FNV-1a: the digest only has to tell "changed" from "unchanged".
struct Digest {
  uint64_t h = 1469598103934665603ULL;
  void add(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) {
      h ^= p[i];
      h *= 1099511628211ULL;
    }
  }
  void add(const std::string& s) { add(s.data(), s.size() + 1); }
  void add(int64_t v) { add(&v, sizeof v); }
};

int64_t mtime_ms(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
}

// Folded into the snapshot: path, kind, size and mtime.
void add_file(EntrySnapshot& snap, Digest& digest, const std::string& relative,
              const struct stat& st) {
  const std::string name = fs::path(relative).filename().string();
  if (is_partial_download_name(name)) snap.has_partial = true;
  snap.newest_mtime_ms = std::max(snap.newest_mtime_ms, mtime_ms(st));
  digest.add(relative);
  digest.add(static_cast<int64_t>(st.st_mode & S_IFMT));
  digest.add(static_cast<int64_t>(S_ISDIR(st.st_mode) ? 0 : st.st_size));
  digest.add(mtime_ms(st));
  if (S_ISREG(st.st_mode)) ++snap.files;
}

bool is_loose_candidate(const fs::directory_entry& e) {
  const std::string name = e.path().filename().string();
  if (is_hidden_name(name)) return false;
  std::error_code ec;
  if (!e.is_regular_file(ec) || e.is_symlink(ec)) return false;
  return is_audio_path(e.path()) || is_partial_download_name(name);
}

}  // namespace

std::vector<InboxEntry> list_inbox(const fs::path& root) {
  std::vector<InboxEntry> entries;
  bool loose = false;
  std::error_code ec;
  fs::directory_iterator it(root, ec);
  if (ec) {
    spdlog::warn("watch: cannot list {}: {}", root.string(), ec.message());
    return entries;
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const fs::directory_entry& e = *it;
    const std::string name = e.path().filename().string();
    if (is_hidden_name(name)) continue;
    std::error_code kind_ec;
    if (e.is_symlink(kind_ec)) continue;
    if (e.is_directory(kind_ec)) {
      entries.push_back(InboxEntry{e.path(), false});
    } else if (is_loose_candidate(e)) {
      loose = true;
    }
  }
  if (ec) spdlog::warn("watch: listing {} stopped: {}", root.string(), ec.message());
  std::sort(entries.begin(), entries.end(),
            [](const InboxEntry& a, const InboxEntry& b) { return a.path < b.path; });
  if (loose) entries.push_back(InboxEntry{root, true});
  return entries;
}

EntrySnapshot snapshot_entry(const InboxEntry& entry) {
  EntrySnapshot snap;
  Digest digest;
  struct stat st {};
  if (::lstat(entry.path.c_str(), &st) != 0) return snap;
  snap.exists = true;
  if (entry.loose_files) {
    std::error_code ec;
    bool any = false;
    for (fs::directory_iterator it(entry.path, ec), end; !ec && it != end; it.increment(ec)) {
      if (!is_loose_candidate(*it)) continue;
      struct stat fst {};
      if (::lstat(it->path().c_str(), &fst) != 0) continue;  // vanished meanwhile
      add_file(snap, digest, it->path().filename().string(), fst);
      any = true;
    }
    // No loose files left (imported, or moved away): the entry is gone.
    snap.exists = any;
    snap.digest = digest.h;
    return snap;
  }
  if (!S_ISDIR(st.st_mode)) {
    snap.exists = false;
    return snap;
  }
  add_file(snap, digest, ".", st);
  std::error_code ec;
  fs::recursive_directory_iterator it(entry.path, fs::directory_options::skip_permission_denied,
                                      ec);
  for (fs::recursive_directory_iterator end; !ec && it != end; it.increment(ec)) {
    struct stat fst {};
    if (::lstat(it->path().c_str(), &fst) != 0) continue;
    add_file(snap, digest, it->path().lexically_relative(entry.path).generic_string(), fst);
  }
  if (ec) {
    // Vanished or unreadable in the middle of the walk: a changing folder, so
    // say so through the digest; the tracker looks again later.
    if (::lstat(entry.path.c_str(), &st) != 0) snap.exists = false;
    digest.add(std::string("walk error: ") + ec.message());
    snap.newest_mtime_ms = std::numeric_limits<int64_t>::max();
  }
  snap.digest = digest.h;
  return snap;
}

std::vector<fs::path> loose_audio_files(const fs::path& root) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (is_loose_candidate(*it) && is_audio_path(it->path()) &&
        !is_partial_download_name(it->path().filename().string())) {
      files.push_back(it->path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string import_dedupe_key(const fs::path& entry_path) {
  return "import:" + entry_path.lexically_normal().string();
}

}  // namespace barbossa
