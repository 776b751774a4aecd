#include "core/sanitize.h"

#include <gtest/gtest.h>

#include <string>

namespace barbossa {
namespace {

using namespace std::string_literals;

// Independent of the code under test: strict UTF-8 per Unicode table 3-7
// (no overlongs, no surrogates, nothing past U+10FFFF).
bool is_valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
      len = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      lo = c == 0xE0 ? 0xA0 : 0x80;
      hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      lo = c == 0xF0 ? 0x90 : 0x80;
      hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (cc < lo || cc > hi) : (cc & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

std::string repeat(const std::string& unit, size_t bytes_at_least) {
  std::string out;
  while (out.size() < bytes_at_least) out += unit;
  return out;
}

// Every rule the header promises, for any output.
void expect_safe_component(const std::string& c) {
  EXPECT_FALSE(c.empty());
  EXPECT_LE(c.size(), kMaxComponentBytes);
  EXPECT_TRUE(is_valid_utf8(c)) << c;
  EXPECT_NE(c, ".");
  EXPECT_NE(c, "..");
  EXPECT_EQ(c.find_first_of("/\\:*?\"<>|"s + '\0'), std::string::npos) << c;
  for (unsigned char ch : c) EXPECT_FALSE(ch < 0x20 || ch == 0x7F) << c;
  EXPECT_NE(c.front(), '.');
  EXPECT_NE(c.front(), ' ');
  EXPECT_NE(c.back(), '.');
  EXPECT_NE(c.back(), ' ');
}

TEST(SanitizeTest, OurValidatorAgreesOnKnownInput) {
  EXPECT_TRUE(is_valid_utf8("abc"));
  EXPECT_TRUE(is_valid_utf8("日本語 Ελληνικά Кириллица 🎵"));
  EXPECT_FALSE(is_valid_utf8("\xff"));
  EXPECT_FALSE(is_valid_utf8("\xe6\x97"));          // cut sequence
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
}

TEST(SanitizeTest, EachIllegalCharacterIsReplaced) {
  for (char c : std::string("/\\:*?\"<>|")) {
    std::string name = "a"s + c + "b";
    EXPECT_EQ(sanitize_component(name), "a_b") << c;
  }
}

TEST(SanitizeTest, ControlCharactersAreReplaced) {
  EXPECT_EQ(sanitize_component("a\0b"s), "a_b");
  EXPECT_EQ(sanitize_component("a\x01"
                               "b"),
            "a_b");
  EXPECT_EQ(sanitize_component("a\x1b"
                               "b"),
            "a_b");
  EXPECT_EQ(sanitize_component("a\x7f"
                               "b"),
            "a_b");
  EXPECT_EQ(sanitize_component("a\xc2\x85"
                               "b"),
            "a_b");  // C1 NEL
  // Whitespace controls are whitespace.
  EXPECT_EQ(sanitize_component("a\tb\nc\r\nd"), "a b c d");
}

TEST(SanitizeTest, NulCannotTruncateTheName) {
  std::string name = "Album\0/../../etc"s;
  std::string out = sanitize_component(name);
  EXPECT_EQ(out, "Album__.._.._etc");
  expect_safe_component(out);
}

TEST(SanitizeTest, WhitespaceCollapses) {
  EXPECT_EQ(sanitize_component("  Dark    Side \t of  the Moon  "), "Dark Side of the Moon");
}

TEST(SanitizeTest, DotsAndSpacesAtTheEnds) {
  EXPECT_EQ(sanitize_component(".."), "Unknown");
  EXPECT_EQ(sanitize_component("."), "Unknown");
  EXPECT_EQ(sanitize_component("..."), "Unknown");
  EXPECT_EQ(sanitize_component(" . . "), "Unknown");
  EXPECT_EQ(sanitize_component(".hidden"), "hidden");
  EXPECT_EQ(sanitize_component("...And Justice for All"), "And Justice for All");
  EXPECT_EQ(sanitize_component("Trailing..."), "Trailing");
  EXPECT_EQ(sanitize_component("Mr. Bungle"), "Mr. Bungle");
  EXPECT_EQ(sanitize_component("../../etc/passwd"), "_.._etc_passwd");
}

TEST(SanitizeTest, EmptyGivesTheFallback) {
  EXPECT_EQ(sanitize_component(""), "Unknown");
  EXPECT_EQ(sanitize_component("   "), "Unknown");
  EXPECT_EQ(sanitize_component("", "Unknown Artist"), "Unknown Artist");
  // A bad fallback is sanitized as well.
  expect_safe_component(sanitize_component("", ".."));
  expect_safe_component(sanitize_component("", ""));
}

TEST(SanitizeTest, WindowsDeviceNames) {
  EXPECT_EQ(sanitize_component("CON"), "CON_");
  EXPECT_EQ(sanitize_component("nul"), "nul_");
  EXPECT_EQ(sanitize_component("Aux"), "Aux_");
  EXPECT_EQ(sanitize_component("COM1"), "COM1_");
  EXPECT_EQ(sanitize_component("lpt9"), "lpt9_");
  EXPECT_EQ(sanitize_component("nul.txt"), "nul_.txt");
  EXPECT_EQ(sanitize_component("CONTACT"), "CONTACT");
  EXPECT_EQ(sanitize_component("COM10"), "COM10");
  EXPECT_EQ(sanitize_file_name("CON.jpg"), "CON_.jpg");
}

TEST(SanitizeTest, InvalidUtf8BecomesReplacementCharacter) {
  EXPECT_EQ(valid_utf8("abc"), "abc");
  EXPECT_EQ(valid_utf8("a\xff"
                       "b"),
            "a\uFFFD"
            "b");
  EXPECT_EQ(valid_utf8("\xc0\xaf"), "\uFFFD\uFFFD");  // overlong: each byte
  EXPECT_EQ(valid_utf8("\xe6\x97"
                       "x"),
            "\uFFFD"
            "x");                                               // maximal subpart: one
  EXPECT_EQ(valid_utf8("\xed\xa0\x80"), "\uFFFD\uFFFD\uFFFD");  // surrogate
  EXPECT_EQ(valid_utf8("日本"), "日本");
  EXPECT_EQ(valid_utf8("\xe6\x97"), "\uFFFD");       // cut at the end
  std::string out = sanitize_component("Bj\xf6rk");  // Latin-1 ö
  EXPECT_EQ(out,
            "Bj\uFFFD"
            "rk");
  expect_safe_component(out);
}

TEST(SanitizeTest, TruncateNeverSplitsASequence) {
  std::string s = "ab日本";  // 2 + 3 + 3 bytes
  EXPECT_EQ(truncate_utf8(s, 8), s);
  EXPECT_EQ(truncate_utf8(s, 7), "ab日");
  EXPECT_EQ(truncate_utf8(s, 6), "ab日");
  EXPECT_EQ(truncate_utf8(s, 5), "ab日");
  EXPECT_EQ(truncate_utf8(s, 4), "ab");
  EXPECT_EQ(truncate_utf8(s, 2), "ab");
  EXPECT_EQ(truncate_utf8(s, 0), "");
  EXPECT_EQ(truncate_utf8("🎵🎵", 7), "🎵");
}

TEST(SanitizeTest, LongNonLatinTitlesFitIn255ValidBytes) {
  for (const std::string& unit : {"日本語のタイトル"s, "Кириллица "s, "Ελληνικά "s, "🎵"s, "aé"s}) {
    std::string title = repeat(unit, 300);
    ASSERT_GE(title.size(), 300u);

    std::string c = sanitize_component(title);
    expect_safe_component(c);
    EXPECT_GE(c.size(), kMaxComponentBytes - 4) << "cut more than one character";
    EXPECT_EQ(title.compare(0, c.size(), c), 0) << "kept a prefix";

    std::string f = track_file_name(3, title, "flac");
    expect_safe_component(f);
    EXPECT_TRUE(f.starts_with("03 - "));
    EXPECT_TRUE(f.ends_with(".flac")) << f;

    std::string a = album_folder_name(title, 2011);
    expect_safe_component(a);
    EXPECT_TRUE(a.ends_with(" (2011)")) << a;

    std::string x = sanitize_file_name(title + ".jpg");
    expect_safe_component(x);
    EXPECT_TRUE(x.ends_with(".jpg"));
  }
}

TEST(SanitizeTest, AlbumFolder) {
  EXPECT_EQ(album_folder_name("Abbey Road", 1969), "Abbey Road (1969)");
  EXPECT_EQ(album_folder_name("Abbey Road", 0), "Abbey Road");
  EXPECT_EQ(album_folder_name("AC/DC: Live", 1992), "AC_DC_ Live (1992)");
  EXPECT_EQ(album_folder_name("..", 2000), "Unknown Album (2000)");
  EXPECT_EQ(album_folder_name("", 0), "Unknown Album");
  EXPECT_EQ(album_folder_name("Album...", 2000), "Album (2000)");
}

TEST(SanitizeTest, DiscFolder) {
  EXPECT_EQ(disc_folder_name(1), "Disc 1");
  EXPECT_EQ(disc_folder_name(12), "Disc 12");
  EXPECT_EQ(disc_folder_name(0), "Disc 1");
}

TEST(SanitizeTest, TrackFileNames) {
  struct Case {
    int number;
    std::string title;
    std::string ext;
    std::string expected;
  };
  const Case cases[] = {
      {1, "Come Together", "flac", "01 - Come Together.flac"},
      {12, "Song", "mp3", "12 - Song.mp3"},
      {100, "Song", "flac", "100 - Song.flac"},
      {7, "Song", "FLAC", "07 - Song.flac"},
      {7, "Song", ".m4a", "07 - Song.m4a"},
      {7, "What?/Why:", "opus", "07 - What__Why_.opus"},
      {7, "Trailing dot.", "flac", "07 - Trailing dot.flac"},
      {7, "..", "flac", "07 - Untitled.flac"},
      {7, "", "flac", "07 - Untitled.flac"},
      {7, "Song", "", "07 - Song"},
      {7, "Song", "../x", "07 - Song.x"},
      {7, "君の名は", "flac", "07 - 君の名は.flac"},
  };
  for (const Case& c : cases) {
    std::string f = track_file_name(c.number, c.title, c.ext);
    EXPECT_EQ(f, c.expected);
    expect_safe_component(f);
  }
}

TEST(SanitizeTest, LongAsciiTitleKeepsExtension) {
  std::string f = track_file_name(1, std::string(400, 'x'), "flac");
  EXPECT_EQ(f.size(), kMaxComponentBytes);
  EXPECT_TRUE(f.ends_with("x.flac"));
}

TEST(SanitizeTest, ExtraFileNames) {
  EXPECT_EQ(sanitize_file_name("cover.jpg"), "cover.jpg");
  EXPECT_EQ(sanitize_file_name("Cover.JPG"), "Cover.jpg");
  EXPECT_EQ(sanitize_file_name("Album: Log?.log"), "Album_ Log_.log");
  EXPECT_EQ(sanitize_file_name(".hidden"), "hidden");
  EXPECT_EQ(sanitize_file_name("..jpg"), "jpg");
  EXPECT_EQ(sanitize_file_name("Vol. 2"), "Vol. 2");
  EXPECT_EQ(sanitize_file_name("file."), "file");
  EXPECT_EQ(sanitize_file_name(""), "Unknown");
  EXPECT_EQ(sanitize_file_name("../../cover.jpg"), "_.._cover.jpg");
}

}  // namespace
}  // namespace barbossa
