#include "downloads/archive.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "downloads/child_process.h"
#include "unit/temp_dir.h"

namespace barbossa::downloads {
namespace {

namespace fs = std::filesystem;

// Every file and folder under `root`, relative to it.
std::set<std::string> tree(const fs::path& root) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    out.insert(fs::relative(e.path(), root).string());
  }
  return out;
}

// The archives are built at test time by make_archives.py (next to this file;
// DOWNLOADS_TEST_DIR comes from tests/CMakeLists.txt).
class ArchiveTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    made_ = std::make_unique<test::TempDir>();
    ChildSpec spec;
    spec.program = "/usr/bin/python3";
    spec.args = {fs::path(DOWNLOADS_TEST_DIR) / "make_archives.py", made_->path()};
    ChildResult r = run_child(spec, nullptr);
    ASSERT_TRUE(r.ok()) << r.describe();
  }
  static void TearDownTestSuite() { made_.reset(); }

  void SetUp() override { fs::create_directory(staging_); }

  // Unpacks `name` with a 1 MiB limit; the error message, or "" on success.
  std::string unpack(const std::string& name) {
    try {
      unpack_archive(made_->path() / name, staging_, ArchiveLimits{1 << 20, 1000});
      return "";
    } catch (const ArchiveError& e) {
      return e.what();
    }
  }
  // A rejected archive leaves the staging folder empty and nothing beside it.
  void expect_untouched() {
    EXPECT_TRUE(fs::is_empty(staging_));
    EXPECT_EQ(tree(work_.path()), std::set<std::string>{"staging"});
    EXPECT_FALSE(fs::exists(made_->path() / "evil.flac"));
    EXPECT_FALSE(fs::exists(made_->path() / "abs-evil.flac"));
  }

  static std::unique_ptr<test::TempDir> made_;
  test::TempDir work_;
  fs::path staging_ = work_ / "staging";
};
std::unique_ptr<test::TempDir> ArchiveTest::made_;

TEST_F(ArchiveTest, DetectsByContentNotName) {
  EXPECT_EQ(detect_archive(made_->path() / "album.zip"), ArchiveKind::zip);
  EXPECT_EQ(detect_archive(made_->path() / "disguised.mp3"), ArchiveKind::zip);
  EXPECT_EQ(detect_archive(made_->path() / "album.tar.xz"), ArchiveKind::tar_xz);
  EXPECT_EQ(detect_archive(made_->path() / "album.tgz"), ArchiveKind::tar_gz);
  EXPECT_EQ(detect_archive(made_->path() / "plain.tar"), ArchiveKind::tar);
  EXPECT_EQ(detect_archive(made_->path() / "song.zip"), ArchiveKind::none);
  EXPECT_EQ(detect_archive(made_->path() / "missing"), ArchiveKind::none);
  EXPECT_EQ(unpack("song.zip"), "the file is not a zip or tar archive");
}

TEST_F(ArchiveTest, UnpacksAnAlbumZip) {
  UnpackResult r = unpack_archive(made_->path() / "disguised.mp3", staging_);
  EXPECT_EQ(r.files, 3u);
  EXPECT_EQ(r.bytes, 5004u + 7004u + 103u);
  EXPECT_EQ(tree(staging_), (std::set<std::string>{"Album", "Album/01 One.flac",
                                                   "Album/02 Two.flac", "Album/cover.jpg"}));
  EXPECT_EQ(fs::file_size(staging_ / "Album/02 Two.flac"), 7004u);
}

TEST_F(ArchiveTest, UnpacksTarXzGzAndPlain) {
  EXPECT_EQ(unpack("album.tar.xz"), "");
  EXPECT_EQ(tree(staging_), (std::set<std::string>{"Artist - Album", "Artist - Album/01.mp3",
                                                   "Artist - Album/02.mp3"}));
  std::ifstream in(staging_ / "Artist - Album/02.mp3");
  std::string head(4, '\0');
  in.read(head.data(), 4);
  EXPECT_EQ(head, "ID3y");
  fs::remove_all(staging_);
  fs::create_directory(staging_);
  EXPECT_EQ(unpack("album.tgz"), "");
  EXPECT_EQ(fs::file_size(staging_ / "a.ogg"), 104u);
  fs::remove(staging_ / "a.ogg");
  EXPECT_EQ(unpack("plain.tar"), "");
  EXPECT_EQ(fs::file_size(staging_ / "a.ogg"), 104u);
}

TEST_F(ArchiveTest, RejectsEscapingEntriesWhole) {
  EXPECT_EQ(unpack("evil.zip"), "archive entry ../evil.flac escapes the download folder");
  expect_untouched();
  EXPECT_EQ(unpack("deep-evil.zip"), "archive entry a/../../evil.flac escapes the download folder");
  expect_untouched();
  std::string abs = unpack("abs.zip");
  EXPECT_TRUE(abs.starts_with("archive entry /")) << abs;
  EXPECT_TRUE(abs.ends_with("abs-evil.flac is an absolute path")) << abs;
  expect_untouched();
}

TEST_F(ArchiveTest, RejectsLinksAndDevices) {
  EXPECT_EQ(unpack("symlink.zip"), "archive entry link.flac is a symbolic link");
  expect_untouched();
  EXPECT_EQ(unpack("symlink.tar"), "archive entry link is a symbolic link");
  expect_untouched();
  EXPECT_EQ(unpack("hardlink.tar"), "archive entry hard.flac is a hard link");
  expect_untouched();
  EXPECT_EQ(unpack("fifo.tar"), "archive entry pipe is a device, fifo or socket");
  expect_untouched();
}

TEST_F(ArchiveTest, RejectsBombsPastTheLimit) {
  EXPECT_EQ(unpack("bomb.zip"), "archive unpacks past the 1 MiB limit");
  expect_untouched();
  EXPECT_EQ(unpack("many.tar.gz"), "archive unpacks past the 1 MiB limit");
  expect_untouched();
  // The same archives fit under a larger limit.
  EXPECT_NO_THROW(unpack_archive(made_->path() / "many.tar.gz", staging_, {2 << 20, 10}));
  EXPECT_EQ(fs::file_size(staging_ / "part3.flac"), 400u << 10);
}

TEST_F(ArchiveTest, DamagedOrMissingStaging) {
  fs::path cut = work_ / "cut.tar.xz";
  {
    std::ifstream in(made_->path() / "album.tar.xz", std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(cut, std::ios::binary) << data.substr(0, data.size() / 2);
  }
  EXPECT_THROW(unpack_archive(cut, staging_), ArchiveError);
  EXPECT_TRUE(fs::is_empty(staging_));
  EXPECT_THROW(unpack_archive(made_->path() / "album.zip", work_ / "nope"), ArchiveError);
  EXPECT_EQ(describe_size(uint64_t{2} << 30), "2 GiB");
  EXPECT_EQ(describe_size(1000), "1000 bytes");
}

}  // namespace
}  // namespace barbossa::downloads
