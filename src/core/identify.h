// Identification from tags (SPEC §5.2): one candidate (artist, album, year,
// track list) and a confidence in [0, 1] with the reasons that lowered it. A
// fully and consistently tagged album scores 1.0; each defect subtracts enough
// to fall below the default import threshold (0.95) and adds one reason that
// names the defect and the files it concerns (one rule per defect:
// core/identify_rules.h). Pure: no I/O.
//
// Choices the spec leaves open: names vote by normalize_name() and the most
// common spelling of the winning group wins (ties: the first track's); a track
// artist standing in for the album artist loses its " feat. ..." guests;
// TRACKTOTAL may count the disc or, on multi-disc albums, the whole album;
// a disc with unnumbered tracks is not also reported for gaps; tracks that
// disagree on the MusicBrainz release id are a defect of their own; the
// folder name ("Artist - Album (1999) [FLAC]") supplies artist, album and
// year only when no tag does.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace barbossa {

struct TrackTags {
  std::string file_name;  // relative path inside the album folder, for reasons
  std::string artist;
  std::string album_artist;
  std::string album;
  std::string title;
  int track = 0;  // 0: absent
  int track_total = 0;
  int disc = 0;  // 0: absent
  int disc_total = 0;
  int disc_from_folder = 0;  // from "CD2", "Disc 2" folders; 0: none
  int year = 0;
  std::string musicbrainz_album_id;
  std::string musicbrainz_recording_id;
};

struct IdentifiedTrack {
  int disc = 1;
  int number = 0;     // always >= 1 and unique per disc
  std::string title;  // never empty (falls back to the file name)
};

struct Identification {
  std::string artist;  // album artist; never empty ("Unknown Artist")
  std::string album;   // never empty ("Unknown Album")
  int year = 0;
  std::string musicbrainz_release_id;
  int disc_count = 1;
  double confidence = 0.0;
  std::vector<std::string> reasons;
  std::vector<IdentifiedTrack> tracks;  // same order as the input
};

// folder_name: the album folder's own name, a last resort for album/artist.
Identification identify_from_tags(const std::vector<TrackTags>& tracks,
                                  std::string_view folder_name);

}  // namespace barbossa
