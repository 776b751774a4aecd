#include "core/utf8.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace barbossa {
namespace {

using namespace std::string_literals;

TEST(Utf8FromLegacy, ValidUtf8IsUnchanged) {
  EXPECT_EQ(utf8_from_legacy(""), "");
  EXPECT_EQ(utf8_from_legacy("Café Tacuba"), "Café Tacuba");
  EXPECT_EQ(utf8_from_legacy("日本語 🎵"), "日本語 🎵");
}

TEST(Utf8FromLegacy, Latin1FolderNameBecomesUtf8) {
  EXPECT_EQ(utf8_from_legacy("Caf\xe9 Tacuba"), "Café Tacuba");
  EXPECT_EQ(utf8_from_legacy("Bj\xf6rk - Hom\xe9genic"), "Björk - Homégenic");
  EXPECT_EQ(utf8_from_legacy("\xff"), "ÿ");
}

TEST(Utf8FromLegacy, Windows1252RangeUsesItsOwnCharacters) {
  EXPECT_EQ(utf8_from_legacy("It\x92s \x93quoted\x94 \x80 5 \x96 6\x85"), "It’s “quoted” € 5 – 6…");
  EXPECT_EQ(utf8_from_legacy("\x8a\x9a\x9f"), "ŠšŸ");
  // The five unassigned bytes keep their value as C1 controls.
  EXPECT_EQ(utf8_from_legacy("\x81\x8d\x8f\x90\x9d"), "\u0081\u008d\u008f\u0090\u009d");
}

TEST(Utf8FromLegacy, MixedTextKeepsItsUtf8Parts) {
  // A UTF-8 parent folder joined to a Latin-1 child.
  EXPECT_EQ(utf8_from_legacy("Músicas/Caf\xe9"), "Músicas/Café");
  // A cut sequence and surrogate bytes are decoded byte by byte.
  EXPECT_EQ(utf8_from_legacy("a\xe6\x97"), "aæ\u2014");
  EXPECT_EQ(utf8_from_legacy("\xed\xa0\x80"), "í\u00a0€");
}

TEST(Utf8FromLegacy, EveryByteStringGivesValidUtf8ThatJsonAccepts) {
  std::string all;
  for (int c = 1; c < 256; ++c) all += static_cast<char>(c);
  const std::string out = utf8_from_legacy(all);
  EXPECT_TRUE(is_valid_utf8(out));
  EXPECT_NO_THROW(nlohmann::json(out).dump());
  EXPECT_EQ(utf8_from_legacy(out), out);
}

TEST(EscapeControls, ControlCharactersCannotForgeALogLine) {
  EXPECT_EQ(escape_controls("a\nINFO forged"), "a\\nINFO forged");
  EXPECT_EQ(escape_controls("\r\t"), "\\r\\t");
  EXPECT_EQ(escape_controls("\x1b[31mred\x7f"), "\\x1B[31mred\\x7F");
  EXPECT_EQ(escape_controls("nul\0here"s), "nul\\x00here");
}

TEST(EscapeControls, InvalidBytesAreEscapedAndTextKept) {
  EXPECT_EQ(escape_controls("Caf\xe9 Tacuba"), "Caf\\xE9 Tacuba");
  EXPECT_EQ(escape_controls("Café 日本 🎵 \"q\" \\"), "Café 日本 🎵 \"q\" \\");
  EXPECT_TRUE(is_valid_utf8(escape_controls("\xff\xfe\xc0\xaf")));
}

}  // namespace
}  // namespace barbossa
