#include "core/identify.h"

#include <gtest/gtest.h>

#include <functional>
#include <ostream>
#include <set>
#include <string>
#include <utility>

#include "unit/core/identify_test_util.h"

namespace barbossa {
namespace {

using test::clean_album;
using test::clean_track;
using test::two_digits;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string all_reasons(const Identification& id) {
  std::string out;
  for (const std::string& r : id.reasons) out += "[" + r + "] ";
  return out;
}

// What every identification promises, whatever the input.
void expect_well_formed(const Identification& id, size_t input_size) {
  EXPECT_FALSE(id.artist.empty());
  EXPECT_FALSE(id.album.empty());
  EXPECT_GE(id.confidence, 0.0);
  EXPECT_LE(id.confidence, 1.0);
  ASSERT_EQ(id.tracks.size(), input_size);
  std::set<std::pair<int, int>> seen;
  for (const IdentifiedTrack& t : id.tracks) {
    EXPECT_GE(t.disc, 1);
    EXPECT_LE(t.disc, id.disc_count);
    EXPECT_GE(t.number, 1);
    EXPECT_FALSE(t.title.empty());
    EXPECT_TRUE(seen.insert({t.disc, t.number}).second)
        << "disc " << t.disc << " track " << t.number << " twice";
  }
}

TEST(IdentifyTest, CleanAlbumScoresOneWithoutReasons) {
  Identification id = identify_from_tags(clean_album(), "Artist - Album (2011) [FLAC]");
  EXPECT_DOUBLE_EQ(id.confidence, 1.0);
  EXPECT_TRUE(id.reasons.empty()) << all_reasons(id);
  EXPECT_EQ(id.artist, "Artist");
  EXPECT_EQ(id.album, "Album");
  EXPECT_EQ(id.year, 2011);
  EXPECT_EQ(id.musicbrainz_release_id, "11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(id.disc_count, 1);
  expect_well_formed(id, 5);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(id.tracks[i].disc, 1);
    EXPECT_EQ(id.tracks[i].number, i + 1);
    EXPECT_EQ(id.tracks[i].title, "Song " + std::to_string(i + 1));
  }
}

TEST(IdentifyTest, CleanAlbumWithoutOptionalTagsScoresOne) {
  std::vector<TrackTags> tracks = clean_album();
  for (TrackTags& t : tracks) {
    t.album_artist.clear();  // the artist stands in
    t.track_total = 0;
    t.disc = 0;
    t.disc_total = 0;
    t.year = 0;
    t.musicbrainz_album_id.clear();
  }
  Identification id = identify_from_tags(tracks, "whatever");
  EXPECT_DOUBLE_EQ(id.confidence, 1.0);
  EXPECT_TRUE(id.reasons.empty()) << all_reasons(id);
  EXPECT_EQ(id.artist, "Artist");
  EXPECT_EQ(id.year, 0);
  EXPECT_EQ(id.musicbrainz_release_id, "");
}

struct DefectCase {
  const char* name;
  std::function<void(std::vector<TrackTags>&)> damage;
  std::vector<std::string> expected;  // substrings of the one reason
};

void PrintTo(const DefectCase& c, std::ostream* os) {
  *os << c.name;
}

class IdentifyDefectTest : public ::testing::TestWithParam<DefectCase> {};

TEST_P(IdentifyDefectTest, OneDefectFallsBelowThresholdWithOneReason) {
  const DefectCase& c = GetParam();
  std::vector<TrackTags> tracks = clean_album();
  c.damage(tracks);
  Identification id = identify_from_tags(tracks, "Album");
  EXPECT_LT(id.confidence, 0.95) << c.name;
  EXPECT_GT(id.confidence, 0.5) << c.name << ": one defect should not sink an album alone";
  ASSERT_EQ(id.reasons.size(), 1u) << c.name << ": " << all_reasons(id);
  for (const std::string& s : c.expected) {
    EXPECT_TRUE(contains(id.reasons[0], s))
        << c.name << ": '" << id.reasons[0] << "' lacks '" << s << "'";
  }
  expect_well_formed(id, tracks.size());
}

void set_totals(std::vector<TrackTags>& tracks) {
  for (TrackTags& t : tracks) t.track_total = static_cast<int>(tracks.size());
}

INSTANTIATE_TEST_SUITE_P(
    EachDefect, IdentifyDefectTest,
    ::testing::Values(DefectCase{"missing album",
                                 [](auto& t) { t[2].album.clear(); },
                                 {"missing album tag", "03 - Song 3.flac"}},
                      DefectCase{"mixed album names",
                                 [](auto& t) {
                                   t[1].album = "Album (Deluxe Edition)";
                                   t[3].album = "album";
                                 },
                                 {"mixed album names: 'Album', 'Album (Deluxe Edition)', 'album'",
                                  "02 - Song 2.flac", "04 - Song 4.flac"}},
                      DefectCase{"missing artist",
                                 [](auto& t) {
                                   t[1].album_artist.clear();
                                   t[1].artist.clear();
                                 },
                                 {"missing album artist and artist", "02 - Song 2.flac"}},
                      DefectCase{
                          "mixed album artists",
                          [](auto& t) { t[2].album_artist = "The Artist"; },
                          {"mixed album artists", "'Artist'", "'The Artist'", "03 - Song 3.flac"}},
                      DefectCase{"mixed album artists through the artist fallback",
                                 [](auto& t) {
                                   for (auto& x : t) x.album_artist.clear();
                                   t[4].artist = "artist";
                                 },
                                 {"mixed album artists", "'artist'", "05 - Song 5.flac"}},
                      DefectCase{"missing title",
                                 [](auto& t) { t[2].title.clear(); },
                                 {"missing title: 03 - Song 3.flac"}},
                      DefectCase{"generic title",
                                 [](auto& t) {
                                   t[0].title = "Track 01";
                                   t[0].file_name = "01.flac";
                                 },
                                 {"generic title 'Track 01': 01.flac"}},
                      DefectCase{"missing track number",
                                 [](auto& t) { t[3].track = 0; },
                                 {"missing track number", "04 - Song 4.flac"}},
                      DefectCase{"duplicate track number",
                                 [](auto& t) {
                                   TrackTags extra = t[2];
                                   extra.file_name = "03 - Song 3 (alt).flac";
                                   t.push_back(extra);
                                   set_totals(t);
                                 },
                                 {"duplicate track numbers on disc 1: 3", "03 - Song 3.flac",
                                  "03 - Song 3 (alt).flac"}},
                      DefectCase{"gap in numbering",
                                 [](auto& t) {
                                   t.erase(t.begin() + 2);
                                   set_totals(t);
                                 },
                                 {"gap in track numbers on disc 1: 3 missing"}},
                      DefectCase{"track total mismatch",
                                 [](auto& t) { t.pop_back(); },
                                 {"TRACKTOTAL says 5, found 4 tracks on disc 1"}},
                      DefectCase{"track totals disagree",
                                 [](auto& t) { t[0].track_total = 12; },
                                 {"TRACKTOTAL varies on disc 1: 5, 12"}},
                      DefectCase{"disc total mismatch",
                                 [](auto& t) {
                                   for (auto& x : t) x.disc_total = 2;
                                 },
                                 {"DISCTOTAL says 2, found disc 1"}},
                      DefectCase{"mixed release ids",
                                 [](auto& t) { t[1].musicbrainz_album_id = "other"; },
                                 {"mixed MusicBrainz release ids", "02 - Song 2.flac"}}),
    [](const ::testing::TestParamInfo<DefectCase>& info) { return std::to_string(info.index); });

TEST(IdentifyTest, NoTracks) {
  Identification id = identify_from_tags({}, "");
  EXPECT_EQ(id.confidence, 0.0);
  ASSERT_EQ(id.reasons.size(), 1u);
  EXPECT_EQ(id.reasons[0], "no tracks");
  EXPECT_EQ(id.artist, "Unknown Artist");
  EXPECT_EQ(id.album, "Unknown Album");
  EXPECT_TRUE(id.tracks.empty());
}

TEST(IdentifyTest, ConfidenceHasAFloor) {
  std::vector<TrackTags> tracks;
  for (int n = 0; n < 4; ++n) {
    TrackTags t;
    t.file_name = "track" + std::to_string(n) + ".wav";
    t.track = 7;
    t.track_total = 99;
    t.disc_total = 3;
    t.title = n % 2 ? "" : "Track 1";
    t.album = n % 2 ? "" : "A" + std::to_string(n);
    t.album_artist = n % 2 ? "" : "B" + std::to_string(n);
    tracks.push_back(t);
  }
  Identification id = identify_from_tags(tracks, "");
  EXPECT_EQ(id.confidence, 0.0);
  EXPECT_GE(id.reasons.size(), 8u) << all_reasons(id);
  EXPECT_EQ(id.artist, "B0");
  EXPECT_EQ(id.album, "A0");
  expect_well_formed(id, tracks.size());
}

TEST(IdentifyTest, MultiDiscByTags) {
  std::vector<TrackTags> tracks;
  for (int d = 1; d <= 2; ++d) {
    for (int n = 1; n <= 3; ++n) {
      TrackTags t = clean_track(n, 3, d, 2);
      t.file_name = "CD" + std::to_string(d) + "/" + t.file_name;
      tracks.push_back(t);
    }
  }
  Identification id = identify_from_tags(tracks, "Album");
  EXPECT_DOUBLE_EQ(id.confidence, 1.0) << all_reasons(id);
  EXPECT_EQ(id.disc_count, 2);
  EXPECT_EQ(id.tracks[4].disc, 2);
  EXPECT_EQ(id.tracks[4].number, 2);
  expect_well_formed(id, tracks.size());
}

TEST(IdentifyTest, MultiDiscByFolder) {
  std::vector<TrackTags> tracks;
  for (int d = 1; d <= 3; ++d) {
    for (int n = 1; n <= 2; ++n) {
      TrackTags t = clean_track(n, 2, 0, 0);
      t.disc_from_folder = d;
      tracks.push_back(t);
    }
  }
  Identification id = identify_from_tags(tracks, "Album");
  EXPECT_DOUBLE_EQ(id.confidence, 1.0) << all_reasons(id);
  EXPECT_EQ(id.disc_count, 3);
  EXPECT_EQ(id.tracks[5].disc, 3);
  expect_well_formed(id, tracks.size());
}

TEST(IdentifyTest, DiscTagWinsOverFolder) {
  std::vector<TrackTags> tracks = clean_album(2);
  for (TrackTags& t : tracks) t.disc_from_folder = 4;
  Identification id = identify_from_tags(tracks, "Album");
  EXPECT_EQ(id.tracks[0].disc, 1);
  EXPECT_EQ(id.disc_count, 1);
}

TEST(IdentifyTest, MultiDiscTrackTotalMayCountTheWholeAlbum) {
  std::vector<TrackTags> tracks;
  for (int d = 1; d <= 2; ++d) {
    for (int n = 1; n <= 3; ++n) tracks.push_back(clean_track(n, 6, d, 2));
  }
  Identification id = identify_from_tags(tracks, "Album");
  EXPECT_DOUBLE_EQ(id.confidence, 1.0) << all_reasons(id);
}

TEST(IdentifyTest, GapOnSecondDiscIsNamed) {
  std::vector<TrackTags> tracks;
  for (int n : {1, 2, 3}) tracks.push_back(clean_track(n, 0, 1, 2));
  for (int n : {1, 4, 5, 6, 9}) tracks.push_back(clean_track(n, 0, 2, 2));
  Identification id = identify_from_tags(tracks, "Album");
  ASSERT_EQ(id.reasons.size(), 1u) << all_reasons(id);
  EXPECT_EQ(id.reasons[0], "gap in track numbers on disc 2: 2-3, 7-8 missing");
}

TEST(IdentifyTest, NonLatinAlbum) {
  std::vector<TrackTags> tracks = clean_album(3);
  const std::string titles[] = {"前前前世", "スパークル", "なんでもないや"};
  for (int i = 0; i < 3; ++i) {
    tracks[i].artist = tracks[i].album_artist = "RADWIMPS";
    tracks[i].album = "君の名は。";
    tracks[i].title = titles[i];
    tracks[i].file_name = two_digits(i + 1) + " - " + titles[i] + ".flac";
  }
  Identification id = identify_from_tags(tracks, "");
  EXPECT_DOUBLE_EQ(id.confidence, 1.0) << all_reasons(id);
  EXPECT_EQ(id.album, "君の名は。");
  EXPECT_EQ(id.tracks[1].title, "スパークル");

  // Two different Japanese titles are two albums, not one spelled twice.
  tracks[2].album = "天気の子";
  id = identify_from_tags(tracks, "");
  ASSERT_EQ(id.reasons.size(), 1u) << all_reasons(id);
  EXPECT_TRUE(contains(id.reasons[0], "mixed album names: '君の名は。', '天気の子'"))
      << id.reasons[0];
  EXPECT_TRUE(contains(id.reasons[0], "なんでもないや.flac")) << id.reasons[0];
  EXPECT_EQ(id.album, "君の名は。");
}

TEST(IdentifyTest, CyrillicAndGreekArtistsCompareByNormalization) {
  std::vector<TrackTags> tracks = clean_album(3);
  for (TrackTags& t : tracks) t.album_artist = "Кино";
  tracks[2].album_artist = "КИНО";
  Identification id = identify_from_tags(tracks, "");
  EXPECT_EQ(id.artist, "Кино");
  ASSERT_EQ(id.reasons.size(), 1u);
  EXPECT_TRUE(contains(id.reasons[0], "mixed album artists: 'Кино', 'КИНО'")) << id.reasons[0];
}

TEST(IdentifyTest, MajorityGroupsSpellingsByNormalizedName) {
  // "Other" is the most common single spelling, but three tracks say "Album"
  // in one way or another.
  std::vector<TrackTags> tracks = clean_album(5);
  tracks[0].album = "Other";
  tracks[1].album = "Other";
  tracks[2].album = "Album";
  tracks[3].album = "album";
  tracks[4].album = "ALBUM (Remastered)";
  Identification id = identify_from_tags(tracks, "");
  EXPECT_EQ(id.album, "Album");
  ASSERT_EQ(id.reasons.size(), 1u) << all_reasons(id);
  EXPECT_EQ(id.reasons[0],
            "mixed album names: 'Other', 'Album', 'album', 'ALBUM (Remastered)' (differ from "
            "'Album': 01 - Song 1.flac, 02 - Song 2.flac, 04 - Song 4.flac, 05 - Song 5.flac)");
}

TEST(IdentifyTest, MostCommonSpellingWinsWithinTheGroup) {
  std::vector<TrackTags> tracks = clean_album(3);
  tracks[0].album_artist = "The Beatles";
  tracks[1].album_artist = "the beatles";
  tracks[2].album_artist = "the beatles";
  Identification id = identify_from_tags(tracks, "");
  EXPECT_EQ(id.artist, "the beatles");
}

TEST(IdentifyTest, FeaturedArtistsDoNotMixTheAlbumArtist) {
  std::vector<TrackTags> tracks = clean_album(3);
  for (TrackTags& t : tracks) t.album_artist.clear();
  tracks[1].artist = "Artist feat. Guest";
  tracks[2].artist = "Artist ft. Other Guest";
  Identification id = identify_from_tags(tracks, "");
  EXPECT_DOUBLE_EQ(id.confidence, 1.0) << all_reasons(id);
  EXPECT_EQ(id.artist, "Artist");
}

TEST(IdentifyTest, AlbumAndArtistFromFolderName) {
  std::vector<TrackTags> tracks = clean_album(2);
  for (TrackTags& t : tracks) {
    t.album.clear();
    t.album_artist.clear();
    t.artist.clear();
    t.year = 0;
  }
  Identification id = identify_from_tags(tracks, "Pink Floyd - The Wall (1979) [FLAC 24-96]");
  EXPECT_EQ(id.artist, "Pink Floyd");
  EXPECT_EQ(id.album, "The Wall");
  EXPECT_EQ(id.year, 1979);
  EXPECT_LT(id.confidence, 0.95);
  EXPECT_EQ(id.reasons.size(), 2u) << all_reasons(id);
}

TEST(IdentifyTest, AlbumFromFolderNameWithKnownArtist) {
  std::vector<TrackTags> tracks = clean_album(2);
  for (TrackTags& t : tracks) t.album.clear();
  EXPECT_EQ(identify_from_tags(tracks, "Artist - 2011 - Real Name [WEB]").album, "Real Name");
  EXPECT_EQ(identify_from_tags(tracks, "Real Name (2011)").album, "Real Name");
  // A prefix that is not the artist is part of the name.
  EXPECT_EQ(identify_from_tags(tracks, "Live - In Paris").album, "Live - In Paris");
  // A parenthesised title stays.
  EXPECT_EQ(identify_from_tags(tracks, "(What's the Story) Morning Glory").album,
            "(What's the Story) Morning Glory");
  EXPECT_EQ(identify_from_tags(tracks, "").album, "Unknown Album");
  EXPECT_EQ(identify_from_tags(tracks, "[FLAC]").album, "Unknown Album");
}

TEST(IdentifyTest, NothingAnywhereGivesUnknowns) {
  std::vector<TrackTags> tracks(2);
  tracks[0].file_name = "a.mp3";
  tracks[1].file_name = "b.mp3";
  Identification id = identify_from_tags(tracks, "");
  EXPECT_EQ(id.artist, "Unknown Artist");
  EXPECT_EQ(id.album, "Unknown Album");
  EXPECT_EQ(id.tracks[0].title, "a");
  EXPECT_EQ(id.tracks[0].number, 1);
  EXPECT_EQ(id.tracks[1].number, 2);
  expect_well_formed(id, 2);
}

TEST(IdentifyTest, NumbersAreAssignedAfterTheHighestUsed) {
  std::vector<TrackTags> tracks = clean_album(5);
  tracks[1].track = 0;
  tracks[2].track = 2;
  tracks[3].track = 2;
  tracks[4].track = 0;
  // Input numbers: 1, -, 2, 2, -.
  Identification id = identify_from_tags(tracks, "");
  std::vector<int> numbers;
  for (const IdentifiedTrack& t : id.tracks) numbers.push_back(t.number);
  EXPECT_EQ(numbers, (std::vector<int>{1, 3, 2, 4, 5}));
  expect_well_formed(id, 5);
  // Missing and duplicate numbers are both reported; the hole the unnumbered
  // tracks leave is not a third defect.
  EXPECT_EQ(id.reasons.size(), 2u) << all_reasons(id);
}

TEST(IdentifyTest, TitleFallsBackToTheFileName) {
  struct Case {
    std::string file_name;
    std::string title;
  };
  const Case cases[] = {
      {"03 - x.flac", "x"},
      {"CD1/04. Song Name.mp3", "Song Name"},
      {"1-05 Name.flac", "Name"},
      {"07_Underscored.ogg", "Underscored"},
      {"1979.flac", "1979"},
      {"05.flac", "05"},
      {"Plain Title.m4a", "Plain Title"},
      {"", "Track 01"},
  };
  for (const Case& c : cases) {
    std::vector<TrackTags> tracks = clean_album(1);
    tracks[0].title.clear();
    tracks[0].file_name = c.file_name;
    Identification id = identify_from_tags(tracks, "");
    EXPECT_EQ(id.tracks[0].title, c.title) << c.file_name;
  }
}

TEST(IdentifyTest, LongFileListsAreShortened) {
  std::vector<TrackTags> tracks = clean_album(8);
  for (TrackTags& t : tracks) t.title.clear();
  Identification id = identify_from_tags(tracks, "");
  ASSERT_EQ(id.reasons.size(), 1u);
  EXPECT_EQ(id.reasons[0],
            "missing titles: 01 - Song 1.flac, 02 - Song 2.flac, 03 - Song 3.flac, "
            "04 - Song 4.flac, 05 - Song 5.flac and 3 more");
}

TEST(IdentifyTest, SeveralGenericTitles) {
  std::vector<TrackTags> tracks = clean_album(3);
  tracks[0].title = "Track 01";
  tracks[1].title = "Track 02";
  Identification id = identify_from_tags(tracks, "");
  ASSERT_EQ(id.reasons.size(), 1u);
  EXPECT_EQ(id.reasons[0],
            "generic titles: 'Track 01' (01 - Song 1.flac), 'Track 02' (02 - Song 2.flac)");
  EXPECT_EQ(id.tracks[0].title, "Track 01");  // the tag is kept; a person decides
}

TEST(IdentifyTest, YearAndReleaseId) {
  std::vector<TrackTags> tracks = clean_album(4);
  tracks[0].year = 1999;
  tracks[1].year = 1999;
  tracks[2].year = 2011;
  tracks[3].year = 2011;
  tracks[3].musicbrainz_album_id.clear();
  Identification id = identify_from_tags(tracks, "");
  EXPECT_EQ(id.year, 1999);                  // a tie keeps the earlier year
  EXPECT_EQ(id.musicbrainz_release_id, "");  // not every track agrees
  EXPECT_DOUBLE_EQ(id.confidence, 1.0) << all_reasons(id);
  tracks[0].year = 2011;
  EXPECT_EQ(identify_from_tags(tracks, "").year, 2011);
}

TEST(IdentifyTest, Deterministic) {
  std::vector<TrackTags> tracks = clean_album(6);
  tracks[1].album = "x";
  tracks[2].album = "y";
  tracks[3].album_artist = "z";
  tracks[4].track = 0;
  Identification a = identify_from_tags(tracks, "f");
  Identification b = identify_from_tags(tracks, "f");
  EXPECT_EQ(a.reasons, b.reasons);
  EXPECT_EQ(a.album, b.album);
  EXPECT_EQ(a.confidence, b.confidence);
}

}  // namespace
}  // namespace barbossa
