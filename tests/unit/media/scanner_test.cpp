#include "importer/scanner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "media/sha256.h"
#include "media_test_util.h"

namespace barbossa {
namespace {

namespace fs = std::filesystem;
using test::quote;
using test::run;

// album/
//   CD1/01 - A.flac, CD1/02 - B.flac
//   Disc 2/01 - C.flac, Disc 2/02 - Empty.flac (0 bytes), Disc 2/03 - Garbage.mp3
//   bonus.flac
//   cover.jpg, rip.log, album.cue, Scans/back.png       (extras)
//   desktop.ini, .DS_Store, Thumbs.db, ._01 - A.flac,    (ignored)
//   __MACOSX/CD1/01 - A.flac
//   linked.flac -> outside/real.flac, linkdir -> outside (not followed)
class ScannerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!test::have_tools()) return;
    dir_ = std::make_unique<test::TempDir>();
    const test::TempDir& d = *dir_;
    const fs::path album = d / "album";
    const fs::path outside = d / "outside";
    for (const fs::path& p :
         {album / "CD1", album / "Disc 2", album / "Scans", album / "__MACOSX" / "CD1", outside}) {
      fs::create_directories(p);
    }
    const fs::path wav = d / "src.wav";
    ASSERT_TRUE(run(test::sox_sine(wav), d.path()));
    auto flac = [&](const fs::path& out, const std::string& title, int track, int disc) {
      ASSERT_TRUE(run("flac -s -f --tag=ARTIST=Artist --tag=ALBUM=Album --tag=TITLE=" + title +
                          " --tag=TRACKNUMBER=" + std::to_string(track) + " --tag=DISCNUMBER=" +
                          std::to_string(disc) + " -o " + quote(out) + " " + quote(wav),
                      d.path()));
    };
    flac(album / "CD1" / "01 - A.flac", "A", 1, 1);
    flac(album / "CD1" / "02 - B.flac", "B", 2, 1);
    flac(album / "Disc 2" / "01 - C.flac", "C", 1, 2);
    flac(album / "bonus.flac", "Bonus", 3, 2);
    flac(outside / "real.flac", "Outside", 9, 9);
    test::write_bytes(album / "Disc 2" / "02 - Empty.flac", "");
    test::write_bytes(album / "Disc 2" / "03 - Garbage.mp3", test::random_bytes(40000, 3));
    fs::copy_file(album / "CD1" / "01 - A.flac", album / "__MACOSX" / "CD1" / "01 - A.flac");
    for (const char* name : {"cover.jpg", "rip.log", "album.cue", "Scans/back.png", "desktop.ini",
                             ".DS_Store", "Thumbs.db"}) {
      test::write_bytes(album / name, "x");
    }
    test::write_bytes(album / "._01 - A.flac", test::random_bytes(4096, 5));
    test::write_bytes(outside / "inner.jpg", "x");
    fs::create_symlink(outside / "real.flac", album / "linked.flac");
    fs::create_directory_symlink(outside, album / "linkdir");
  }

  static void TearDownTestSuite() { dir_.reset(); }

  void SetUp() override {
    if (!dir_) GTEST_SKIP() << "sox and flac are needed to generate audio";
  }

  static fs::path album() { return *dir_ / "album"; }

  static inline std::unique_ptr<test::TempDir> dir_;
};

std::vector<std::string> relatives(const AlbumCandidate& c) {
  std::vector<std::string> out;
  for (const ScannedTrack& t : c.tracks) out.push_back(t.relative);
  return out;
}

TEST_F(ScannerTest, TracksDiscFoldersAndChecksums) {
  const AlbumCandidate c = scan_album_folder(album());
  EXPECT_EQ(c.root, album());
  EXPECT_EQ(relatives(c), (std::vector<std::string>{"CD1/01 - A.flac", "CD1/02 - B.flac",
                                                    "Disc 2/01 - C.flac", "bonus.flac"}));
  ASSERT_EQ(c.tracks.size(), 4u);
  const std::vector<int> discs = {1, 1, 2, 0};
  const std::vector<std::string> titles = {"A", "B", "C", "Bonus"};
  for (size_t i = 0; i < c.tracks.size(); ++i) {
    const ScannedTrack& t = c.tracks[i];
    EXPECT_EQ(t.path, album() / t.relative);
    EXPECT_EQ(t.disc_from_folder, discs[i]) << t.relative;
    EXPECT_EQ(t.info.tags.title, titles[i]);
    EXPECT_EQ(t.info.codec, "FLAC");
    EXPECT_EQ(t.sha256, sha256_file(t.path));
    EXPECT_EQ(t.sha256.size(), 64u);
  }
}

TEST_F(ScannerTest, ExtrasTravelAndJunkIsIgnored) {
  const AlbumCandidate c = scan_album_folder(album());
  std::vector<fs::path> expected = {album() / "Scans" / "back.png", album() / "album.cue",
                                    album() / "cover.jpg", album() / "rip.log"};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(c.extras, expected);
}

TEST_F(ScannerTest, BadFilesAreProblemsByName) {
  const AlbumCandidate c = scan_album_folder(album());
  EXPECT_EQ(c.problems, (std::vector<std::string>{
                            "Disc 2/02 - Empty.flac: zero-byte file",
                            "Disc 2/03 - Garbage.mp3: not a valid MP3 file (no audio stream found)",
                        }));
}

TEST_F(ScannerTest, SymlinksAreNotFollowed) {
  const AlbumCandidate c = scan_album_folder(album());
  for (const ScannedTrack& t : c.tracks) {
    EXPECT_EQ(t.relative.find("link"), std::string::npos) << t.relative;
    EXPECT_NE(t.info.tags.title, "Outside");
  }
  for (const fs::path& p : c.extras) EXPECT_NE(p.filename(), "inner.jpg");
}

TEST_F(ScannerTest, SingleThreadGivesTheSameAnswer) {
  const AlbumCandidate parallel = scan_album_folder(album(), {.threads = 4});
  const AlbumCandidate serial = scan_album_folder(album(), {.threads = 1});
  EXPECT_EQ(relatives(parallel), relatives(serial));
  EXPECT_EQ(parallel.problems, serial.problems);
  EXPECT_EQ(parallel.extras, serial.extras);
  for (size_t i = 0; i < parallel.tracks.size() && i < serial.tracks.size(); ++i) {
    EXPECT_EQ(parallel.tracks[i].sha256, serial.tracks[i].sha256);
  }
}

TEST_F(ScannerTest, RootMustBeAFolder) {
  EXPECT_THROW(scan_album_folder(*dir_ / "does-not-exist"), std::runtime_error);
  EXPECT_THROW(scan_album_folder(*dir_ / "src.wav"), std::runtime_error);
}

TEST(ScannerEmptyTest, EmptyFolderIsAnEmptyCandidate) {
  test::TempDir dir;
  const AlbumCandidate c = scan_album_folder(dir.path());
  EXPECT_TRUE(c.tracks.empty());
  EXPECT_TRUE(c.extras.empty());
  EXPECT_TRUE(c.problems.empty());
}

}  // namespace
}  // namespace barbossa
