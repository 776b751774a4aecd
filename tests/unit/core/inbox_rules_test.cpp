#include "core/inbox_rules.h"

#include <gtest/gtest.h>

namespace barbossa {
namespace {

TEST(PartialNames, KnownDownloadSuffixesInAnyCase) {
  for (const char* name :
       {"01.flac.part", "x.tmp", "Album.zip.crdownload", "a.FLAC.!qB", "b.!ut",
        "v.f251.webm.part-Frag12", "v.webm.ytdl", "song.mp3.partial", "s.filepart", "t.aria2"}) {
    EXPECT_TRUE(is_partial_download_name(name)) << name;
  }
  for (const char* name : {"01.flac", "party.mp3", "cover.jpg", "part", "tmp.flac", "x.parts"}) {
    EXPECT_FALSE(is_partial_download_name(name)) << name;
  }
}

TEST(HiddenNames, DotNamesOnly) {
  EXPECT_TRUE(is_hidden_name(".DS_Store"));
  EXPECT_TRUE(is_hidden_name(".barbossa-loose-ab"));
  EXPECT_FALSE(is_hidden_name("Album"));
  EXPECT_FALSE(is_hidden_name(""));
}

EntrySnapshot snap(int64_t newest_mtime, uint64_t digest, bool partial = false) {
  EntrySnapshot s;
  s.exists = true;
  s.newest_mtime_ms = newest_mtime;
  s.digest = digest;
  s.has_partial = partial;
  s.files = 1;
  return s;
}

TEST(SettleTracker, DueOnlyAfterTheSettleTimeSinceTheLastEvent) {
  SettleTracker t(3000);
  t.touch("/in/A", 0, 10'000);
  t.touch("/in/A", 2000, 12'000);  // another write re-arms
  EXPECT_TRUE(t.due(4999).empty());
  ASSERT_EQ(t.next_deadline(), 5000);
  ASSERT_EQ(t.due(5000), std::vector<std::string>{"/in/A"});
  // Nothing changed after the last event: complete.
  EXPECT_EQ(t.judge("/in/A", snap(12'000, 7), 5000), SettleVerdict::kReady);
  EXPECT_FALSE(t.tracking("/in/A"));
}

TEST(SettleTracker, SilentChangeWaitsForAStableDigest) {
  SettleTracker t(1000);
  t.touch("/in/A", 0, 10'000);
  // mtime after the last event seen: changed without an event.
  EXPECT_EQ(t.judge("/in/A", snap(10'500, 1), 1000), SettleVerdict::kWaiting);
  EXPECT_EQ(t.next_deadline(), 2000);
  EXPECT_EQ(t.judge("/in/A", snap(10'900, 2), 2000), SettleVerdict::kWaiting);  // still changing
  EXPECT_EQ(t.judge("/in/A", snap(10'900, 2), 3000), SettleVerdict::kReady);    // unchanged
}

TEST(SettleTracker, PartialNamesWaitEvenWhenMovedInWhole) {
  SettleTracker t(1000);
  t.touch("/in/A", 0, 10'000, /*moved_in_whole=*/true);
  EXPECT_EQ(t.due(0), std::vector<std::string>{"/in/A"});  // at once
  EXPECT_EQ(t.judge("/in/A", snap(1, 1, /*partial=*/true), 0), SettleVerdict::kWaiting);
  EXPECT_TRUE(t.due(999).empty());
  EXPECT_EQ(t.judge("/in/A", snap(1, 1, true), 1000), SettleVerdict::kWaiting);
  EXPECT_EQ(t.judge("/in/A", snap(1, 3), 2000), SettleVerdict::kReady);
}

TEST(SettleTracker, MovedInWholeIsReadyAtOnceWhateverTheMtimes) {
  SettleTracker t(5000);
  t.touch("/in/A", 100, 10'000, true);
  // Files from a future-dated tarball: the rename is what counts.
  EXPECT_EQ(t.judge("/in/A", snap(99'999'999, 1), 100), SettleVerdict::kReady);
}

TEST(SettleTracker, ScanDoesNotDelayAnEntryTheWatcherTimes) {
  SettleTracker t(3000);
  t.touch("/in/A", 0, 10'000);
  t.touch_if_new("/in/A", 2500, 12'500);
  EXPECT_EQ(t.next_deadline(), 3000);
  t.touch_if_new("/in/B", 2500, 12'500);
  EXPECT_EQ(t.size(), 2u);
}

TEST(SettleTracker, VanishedEntryIsForgotten) {
  SettleTracker t(1000);
  t.touch("/in/A", 0, 0);
  EXPECT_EQ(t.judge("/in/A", EntrySnapshot{}, 1000), SettleVerdict::kGone);
  EXPECT_FALSE(t.tracking("/in/A"));
  EXPECT_EQ(t.judge("/in/unknown", snap(0, 0), 1000), SettleVerdict::kGone);
}

}  // namespace
}  // namespace barbossa
