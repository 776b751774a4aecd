#include "importer/track_tags.h"

namespace barbossa {

TrackTags track_tags(const ScannedTrack& track) {
  TrackTags t;
  const AudioTags& tags = track.info.tags;
  t.file_name = track.relative;
  t.artist = tags.artist;
  t.album_artist = tags.album_artist;
  t.album = tags.album;
  t.title = tags.title;
  t.track = tags.track;
  t.track_total = tags.track_total;
  t.disc = tags.disc;
  t.disc_total = tags.disc_total;
  t.disc_from_folder = track.disc_from_folder;
  t.year = tags.year;
  t.musicbrainz_album_id = tags.musicbrainz_album_id;
  t.musicbrainz_recording_id = tags.musicbrainz_recording_id;
  return t;
}

}  // namespace barbossa
