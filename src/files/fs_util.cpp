#include "files/fs_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "media/sha256.h"

namespace barbossa {
namespace fs = std::filesystem;

namespace {

// Owns one file descriptor; close() is explicit where its error matters
// (a written file: some filesystems report deferred write errors there).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Returns 0 or an errno value.
  int close() {
    int fd = std::exchange(fd_, -1);
    return fd >= 0 && ::close(fd) != 0 ? errno : 0;
  }

 private:
  int fd_ = -1;
};

// Deletes a temporary file unless the operation that created it succeeded.
class TempFileGuard {
 public:
  explicit TempFileGuard(fs::path path) : path_(std::move(path)) {}
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  ~TempFileGuard() {
    if (armed_) ::unlink(path_.c_str());
  }
  void release() { armed_ = false; }

 private:
  fs::path path_;
  bool armed_ = true;
};

[[noreturn]] void throw_fs(int err, const std::string& what, const fs::path& p1,
                           const fs::path& p2 = {}) {
  std::error_code ec(err, std::generic_category());
  if (p2.empty()) throw fs::filesystem_error(what, p1, ec);
  throw fs::filesystem_error(what, p1, p2, ec);
}

fs::path parent_or_dot(const fs::path& p) {
  fs::path parent = p.parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

// lstat that tells "absent" apart from real errors (EACCES, EIO...), which
// must not be mistaken for "free to use".
bool lexists(const fs::path& p, struct stat* st = nullptr) {
  struct stat local {};
  if (::lstat(p.c_str(), st != nullptr ? st : &local) == 0) return true;
  if (errno == ENOENT) return false;
  throw_fs(errno, "cannot stat", p);
}

void write_all(int fd, const char* data, size_t size, const fs::path& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_fs(errno, "cannot write", path);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
}

void fsync_fd(int fd, const fs::path& path) {
  while (::fsync(fd) != 0) {
    if (errno != EINTR) throw_fs(errno, "cannot fsync", path);
  }
}

// Creates the missing folders of `dir`, top-down, and fsyncs the parent of
// each one so that the new entries survive a power loss together with the
// files that will be renamed into them.
void create_dirs_durable(const fs::path& dir) {
  std::vector<fs::path> missing;
  for (fs::path d = dir; !d.empty(); d = d.parent_path()) {
    struct stat st {};
    if (lexists(d, &st)) {
      if (!S_ISDIR(st.st_mode)) {
        // A symlink to a folder is fine (the kernel follows it); anything else is not.
        std::error_code ec;
        if (!fs::is_directory(d, ec)) throw_fs(ENOTDIR, "not a directory", d);
      }
      break;
    }
    missing.push_back(d);
    if (d == d.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0755) != 0 && errno != EEXIST) {
      throw_fs(errno, "cannot create directory", *it);
    }
    fsync_path(parent_or_dot(*it));
  }
}

// Rename that never replaces an existing target. Returns 0 or an errno value
// (EXDEV tells the caller to copy instead).
//
// renameat2(RENAME_NOREPLACE) checks and renames in one atomic step: no
// window in which another writer's file could be overwritten, and no moment
// where the file has two names. Filesystems without it (EINVAL) get
// link()+unlink(), still atomic against overwriting; a crash between the two
// leaves both names on one inode, which AlbumMover recovery recognises (same
// inode) and resolves. Filesystems without hard links (FAT, some FUSE) get
// check-then-rename, racy only against another process writing the same
// library path at the same instant.
int rename_noreplace(const fs::path& from, const fs::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  int err = errno;
  if (err != EINVAL && err != ENOSYS && err != EOPNOTSUPP) return err;

  if (::link(from.c_str(), to.c_str()) == 0) {
    if (::unlink(from.c_str()) == 0) return 0;
    err = errno;
    ::unlink(to.c_str());  // back to one name: the move did not happen
    return err;
  }
  err = errno;
  if (err == EEXIST || err == EXDEV || err == ENOENT) return err;

  struct stat st {};
  if (::lstat(to.c_str(), &st) == 0) return EEXIST;
  if (errno != ENOENT) return errno;
  return ::rename(from.c_str(), to.c_str()) == 0 ? 0 : errno;
}

std::string random_suffix() {
  std::random_device rd;
  return fmt::format("{:08x}", rd());
}

void copy_contents(int in, int out, const fs::path& from, const fs::path& tmp) {
  constexpr size_t kBuffer = size_t{1} << 20;
  auto buffer = std::make_unique_for_overwrite<char[]>(kBuffer);
  for (;;) {
    ssize_t n = ::read(in, buffer.get(), kBuffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_fs(errno, "cannot read", from);
    }
    if (n == 0) break;
    write_all(out, buffer.get(), static_cast<size_t>(n), tmp);
  }
}

std::string read_link(const fs::path& p) {
  std::error_code ec;
  fs::path target = fs::read_symlink(p, ec);
  if (ec) throw fs::filesystem_error("cannot read link", p, ec);
  return target.native();
}

// Copies `from` (a regular file or a symlink, stat'ed as `st`) to a
// temporary name beside `to`, makes it durable, verifies it against the
// source and renames it into place. The source is not touched.
void copy_verified(const fs::path& from, const fs::path& to, const struct stat& st) {
  fs::path tmp = temp_path_for(to);
  // A leftover from a crash is ours by its name; unlinking rather than
  // truncating means a stray hard link at that name cannot be written through.
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) throw_fs(errno, "cannot remove", tmp);
  TempFileGuard guard(tmp);

  if (S_ISLNK(st.st_mode)) {
    std::string target = read_link(from);
    if (::symlink(target.c_str(), tmp.c_str()) != 0) throw_fs(errno, "cannot create link", tmp);
    if (read_link(tmp) != target) throw_fs(EIO, "link verification failed", from, tmp);
  } else {
    UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!in.valid()) throw_fs(errno, "cannot open", from);
    UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!out.valid()) throw_fs(errno, "cannot create", tmp);
    (void)::posix_fadvise(in.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    copy_contents(in.get(), out.get(), from, tmp);
    // Keep what a rename would keep: permission bits (not set-id) and times.
    if (::fchmod(out.get(), st.st_mode & 0777) != 0) throw_fs(errno, "cannot chmod", tmp);
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::futimens(out.get(), times) != 0) throw_fs(errno, "cannot set times", tmp);
    fsync_fd(out.get(), tmp);
    // The data is on disk; dropping it from the page cache makes the
    // verification below read what the device returns, not our own buffers.
    (void)::posix_fadvise(out.get(), 0, 0, POSIX_FADV_DONTNEED);
    if (int err = out.close(); err != 0) throw_fs(err, "cannot close", tmp);
    if (sha256_file(from) != sha256_file(tmp)) {
      throw_fs(EIO, "checksum mismatch after copy", from, tmp);
    }
  }

  if (int err = rename_noreplace(tmp, to); err != 0)
    throw_fs(err, "cannot rename into place", tmp, to);
  guard.release();
  fsync_path(parent_or_dot(to));
}

// Common checks of move_file and copy_file_durable; returns the source's lstat.
struct stat check_transfer(const fs::path& from, const fs::path& to) {
  struct stat st {};
  if (!lexists(from, &st)) throw_fs(ENOENT, "source missing", from, to);
  if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
    throw_fs(EINVAL, "not a regular file or symlink", from, to);
  }
  if (lexists(to)) throw_fs(EEXIST, "target exists", from, to);
  create_dirs_durable(parent_or_dot(to));
  return st;
}

// Lexically normal absolute form without a trailing separator, so that
// component-wise comparison works ("/a/b/" and "/a/b" are the same folder).
fs::path normal_absolute(const fs::path& p) {
  fs::path out = fs::absolute(p).lexically_normal();
  if (out.has_relative_path() && out.filename().empty()) out = out.parent_path();
  return out;
}

// Component-wise prefix test ("/lib" does not contain "/library").
bool contains(const fs::path& root, const fs::path& path) {
  auto r = root.begin();
  auto p = path.begin();
  for (; r != root.end(); ++r, ++p) {
    if (p == path.end() || *r != *p) return false;
  }
  return true;
}

}  // namespace

void write_file_atomic(const fs::path& path, const std::string& content, unsigned mode) {
  fs::path dir = parent_or_dot(path);
  std::string base = truncate_utf8(path.filename().native(), 200);
  UniqueFd fd;
  fs::path tmp;
  for (int attempt = 0; !fd.valid(); ++attempt) {
    tmp = dir / ("." + base + ".tmp." + random_suffix());
    fd = UniqueFd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                         static_cast<mode_t>(mode)));
    if (!fd.valid() && (errno != EEXIST || attempt >= 100)) throw_fs(errno, "cannot create", tmp);
  }
  TempFileGuard guard(tmp);
  write_all(fd.get(), content.data(), content.size(), tmp);
  fsync_fd(fd.get(), tmp);
  if (int err = fd.close(); err != 0) throw_fs(err, "cannot close", tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw_fs(errno, "cannot rename", tmp, path);
  guard.release();
  fsync_path(dir);
}

std::string read_file(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) throw_fs(errno, "cannot open", path);
  std::string out;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_fs(errno, "cannot read", path);
    }
    if (n == 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

void fsync_path(const fs::path& path) {
  // O_RDONLY works for folders as well as files; fsync needs no write access.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) throw_fs(errno, "cannot open", path);
  fsync_fd(fd.get(), path);
}

void move_file(const fs::path& from, const fs::path& to, bool sync_dirs) {
  struct stat st = check_transfer(from, to);
  int err = rename_noreplace(from, to);
  if (err == 0) {
    if (!sync_dirs) return;
    fsync_path(parent_or_dot(to));
    if (parent_or_dot(from) != parent_or_dot(to)) fsync_path(parent_or_dot(from));
    return;
  }
  if (err != EXDEV) throw_fs(err, "cannot move", from, to);
  copy_verified(from, to, st);
  if (::unlink(from.c_str()) != 0) throw_fs(errno, "copied but cannot remove source", from, to);
  fsync_path(parent_or_dot(from));
}

void copy_file_durable(const fs::path& from, const fs::path& to) {
  struct stat st = check_transfer(from, to);
  copy_verified(from, to, st);
}

bool is_within(const fs::path& root, const fs::path& path) {
  std::error_code ec;
  fs::path lexical_root = normal_absolute(root);
  fs::path lexical_path = normal_absolute(path);
  // Lexical first: "root/../etc" is refused even where the filesystem would
  // agree, so a hostile path never depends on the state of the disk.
  if (!contains(lexical_root, lexical_path)) return false;
  // Then physical: weakly_canonical resolves symlinks (and "..", in kernel
  // order) in the existing prefix; a link pointing outside is caught here.
  fs::path real_root = fs::weakly_canonical(fs::absolute(root), ec);
  if (ec) return false;
  fs::path real_path = fs::weakly_canonical(fs::absolute(path), ec);
  if (ec) return false;
  return contains(normal_absolute(real_root), normal_absolute(real_path));
}

bool is_lexically_within(const fs::path& root, const fs::path& path) {
  return contains(normal_absolute(root), normal_absolute(path));
}

bool remove_empty_tree(const fs::path& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return false;
  std::error_code ec;
  std::vector<fs::path> children;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec) || it->is_symlink(ec)) return false;
    children.push_back(it->path());
  }
  if (ec) return false;
  for (const fs::path& child : children) {
    if (!remove_empty_tree(child)) return false;
  }
  // rmdir, not remove_all: a file arriving meanwhile makes it fail.
  return ::rmdir(dir.c_str()) == 0;
}

void prune_empty_dirs(fs::path dir, const fs::path& stop_at) {
  fs::path stop = normal_absolute(stop_at);
  fs::path d = normal_absolute(dir);
  bool removed = false;
  // Only strictly below stop_at: the stop folder itself and anything outside
  // it are never touched, whatever the caller passed.
  while (d != stop && contains(stop, d)) {
    // rmdir rather than a check then remove: a file arriving meanwhile makes
    // it fail instead of being deleted.
    if (::rmdir(d.c_str()) == 0) {
      removed = true;
    } else if (errno != ENOENT) {
      break;
    }
    d = d.parent_path();
  }
  if (removed) {
    try {
      fsync_path(d);
    } catch (const fs::filesystem_error&) {
      // Best effort: an empty folder that reappears after a power loss is harmless.
    }
  }
}

fs::path unique_child(const fs::path& base, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    throw std::invalid_argument("invalid file name: '" + name + "'");
  }
  constexpr size_t kNameMax = 255;
  constexpr int kMaxAttempts = 100000;
  for (int n = 1; n <= kMaxAttempts; ++n) {
    std::string candidate = name;
    if (n > 1) {
      std::string suffix = fmt::format(" ({})", n);
      candidate = truncate_utf8(name, kNameMax - suffix.size()) + suffix;
    }
    fs::path p = base / candidate;
    // lstat: a dangling symlink still occupies the name.
    if (!lexists(p)) return p;
  }
  throw std::runtime_error("no free name for '" + name + "' in " + base.string());
}

fs::path temp_path_for(const fs::path& target) {
  const std::string name = target.filename().native();
  std::string base = name;
  if (name.size() > 200) {
    // Two long names sharing a prefix must still get distinct temp names.
    uint64_t h = 1469598103934665603ULL;  // FNV-1a
    for (unsigned char c : name) h = (h ^ c) * 1099511628211ULL;
    base = truncate_utf8(name, 180) + fmt::format("~{:016x}", h);
  }
  return target.parent_path() / ("." + base + ".barbossa-part");
}

nlohmann::json path_to_json(const fs::path& path) {
  const std::string& s = path.native();
  if (is_valid_utf8(s)) return s;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : s) {
    hex += kHex[c >> 4];
    hex += kHex[c & 0xF];
  }
  nlohmann::json out = nlohmann::json::object();
  out["hex"] = hex;
  return out;
}

fs::path path_from_json(const nlohmann::json& value) {
  if (value.is_string()) return fs::path(value.get<std::string>());
  if (!value.is_object() || !value.contains("hex") || !value["hex"].is_string()) {
    throw std::runtime_error("bad path in JSON (neither a string nor {\"hex\": ...})");
  }
  const std::string& hex = value["hex"].get_ref<const std::string&>();
  if (hex.size() % 2 != 0) throw std::runtime_error("bad hex path in JSON (odd length)");
  const auto digit = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    throw std::runtime_error("bad hex digit in a JSON path");
  };
  std::string s;
  for (size_t i = 0; i < hex.size(); i += 2) {
    s += static_cast<char>(digit(hex[i]) * 16 + digit(hex[i + 1]));
  }
  return fs::path(s);
}

std::string display_path(const fs::path& path) {
  return utf8_from_legacy(path.native());
}

}  // namespace barbossa
