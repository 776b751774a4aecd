// Helpers shared by the files module tests: a temp folder per test, small
// file I/O, and a check for "is this another filesystem".
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>
#include "unit/temp_dir.h"

namespace barbossa::testing {

// mkdtemp under `base`; removed with everything in it on destruction.
using barbossa::test::TempDir;

inline void write(const std::filesystem::path& p, const std::string& content) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline bool lexists(const std::filesystem::path& p) {
  return std::filesystem::exists(std::filesystem::symlink_status(p));
}

inline dev_t device_of(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_dev;
}

inline ino_t inode_of(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_ino;
}

// /dev/shm is a tmpfs here, usually another filesystem than /tmp: the place
// to exercise cross-filesystem code paths.
inline bool other_fs_available() {
  std::error_code ec;
  return std::filesystem::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0 &&
         device_of("/dev/shm") != device_of("/tmp");
}

// Every regular file and symlink under `root`, relative, sorted.
inline std::vector<std::string> files_under(const std::filesystem::path& root) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!std::filesystem::exists(root, ec)) return out;
  for (auto it = std::filesystem::recursive_directory_iterator(root);
       it != std::filesystem::recursive_directory_iterator(); ++it) {
    if (it->is_symlink() || !it->is_directory()) {
      out.push_back(it->path().lexically_relative(root).generic_string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace barbossa::testing
