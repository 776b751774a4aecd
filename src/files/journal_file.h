// Ownership of a journal file by the process acting on it.
//
// A process running an album move holds an flock on the move's journal from
// the first byte of its temp file until the move is finished or given up.
// The kernel drops the lock when the process dies (kill -9 included), so
// "unlocked" means "orphaned": recovery, in any process, may take exactly the
// journals nobody can be writing or acting on.
#pragma once

#include <filesystem>
#include <string>

namespace barbossa {

// An open file holding an exclusive flock; closed (and so unlocked) when
// destroyed.
class LockedFile {
 public:
  LockedFile() = default;
  explicit LockedFile(int fd) : fd_(fd) {}
  LockedFile(LockedFile&& other) noexcept;
  LockedFile& operator=(LockedFile&& other) noexcept;
  LockedFile(const LockedFile&) = delete;
  LockedFile& operator=(const LockedFile&) = delete;
  ~LockedFile();
  bool held() const { return fd_ >= 0; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// Writes `text` to `path` as write_file_atomic does (a temp name
// ".<name>.tmp.<random>" beside it, fsync, rename, fsync of the folder), with
// the flock taken on the temp file before anything is written. The lock
// travels with the inode through the rename, so there is no moment at which
// the temp file or the journal can be taken for a crash leftover.
LockedFile write_locked_file(const std::filesystem::path& path, const std::string& text);

// Locks `path` if no live process holds it and the name still refers to the
// file locked (an owner that just finished has unlinked it). Empty when the
// file is gone or owned.
LockedFile lock_orphan(const std::filesystem::path& path);

// Is `name` a temp file of write_locked_file (or write_file_atomic)?
bool is_temp_name(const std::string& name);

}  // namespace barbossa
