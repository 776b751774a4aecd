// The library: artists, albums, tracks, and who hearted what.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/page.h"

namespace barbossa {

struct Artist {
  int64_t id = 0;
  std::string name;
  std::string sort_name;
  std::string normalized_name;
  std::string path;
  std::string musicbrainz_id;
  int64_t album_count = 0;  // filled by reads
};

struct Album {
  int64_t id = 0;
  int64_t artist_id = 0;
  std::string artist_name;  // filled by reads
  std::string title;
  std::string normalized_title;
  int year = 0;  // 0: unknown
  std::string path;
  int disc_count = 1;
  int total_tracks = 0;
  int available_tracks = 0;
  std::string musicbrainz_release_id;
  std::string source;
  std::string status = "available";
  std::string created_at;
};

struct Track {
  int64_t id = 0;
  int64_t album_id = 0;
  int disc = 1;
  int number = 0;
  std::string title;
  std::string normalized_title;
  int64_t duration_ms = 0;
  std::string path;
  std::string format;
  bool lossless = false;
  int sample_rate = 0;
  int bit_depth = 0;
  int bitrate = 0;  // kbit/s
  int channels = 0;
  int64_t file_size = 0;
  std::string sha256;
  std::string checksum_verified_at;
  std::string source;
  std::string source_url;
  std::string musicbrainz_recording_id;
};

// Someone who hearted an album or some of its tracks: their links follow the
// album's files.
struct HeartHolder {
  int64_t user_id = 0;
  std::string username;
  bool album = false;              // the album itself is hearted
  std::vector<int64_t> track_ids;  // tracks hearted one by one
};

class LibraryRepository {
 public:
  virtual ~LibraryRepository() = default;
  // Creation is for the importer, tests and bench tooling. "409" below is a
  // StoreError of kind kConflict, "404" one of kind kNotFound (a missing
  // parent row).
  virtual Artist create_artist(const Artist& artist) = 0;
  virtual Album create_album(const Album& album) = 0;  // 409 on (artist, title, mbid) clash, 404
  virtual Track create_track(const Track& track) = 0;  // 409 on (album, disc, number) clash, 404

  virtual PageResult<Artist> list_artists(const std::string& query, Page page) = 0;
  virtual std::optional<Artist> find_artist(int64_t id) = 0;
  // artist_id 0: all artists. query: folded substring matched against
  // normalized artist and album names.
  virtual PageResult<Album> list_albums(int64_t artist_id, const std::string& query, Page page) = 0;
  virtual std::optional<Album> find_album(int64_t id) = 0;
  virtual std::vector<Track> album_tracks(int64_t album_id) = 0;
  virtual std::optional<Track> find_track(int64_t id) = 0;
  virtual PageResult<Track> search_tracks(const std::string& query, Page page) = 0;
  // Every track with id > after_id, by id, at most `limit`: keyset paging, so
  // a walk over the whole library (integrity check) holds one page at a time
  // and can resume where it stopped.
  virtual std::vector<Track> tracks_after(int64_t after_id, int64_t limit) = 0;
  // Sets checksum_verified_at only while the row still has this path and
  // digest (the file hashed is the file recorded). Returns whether it did.
  // One narrow statement: the integrity check marks every track.
  virtual bool mark_track_verified(int64_t id, const std::string& path, const std::string& sha256,
                                   const std::string& verified_at) = 0;

  // Hearts. Return true when the row is new (or was removed), false when the
  // call changed nothing; idempotence is decided by the database. A missing
  // user, album or track: StoreError kNotFound.
  virtual bool heart_album(int64_t user_id, int64_t album_id) = 0;
  virtual bool unheart_album(int64_t user_id, int64_t album_id) = 0;
  virtual bool heart_track(int64_t user_id, int64_t track_id) = 0;
  virtual bool unheart_track(int64_t user_id, int64_t track_id) = 0;
  virtual bool is_album_hearted(int64_t user_id, int64_t album_id) = 0;
  virtual std::vector<int64_t> hearted_track_ids(int64_t user_id, int64_t album_id) = 0;
  virtual bool all_tracks_hearted(int64_t user_id, int64_t album_id) = 0;
  virtual PageResult<Album> hearted_albums(int64_t user_id, Page page) = 0;
  virtual PageResult<Track> hearted_tracks(int64_t user_id, Page page) = 0;

  // For the importer.
  virtual std::optional<Artist> find_artist_by_normalized(const std::string& normalized_name) = 0;
  // Any album of the artist with this normalized title, whatever its release id.
  virtual std::optional<Album> find_album_by_identity(int64_t artist_id,
                                                      const std::string& normalized_title) = 0;
  virtual std::optional<Album> find_album_by_release(const std::string& musicbrainz_release_id) = 0;
  virtual std::vector<Track> find_tracks_by_sha256(const std::vector<std::string>& digests) = 0;
  // Rewrites every column but id, artist_id and created_at.
  virtual void update_album(const Album& album) = 0;
  // Rewrites every column but id and album_id; 409 on a (disc, number) clash.
  virtual void update_track(const Track& track) = 0;
  virtual bool delete_track(int64_t id) = 0;
  // Cascades to tracks and hearts.
  virtual bool delete_album(int64_t id) = 0;
  virtual bool delete_artist_if_empty(int64_t id) = 0;
  virtual std::vector<HeartHolder> heart_holders(int64_t album_id) = 0;
  // Every track path a user should have a link for (hearted albums and tracks).
  virtual std::vector<std::string> hearted_paths(int64_t user_id) = 0;
  // Recomputes every album's counts from its track rows, as the importer sets
  // them: total_tracks = available_tracks = its tracks, disc_count = the
  // highest disc (1 when it has none). Only rows that differ are written, so
  // the count of albums changed is also what was wrong. For the scheduled
  // update-album-stats job (SPEC 8); belongs in a write session.
  virtual int64_t recount_album_stats() = 0;
};

}  // namespace barbossa
