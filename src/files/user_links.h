// Per-user libraries (SPEC §4): each user's hearted albums and tracks mirror
// the master layout under USERS_DIR/<username>/, made of hardlinks where the
// filesystem allows and relative symlinks otherwise, disc folders included.
// Paths given here are relative to the library root and were sanitized by the
// importer; anything that would leave a root is refused.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace barbossa {

class UserLinks {
 public:
  UserLinks(std::filesystem::path library_root, std::filesystem::path users_root);

  // Creates the missing links for these library files; existing correct links
  // are left alone, wrong or dangling ones replaced. Returns links created.
  // A library file that does not exist is skipped (logged). Every method
  // throws std::invalid_argument, before changing anything, for a bad user
  // name or a path that is absolute, has "..", "." or empty parts, NUL, or
  // leaves the library or the user's folder through a symlink.
  size_t link(const std::string& username, const std::vector<std::string>& relative_paths);

  // Removes the user's links for these files (whether or not the library file
  // still exists) and prunes folders that became empty. Returns links removed.
  size_t unlink(const std::string& username, const std::vector<std::string>& relative_paths);

  // Repairs: every wanted file linked, every link under the user's folder that
  // is dangling or not wanted removed. Returns {created, removed}.
  std::pair<size_t, size_t> sync(const std::string& username,
                                 const std::vector<std::string>& wanted);

  // Removes the user's whole folder (user deleted).
  void remove_user(const std::string& username);

  std::filesystem::path user_root(const std::string& username) const;

 private:
  std::filesystem::path library_root_;
  std::filesystem::path users_root_;
};

}  // namespace barbossa
