#include "files/user_links.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <memory>
#include <string>

#include "test_support.h"

namespace barbossa {
namespace {

namespace fs = std::filesystem;
using testing::files_under;
using testing::inode_of;
using testing::lexists;
using testing::slurp;
using testing::TempDir;
using testing::write;

const std::vector<std::string> kAlbum = {
    "Artist/Album (2001)/Disc 1/01 - One.flac",
    "Artist/Album (2001)/Disc 2/01 - Two.flac",
    "Artist/Album (2001)/cover.jpg",
};

class UserLinksTest : public ::testing::Test {
 protected:
  void make_library(const fs::path& base) {
    library_ = base / "library";
    for (const std::string& rel : kAlbum) write(library_ / rel, "content of " + rel);
    write(library_ / "Other/Record (1990)/01 - X.mp3", "x");
  }
  // The library file `link` stands for, whichever kind of link it is.
  static bool points_to(const fs::path& link, const fs::path& library_file) {
    std::error_code ec;
    return fs::equivalent(link, library_file, ec);
  }

  TempDir dir_;
  fs::path library_;
  fs::path users_ = dir_ / "users";
};

TEST_F(UserLinksTest, HardlinksOnOneFilesystemWithDiscFolders) {
  make_library(dir_.path());
  UserLinks links(library_, users_);
  EXPECT_EQ(links.link("alice", kAlbum), 3u);
  for (const std::string& rel : kAlbum) {
    fs::path link = users_ / "alice" / rel;
    ASSERT_TRUE(fs::is_regular_file(fs::symlink_status(link))) << rel;
    EXPECT_EQ(inode_of(link), inode_of(library_ / rel));
  }
  EXPECT_TRUE(fs::is_directory(users_ / "alice/Artist/Album (2001)/Disc 2"));
  EXPECT_EQ(links.link("alice", kAlbum), 0u) << "correct links are left alone";
  EXPECT_EQ(links.user_root("alice"), users_ / "alice");
}

TEST_F(UserLinksTest, WrongOrDanglingLinksAreReplaced) {
  make_library(dir_.path());
  UserLinks links(library_, users_);
  fs::path a = users_ / "alice" / kAlbum[0];
  fs::path b = users_ / "alice" / kAlbum[1];
  fs::path c = users_ / "alice" / kAlbum[2];
  write(a, "a stale copy (old inode after an upgrade)");
  fs::create_directories(b.parent_path());
  fs::create_symlink("/nowhere/at/all", b);
  fs::create_symlink(library_ / "Other/Record (1990)/01 - X.mp3", c);  // wrong target
  EXPECT_EQ(links.link("alice", kAlbum), 3u);
  for (const std::string& rel : kAlbum) {
    EXPECT_TRUE(points_to(users_ / "alice" / rel, library_ / rel)) << rel;
  }
  EXPECT_EQ(files_under(users_ / "alice").size(), 3u) << "no temp names left behind";
}

TEST_F(UserLinksTest, AbsoluteButCorrectSymlinkIsLeftAlone) {
  make_library(dir_.path());
  UserLinks links(library_, users_);
  fs::path link = users_ / "alice" / kAlbum[2];
  fs::create_directories(link.parent_path());
  fs::create_symlink(library_ / kAlbum[2], link);
  EXPECT_EQ(links.link("alice", {kAlbum[2]}), 0u);
  EXPECT_TRUE(fs::is_symlink(link));
}

TEST_F(UserLinksTest, MissingLibraryFileIsSkipped) {
  make_library(dir_.path());
  UserLinks links(library_, users_);
  EXPECT_EQ(links.link("alice", {"Artist/Album (2001)/gone.flac", kAlbum[0]}), 1u);
  EXPECT_FALSE(lexists(users_ / "alice/Artist/Album (2001)/gone.flac"));
}

class UserLinksCrossFsTest : public UserLinksTest {
 protected:
  void SetUp() override {
    if (!testing::other_fs_available()) {
      GTEST_SKIP() << "/dev/shm is not a separate writable filesystem here; symlink fallback "
                      "untested";
    }
    shm_ = std::make_unique<TempDir>("/dev/shm");
    make_library(shm_->path());
  }
  std::unique_ptr<TempDir> shm_;
};

TEST_F(UserLinksCrossFsTest, FallsBackToRelativeSymlinks) {
  UserLinks links(library_, users_);
  EXPECT_EQ(links.link("alice", kAlbum), 3u);
  for (const std::string& rel : kAlbum) {
    fs::path link = users_ / "alice" / rel;
    ASSERT_TRUE(fs::is_symlink(link)) << rel;
    std::string target = fs::read_symlink(link).string();
    EXPECT_NE(target.front(), '/') << target;
    EXPECT_TRUE(points_to(link, library_ / rel));
    EXPECT_EQ(slurp(link), "content of " + rel);
  }
  EXPECT_EQ(links.link("alice", kAlbum), 0u) << "correct symlinks are left alone";

  // sync repairs a dangling one the same way.
  fs::path cover = users_ / "alice" / kAlbum[2];
  fs::remove(cover);
  fs::create_symlink("../../../nowhere.jpg", cover);
  EXPECT_EQ(links.sync("alice", kAlbum), (std::pair<size_t, size_t>{1, 0}));
  EXPECT_TRUE(points_to(cover, library_ / kAlbum[2]));
}

TEST_F(UserLinksTest, SymlinkIsRelativeFromTheRealFolder) {
  // The users root is reached through a symlink: a relative link computed
  // from the path as given would resolve from the wrong place; it must be
  // computed from the real folder.
  if (!testing::other_fs_available()) GTEST_SKIP() << "needs /dev/shm on another filesystem";
  TempDir shm("/dev/shm");
  make_library(shm.path());
  fs::create_directories(dir_ / "real-users");
  fs::create_directory_symlink(dir_ / "real-users", dir_ / "users-alias");
  UserLinks links(library_, dir_ / "users-alias");
  EXPECT_EQ(links.link("bob", {kAlbum[0]}), 1u);
  EXPECT_TRUE(points_to(dir_ / "real-users" / "bob" / kAlbum[0], library_ / kAlbum[0]));
}

TEST_F(UserLinksTest, UnlinkRemovesExactlyThoseAndPrunesEmptyFolders) {
  make_library(dir_.path());
  UserLinks links(library_, users_);
  links.link("alice", kAlbum);
  links.link("alice", {"Other/Record (1990)/01 - X.mp3"});
  links.link("bob", kAlbum);

  EXPECT_EQ(links.unlink("alice", {kAlbum[0], kAlbum[1]}), 2u);
  EXPECT_EQ(files_under(users_ / "alice"),
            (std::vector<std::string>{"Artist/Album (2001)/cover.jpg",
                                      "Other/Record (1990)/01 - X.mp3"}));
  EXPECT_FALSE(lexists(users_ / "alice/Artist/Album (2001)/Disc 1"));
  EXPECT_FALSE(lexists(users_ / "alice/Artist/Album (2001)/Disc 2"));
  EXPECT_EQ(files_under(users_ / "bob").size(), 3u) << "other users untouched";
  EXPECT_TRUE(lexists(library_ / kAlbum[0])) << "the library file stays";

  EXPECT_EQ(links.unlink("alice", {kAlbum[2], "Other/Record (1990)/01 - X.mp3"}), 2u);
  EXPECT_TRUE(fs::is_directory(users_ / "alice")) << "the user root itself stays";
  EXPECT_TRUE(fs::is_empty(users_ / "alice"));
  EXPECT_EQ(links.unlink("alice", kAlbum), 0u) << "nothing left to remove";
}

TEST_F(UserLinksTest, UnlinkWorksWhenTheLibraryFileIsGone) {
  make_library(dir_.path());
  UserLinks links(library_, users_);
  links.link("alice", kAlbum);
  fs::remove_all(library_ / "Artist");
  EXPECT_EQ(links.unlink("alice", kAlbum), 3u);
  EXPECT_TRUE(fs::is_empty(users_ / "alice"));
}

TEST_F(UserLinksTest, SyncRepairsMissingAndRemovesDanglingAndUnwanted) {
  make_library(dir_.path());
  UserLinks links(library_, users_);
  links.link("alice", kAlbum);
  links.link("alice", {"Other/Record (1990)/01 - X.mp3"});
  fs::remove(users_ / "alice" / kAlbum[1]);                                      // deleted link
  fs::create_symlink("../../nowhere.flac", users_ / "alice/Artist/stray.flac");  // dangling
  write(users_ / "alice/Junk/notes.txt", "not a library file");

  auto [created, removed] = links.sync("alice", kAlbum);
  EXPECT_EQ(created, 1u);
  EXPECT_EQ(removed, 3u);  // stray.flac, notes.txt, the no longer wanted X.mp3
  EXPECT_EQ(files_under(users_ / "alice"),
            (std::vector<std::string>{kAlbum[0], kAlbum[1], kAlbum[2]}));
  EXPECT_FALSE(lexists(users_ / "alice/Junk"));
  EXPECT_FALSE(lexists(users_ / "alice/Other"));
  for (const std::string& rel : kAlbum)
    EXPECT_EQ(inode_of(users_ / "alice" / rel), inode_of(library_ / rel));

  EXPECT_EQ(links.sync("alice", kAlbum), (std::pair<size_t, size_t>{0, 0}));
  EXPECT_EQ(links.sync("nobody", {}), (std::pair<size_t, size_t>{0, 0}));
}

TEST_F(UserLinksTest, SyncDropsLinksWhoseLibraryFileIsGone) {
  make_library(dir_.path());
  UserLinks links(library_, users_);
  links.link("alice", kAlbum);
  fs::remove(library_ / kAlbum[2]);
  EXPECT_EQ(links.sync("alice", kAlbum), (std::pair<size_t, size_t>{0, 1}));
  EXPECT_FALSE(lexists(users_ / "alice" / kAlbum[2]));
}

TEST_F(UserLinksTest, RemoveUserDeletesOnlyTheUsersFolder) {
  make_library(dir_.path());
  UserLinks links(library_, users_);
  links.link("alice", kAlbum);
  links.link("bob", kAlbum);
  links.remove_user("alice");
  EXPECT_FALSE(lexists(users_ / "alice"));
  EXPECT_EQ(files_under(users_ / "bob").size(), 3u);
  for (const std::string& rel : kAlbum) EXPECT_TRUE(lexists(library_ / rel));
  EXPECT_NO_THROW(links.remove_user("alice"));
}

TEST_F(UserLinksTest, EscapeAttemptsThrowBeforeAnythingChanges) {
  make_library(dir_.path());
  write(dir_ / "secret.txt", "secret");
  fs::create_directories(dir_ / "elsewhere");
  fs::create_directory_symlink(dir_.path(), library_ / "escape");
  UserLinks links(library_, users_);

  const std::vector<std::string> bad_paths = {
      "",
      "/etc/passwd",
      "../secret.txt",
      "Artist/../../secret.txt",
      "Artist/./cover.jpg",
      "Artist/Album (2001)/",
      std::string("Artist/a\0b", 10),
      "escape/secret.txt",  // a symlinked folder in the library leading out
  };
  for (const std::string& bad : bad_paths) {
    EXPECT_THROW(links.link("alice", {kAlbum[0], bad}), std::invalid_argument) << bad;
    EXPECT_THROW(links.unlink("alice", {bad}), std::invalid_argument) << bad;
    EXPECT_THROW(links.sync("alice", {bad}), std::invalid_argument) << bad;
  }
  EXPECT_FALSE(lexists(users_ / "alice")) << "a refused call changed nothing";

  for (const std::string& bad :
       std::vector<std::string>{"", ".", "..", "a/b", std::string("a\0b", 3)}) {
    EXPECT_THROW(links.link(bad, kAlbum), std::invalid_argument);
    EXPECT_THROW(links.remove_user(bad), std::invalid_argument);
    EXPECT_THROW(links.user_root(bad), std::invalid_argument);
  }

  // A folder inside the user's tree that leads out of it.
  fs::create_directories(users_ / "alice");
  fs::create_directory_symlink(dir_ / "elsewhere", users_ / "alice" / "Artist");
  EXPECT_THROW(links.link("alice", {kAlbum[2]}), std::invalid_argument);
  EXPECT_TRUE(fs::is_empty(dir_ / "elsewhere"));

  // A user folder that is itself a symlink (into another user's folder).
  fs::create_directories(users_ / "bob");
  fs::create_directory_symlink(users_ / "bob", users_ / "mallory");
  EXPECT_THROW(links.link("mallory", {kAlbum[2]}), std::invalid_argument);
  EXPECT_TRUE(fs::is_empty(users_ / "bob"));
  EXPECT_NO_THROW(links.remove_user("mallory"));
  EXPECT_TRUE(fs::is_directory(users_ / "bob"))
      << "removing a symlinked user folder keeps the target";
}

}  // namespace
}  // namespace barbossa
