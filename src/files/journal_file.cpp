#include "files/journal_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "files/fs_util.h"

namespace barbossa {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void throw_errno(const char* what, const fs::path& path) {
  throw fs::filesystem_error(what, path, std::error_code(errno, std::generic_category()));
}

// Does `path` still name the file open at `fd`? A lock taken on a file that
// was unlinked (or replaced) meanwhile protects nothing.
bool names_open_file(int fd, const fs::path& path) {
  struct stat held {};
  struct stat named {};
  return ::fstat(fd, &held) == 0 && ::lstat(path.c_str(), &named) == 0 &&
         held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

bool try_lock(int fd) {
  int rc = 0;
  do {
    rc = ::flock(fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  return rc == 0;
}

std::string random_hex() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device rd;
  std::string out;
  for (int i = 0; i < 4; ++i) {
    uint32_t v = rd();
    for (int k = 0; k < 8; ++k, v >>= 4) out += kHex[v & 0xf];
  }
  return out;
}

void write_and_sync(int fd, const std::string& text, const fs::path& path) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("cannot write", path);
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) throw_errno("cannot fsync", path);
}

}  // namespace

LockedFile::LockedFile(LockedFile&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

LockedFile& LockedFile::operator=(LockedFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

LockedFile::~LockedFile() {
  if (fd_ >= 0) ::close(fd_);
}

LockedFile write_locked_file(const fs::path& path, const std::string& text) {
  for (int attempt = 0;; ++attempt) {
    const fs::path tmp =
        path.parent_path() / ("." + path.filename().string() + ".tmp." + random_hex());
    LockedFile file(::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!file.held()) {
      if (errno == EEXIST && attempt < 100) continue;
      throw_errno("cannot create", tmp);
    }
    // Between open() and flock() a recovery may find the temp file unlocked,
    // take it for a dead writer's and remove it: then start over under a new
    // name.
    if (!try_lock(file.fd()) || !names_open_file(file.fd(), tmp)) {
      if (attempt >= 100) throw std::runtime_error("cannot lock " + tmp.string());
      continue;
    }
    try {
      write_and_sync(file.fd(), text, tmp);
      if (::rename(tmp.c_str(), path.c_str()) != 0) throw_errno("cannot rename", tmp);
    } catch (...) {
      ::unlink(tmp.c_str());
      throw;
    }
    fsync_path(path.parent_path());
    return file;
  }
}

LockedFile lock_orphan(const fs::path& path) {
  LockedFile file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!file.held() || !try_lock(file.fd()) || !names_open_file(file.fd(), path)) return {};
  return file;
}

bool is_temp_name(const std::string& name) {
  return !name.empty() && name.front() == '.' && name.find(".tmp.") != std::string::npos;
}

}  // namespace barbossa
