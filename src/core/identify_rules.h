// The weighted defects of identification as small rules, the way Lidarr's
// import specifications are small: each looks at one aspect of an album's
// tags and either finds nothing or returns its penalty and a reason that
// names the files concerned. identify_from_tags() (core/identify.h) runs
// them in order and subtracts each penalty from 1.0; the order of the list is
// the order of the reasons. Pure: no I/O.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/identify.h"

namespace barbossa {

// The value most tracks agree on. Spellings that normalize alike vote
// together ("X", "x", "X (Deluxe Edition)"), so a stray variant cannot outvote
// the album; within the winning group the most common spelling wins. Ties go
// to the value seen first, so the result follows the (sorted) input.
struct Vote {
  std::string winner;                  // "" when no value was given
  std::vector<std::string> spellings;  // distinct non-empty values, first seen first
};

Vote majority(const std::vector<std::string>& values);

// What the rules and the candidate read, worked out once from the tags. Every
// vector is parallel to `tracks`.
struct TagEvidence {
  explicit TagEvidence(const std::vector<TrackTags>& tracks);

  const std::vector<TrackTags>& tracks;
  std::vector<std::string> albums;       // trimmed ALBUM
  std::vector<std::string> artists;      // ALBUMARTIST, else ARTIST without its guests
  std::vector<std::string> release_ids;  // trimmed MusicBrainz release id
  Vote album_vote;
  Vote artist_vote;
  Vote release_vote;
  // Disc (the tag, else the folder's "CD2", else 1) -> track indexes in input
  // order.
  std::map<int, std::vector<size_t>> on_disc;
};

struct Defect {
  double penalty = 0.0;
  std::string reason;
};

struct IdentifyRule {
  std::string_view name;  // "missing album": says which defect, for tests
  double penalty;         // what the defect costs a clean album's 1.0
  // The reason when the defect is present.
  std::optional<std::string> (*find)(const TagEvidence& evidence);

  std::optional<Defect> check(const TagEvidence& evidence) const {
    if (auto reason = find(evidence)) return Defect{penalty, std::move(*reason)};
    return std::nullopt;
  }
};

// Every rule, in the order their reasons are listed. Any one rule alone takes
// a clean album below the default import threshold (0.95).
std::span<const IdentifyRule> identify_rules();

// The rule of that name, or null.
const IdentifyRule* find_identify_rule(std::string_view name);

}  // namespace barbossa
