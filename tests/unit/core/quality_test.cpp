#include "core/quality.h"

#include <gtest/gtest.h>

#include <ostream>

namespace barbossa {
namespace {

Quality lossless(int bits, int rate, int64_t size = 1000) {
  return Quality{
      .lossless = true, .sample_rate = rate, .bit_depth = bits, .bitrate = 900, .file_size = size};
}

Quality lossy(int kbps, int rate = 44100, int64_t size = 1000) {
  return Quality{
      .lossless = false, .sample_rate = rate, .bit_depth = 0, .bitrate = kbps, .file_size = size};
}

struct OrderCase {
  const char* name;
  Quality better;
  Quality worse;
};

void PrintTo(const OrderCase& c, std::ostream* os) {
  *os << c.name;
}

class QualityOrderTest : public ::testing::TestWithParam<OrderCase> {};

TEST_P(QualityOrderTest, BetterWinsBothWays) {
  const OrderCase& c = GetParam();
  EXPECT_GT(compare_quality(c.better, c.worse), 0) << c.name;
  EXPECT_LT(compare_quality(c.worse, c.better), 0) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Spec, QualityOrderTest,
    ::testing::Values(
        OrderCase{"flac over mp3", lossless(16, 44100), lossy(320)},
        // Lossless wins even against a lossy file with a higher sample rate.
        OrderCase{"flac 16/44.1 over mp3 at 48k", lossless(16, 44100), lossy(320, 48000)},
        OrderCase{"24/96 over 16/44.1", lossless(24, 96000), lossless(16, 44100)},
        OrderCase{"16/96 over 24/48: sample rate first", lossless(16, 96000), lossless(24, 48000)},
        OrderCase{"24/48 over 16/48", lossless(24, 48000), lossless(16, 48000)},
        OrderCase{"320k over 256k", lossy(320), lossy(256)},
        OrderCase{"lossy 48k over 44.1k despite bitrate", lossy(128, 48000), lossy(320, 44100)},
        OrderCase{"larger lossless file", lossless(16, 44100, 2000), lossless(16, 44100, 1000)},
        OrderCase{"larger lossy file", lossy(320, 44100, 2000), lossy(320, 44100, 1000)}),
    [](const ::testing::TestParamInfo<OrderCase>& info) { return std::to_string(info.index); });

TEST(QualityTest, EqualIsZero) {
  EXPECT_EQ(compare_quality(lossless(16, 44100), lossless(16, 44100)), 0);
  EXPECT_EQ(compare_quality(lossy(320), lossy(320)), 0);
  EXPECT_EQ(compare_quality(Quality{}, Quality{}), 0);
}

TEST(QualityTest, LosslessBitrateDoesNotCount) {
  Quality a = lossless(16, 44100);
  Quality b = lossless(16, 44100);
  a.bitrate = 1100;
  b.bitrate = 700;
  EXPECT_EQ(compare_quality(a, b), 0);
  b.file_size = 1001;
  EXPECT_LT(compare_quality(a, b), 0);
}

TEST(QualityTest, AlbumIsItsWeakestTrackWithTotalSize) {
  Quality q =
      album_quality({lossless(24, 96000, 100), lossless(16, 44100, 200), lossless(24, 48000, 300)});
  EXPECT_TRUE(q.lossless);
  EXPECT_EQ(q.sample_rate, 44100);
  EXPECT_EQ(q.bit_depth, 16);
  EXPECT_EQ(q.file_size, 600);
}

TEST(QualityTest, AlbumWithOneLossyTrackIsLossy) {
  Quality q = album_quality({lossless(16, 44100, 100), lossy(320, 44100, 50)});
  EXPECT_FALSE(q.lossless);
  EXPECT_EQ(q.bit_depth, 0);
  EXPECT_EQ(q.bitrate, 320);
  EXPECT_EQ(q.file_size, 150);
}

TEST(QualityTest, AlbumOfLossyTakesLowestBitrate) {
  Quality q = album_quality({lossy(320), lossy(256), lossy(320)});
  EXPECT_EQ(q.bitrate, 256);
  EXPECT_EQ(q.file_size, 3000);
}

TEST(QualityTest, EmptyAlbumIsDefault) {
  Quality q = album_quality({});
  EXPECT_FALSE(q.lossless);
  EXPECT_EQ(q.file_size, 0);
  EXPECT_EQ(q.sample_rate, 0);
}

TEST(QualityTest, TwoRipsCompareBySizeLast) {
  Quality small = album_quality({lossless(16, 44100, 100), lossless(16, 44100, 100)});
  Quality large = album_quality({lossless(16, 44100, 150), lossless(16, 44100, 100)});
  EXPECT_GT(compare_quality(large, small), 0);
}

TEST(QualityTest, Labels) {
  struct Case {
    Quality q;
    const char* label;
  };
  const Case cases[] = {
      {lossless(24, 96000), "24/96"},   {lossless(16, 44100), "16/44.1"},
      {lossless(24, 48000), "24/48"},   {lossless(24, 88200), "24/88.2"},
      {lossless(24, 192000), "24/192"}, {lossless(24, 176400), "24/176.4"},
      {lossless(16, 22050), "16/22.1"}, {lossless(0, 44100), "lossless 44.1kHz"},
      {lossless(0, 0), "lossless"},     {lossy(320), "lossy 320k"},
      {lossy(128), "lossy 128k"},       {lossy(0), "lossy"},
  };
  for (const Case& c : cases) EXPECT_EQ(quality_label(c.q), c.label);
}

}  // namespace
}  // namespace barbossa
