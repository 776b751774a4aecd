#include "media/sha256.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "media_test_util.h"

namespace barbossa {
namespace {

namespace fs = std::filesystem;

constexpr const char* kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kAbc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(sha256_hex("", 0), kEmpty);
  EXPECT_EQ(sha256_hex("abc", 3), kAbc);
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(sha256_hex(two_blocks.data(), two_blocks.size()),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, SmallFiles) {
  test::TempDir dir;
  test::write_bytes(dir / "empty", "");
  test::write_bytes(dir / "abc", "abc");
  EXPECT_EQ(sha256_file(dir / "empty"), kEmpty);
  EXPECT_EQ(sha256_file(dir / "abc"), kAbc);
}

TEST(Sha256Test, MultiMebibyteFileMatchesSha256sum) {
  test::TempDir dir;
  // Not a multiple of the 1 MiB buffer, so the last read is partial.
  const fs::path big = dir / "big.bin";
  test::write_bytes(big, test::random_bytes(5 * 1024 * 1024 + 12345, 1));
  ASSERT_TRUE(
      test::run("sha256sum " + test::quote(big) + " > " + test::quote(dir / "sum"), dir.path()));
  const std::string expected = test::read_text(dir / "sum").substr(0, 64);
  ASSERT_EQ(expected.size(), 64u);
  EXPECT_EQ(sha256_file(big), expected);
}

TEST(Sha256Test, MissingFileThrowsWithItsName) {
  test::TempDir dir;
  const fs::path missing = dir / "no-such-file.flac";
  try {
    sha256_file(missing);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(missing.string()), std::string::npos) << what;
    EXPECT_NE(what.find("No such file or directory"), std::string::npos) << what;
  }
}

TEST(Sha256Test, FolderThrows) {
  test::TempDir dir;
  // open() succeeds on a folder; read() is what fails (EISDIR).
  EXPECT_THROW(sha256_file(dir.path()), std::runtime_error);
}

TEST(Sha256Test, FilesKeepInputOrderAndReportErrors) {
  test::TempDir dir;
  test::write_bytes(dir / "a", "abc");
  test::write_bytes(dir / "b", "");
  std::vector<fs::path> paths = {dir / "a", dir / "missing", dir / "b"};
  for (int i = 0; i < 20; ++i) paths.push_back(i % 2 ? dir / "a" : dir / "b");

  const std::vector<FileDigest> digests = sha256_files(paths, 3);
  ASSERT_EQ(digests.size(), paths.size());
  EXPECT_EQ(digests[0].sha256, kAbc);
  EXPECT_EQ(digests[0].error, "");
  EXPECT_EQ(digests[1].sha256, "");
  EXPECT_NE(digests[1].error.find("missing"), std::string::npos) << digests[1].error;
  EXPECT_EQ(digests[2].sha256, kEmpty);
  for (size_t i = 3; i < paths.size(); ++i) {
    EXPECT_EQ(digests[i].sha256, (i - 3) % 2 ? kAbc : kEmpty) << i;
  }
  EXPECT_TRUE(sha256_files({}, 0).empty());
}

TEST(ParallelForTest, EveryIndexExactlyOnce) {
  for (size_t threads : {size_t{0}, size_t{1}, size_t{3}, size_t{64}}) {
    std::vector<std::atomic<int>> hits(1000);
    parallel_for(hits.size(), threads, [&](size_t i) { hits[i].fetch_add(1); });
    for (size_t i = 0; i < hits.size(); ++i) ASSERT_EQ(hits[i].load(), 1) << i << " " << threads;
  }
  int calls = 0;
  parallel_for(0, 4, [&](size_t) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(ParallelForTest, RethrowsAndStopsHandingOutWork) {
  std::atomic<int> calls{0};
  EXPECT_THROW(parallel_for(100000, 2,
                            [&](size_t i) {
                              calls.fetch_add(1);
                              if (i == 10) throw std::invalid_argument("boom");
                            }),
               std::invalid_argument);
  EXPECT_LT(calls.load(), 100000);
}

}  // namespace
}  // namespace barbossa

// --- ParallelPool ----------------------------------------------------------

#include <atomic>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "media/parallel_pool.h"

namespace barbossa {
namespace {

TEST(WorkerPoolTest, RunsEveryIndexOnceOnCallerAndHelpers) {
  ParallelPool pool(3);
  std::vector<std::atomic<int>> hits(1000);
  std::mutex m;
  std::set<std::thread::id> threads;
  pool.run(hits.size(), pool.size(), [&](size_t i) {
    hits[i].fetch_add(1);
    std::lock_guard lock(m);
    threads.insert(std::this_thread::get_id());
  });
  for (auto& h : hits) EXPECT_EQ(h.load(), 1);
  EXPECT_GE(threads.size(), 1u);
  EXPECT_LE(threads.size(), 4u);
}

TEST(WorkerPoolTest, ZeroHelpersRunsOnTheCallerOnly) {
  ParallelPool pool(2);
  std::set<std::thread::id> threads;
  pool.run(50, 0, [&](size_t) { threads.insert(std::this_thread::get_id()); });
  EXPECT_EQ(threads, std::set<std::thread::id>{std::this_thread::get_id()});
}

TEST(WorkerPoolTest, FirstExceptionIsRethrownAfterEveryCallEnded) {
  ParallelPool pool(2);
  std::atomic<int> running{0};
  EXPECT_THROW(pool.run(200, 2,
                        [&](size_t i) {
                          running.fetch_add(1);
                          if (i == 7) throw std::runtime_error("bad file");
                          running.fetch_sub(1);
                        }),
               std::runtime_error);
  EXPECT_EQ(running.load(), 1);  // only the throwing call never decremented
}

// Many callers at once, each also a worker: nobody waits on a helper that
// is busy with someone else's loop forever.
TEST(WorkerPoolTest, ConcurrentCallersDoNotDeadlock) {
  ParallelPool pool(1);
  std::atomic<int> total{0};
  {
    std::vector<std::jthread> callers;
    for (int c = 0; c < 6; ++c) {
      callers.emplace_back([&] {
        for (int round = 0; round < 20; ++round) {
          pool.run(10, 1, [&](size_t) { total.fetch_add(1); });
        }
      });
    }
  }
  EXPECT_EQ(total.load(), 6 * 20 * 10);
}

}  // namespace
}  // namespace barbossa
