// Is the album already in the library? The lookup as small rules, after
// Lidarr's import specifications and core/import_decision.h: each rule looks
// by one aspect of the candidate (name, release, any file) and either finds
// nothing or names the album with the reason it matched. find_existing runs
// them in order; the first match wins.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/identify.h"
#include "store/store.h"

namespace barbossa {

// What a candidate is looked up by.
struct DuplicateQuery {
  std::string artist;  // as identified (normalized by the rules)
  std::string album;
  std::string release_id;              // MusicBrainz; may be empty
  std::vector<std::string> checksums;  // SHA-256 of every candidate file
};

DuplicateQuery duplicate_query(const Identification& ident, std::vector<std::string> checksums);

// A rule's verdict: the album it found and why ("artist and album", ...).
struct DuplicateMatch {
  Album album;
  std::string matched_by;
};

std::optional<DuplicateMatch> match_by_identity(StoreSession& s, const DuplicateQuery& q);
std::optional<DuplicateMatch> match_by_release(StoreSession& s, const DuplicateQuery& q);
std::optional<DuplicateMatch> match_by_checksum(StoreSession& s, const DuplicateQuery& q);

// The album already in the library that a candidate matches, with its tracks.
struct ExistingCopy {
  std::optional<Album> album;
  std::string matched_by;
  std::vector<Track> tracks;
};

// Runs the rules in the order above.
ExistingCopy find_existing(StoreSession& s, const DuplicateQuery& q);

// Has the library's copy changed between two looks (another process
// imported, upgraded or deleted it)? Track ids, paths and checksums say
// which files make it up, and so its quality.
bool same_existing(const ExistingCopy& a, const ExistingCopy& b);

}  // namespace barbossa
