// One test per identification rule: each rule alone, on a clean album with
// one defect, with its exact penalty and reason. identify_test.cpp judges the
// rules together through identify_from_tags().
#include "core/identify_rules.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/core/identify_test_util.h"

namespace barbossa {
namespace {

using test::clean_track;

std::vector<TrackTags> clean_album(int count = 4) {
  return test::clean_album(count);
}

// What one rule says of the tracks: "" when it finds nothing.
std::string reason_of(std::string_view rule_name, const std::vector<TrackTags>& tracks) {
  const IdentifyRule* rule = find_identify_rule(rule_name);
  EXPECT_NE(rule, nullptr) << rule_name;
  if (rule == nullptr) return "no such rule";
  std::optional<Defect> defect = rule->check(TagEvidence(tracks));
  if (!defect) return "";
  EXPECT_EQ(defect->penalty, rule->penalty);
  return defect->reason;
}

double penalty_of(std::string_view rule_name) {
  const IdentifyRule* rule = find_identify_rule(rule_name);
  return rule == nullptr ? -1.0 : rule->penalty;
}

TEST(IdentifyRulesTest, NoRuleFindsADefectInACleanAlbum) {
  const std::vector<TrackTags> tracks = clean_album();
  const TagEvidence evidence(tracks);
  for (const IdentifyRule& rule : identify_rules()) {
    EXPECT_FALSE(rule.check(evidence).has_value()) << rule.name;
  }
}

TEST(IdentifyRulesTest, EveryRuleAloneFallsBelowTheDefaultThreshold) {
  ASSERT_EQ(identify_rules().size(), 12u);
  for (const IdentifyRule& rule : identify_rules()) {
    EXPECT_GT(1.0 - rule.penalty, 0.5) << rule.name;
    EXPECT_LT(1.0 - rule.penalty, 0.95) << rule.name;
    EXPECT_EQ(find_identify_rule(rule.name), &rule);
  }
  EXPECT_EQ(find_identify_rule("no such rule"), nullptr);
}

TEST(IdentifyRulesTest, MissingAlbum) {
  auto tracks = clean_album();
  tracks[1].album = "  ";
  EXPECT_EQ(reason_of("missing album", tracks), "missing album tag: 02 - Song 2.flac");
  EXPECT_DOUBLE_EQ(penalty_of("missing album"), 0.30);
}

TEST(IdentifyRulesTest, MixedAlbumNames) {
  auto tracks = clean_album();
  tracks[2].album = "Other";
  EXPECT_EQ(reason_of("mixed album names", tracks),
            "mixed album names: 'Album', 'Other' (differ from 'Album': 03 - Song 3.flac)");
  EXPECT_DOUBLE_EQ(penalty_of("mixed album names"), 0.30);
}

TEST(IdentifyRulesTest, MissingArtist) {
  auto tracks = clean_album();
  tracks[0].album_artist.clear();
  tracks[0].artist.clear();
  EXPECT_EQ(reason_of("missing artist", tracks),
            "missing album artist and artist: 01 - Song 1.flac");
  EXPECT_DOUBLE_EQ(penalty_of("missing artist"), 0.30);
}

TEST(IdentifyRulesTest, MixedAlbumArtists) {
  auto tracks = clean_album();
  for (auto& t : tracks) t.album_artist.clear();
  tracks[1].artist = "Artist feat. Guest";  // guests do not count
  tracks[3].artist = "Someone";
  EXPECT_EQ(reason_of("mixed album artists", tracks),
            "mixed album artists: 'Artist', 'Someone' (differ from 'Artist': 04 - Song 4.flac)");
  EXPECT_DOUBLE_EQ(penalty_of("mixed album artists"), 0.20);
}

TEST(IdentifyRulesTest, MixedReleaseIds) {
  auto tracks = clean_album();
  tracks[3].musicbrainz_album_id = "other";
  EXPECT_EQ(reason_of("mixed release ids", tracks),
            "mixed MusicBrainz release ids: '11111111-2222-3333-4444-555555555555', 'other' "
            "(differ from '11111111-2222-3333-4444-555555555555': 04 - Song 4.flac)");
  EXPECT_DOUBLE_EQ(penalty_of("mixed release ids"), 0.15);
  // A release id on some tracks only is not a mix.
  tracks[3].musicbrainz_album_id.clear();
  EXPECT_EQ(reason_of("mixed release ids", tracks), "");
}

TEST(IdentifyRulesTest, MissingTitles) {
  auto tracks = clean_album();
  tracks[0].title.clear();
  EXPECT_EQ(reason_of("missing titles", tracks), "missing title: 01 - Song 1.flac");
  tracks[2].title = " ";
  EXPECT_EQ(reason_of("missing titles", tracks),
            "missing titles: 01 - Song 1.flac, 03 - Song 3.flac");
  EXPECT_DOUBLE_EQ(penalty_of("missing titles"), 0.15);
}

TEST(IdentifyRulesTest, GenericTitles) {
  auto tracks = clean_album();
  tracks[1].title = "Track 02";
  EXPECT_EQ(reason_of("generic titles", tracks), "generic title 'Track 02': 02 - Song 2.flac");
  tracks[2].title = "Untitled";
  EXPECT_EQ(reason_of("generic titles", tracks),
            "generic titles: 'Track 02' (02 - Song 2.flac), 'Untitled' (03 - Song 3.flac)");
  EXPECT_DOUBLE_EQ(penalty_of("generic titles"), 0.15);
}

TEST(IdentifyRulesTest, MissingTrackNumbers) {
  auto tracks = clean_album();
  tracks[3].track = 0;
  EXPECT_EQ(reason_of("missing track numbers", tracks), "missing track number: 04 - Song 4.flac");
  tracks[0].track = 0;
  EXPECT_EQ(reason_of("missing track numbers", tracks),
            "missing track numbers: 01 - Song 1.flac, 04 - Song 4.flac");
  EXPECT_DOUBLE_EQ(penalty_of("missing track numbers"), 0.15);
}

TEST(IdentifyRulesTest, DuplicateTrackNumbers) {
  auto tracks = clean_album();
  tracks[3].track = 3;
  EXPECT_EQ(reason_of("duplicate track numbers", tracks),
            "duplicate track numbers on disc 1: 3 (03 - Song 3.flac, 04 - Song 4.flac)");
  EXPECT_DOUBLE_EQ(penalty_of("duplicate track numbers"), 0.20);
}

TEST(IdentifyRulesTest, GapsInTrackNumbers) {
  auto tracks = clean_album();
  tracks[1].track = 6;
  EXPECT_EQ(reason_of("gaps in track numbers", tracks),
            "gap in track numbers on disc 1: 2, 5 missing");
  // Unnumbered tracks are a defect of their own, not also a gap.
  tracks[0].track = 0;
  EXPECT_EQ(reason_of("gaps in track numbers", tracks), "");
  EXPECT_DOUBLE_EQ(penalty_of("gaps in track numbers"), 0.10);
}

TEST(IdentifyRulesTest, TrackTotalMismatch) {
  auto tracks = clean_album();
  for (auto& t : tracks) t.track_total = 5;
  EXPECT_EQ(reason_of("track total mismatch", tracks),
            "TRACKTOTAL says 5, found 4 tracks on disc 1");
  tracks[0].track_total = 4;
  EXPECT_EQ(reason_of("track total mismatch", tracks),
            "TRACKTOTAL varies on disc 1: 4, 5, found 4 tracks");
  EXPECT_DOUBLE_EQ(penalty_of("track total mismatch"), 0.10);
}

TEST(IdentifyRulesTest, TrackTotalMayCountTheWholeMultiDiscAlbum) {
  std::vector<TrackTags> tracks;
  for (int d = 1; d <= 2; ++d) {
    for (int n = 1; n <= 2; ++n) tracks.push_back(clean_track(n, 4, d, 2));
  }
  EXPECT_EQ(reason_of("track total mismatch", tracks), "");
}

TEST(IdentifyRulesTest, DiscTotalMismatch) {
  auto tracks = clean_album();
  for (auto& t : tracks) t.disc_total = 2;
  EXPECT_EQ(reason_of("disc total mismatch", tracks), "DISCTOTAL says 2, found disc 1");
  tracks[0].disc_total = 3;
  EXPECT_EQ(reason_of("disc total mismatch", tracks), "DISCTOTAL varies: 2, 3, found disc 1");
  EXPECT_DOUBLE_EQ(penalty_of("disc total mismatch"), 0.10);
}

TEST(IdentifyRulesTest, DiscTotalBelowTheHighestDiscFound) {
  // Discs 1 and 3 are two discs, as DISCTOTAL 2 says, but disc 3 cannot be.
  std::vector<TrackTags> tracks = {clean_track(1, 1, 1, 2), clean_track(1, 1, 3, 2)};
  EXPECT_EQ(reason_of("disc total mismatch", tracks), "DISCTOTAL says 2, found discs 1, 3");
}

TEST(IdentifyRulesTest, EvidenceFallsBackForDiscsAndArtists) {
  auto tracks = clean_album(2);
  tracks[0].disc = 0;
  tracks[0].disc_from_folder = 2;
  tracks[1].disc = 0;
  tracks[1].album_artist.clear();
  tracks[1].artist = " Artist ft. Guest ";
  const TagEvidence evidence(tracks);
  EXPECT_EQ(evidence.on_disc.at(2), std::vector<size_t>{0});
  EXPECT_EQ(evidence.on_disc.at(1), std::vector<size_t>{1});
  EXPECT_EQ(evidence.artists[1], "Artist");
  EXPECT_EQ(evidence.artist_vote.winner, "Artist");
}

}  // namespace
}  // namespace barbossa
