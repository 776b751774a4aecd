// Links are not fsynced: a user's folder is a mirror that the scheduled sync
// rebuilds from the database, so a link lost to a power cut costs nothing.
#include "files/user_links.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <stdexcept>
#include <system_error>

#include <spdlog/spdlog.h>

#include "files/fs_util.h"

namespace barbossa {
namespace fs = std::filesystem;

namespace {

fs::path normal_absolute(const fs::path& p) {
  fs::path out = fs::absolute(p).lexically_normal();
  if (out.has_relative_path() && out.filename().empty()) out = out.parent_path();
  return out;
}

void check_username(const std::string& username) {
  if (username.empty() || username == "." || username == ".." ||
      username.find('/') != std::string::npos || username.find('\0') != std::string::npos) {
    throw std::invalid_argument("invalid user name for links: '" + username + "'");
  }
}

// A library-relative path as the importer writes them: plain names joined
// by '/'. Anything else ("..", absolute, empty or "." parts, NUL) is refused
// before it reaches the filesystem.
fs::path check_relative(const std::string& rel) {
  if (rel.empty() || rel.find('\0') != std::string::npos || rel.front() == '/') {
    throw std::invalid_argument("invalid library path: '" + rel + "'");
  }
  fs::path p(rel);
  if (p.is_absolute() || p.has_root_path()) {
    throw std::invalid_argument("invalid library path: '" + rel + "'");
  }
  for (const fs::path& part : p) {
    if (part.empty() || part == "." || part == "..") {
      throw std::invalid_argument("invalid library path: '" + rel + "'");
    }
  }
  return p;
}

enum class LinkState { kMissing, kCorrect, kWrong, kDirectory };

// Compares identities (device + inode) rather than paths: a hard link is
// right when it is the library file's inode, a symlink when it resolves to
// it. After a quality upgrade the library path holds a new inode, so the old
// hard links are found wrong and replaced.
LinkState link_state(const fs::path& link, const struct stat* library_file) {
  struct stat ls {};
  if (::lstat(link.c_str(), &ls) != 0) {
    if (errno == ENOENT) return LinkState::kMissing;
    throw fs::filesystem_error("cannot stat", link,
                               std::error_code(errno, std::generic_category()));
  }
  if (S_ISDIR(ls.st_mode)) return LinkState::kDirectory;
  if (library_file == nullptr) return LinkState::kWrong;
  struct stat target {};
  if (S_ISREG(ls.st_mode)) {
    target = ls;
  } else if (!S_ISLNK(ls.st_mode) || ::stat(link.c_str(), &target) != 0) {
    return LinkState::kWrong;  // dangling symlink, fifo, socket...
  }
  bool same = target.st_dev == library_file->st_dev && target.st_ino == library_file->st_ino;
  return same ? LinkState::kCorrect : LinkState::kWrong;
}

bool hardlink_unsupported(const std::error_code& ec) {
  // EXDEV: another filesystem; EPERM: no hard links there (FAT, some FUSE)
  // or fs.protected_hardlinks; EMLINK: the inode's link count is full.
  int e = ec.value();
  return e == EXDEV || e == EPERM || e == EMLINK || e == EOPNOTSUPP || e == ENOTSUP;
}

void create_link(const fs::path& library_file, const fs::path& at, const fs::path& link_dir) {
  std::error_code ec;
  fs::create_hard_link(library_file, at, ec);
  if (!ec) return;
  if (!hardlink_unsupported(ec)) {
    throw fs::filesystem_error("cannot link", library_file, at, ec);
  }
  // Relative, computed between the real (symlink-free) locations, so that it
  // resolves from where the link really is, and keeps working when the data
  // folder is mounted elsewhere as a whole (a container, another host).
  fs::path target = fs::canonical(library_file).lexically_relative(fs::canonical(link_dir));
  if (target.empty()) throw std::runtime_error("no relative path to " + library_file.string());
  fs::create_symlink(target, at);
}

}  // namespace

UserLinks::UserLinks(fs::path library_root, fs::path users_root)
    : library_root_(normal_absolute(library_root)), users_root_(normal_absolute(users_root)) {}

fs::path UserLinks::user_root(const std::string& username) const {
  check_username(username);
  return users_root_ / username;
}

namespace {

struct Resolved {
  fs::path relative;
  fs::path library_file;
  fs::path link;
};

// Validates every path first, so that a hostile entry fails the call before
// anything was changed.
std::vector<Resolved> resolve_all(const fs::path& library_root, const fs::path& users_root,
                                  const fs::path& user_root,
                                  const std::vector<std::string>& relative_paths) {
  struct stat st {};
  if (::lstat(user_root.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    // A user folder that is a symlink could point into another user's folder.
    throw std::invalid_argument("user folder is a symlink: " + user_root.string());
  }
  std::vector<Resolved> out;
  out.reserve(relative_paths.size());
  for (const std::string& rel : relative_paths) {
    Resolved r;
    r.relative = check_relative(rel);
    r.library_file = library_root / r.relative;
    r.link = user_root / r.relative;
    // The link's folder (not the link: a correct symlink resolves into the
    // library) must stay inside the user's folder; the library file inside
    // the library, through any symlinked folder on the way.
    if (!is_within(library_root, r.library_file) || !is_within(users_root, r.link.parent_path()) ||
        !is_within(user_root, r.link.parent_path())) {
      throw std::invalid_argument("library path leaves its root: '" + rel + "'");
    }
    out.push_back(std::move(r));
  }
  return out;
}

size_t link_resolved(const std::vector<Resolved>& items) {
  size_t created = 0;
  for (const Resolved& r : items) {
    struct stat lib {};
    if (::stat(r.library_file.c_str(), &lib) != 0 || !S_ISREG(lib.st_mode)) {
      spdlog::warn("user link: library file {} missing; not linked", r.library_file.string());
      continue;
    }
    LinkState state = link_state(r.link, &lib);
    if (state == LinkState::kCorrect) continue;
    if (state == LinkState::kDirectory) {
      spdlog::warn("user link: {} is a folder; not replaced", r.link.string());
      continue;
    }
    fs::path dir = r.link.parent_path();
    fs::create_directories(dir);
    if (state == LinkState::kMissing) {
      create_link(r.library_file, r.link, dir);
    } else {
      // Built beside and renamed over the wrong one: a media server scanning
      // the user's folder never sees the track missing.
      fs::path tmp = temp_path_for(r.link);
      fs::remove(tmp);
      create_link(r.library_file, tmp, dir);
      std::error_code ec;
      fs::rename(tmp, r.link, ec);
      if (ec) {
        fs::remove(tmp);
        throw fs::filesystem_error("cannot replace link", tmp, r.link, ec);
      }
    }
    ++created;
  }
  return created;
}

}  // namespace

size_t UserLinks::link(const std::string& username,
                       const std::vector<std::string>& relative_paths) {
  fs::path root = user_root(username);
  return link_resolved(resolve_all(library_root_, users_root_, root, relative_paths));
}

size_t UserLinks::unlink(const std::string& username,
                         const std::vector<std::string>& relative_paths) {
  fs::path root = user_root(username);
  std::vector<Resolved> items = resolve_all(library_root_, users_root_, root, relative_paths);
  size_t removed = 0;
  for (const Resolved& r : items) {
    struct stat st {};
    if (::lstat(r.link.c_str(), &st) != 0) continue;
    if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) continue;
    if (::unlink(r.link.c_str()) != 0) {
      if (errno == ENOENT) continue;
      throw fs::filesystem_error("cannot remove link", r.link,
                                 std::error_code(errno, std::generic_category()));
    }
    ++removed;
    prune_empty_dirs(r.link.parent_path(), root);
  }
  return removed;
}

std::pair<size_t, size_t> UserLinks::sync(const std::string& username,
                                          const std::vector<std::string>& wanted) {
  fs::path root = user_root(username);
  std::vector<Resolved> items = resolve_all(library_root_, users_root_, root, wanted);
  size_t created = link_resolved(items);

  std::error_code ec;
  if (!fs::is_directory(root, ec)) return {created, 0};

  std::set<fs::path> wanted_set;
  for (const Resolved& r : items) wanted_set.insert(r.relative.lexically_normal());

  // Collected first, changed after: removing entries while iterating a
  // directory is unspecified. Symlinked folders are not followed (they are
  // entries of their own, removed unless wanted).
  std::vector<fs::path> entries;
  std::vector<fs::path> dirs;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    if (it->is_symlink() || !it->is_directory()) {
      entries.push_back(it->path());
    } else {
      dirs.push_back(it->path());
    }
  }

  size_t removed = 0;
  for (const fs::path& entry : entries) {
    fs::path rel = entry.lexically_relative(root);
    bool keep = false;
    if (wanted_set.count(rel) != 0) {
      struct stat lib {};
      fs::path library_file = library_root_ / rel;
      keep =
          ::stat(library_file.c_str(), &lib) == 0 && link_state(entry, &lib) == LinkState::kCorrect;
    }
    if (!keep && ::unlink(entry.c_str()) == 0) ++removed;
  }

  std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) {
    return std::distance(a.begin(), a.end()) > std::distance(b.begin(), b.end());
  });
  for (const fs::path& d : dirs) ::rmdir(d.c_str());  // fails, harmlessly, unless empty
  return {created, removed};
}

void UserLinks::remove_user(const std::string& username) {
  // remove_all deletes symlinks themselves, never what they point at.
  fs::remove_all(user_root(username));
}

}  // namespace barbossa
