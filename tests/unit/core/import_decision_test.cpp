#include "core/import_decision.h"

#include <gtest/gtest.h>

#include <string>

namespace barbossa {
namespace {

const Quality kHiRes{.lossless = true,
                     .sample_rate = 96000,
                     .bit_depth = 24,
                     .bitrate = 3000,
                     .file_size = 900'000'000};
const Quality kCd{.lossless = true,
                  .sample_rate = 44100,
                  .bit_depth = 16,
                  .bitrate = 900,
                  .file_size = 300'000'000};
const Quality kMp3{.lossless = false,
                   .sample_rate = 44100,
                   .bit_depth = 0,
                   .bitrate = 320,
                   .file_size = 100'000'000};

DecisionInput clean_input() {
  DecisionInput in;
  in.track_count = 10;
  in.confidence = 1.0;
  in.quality = kCd;
  return in;
}

ExistingAlbum existing(int64_t id, const Quality& q, std::string matched_by = "artist and album") {
  return ExistingAlbum{id, q, std::move(matched_by)};
}

TEST(ImportDecisionTest, KindNames) {
  EXPECT_EQ(decision_kind_name(DecisionKind::kImport), "import");
  EXPECT_EQ(decision_kind_name(DecisionKind::kUpgrade), "upgrade");
  EXPECT_EQ(decision_kind_name(DecisionKind::kReview), "review");
  EXPECT_EQ(decision_kind_name(DecisionKind::kDuplicate), "duplicate");
}

// --- Each rule on its own.

TEST(ImportDecisionTest, RuleHasAudio) {
  DecisionInput in = clean_input();
  EXPECT_FALSE(rule_has_audio(in));
  in.track_count = 0;
  auto r = rule_has_audio(in);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, DecisionKind::kReview);
  EXPECT_EQ(r->reason, "no audio files");
  in.approved = true;  // approval cannot conjure audio
  EXPECT_TRUE(rule_has_audio(in));
}

TEST(ImportDecisionTest, RuleReadableFilesOnePerProblem) {
  DecisionInput in = clean_input();
  EXPECT_TRUE(rule_readable_files(in).empty());
  in.problems = {"03.flac: zero-byte file", "05.flac: not a FLAC file"};
  auto rs = rule_readable_files(in);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].kind, DecisionKind::kReview);
  EXPECT_EQ(rs[0].reason, "03.flac: zero-byte file");
  EXPECT_EQ(rs[1].reason, "05.flac: not a FLAC file");
  in.approved = true;
  EXPECT_TRUE(rule_readable_files(in).empty());
}

TEST(ImportDecisionTest, RuleConfidence) {
  struct Case {
    double confidence;
    double threshold;
    bool approved;
    const char* reason;  // nullptr: accepted
  };
  const Case cases[] = {
      {1.0, 0.95, false, nullptr},
      {0.95, 0.95, false, nullptr},
      {0.70, 0.95, false, "confidence 0.70 is below the threshold 0.95"},
      {0.0, 0.95, false, "confidence 0.00 is below the threshold 0.95"},
      {0.70, 0.95, true, nullptr},
      {0.70, 0.60, false, nullptr},  // a trusted source's lower threshold
      {0.55, 0.60, false, "confidence 0.55 is below the threshold 0.60"},
      // Just under the threshold must not read as equal to it.
      {0.949, 0.95, false, "confidence 0.94 is below the threshold 0.95"},
      {0.94, 0.95, false, "confidence 0.94 is below the threshold 0.95"},
  };
  for (const Case& c : cases) {
    DecisionInput in = clean_input();
    in.confidence = c.confidence;
    in.threshold = c.threshold;
    in.approved = c.approved;
    auto r = rule_confidence(in);
    if (c.reason == nullptr) {
      EXPECT_FALSE(r) << c.confidence << " vs " << c.threshold;
    } else {
      ASSERT_TRUE(r) << c.confidence << " vs " << c.threshold;
      EXPECT_EQ(r->kind, DecisionKind::kReview);
      EXPECT_EQ(r->reason, c.reason);
    }
  }
}

TEST(ImportDecisionTest, RuleNotDuplicate) {
  DecisionInput in = clean_input();
  EXPECT_FALSE(rule_not_duplicate(in));  // nothing in the library

  in.existing = existing(42, kHiRes);
  auto r = rule_not_duplicate(in);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, DecisionKind::kDuplicate);
  EXPECT_TRUE(r->reason.starts_with("duplicate of album 42")) << r->reason;
  EXPECT_EQ(r->reason,
            "duplicate of album 42 (matched by artist and album; quality 16/44.1 is not better "
            "than 24/96)");

  // Equal keeps the copy already in the library.
  in.existing = existing(7, kCd, "identical file checksum");
  r = rule_not_duplicate(in);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->reason.starts_with("duplicate of album 7 ")) << r->reason;
  EXPECT_NE(r->reason.find("identical file checksum"), std::string::npos);

  // Better is not a duplicate.
  in.existing = existing(7, kMp3);
  EXPECT_FALSE(rule_not_duplicate(in));
}

// --- The decision.

TEST(ImportDecisionTest, CleanNewAlbumImports) {
  Decision d = decide_import(clean_input());
  EXPECT_EQ(d.kind, DecisionKind::kImport);
  EXPECT_TRUE(d.reasons.empty());
  EXPECT_EQ(d.album_id, 0);
}

TEST(ImportDecisionTest, LowConfidenceGoesToReviewWithIdentificationReasons) {
  DecisionInput in = clean_input();
  in.confidence = 0.70;
  in.identification_reasons = {"missing title: 03 - x.flac", "missing album tag: 01.flac"};
  Decision d = decide_import(in);
  EXPECT_EQ(d.kind, DecisionKind::kReview);
  EXPECT_EQ(d.reasons,
            (std::vector<std::string>{"confidence 0.70 is below the threshold 0.95",
                                      "missing title: 03 - x.flac", "missing album tag: 01.flac"}));
}

TEST(ImportDecisionTest, ProblemsGoToReviewOnePerProblem) {
  DecisionInput in = clean_input();
  in.problems = {"a.flac: unreadable", "b.flac: zero-byte file"};
  Decision d = decide_import(in);
  EXPECT_EQ(d.kind, DecisionKind::kReview);
  EXPECT_EQ(d.reasons, (std::vector<std::string>{"a.flac: unreadable", "b.flac: zero-byte file"}));
}

TEST(ImportDecisionTest, NoAudioGoesToReview) {
  DecisionInput in = clean_input();
  in.track_count = 0;
  in.confidence = 0.0;
  in.identification_reasons = {"no tracks"};
  Decision d = decide_import(in);
  EXPECT_EQ(d.kind, DecisionKind::kReview);
  EXPECT_EQ(d.reasons,
            (std::vector<std::string>{"no audio files",
                                      "confidence 0.00 is below the threshold 0.95", "no tracks"}));
}

TEST(ImportDecisionTest, ReviewAlsoNamesTheDuplicate) {
  DecisionInput in = clean_input();
  in.confidence = 0.5;
  in.identification_reasons = {"generic title 'Track 01': 01.flac"};
  in.existing = existing(9, kHiRes);
  Decision d = decide_import(in);
  EXPECT_EQ(d.kind, DecisionKind::kReview);
  ASSERT_EQ(d.reasons.size(), 3u);
  EXPECT_EQ(d.reasons[0], "confidence 0.50 is below the threshold 0.95");
  EXPECT_EQ(d.reasons[1], "generic title 'Track 01': 01.flac");
  EXPECT_TRUE(d.reasons[2].starts_with("duplicate of album 9")) << d.reasons[2];
}

TEST(ImportDecisionTest, DuplicateWhenNotBetter) {
  for (const Quality& library : {kHiRes, kCd}) {
    DecisionInput in = clean_input();
    in.existing = existing(12, library, "MusicBrainz release");
    Decision d = decide_import(in);
    EXPECT_EQ(d.kind, DecisionKind::kDuplicate);
    EXPECT_EQ(d.album_id, 12);
    ASSERT_EQ(d.reasons.size(), 1u);
    EXPECT_TRUE(d.reasons[0].starts_with("duplicate of album 12")) << d.reasons[0];
    EXPECT_NE(d.reasons[0].find("MusicBrainz release"), std::string::npos);
  }
}

TEST(ImportDecisionTest, UpgradeWhenBetter) {
  DecisionInput in = clean_input();
  in.quality = kHiRes;
  in.existing = existing(5, kCd);
  Decision d = decide_import(in);
  EXPECT_EQ(d.kind, DecisionKind::kUpgrade);
  EXPECT_EQ(d.album_id, 5);
  EXPECT_EQ(d.reasons,
            (std::vector<std::string>{"better quality than album 5: 24/96 over 16/44.1"}));
}

TEST(ImportDecisionTest, UpgradeByLosslessOverLossy) {
  DecisionInput in = clean_input();
  in.existing = existing(5, kMp3);
  Decision d = decide_import(in);
  EXPECT_EQ(d.kind, DecisionKind::kUpgrade);
  EXPECT_EQ(d.reasons[0], "better quality than album 5: 16/44.1 over lossy 320k");
}

TEST(ImportDecisionTest, UpgradeExplainsWhatLabelsHide) {
  DecisionInput in = clean_input();
  Quality smaller = kCd;
  smaller.file_size -= 1;
  in.existing = existing(5, smaller);
  Decision d = decide_import(in);
  EXPECT_EQ(d.kind, DecisionKind::kUpgrade);
  EXPECT_EQ(d.reasons[0], "better quality than album 5: 16/44.1 over 16/44.1 (larger files)");

  in.quality = kMp3;
  Quality mp3_at_44 = kMp3;
  in.quality.sample_rate = 48000;
  in.existing = existing(5, mp3_at_44);
  d = decide_import(in);
  EXPECT_EQ(d.reasons[0],
            "better quality than album 5: lossy 320k over lossy 320k (higher sample rate)");
}

TEST(ImportDecisionTest, ApprovalOverridesConfidenceAndProblemsButNotDuplicates) {
  DecisionInput in = clean_input();
  in.confidence = 0.3;
  in.problems = {"x.flac: corrupt"};
  in.identification_reasons = {"missing album tag: 01.flac"};
  in.approved = true;
  Decision d = decide_import(in);
  EXPECT_EQ(d.kind, DecisionKind::kImport);
  EXPECT_TRUE(d.reasons.empty());

  in.existing = existing(3, kCd);
  d = decide_import(in);
  EXPECT_EQ(d.kind, DecisionKind::kDuplicate);
  EXPECT_EQ(d.album_id, 3);

  in.existing = existing(3, kMp3);
  d = decide_import(in);
  EXPECT_EQ(d.kind, DecisionKind::kUpgrade);
  EXPECT_EQ(d.album_id, 3);
}

}  // namespace
}  // namespace barbossa
