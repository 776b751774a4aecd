// The import decision as small rules ("specifications", after Lidarr): each
// looks at one aspect of a candidate and either accepts it or gives the reason
// it cannot be imported as is. decide_import() runs all of them and turns the
// rejections into one outcome. Review and duplicate are final outcomes: the
// job queue never retries them. Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/quality.h"

namespace barbossa {

enum class DecisionKind {
  kImport,     // new album
  kUpgrade,    // better copy of an album already in the library: replace in place
  kReview,     // needs a person: low confidence, unreadable files, nothing to import
  kDuplicate,  // already in the library in equal or better quality (goes to review)
};

// "import", "upgrade", "review", "duplicate".
std::string_view decision_kind_name(DecisionKind kind);

// The library album a candidate matches, found by normalized artist + album,
// the same MusicBrainz release, or an identical file checksum.
struct ExistingAlbum {
  int64_t id = 0;
  Quality quality;
  std::string matched_by;  // "artist and album", "MusicBrainz release", "identical file checksum"
};

struct DecisionInput {
  size_t track_count = 0;             // readable audio files
  std::vector<std::string> problems;  // from the scan: unreadable, zero-byte, corrupt files
  double confidence = 0.0;            // from identification
  std::vector<std::string> identification_reasons;
  double threshold = 0.95;  // IMPORT_THRESHOLD or the source's override
  bool approved = false;    // a reviewer vouched: confidence and problems no longer count
  Quality quality;          // the candidate's album quality
  std::optional<ExistingAlbum> existing;
};

// A rule's verdict: nullopt accepts; otherwise the outcome it demands and why.
struct Rejection {
  DecisionKind kind = DecisionKind::kReview;
  std::string reason;
};

std::optional<Rejection> rule_has_audio(const DecisionInput& in);
std::vector<Rejection> rule_readable_files(const DecisionInput& in);   // one per problem
std::optional<Rejection> rule_confidence(const DecisionInput& in);     // reasons listed after it
std::optional<Rejection> rule_not_duplicate(const DecisionInput& in);  // "duplicate of album N"

struct Decision {
  DecisionKind kind = DecisionKind::kImport;
  std::vector<std::string> reasons;  // empty for a clean import
  int64_t album_id = 0;              // the existing album for kUpgrade and kDuplicate
};

// Review reasons win over everything; then duplicate; then upgrade; else import.
Decision decide_import(const DecisionInput& in);

}  // namespace barbossa
