#include "importer/duplicate_lookup.h"

#include <utility>

#include "core/normalize.h"

namespace barbossa {

DuplicateQuery duplicate_query(const Identification& ident, std::vector<std::string> checksums) {
  DuplicateQuery q;
  q.artist = ident.artist;
  q.album = ident.album;
  q.release_id = ident.musicbrainz_release_id;
  q.checksums = std::move(checksums);
  return q;
}

std::optional<DuplicateMatch> match_by_identity(StoreSession& s, const DuplicateQuery& q) {
  auto& lib = s.library();
  auto artist = lib.find_artist_by_normalized(normalize_name(q.artist));
  if (!artist) return std::nullopt;
  auto album = lib.find_album_by_identity(artist->id, normalize_name(q.album));
  if (!album) return std::nullopt;
  return DuplicateMatch{*album, "artist and album"};
}

std::optional<DuplicateMatch> match_by_release(StoreSession& s, const DuplicateQuery& q) {
  if (q.release_id.empty()) return std::nullopt;
  auto album = s.library().find_album_by_release(q.release_id);
  if (!album) return std::nullopt;
  return DuplicateMatch{*album, "MusicBrainz release"};
}

std::optional<DuplicateMatch> match_by_checksum(StoreSession& s, const DuplicateQuery& q) {
  auto same = s.library().find_tracks_by_sha256(q.checksums);
  if (same.empty()) return std::nullopt;
  auto album = s.library().find_album(same.front().album_id);
  if (!album) return std::nullopt;
  return DuplicateMatch{*album, "identical file checksum"};
}

ExistingCopy find_existing(StoreSession& s, const DuplicateQuery& q) {
  using Rule = std::optional<DuplicateMatch> (*)(StoreSession&, const DuplicateQuery&);
  static constexpr Rule kRules[] = {match_by_identity, match_by_release, match_by_checksum};
  ExistingCopy found;
  for (Rule rule : kRules) {
    if (auto match = rule(s, q)) {
      found.album = std::move(match->album);
      found.matched_by = std::move(match->matched_by);
      found.tracks = s.library().album_tracks(found.album->id);
      break;
    }
  }
  return found;
}

bool same_existing(const ExistingCopy& a, const ExistingCopy& b) {
  if (a.album.has_value() != b.album.has_value()) return false;
  if (a.album && (a.album->id != b.album->id || a.album->path != b.album->path)) return false;
  if (a.tracks.size() != b.tracks.size()) return false;
  for (size_t i = 0; i < a.tracks.size(); ++i) {
    const Track& x = a.tracks[i];
    const Track& y = b.tracks[i];
    if (x.id != y.id || x.path != y.path || x.sha256 != y.sha256) return false;
  }
  return true;
}

}  // namespace barbossa
