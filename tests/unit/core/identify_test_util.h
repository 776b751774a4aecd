// A cleanly tagged album for the identification tests (identify_test.cpp,
// identify_rules_test.cpp): each test damages one thing and looks at what
// identification makes of it.
#pragma once

#include <string>
#include <vector>

#include "core/identify.h"

namespace barbossa::test {

inline std::string two_digits(int n) {
  return (n < 10 ? "0" : "") + std::to_string(n);
}

// "03 - Song 3.flac", every tag set and consistent.
inline TrackTags clean_track(int n, int total, int disc = 1, int disc_total = 1) {
  TrackTags t;
  t.file_name = two_digits(n) + " - Song " + std::to_string(n) + ".flac";
  t.artist = "Artist";
  t.album_artist = "Artist";
  t.album = "Album";
  t.title = "Song " + std::to_string(n);
  t.track = n;
  t.track_total = total;
  t.disc = disc;
  t.disc_total = disc_total;
  t.year = 2011;
  t.musicbrainz_album_id = "11111111-2222-3333-4444-555555555555";
  return t;
}

inline std::vector<TrackTags> clean_album(int count = 5) {
  std::vector<TrackTags> tracks;
  for (int n = 1; n <= count; ++n) tracks.push_back(clean_track(n, count));
  return tracks;
}

}  // namespace barbossa::test
