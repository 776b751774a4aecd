#include "files/fs_util.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include <nlohmann/json.hpp>

#include "test_support.h"

namespace barbossa {
namespace {

namespace fs = std::filesystem;
using testing::device_of;
using testing::files_under;
using testing::lexists;
using testing::slurp;
using testing::TempDir;
using testing::write;

// Bytes that differ position by position, larger than the 1 MiB copy
// buffer, so a copy that drops or repeats a chunk is caught.
std::string big_content() {
  std::string s(3 * 1024 * 1024 + 12345, '\0');
  uint32_t x = 2463534242u;
  for (char& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

TEST(WriteFileAtomic, CreatesAndReplacesWithoutLeftovers) {
  TempDir dir;
  fs::path p = dir / "journal.json";
  write_file_atomic(p, "first");
  EXPECT_EQ(slurp(p), "first");
  write_file_atomic(p, std::string("sec\0ond", 7));
  EXPECT_EQ(slurp(p), std::string("sec\0ond", 7));
  EXPECT_EQ(files_under(dir.path()), std::vector<std::string>{"journal.json"});
}

TEST(WriteFileAtomic, ThrowsWhenFolderMissing) {
  TempDir dir;
  EXPECT_THROW(write_file_atomic(dir / "missing" / "f", "x"), fs::filesystem_error);
  EXPECT_TRUE(files_under(dir.path()).empty());
}

TEST(ReadFile, ReadsBinaryAndThrowsOnMissing) {
  TempDir dir;
  std::string content = big_content();
  write(dir / "f", content);
  EXPECT_EQ(read_file(dir / "f"), content);
  EXPECT_THROW(read_file(dir / "nope"), fs::filesystem_error);
}

TEST(FsyncPath, FilesAndFolders) {
  TempDir dir;
  write(dir / "f", "x");
  EXPECT_NO_THROW(fsync_path(dir / "f"));
  EXPECT_NO_THROW(fsync_path(dir.path()));
  EXPECT_THROW(fsync_path(dir / "nope"), fs::filesystem_error);
}

TEST(MoveFile, RenamesAndCreatesParents) {
  TempDir dir;
  write(dir / "in" / "a.flac", "audio");
  ::chmod((dir / "in" / "a.flac").c_str(), 0640);
  fs::path to = dir / "lib" / "Artist" / "Album (2001)" / "01 - A.flac";
  move_file(dir / "in" / "a.flac", to);
  EXPECT_EQ(slurp(to), "audio");
  EXPECT_FALSE(lexists(dir / "in" / "a.flac"));
  EXPECT_EQ(fs::status(to).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
}

TEST(MoveFile, RefusesExistingTarget) {
  TempDir dir;
  write(dir / "a", "new");
  write(dir / "b", "old");
  EXPECT_THROW(move_file(dir / "a", dir / "b"), fs::filesystem_error);
  EXPECT_EQ(slurp(dir / "a"), "new");
  EXPECT_EQ(slurp(dir / "b"), "old");

  // A dangling symlink occupies the name too.
  fs::create_symlink(dir / "nowhere", dir / "c");
  EXPECT_THROW(move_file(dir / "a", dir / "c"), fs::filesystem_error);
  EXPECT_EQ(slurp(dir / "a"), "new");
}

TEST(MoveFile, MissingSourceAndFoldersAreRefused) {
  TempDir dir;
  EXPECT_THROW(move_file(dir / "nope", dir / "x"), fs::filesystem_error);
  fs::create_directory(dir / "folder");
  EXPECT_THROW(move_file(dir / "folder", dir / "x"), fs::filesystem_error);
  EXPECT_TRUE(fs::is_directory(dir / "folder"));
}

TEST(MoveFile, MovesASymlinkAsALink) {
  TempDir dir;
  write(dir / "real", "data");
  fs::create_directory(dir / "in");
  fs::create_symlink("real", dir / "in" / "link");
  move_file(dir / "in" / "link", dir / "out" / "link");
  EXPECT_TRUE(fs::is_symlink(dir / "out" / "link"));
  EXPECT_EQ(fs::read_symlink(dir / "out" / "link"), "real");
}

class CrossFs : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::other_fs_available()) {
      GTEST_SKIP() << "/dev/shm is not a separate writable filesystem here; EXDEV path untested";
    }
    shm_ = std::make_unique<TempDir>("/dev/shm");
    ASSERT_NE(device_of(shm_->path()), device_of(tmp_.path()));
  }
  TempDir tmp_;
  std::unique_ptr<TempDir> shm_;
};

TEST_F(CrossFs, MoveCopiesVerifiesAndRemovesSource) {
  std::string content = big_content();
  fs::path from = *shm_ / "inbox" / "Album" / "01.flac";
  write(from, content);
  ::chmod(from.c_str(), 0604);
  fs::last_write_time(from, fs::file_time_type::clock::now() - std::chrono::hours(24 * 400));
  auto mtime = fs::last_write_time(from);

  fs::path to = tmp_ / "lib" / "A" / "B" / "01.flac";
  move_file(from, to);
  EXPECT_EQ(slurp(to), content);
  EXPECT_FALSE(lexists(from));
  EXPECT_FALSE(lexists(temp_path_for(to)));
  EXPECT_EQ(fs::last_write_time(to), mtime);
  EXPECT_EQ(fs::status(to).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read);
  EXPECT_EQ(files_under(tmp_ / "lib"), std::vector<std::string>{"A/B/01.flac"});
}

TEST_F(CrossFs, MoveRefusesExistingTargetAndLeavesNoTemp) {
  write(*shm_ / "a", "new");
  write(tmp_ / "b", "old");
  EXPECT_THROW(move_file(*shm_ / "a", tmp_ / "b"), fs::filesystem_error);
  EXPECT_EQ(slurp(*shm_ / "a"), "new");
  EXPECT_EQ(slurp(tmp_ / "b"), "old");
  EXPECT_EQ(files_under(tmp_.path()), std::vector<std::string>{"b"});
}

TEST_F(CrossFs, MoveCarriesSymlinks) {
  fs::create_symlink("cover.jpg", *shm_ / "folder.jpg");
  move_file(*shm_ / "folder.jpg", tmp_ / "folder.jpg");
  EXPECT_EQ(fs::read_symlink(tmp_ / "folder.jpg"), "cover.jpg");
  EXPECT_FALSE(lexists(*shm_ / "folder.jpg"));
}

TEST_F(CrossFs, CopyKeepsSourceAndReplacesStaleTemp) {
  write(*shm_ / "a", "payload");
  fs::path to = tmp_ / "x" / "a";
  write(temp_path_for(to), "junk from a crash");
  copy_file_durable(*shm_ / "a", to);
  EXPECT_EQ(slurp(to), "payload");
  EXPECT_EQ(slurp(*shm_ / "a"), "payload");
  EXPECT_FALSE(lexists(temp_path_for(to)));
}

TEST(CopyFileDurable, SameFilesystemMakesAnIndependentCopy) {
  TempDir dir;
  write(dir / "a", "payload");
  copy_file_durable(dir / "a", dir / "sub" / "b");
  EXPECT_EQ(slurp(dir / "sub" / "b"), "payload");
  EXPECT_NE(testing::inode_of(dir / "a"), testing::inode_of(dir / "sub" / "b"));
  EXPECT_THROW(copy_file_durable(dir / "a", dir / "sub" / "b"), fs::filesystem_error);
}

TEST(IsWithin, LexicalRules) {
  TempDir dir;
  fs::path root = dir / "lib";
  fs::create_directories(root / "A");
  EXPECT_TRUE(is_within(root, root));
  EXPECT_TRUE(is_within(root, root / "A"));
  EXPECT_TRUE(is_within(root, root / "A" / "not" / "yet" / "there.flac"));
  EXPECT_TRUE(is_within(root / "", root / "A" / ""));
  EXPECT_TRUE(is_within(root, root / "A" / ".." / "B"));
  EXPECT_FALSE(is_within(root, root / ".."));
  EXPECT_FALSE(is_within(root, root / ".." / "lib2" / "x"));
  EXPECT_FALSE(is_within(root, root / "A" / ".." / ".." / "etc"));
  EXPECT_FALSE(is_within(root, root / "missing" / ".." / ".." / "x"));
  EXPECT_FALSE(is_within(root, dir / "library"));  // a prefix of the string, not of the path
  EXPECT_FALSE(is_within(root, "/etc/passwd"));
}

TEST(IsWithin, SymlinkEscapesAreRefused) {
  TempDir dir;
  fs::path root = dir / "lib";
  fs::create_directories(root / "A");
  fs::create_directories(dir / "outside");
  write(dir / "outside" / "secret", "x");
  fs::create_directory_symlink(dir / "outside", root / "evil");
  fs::create_symlink("../../outside/secret", root / "A" / "evil.flac");
  fs::create_directory_symlink("A", root / "alias");

  EXPECT_FALSE(is_within(root, root / "evil"));
  EXPECT_FALSE(is_within(root, root / "evil" / "secret"));
  EXPECT_FALSE(is_within(root, root / "evil" / "new-file"));
  EXPECT_FALSE(is_within(root, root / "A" / "evil.flac"));
  EXPECT_TRUE(is_within(root, root / "alias" / "x.flac"));  // a link that stays inside is fine
}

TEST(IsWithin, RootBehindASymlink) {
  TempDir dir;
  fs::create_directories(dir / "real" / "A");
  fs::create_directory_symlink(dir / "real", dir / "lib");
  EXPECT_TRUE(is_within(dir / "lib", dir / "lib" / "A" / "x"));
  EXPECT_FALSE(is_within(dir / "lib", dir / "real2"));
}

TEST(PruneEmptyDirs, RemovesEmptyChainUpToStop) {
  TempDir dir;
  fs::create_directories(dir / "inbox" / "Album" / "CD1" / "Scans");
  write(dir / "inbox" / "other.txt", "stay");
  prune_empty_dirs(dir / "inbox" / "Album" / "CD1" / "Scans", dir / "inbox");
  EXPECT_FALSE(lexists(dir / "inbox" / "Album"));
  EXPECT_TRUE(fs::is_directory(dir / "inbox"));

  // The stop folder is never removed, even when empty.
  fs::remove(dir / "inbox" / "other.txt");
  fs::create_directories(dir / "inbox" / "X");
  prune_empty_dirs(dir / "inbox" / "X", dir / "inbox");
  EXPECT_TRUE(fs::is_directory(dir / "inbox"));
  EXPECT_FALSE(lexists(dir / "inbox" / "X"));
}

TEST(PruneEmptyDirs, StopsAtNonEmptyAndIgnoresOutside) {
  TempDir dir;
  fs::create_directories(dir / "root" / "A" / "B");
  write(dir / "root" / "A" / "keep", "x");
  prune_empty_dirs(dir / "root" / "A" / "B", dir / "root");
  EXPECT_FALSE(lexists(dir / "root" / "A" / "B"));
  EXPECT_TRUE(lexists(dir / "root" / "A" / "keep"));

  fs::create_directories(dir / "elsewhere" / "empty");
  prune_empty_dirs(dir / "elsewhere" / "empty", dir / "root");
  EXPECT_TRUE(fs::is_directory(dir / "elsewhere" / "empty"));

  // Starting from a folder that is already gone still prunes its parents.
  fs::create_directories(dir / "root" / "C");
  prune_empty_dirs(dir / "root" / "C" / "gone", dir / "root");
  EXPECT_FALSE(lexists(dir / "root" / "C"));
}

TEST(RemoveEmptyTree, RemovesOnlyTreesOfEmptyFolders) {
  TempDir dir;
  fs::create_directories(dir / "Album" / "Scans" / "Inner");
  fs::create_directories(dir / "Album" / "CD1");
  EXPECT_TRUE(remove_empty_tree(dir / "Album"));
  EXPECT_FALSE(lexists(dir / "Album"));

  // One file anywhere keeps the whole tree; so does a symlink (not followed).
  fs::create_directories(dir / "Kept" / "Scans");
  write(dir / "Kept" / "Scans" / "back.jpg", "x");
  EXPECT_FALSE(remove_empty_tree(dir / "Kept"));
  EXPECT_TRUE(lexists(dir / "Kept" / "Scans" / "back.jpg"));
  fs::create_directories(dir / "Linked" / "Sub");
  fs::create_directories(dir / "target");
  fs::create_directory_symlink(dir / "target", dir / "Linked" / "Sub" / "to");
  EXPECT_FALSE(remove_empty_tree(dir / "Linked"));
  EXPECT_TRUE(lexists(dir / "Linked" / "Sub" / "to"));
  EXPECT_TRUE(fs::is_directory(dir / "target"));

  EXPECT_FALSE(remove_empty_tree(dir / "missing"));
  write(dir / "file", "x");
  EXPECT_FALSE(remove_empty_tree(dir / "file"));
}

TEST(UniqueChild, NumbersClashes) {
  TempDir dir;
  EXPECT_EQ(unique_child(dir.path(), "Album"), dir / "Album");
  fs::create_directory(dir / "Album");
  EXPECT_EQ(unique_child(dir.path(), "Album"), dir / "Album (2)");
  write(dir / "Album (2)", "");
  fs::create_symlink(dir / "nowhere", dir / "Album (3)");  // dangling still taken
  EXPECT_EQ(unique_child(dir.path(), "Album"), dir / "Album (4)");
}

TEST(UniqueChild, RefusesBadNamesAndKeepsLongNamesValid) {
  TempDir dir;
  for (const std::string& bad :
       std::vector<std::string>{"", ".", "..", "a/b", std::string("a\0b", 3)}) {
    EXPECT_THROW(unique_child(dir.path(), bad), std::invalid_argument) << bad;
  }
  // 127 two-byte characters = 254 bytes: " (2)" must cut whole characters.
  std::string name;
  for (int i = 0; i < 127; ++i) name += "\xC3\xA9";
  write(dir / name, "");
  fs::path p = unique_child(dir.path(), name);
  std::string leaf = p.filename().string();
  EXPECT_LE(leaf.size(), 255u);
  EXPECT_EQ(leaf.substr(leaf.size() - 4), " (2)");
  EXPECT_EQ((leaf.size() - 4) % 2, 0u);  // no half character
  write(p, "");                          // the file system accepts it
}

TEST(TempPathFor, BesideHiddenDeterministicAndShort) {
  fs::path t = temp_path_for("/lib/A/01.flac");
  EXPECT_EQ(t.parent_path(), fs::path("/lib/A"));
  EXPECT_EQ(t.filename().string().front(), '.');
  EXPECT_EQ(t, temp_path_for("/lib/A/01.flac"));
  std::string long_a(250, 'a');
  std::string long_b = long_a;
  long_b.back() = 'b';
  EXPECT_LE(temp_path_for("/x/" + long_a).filename().string().size(), 255u);
  EXPECT_NE(temp_path_for("/x/" + long_a), temp_path_for("/x/" + long_b));
}

TEST(PathJson, Latin1NamesRoundTripAndDump) {
  const fs::path utf8 = "/inbox/Café Tacuba";
  const fs::path latin1 = "/inbox/Caf\xe9 Tacuba";
  EXPECT_EQ(path_to_json(utf8), nlohmann::json("/inbox/Café Tacuba"));
  const nlohmann::json j = path_to_json(latin1);
  ASSERT_TRUE(j.is_object());
  EXPECT_NO_THROW((void)j.dump());
  EXPECT_EQ(path_from_json(nlohmann::json::parse(j.dump())), latin1);
  EXPECT_EQ(path_from_json(path_to_json(utf8)), utf8);
  // Strict: a surrogate is not UTF-8 for nlohmann either.
  const fs::path surrogate = "/x/\xed\xa0\x80";
  EXPECT_NO_THROW((void)path_to_json(surrogate).dump());
  EXPECT_EQ(path_from_json(path_to_json(surrogate)), surrogate);
  EXPECT_THROW(path_from_json(nlohmann::json(3)), std::runtime_error);
  EXPECT_THROW(path_from_json(nlohmann::json::parse(R"({"hex":"4"})")), std::runtime_error);
  EXPECT_THROW(path_from_json(nlohmann::json::parse(R"({"hex":"zz"})")), std::runtime_error);
}

TEST(DisplayPath, Latin1NamesReadRight) {
  EXPECT_EQ(display_path("Caf\xe9 Tacuba"), "Café Tacuba");
  EXPECT_EQ(display_path("/m/Caf\xe9/01 \x96 Intro.flac"), "/m/Café/01 – Intro.flac");
  EXPECT_EQ(display_path("Café"), "Café");
}

}  // namespace
}  // namespace barbossa
