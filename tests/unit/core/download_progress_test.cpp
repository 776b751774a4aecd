#include "core/download_progress.h"

#include <gtest/gtest.h>

namespace barbossa {
namespace {

constexpr int64_t kMiB = 1024 * 1024;

TEST(YtdlpLine, ProgressWithSpeedAndEta) {
  auto line = parse_ytdlp_line("[download]  42.3% of   3.52MiB at  1.21MiB/s ETA 00:02");
  ASSERT_TRUE(line && line->progress);
  const DownloadProgress& p = *line->progress;
  EXPECT_DOUBLE_EQ(*p.percent, 42.3);
  EXPECT_EQ(*p.bytes_total, static_cast<int64_t>(3.52 * kMiB + 0.5));
  EXPECT_EQ(*p.bytes_done, static_cast<int64_t>(3.52 * kMiB * 0.423 + 0.5));
  EXPECT_NEAR(*p.bytes_per_second, 1.21 * kMiB, 1);
  EXPECT_EQ(*p.eta_seconds, 2);
  EXPECT_FALSE(p.total_is_estimate);
  EXPECT_FALSE(p.finished);
}

TEST(YtdlpLine, FinishedLine) {
  auto line = parse_ytdlp_line("[download] 100% of 3.52MiB in 00:03");
  ASSERT_TRUE(line && line->progress);
  EXPECT_TRUE(line->progress->finished);
  EXPECT_EQ(*line->progress->eta_seconds, 0);
  EXPECT_EQ(*line->progress->bytes_done, *line->progress->bytes_total);
}

TEST(YtdlpLine, ApproximateSizeUnknownSpeedAndFragments) {
  auto line =
      parse_ytdlp_line("[download]   7.0% of ~  10.00MiB at Unknown B/s ETA Unknown (frag 3/10)");
  ASSERT_TRUE(line && line->progress);
  const DownloadProgress& p = *line->progress;
  EXPECT_TRUE(p.total_is_estimate);
  EXPECT_EQ(*p.bytes_total, 10 * kMiB);
  EXPECT_FALSE(p.bytes_per_second);
  EXPECT_FALSE(p.eta_seconds);
  EXPECT_EQ(*p.fragment, 3);
  EXPECT_EQ(*p.fragment_count, 10);
  auto glued = parse_ytdlp_line("[download]  50.0% of ~2.00KiB at 1.00KiB/s ETA 01:02:03");
  ASSERT_TRUE(glued && glued->progress);
  EXPECT_TRUE(glued->progress->total_is_estimate);
  EXPECT_EQ(*glued->progress->bytes_total, 2048);
  EXPECT_EQ(*glued->progress->eta_seconds, 3723);
}

TEST(YtdlpLine, Destinations) {
  auto dl = parse_ytdlp_line("[download] Destination: /staging/7/Song [abc].webm");
  ASSERT_TRUE(dl && dl->destination);
  EXPECT_EQ(*dl->destination, "/staging/7/Song [abc].webm");
  EXPECT_FALSE(dl->progress);
  auto audio = parse_ytdlp_line("[ExtractAudio] Destination: /staging/7/Song.opus\n");
  ASSERT_TRUE(audio && audio->destination);
  EXPECT_EQ(*audio->destination, "/staging/7/Song.opus");
}

TEST(YtdlpLine, OtherLinesAreIgnored) {
  for (const char* text :
       {"", "[generic] Extracting URL: http://x/a.mp3", "[info] a: Downloading 1",
        "[download] 142% of 1MiB", "[download] -3% of 1MiB", "download 4%", "[download",
        "[download] Destination: ", "ERROR: Unsupported URL"}) {
    auto line = parse_ytdlp_line(text);
    EXPECT_FALSE(line && line->progress) << text;
    EXPECT_FALSE(line && line->destination) << text;
  }
}

TEST(YtdlpLine, JunkNumbersDoNotOverflow) {
  auto line =
      parse_ytdlp_line("[download] 50% of 1e400TiB at 99999999999999999999TiB/s ETA 9:9:9:9");
  ASSERT_TRUE(line && line->progress);
  EXPECT_FALSE(line->progress->bytes_total);
  EXPECT_FALSE(line->progress->bytes_per_second);
  EXPECT_FALSE(line->progress->eta_seconds);
}

TEST(RipLine, FullTqdmLine) {
  auto p = parse_rip_line("Track 3: 42%|████▎     | 12.3M/29.1M [00:03<00:04, 4.10MB/s]");
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(*p->percent, 42);
  EXPECT_EQ(*p->bytes_done, static_cast<int64_t>(12.3 * kMiB + 0.5));
  EXPECT_EQ(*p->bytes_total, static_cast<int64_t>(29.1 * kMiB + 0.5));
  EXPECT_EQ(*p->eta_seconds, 4);
  EXPECT_NEAR(*p->bytes_per_second, 4.10 * kMiB, 1);
}

TEST(RipLine, UnknownsAndCarriageReturns) {
  auto p = parse_rip_line("old 1%|| 1k/2k\r 100%|██████████| 512B/512B [00:01<?, ?B/s]\n");
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(*p->percent, 100);
  EXPECT_EQ(*p->bytes_done, 512);
  EXPECT_EQ(*p->bytes_total, 512);
  EXPECT_FALSE(p->eta_seconds);
  EXPECT_FALSE(p->bytes_per_second);
  auto bare = parse_rip_line(" 7%|▋");
  ASSERT_TRUE(bare);
  EXPECT_DOUBLE_EQ(*bare->percent, 7);
  EXPECT_FALSE(bare->bytes_total);
}

TEST(RipLine, OtherLinesAreIgnored) {
  for (const char* text :
       {"", "Logging in to Qobuz", "100%", "|%|", "150%|x|", "Downloaded 3 tracks"}) {
    EXPECT_FALSE(parse_rip_line(text)) << text;
  }
}

TEST(ByteSize, UnitsAndClock) {
  EXPECT_EQ(parse_byte_size("512B"), 512);
  EXPECT_EQ(parse_byte_size("1.5KiB"), 1536);
  EXPECT_EQ(parse_byte_size("2kB"), 2000);
  EXPECT_EQ(parse_byte_size("1GiB"), int64_t{1} << 30);
  EXPECT_FALSE(parse_byte_size("3 parsecs"));
  EXPECT_FALSE(parse_byte_size("Unknown"));
  EXPECT_EQ(parse_clock("00:02"), 2);
  EXPECT_EQ(parse_clock("1:00:00"), 3600);
  EXPECT_FALSE(parse_clock("Unknown"));
  EXPECT_FALSE(parse_clock("1:"));
  EXPECT_FALSE(parse_clock("-1"));
}

}  // namespace
}  // namespace barbossa
