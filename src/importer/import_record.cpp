#include "importer/import_record.h"

#include <map>
#include <stdexcept>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/normalize.h"
#include "core/time.h"

namespace barbossa {
namespace {

Artist find_or_create_artist(StoreSession& s, const RecordInput& in) {
  auto& lib = s.library();
  if (auto found = lib.find_artist_by_normalized(normalize_name(in.ident.artist))) return *found;
  Artist a;
  a.name = in.ident.artist;
  a.sort_name = in.ident.artist;
  a.path = in.plan.artist_rel;
  return lib.create_artist(a);
}

Album write_album(StoreSession& s, const RecordInput& in, const Artist& artist) {
  auto& lib = s.library();
  Album album;
  if (in.replaced) {
    auto current = lib.find_album(in.replaced->album->id);
    if (!current) throw std::runtime_error("the album an upgrade replaces is gone");
    album = *current;
  } else {
    album.artist_id = artist.id;
    album.title = in.ident.album;
    album.year = in.ident.year;
    album.musicbrainz_release_id = in.ident.musicbrainz_release_id;
  }
  album.path = in.plan.album_rel;
  album.disc_count = in.ident.disc_count;
  album.total_tracks = static_cast<int>(in.candidate.tracks.size());
  album.available_tracks = static_cast<int>(in.candidate.tracks.size());
  album.source = in.request.source;
  album.status = "available";
  if (in.replaced) {
    lib.update_album(album);
    return album;
  }
  return lib.create_album(album);
}

Track track_row(const RecordInput& in, size_t i, int64_t album_id, const std::string& now) {
  const ScannedTrack& st = in.candidate.tracks[i];
  const IdentifiedTrack& it = in.ident.tracks[i];
  Track t;
  t.album_id = album_id;
  t.disc = it.disc;
  t.number = it.number;
  t.title = it.title;
  t.duration_ms = st.info.duration_ms;
  t.path = in.plan.track_rel[i];
  t.format = st.info.format;
  t.lossless = st.info.lossless;
  t.sample_rate = st.info.sample_rate;
  t.bit_depth = st.info.bit_depth;
  t.bitrate = st.info.bitrate;
  t.channels = st.info.channels;
  t.file_size = st.info.file_size;
  t.sha256 = st.sha256;
  t.checksum_verified_at = now;
  t.source = in.request.source;
  t.musicbrainz_recording_id = st.info.tags.musicbrainz_recording_id;
  return t;
}

void add_history(StoreSession& s, const RecordInput& in, const Artist& artist, const Album& album,
                 const Track& t) {
  ImportHistoryRow h;
  h.normalized_artist = artist.normalized_name;
  h.normalized_album = normalize_name(album.title);
  h.normalized_track = normalize_name(t.title);
  h.source = in.request.source;
  h.quality = quality_label(in.quality);
  h.sha256 = t.sha256;
  h.album_id = album.id;
  h.track_id = t.id;
  s.imports().add_history(h);
}

// Tracks keep their ids across an upgrade (matched by disc and number), so
// track hearts survive it; old tracks without a match go.
void write_tracks(StoreSession& s, const RecordInput& in, const Artist& artist,
                  const Album& album) {
  auto& lib = s.library();
  std::map<std::pair<int, int>, Track> old_by_position;
  if (in.replaced) {
    for (const auto& t : in.replaced->tracks) old_by_position[{t.disc, t.number}] = t;
  }
  const std::string now = iso8601_now();
  for (size_t i = 0; i < in.candidate.tracks.size(); ++i) {
    Track t = track_row(in, i, album.id, now);
    auto old = old_by_position.find({t.disc, t.number});
    if (old != old_by_position.end()) {
      t.id = old->second.id;
      old_by_position.erase(old);
    }
    if (t.id != 0) {
      lib.update_track(t);
    } else {
      t = lib.create_track(t);
    }
    add_history(s, in, artist, album, t);
  }
  for (const auto& [pos, t] : old_by_position) lib.delete_track(t.id);
}

Activity record_album_activity(StoreSession& s, ActivityService& activity, const RecordInput& in,
                               const Artist& artist, const Album& album) {
  nlohmann::json details = nlohmann::json::object();
  details["artist"] = artist.name;
  details["title"] = album.title;
  details["year"] = album.year;
  details["source"] = in.request.source;
  details["tracks"] = in.candidate.tracks.size();
  details["quality"] = quality_label(in.quality);
  if (in.replaced) {
    details["from_quality"] = quality_label(in.replaced_quality);
    return activity.record(s, in.request.user_id, "quality_upgrade", "album", album.id, details);
  }
  return activity.record(s, in.request.user_id, "new_album", "album", album.id, details);
}

Activity approve_item(StoreSession& s, ActivityService& activity, const RecordInput& in,
                      const Artist& artist, const Album& album) {
  ReviewItem item = *in.approving;
  item.status = ReviewStatus::kApproved;
  item.reviewer_id = in.reviewer_id;
  item.album_id = album.id;
  // The guard in the SQL: a decision by another process since the lease was
  // taken loses here, and the moves are rolled back.
  if (!s.imports().decide_review(item)) {
    throw ApiError::conflict("Review item " + std::to_string(item.id) + " is already decided");
  }
  nlohmann::json rd = nlohmann::json::object();
  rd["review_id"] = item.id;
  rd["album_id"] = album.id;
  rd["artist"] = artist.name;
  rd["title"] = album.title;
  return activity.record(s, in.reviewer_id, "review_approved", "review", item.id, rd);
}

}  // namespace

RecordedImport record_import(StoreSession& s, ActivityService& activity, const RecordInput& in) {
  const Artist artist = find_or_create_artist(s, in);
  const Album album = write_album(s, in, artist);
  write_tracks(s, in, artist, album);
  RecordedImport out;
  out.album_id = album.id;
  out.activities.push_back(record_album_activity(s, activity, in, artist, album));
  if (in.approving) out.activities.push_back(approve_item(s, activity, in, artist, album));
  return out;
}

}  // namespace barbossa
