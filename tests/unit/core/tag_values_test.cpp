#include "core/tag_values.h"

#include <gtest/gtest.h>

#include <string>

namespace barbossa {
namespace {

TEST(TagValuesTest, NumberPairs) {
  struct Case {
    std::string text;
    int number;
    int total;
  };
  const Case cases[] = {
      {"3", 3, 0},           {"03", 3, 0},      {" 3 ", 3, 0}, {"3/10", 3, 10},
      {"03 / 10", 3, 10},    {"03/010", 3, 10}, {"3/", 3, 0},  {"", 0, 0},
      {"   ", 0, 0},         {"abc", 0, 0},     {"3a", 0, 0},  {"3/abc", 0, 0},
      {"3/10x", 0, 0},       {"-3", 0, 0},      {"/10", 0, 0}, {"3 of 10", 0, 0},
      {"99999999999", 0, 0},
  };
  for (const Case& c : cases) {
    NumberPair p = parse_number_pair(c.text);
    EXPECT_EQ(p.number, c.number) << "'" << c.text << "'";
    EXPECT_EQ(p.total, c.total) << "'" << c.text << "'";
  }
}

TEST(TagValuesTest, DiscFolders) {
  struct Case {
    std::string name;
    int disc;
  };
  const Case cases[] = {
      {"CD1", 1},           {"cd 2", 2},         {"CD-2", 2},
      {"Disc 2", 2},        {"DISK03", 3},       {"Disk03", 3},
      {"Disc 1 - Live", 1}, {"disc_2", 2},       {"CD2 (Bonus)", 2},
      {"[CD1]", 1},         {"Disc.3", 3},       {"  cd10  ", 10},
      {"CDs", 0},           {"Discography", 0},  {"CD", 0},
      {"Disc", 0},          {"CD1A", 0},         {"Disc 0", 0},
      {"Disc One", 0},      {"Bonus CD1", 0},    {"", 0},
      {"Artwork", 0},       {"Diskussion 1", 0},
  };
  for (const Case& c : cases) EXPECT_EQ(disc_from_folder_name(c.name), c.disc) << c.name;
}

TEST(TagValuesTest, GenericTitles) {
  const std::string generic[] = {
      "Track 01",
      "Track01",
      "track 1",
      "TRACK 12",
      "01",
      "1",
      "01.",
      "Track #3",
      "Track-4",
      "Audio Track 3",
      "Audio Track03",
      "Untitled",
      "Untitled 2",
      "untitled track 5",
      "Piste 1",
      "Piste 01",
      "Unknown",
      "Unknown Track",
      "Titel 5",
      "Pista 2",
      "Traccia 7",
      "  Track 01  ",
      "007",
  };
  for (const std::string& t : generic) EXPECT_TRUE(is_generic_title(t)) << t;

  const std::string real[] = {
      "",
      "   ",
      "Track of the Year",
      "Tracks",
      "Trackside 1",
      "Song 2",
      "1979",
      "2112",
      "Untitled Love Song",
      "Unknown Pleasures",
      "Piste noire",
      "Titelmelodie",
      "One",
      "Track",
      "Piste",
      "01 Intro",
      "Hey Jude",
      "君の名は",
      "Трек 1",
  };
  for (const std::string& t : real) EXPECT_FALSE(is_generic_title(t)) << t;
}

TEST(TagValuesTest, Years) {
  struct Case {
    std::string text;
    int year;
  };
  const Case cases[] = {
      {"2011", 2011},       {"2011-03-04", 2011},
      {"2011/03", 2011},    {" 1999 ", 1999},
      {"20110304", 2011},   {"04/03/2011", 2011},
      {"March 2011", 2011}, {"2011-03-04T10:00:00", 2011},
      {"1000", 1000},       {"2999", 2999},
      {"0999", 0},          {"3000", 0},
      {"0000", 0},          {"", 0},
      {"abc", 0},           {"11", 0},
      {"12345", 0},         {"-1", 0},
  };
  for (const Case& c : cases) EXPECT_EQ(year_from_date(c.text), c.year) << c.text;
}

}  // namespace
}  // namespace barbossa
