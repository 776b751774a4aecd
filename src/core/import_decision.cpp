#include "core/import_decision.h"

#include <charconv>
#include <cmath>

namespace barbossa {
namespace {

std::string fixed2(double value) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed, 2);
  return ec == std::errc{} ? std::string(buf, end) : std::string("?");
}

// Rounded down, so a confidence just under the threshold never prints as
// equal to it ("0.95 is below the threshold 0.95"); the epsilon keeps 0.94
// from printing as 0.93 through binary rounding.
std::string confidence_text(double confidence) {
  return fixed2(std::floor(confidence * 100.0 + 1e-9) / 100.0);
}

// Why a is better than b when their labels read the same.
std::string what_is_better(const Quality& a, const Quality& b) {
  if (a.sample_rate != b.sample_rate) return "higher sample rate";
  if (a.bit_depth != b.bit_depth) return "higher bit depth";
  if (!a.lossless && a.bitrate != b.bitrate) return "higher bitrate";
  return "larger files";
}

}  // namespace

std::string_view decision_kind_name(DecisionKind kind) {
  switch (kind) {
    case DecisionKind::kImport:
      return "import";
    case DecisionKind::kUpgrade:
      return "upgrade";
    case DecisionKind::kReview:
      return "review";
    case DecisionKind::kDuplicate:
      return "duplicate";
  }
  return "unknown";
}

std::optional<Rejection> rule_has_audio(const DecisionInput& in) {
  // Even a reviewer's approval cannot import an album without audio.
  if (in.track_count == 0) return Rejection{DecisionKind::kReview, "no audio files"};
  return std::nullopt;
}

std::vector<Rejection> rule_readable_files(const DecisionInput& in) {
  std::vector<Rejection> out;
  if (in.approved) return out;
  for (const std::string& problem : in.problems) {
    out.push_back(Rejection{DecisionKind::kReview, problem});
  }
  return out;
}

std::optional<Rejection> rule_confidence(const DecisionInput& in) {
  if (in.approved || in.confidence >= in.threshold) return std::nullopt;
  return Rejection{DecisionKind::kReview, "confidence " + confidence_text(in.confidence) +
                                              " is below the threshold " + fixed2(in.threshold)};
}

std::optional<Rejection> rule_not_duplicate(const DecisionInput& in) {
  if (!in.existing || compare_quality(in.quality, in.existing->quality) > 0) return std::nullopt;
  const ExistingAlbum& e = *in.existing;
  std::string detail = e.matched_by.empty() ? "" : "matched by " + e.matched_by + "; ";
  detail +=
      "quality " + quality_label(in.quality) + " is not better than " + quality_label(e.quality);
  return Rejection{DecisionKind::kDuplicate,
                   "duplicate of album " + std::to_string(e.id) + " (" + detail + ")"};
}

Decision decide_import(const DecisionInput& in) {
  Decision d;
  bool review = false;
  auto add_review = [&](const Rejection& r) {
    review = true;
    d.reasons.push_back(r.reason);
  };
  if (auto r = rule_has_audio(in)) add_review(*r);
  for (const Rejection& r : rule_readable_files(in)) add_review(r);
  if (auto r = rule_confidence(in)) add_review(*r);
  std::optional<Rejection> duplicate = rule_not_duplicate(in);

  if (review) {
    // The reviewer needs everything identification found, whichever rule
    // sent the album here; right after the confidence line when there is one.
    d.reasons.insert(d.reasons.end(), in.identification_reasons.begin(),
                     in.identification_reasons.end());
    if (duplicate) d.reasons.push_back(duplicate->reason);
    d.kind = DecisionKind::kReview;
    return d;
  }
  if (duplicate) {
    d.kind = DecisionKind::kDuplicate;
    d.album_id = in.existing->id;
    d.reasons.push_back(duplicate->reason);
    return d;
  }
  if (in.existing) {
    std::string ours = quality_label(in.quality);
    std::string theirs = quality_label(in.existing->quality);
    d.kind = DecisionKind::kUpgrade;
    d.album_id = in.existing->id;
    d.reasons.push_back(
        "better quality than album " + std::to_string(in.existing->id) + ": " + ours + " over " +
        theirs +
        (ours == theirs ? " (" + what_is_better(in.quality, in.existing->quality) + ")" : ""));
    return d;
  }
  d.kind = DecisionKind::kImport;
  return d;
}

}  // namespace barbossa
