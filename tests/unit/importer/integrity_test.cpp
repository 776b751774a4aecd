#include "importer/integrity.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "media/sha256.h"

namespace barbossa {
namespace {

namespace fs = std::filesystem;

class IntegrityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "integrity-test-XXXXXX").string();
    root_ = mkdtemp(tmpl.data());
    library_ = root_ / "library";
    fs::create_directories(library_ / "A");
    store_ = open_store((root_ / "db.sqlite").string());
    store_->migrate();
    store_->write([&](StoreSession& s) {
      Artist ar;
      ar.name = "A";
      ar.path = "A";
      ar = s.library().create_artist(ar);
      Album al;
      al.artist_id = ar.id;
      al.title = "B";
      al.path = "A/B";
      album_id_ = s.library().create_album(al).id;
    });
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  int64_t add(int number, const std::string& rel, const std::string& content) {
    if (!content.empty()) {
      fs::create_directories((library_ / rel).parent_path());
      std::ofstream(library_ / rel, std::ios::binary) << content;
    }
    Track t;
    t.album_id = album_id_;
    t.number = number;
    t.title = "t" + std::to_string(number);
    t.path = rel;
    t.format = "flac";
    t.sha256 = sha256_hex(content.data(), content.size());
    return store_->write([&](StoreSession& s) { return s.library().create_track(t).id; });
  }

  fs::path root_, library_;
  std::unique_ptr<Store> store_;
  int64_t album_id_ = 0;
};

TEST_F(IntegrityTest, ReportsMissingMismatchedAndEscapingPathsAcrossBatches) {
  int64_t good = add(1, "A/B/01.flac", "one");
  int64_t changed = add(2, "A/B/02.flac", "two");
  int64_t gone = add(3, "A/B/03.flac", "three");
  // Outside the library although the bytes match: never read, counted missing.
  std::ofstream(root_ / "outside.flac", std::ios::binary) << "four";
  int64_t escaping = add(4, "../outside.flac", "");
  store_->write([&](StoreSession& s) {
    Track t = *s.library().find_track(escaping);
    t.sha256 = sha256_hex("four", 4);
    s.library().update_track(t);
  });
  std::ofstream(library_ / "A/B/02.flac", std::ios::binary) << "TWO";
  fs::remove(library_ / "A/B/03.flac");

  ParallelPool pool(1);
  IntegrityOptions options;
  options.threads = 2;
  options.batch_size = 3;  // two batches: paging must not skip or repeat rows
  int64_t last_progress = 0;
  options.progress = [&](int64_t checked) { last_progress = checked; };
  IntegrityReport r = verify_library(*store_, library_, &pool, options);

  EXPECT_EQ(r.checked, 4);
  EXPECT_EQ(last_progress, 4);
  ASSERT_EQ(r.mismatched.size(), 1u);
  EXPECT_EQ(r.mismatched[0].track_id, changed);
  EXPECT_EQ(r.mismatched[0].expected, sha256_hex("two", 3));
  EXPECT_EQ(r.mismatched[0].actual, sha256_hex("TWO", 3));
  ASSERT_EQ(r.missing.size(), 2u);
  EXPECT_EQ(r.missing[0].track_id, gone);
  EXPECT_EQ(r.missing[1].track_id, escaping);
  EXPECT_FALSE(r.clean());

  auto rows = store_->read([&](StoreSession& s) {
    return std::make_pair(*s.library().find_track(good), *s.library().find_track(changed));
  });
  EXPECT_FALSE(rows.first.checksum_verified_at.empty());
  EXPECT_TRUE(rows.second.checksum_verified_at.empty());

  auto stored = store_->read([](StoreSession& s) { return s.meta().get(kIntegrityReportKey); });
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(nlohmann::json::parse(*stored), r.to_json());
}

TEST_F(IntegrityTest, EmptyLibraryIsCleanWithoutAPool) {
  IntegrityReport r = verify_library(*store_, library_, nullptr, size_t{2});
  EXPECT_EQ(r.checked, 0);
  EXPECT_TRUE(r.clean());
  nlohmann::json j = r.to_json();
  EXPECT_EQ(j.size(), 6u);
  EXPECT_TRUE(j["missing"].is_array() && j["mismatched"].is_array());
}

// The scheduled job's time budget: a run that stops early keeps where it
// stopped, stores no report, and the next run finishes the pass without
// checking a track twice or skipping one.
TEST_F(IntegrityTest, StoppedRunResumesWhereItStopped) {
  add(1, "A/B/01.flac", "one");
  int64_t changed = add(2, "A/B/02.flac", "two");
  add(3, "A/B/03.flac", "three");
  int64_t gone = add(4, "A/B/04.flac", "four");
  add(5, "A/B/05.flac", "five");
  std::ofstream(library_ / "A/B/02.flac", std::ios::binary) << "TWO";
  fs::remove(library_ / "A/B/04.flac");

  IntegrityOptions options;
  options.threads = 1;
  options.batch_size = 2;
  options.resume = true;
  int batches = 0;
  options.should_stop = [&] { return batches++ == 1; };  // after the first batch
  IntegrityReport first = verify_library(*store_, library_, nullptr, options);
  EXPECT_FALSE(first.complete);
  EXPECT_EQ(first.checked, 2);
  ASSERT_EQ(first.mismatched.size(), 1u);
  EXPECT_FALSE(store_->read([](StoreSession& s) { return s.meta().get(kIntegrityReportKey); }));

  options.should_stop = {};
  IntegrityReport second = verify_library(*store_, library_, nullptr, options);
  EXPECT_TRUE(second.complete);
  EXPECT_EQ(second.checked, 5);
  ASSERT_EQ(second.mismatched.size(), 1u);
  EXPECT_EQ(second.mismatched[0].track_id, changed);
  ASSERT_EQ(second.missing.size(), 1u);
  EXPECT_EQ(second.missing[0].track_id, gone);
  EXPECT_EQ(second.started_at, first.started_at);

  // The pass is over: the next run starts from the first track again.
  IntegrityReport third = verify_library(*store_, library_, nullptr, options);
  EXPECT_EQ(third.checked, 5);
  EXPECT_NE(third.started_at, "");
}

}  // namespace
}  // namespace barbossa
