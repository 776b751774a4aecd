#include "core/normalize.h"

#include <gtest/gtest.h>

namespace barbossa {
namespace {

TEST(NormalizeTest, FoldsCaseAndDiacritics) {
  EXPECT_EQ(normalize_name("Björk"), "bjork");
  EXPECT_EQ(normalize_name("SIGUR RÓS"), "sigur ros");
  EXPECT_EQ(normalize_name("Motörhead"), "motorhead");
  EXPECT_EQ(normalize_name("Édith Piaf"), "edith piaf");
  EXPECT_EQ(normalize_name("Straße"), "strasse");
}

TEST(NormalizeTest, DropsEditionGroups) {
  EXPECT_EQ(normalize_name("Abbey Road (Remastered)"), "abbey road");
  EXPECT_EQ(normalize_name("Abbey Road [2019 Remaster]"), "abbey road");
  EXPECT_EQ(normalize_name("Album (Deluxe Edition)"), "album");
  EXPECT_EQ(normalize_name("Album [Explicit]"), "album");
  // A group that is part of the title stays.
  EXPECT_EQ(normalize_name("(What's the Story) Morning Glory?"), "what s the story morning glory");
}

TEST(NormalizeTest, AmpersandAndPunctuation) {
  EXPECT_EQ(normalize_name("Simon & Garfunkel"), "simon and garfunkel");
  EXPECT_EQ(normalize_name("  AC/DC  "), "ac dc");
  EXPECT_EQ(normalize_name("Hello,   World!!"), "hello world");
}

TEST(NormalizeTest, NonLatinStaysDistinctAndNonEmpty) {
  std::string a = normalize_name("君の名は");
  std::string b = normalize_name("天気の子");
  EXPECT_FALSE(a.empty());
  EXPECT_FALSE(b.empty());
  EXPECT_NE(a, b);
  EXPECT_EQ(normalize_name("КИНО"), normalize_name("кино"));
  EXPECT_EQ(normalize_name("ΆΛΦΑ"), normalize_name("αλφα"));
}

TEST(NormalizeTest, OnlyEditionWordsDoesNotBecomeEmpty) {
  EXPECT_EQ(normalize_name("(Deluxe)"), "deluxe");
}

TEST(NormalizeTest, InvalidUtf8DoesNotCrash) {
  std::string bad = "abc\xff\xfe" "def\xc3";
  EXPECT_EQ(normalize_name(bad), "abc def");
}

TEST(NormalizeTest, SearchFoldKeepsEditionWords) {
  EXPECT_EQ(fold_for_search("Album (Deluxe)"), "album deluxe");
}

TEST(AsciiLowerTest, LowersAsciiLettersOnlyAndKeepsOtherBytes) {
  EXPECT_EQ(ascii_lower("HTTPS://Play.QOBUZ.com/.FLAC"), "https://play.qobuz.com/.flac");
  EXPECT_EQ(ascii_lower("\xC3\x89T\xC3\x89"), "\xC3\x89t\xC3\x89");  // "ÉTÉ": É stays
  EXPECT_EQ(ascii_lower(""), "");
}

}  // namespace
}  // namespace barbossa
