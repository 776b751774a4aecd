// SqliteLibraryRepository: artists, albums and tracks (hearts are in
// hearts.cpp).

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/normalize.h"
#include "store/sqlite/repositories.h"
#include "store/sqlite/row_readers.h"
#include "store/sqlite/sql_helpers.h"
#include "store/store_error.h"

namespace barbossa::sqlite {

Artist SqliteLibraryRepository::create_artist(const Artist& artist) {
  Artist out = artist;
  // An empty key would make every unnamed artist collide on the unique index.
  if (out.normalized_name.empty()) out.normalized_name = normalize_name(out.name);
  StatementHandle q = conn_.statement(
      "INSERT INTO artists (name, sort_name, normalized_name, path, "
      "musicbrainz_id) VALUES (?, ?, ?, ?, ?) RETURNING id");
  q->bind(1, out.name);
  q->bind(2, out.sort_name);
  q->bind(3, out.normalized_name);
  q->bind(4, out.path);
  bind_text_or_null(*q, 5, out.musicbrainz_id);
  try {
    q->executeStep();
  } catch (const SQLite::Exception& e) {
    if (is_unique_violation(e)) {
      throw StoreError::conflict("Artist '" + out.name + "' already exists");
    }
    throw;
  }
  out.id = q->getColumn(0).getInt64();
  out.album_count = 0;
  return out;
}

Album SqliteLibraryRepository::create_album(const Album& album) {
  std::string normalized =
      album.normalized_title.empty() ? normalize_name(album.title) : album.normalized_title;
  StatementHandle q = conn_.statement(
      "INSERT INTO albums (artist_id, title, normalized_title, year, path, "
      "disc_count, total_tracks, available_tracks, musicbrainz_release_id, "
      "source, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
  q->bind(1, album.artist_id);
  q->bind(2, album.title);
  q->bind(3, normalized);
  bind_int_or_null(*q, 4, album.year);
  q->bind(5, album.path);
  q->bind(6, album.disc_count);
  q->bind(7, album.total_tracks);
  q->bind(8, album.available_tracks);
  bind_text_or_null(*q, 9, album.musicbrainz_release_id);
  q->bind(10, album.source);
  q->bind(11, album.status);
  try {
    q->executeStep();
  } catch (const SQLite::Exception& e) {
    if (is_unique_violation(e)) {
      throw StoreError::conflict("Album '" + album.title + "' already exists for this artist");
    }
    if (is_foreign_key_violation(e)) {
      throw StoreError::not_found("Artist " + std::to_string(album.artist_id) + " not found");
    }
    throw;
  }
  int64_t id = q->getColumn(0).getInt64();
  q->reset();  // completes the insert before the read below
  // Re-read so created_at and artist_name are filled like any other read.
  return *find_album(id);
}

Track SqliteLibraryRepository::create_track(const Track& track) {
  Track out = track;
  if (out.normalized_title.empty()) out.normalized_title = normalize_name(out.title);
  StatementHandle q = conn_.statement(
      "INSERT INTO tracks (album_id, disc, number, title, normalized_title, duration_ms, path, "
      "format, lossless, sample_rate, bit_depth, bitrate, channels, file_size, sha256, "
      "checksum_verified_at, source, source_url, musicbrainz_recording_id) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
  q->bind(1, out.album_id);
  q->bind(2, out.disc);
  q->bind(3, out.number);
  q->bind(4, out.title);
  q->bind(5, out.normalized_title);
  q->bind(6, out.duration_ms);
  q->bind(7, out.path);
  q->bind(8, out.format);
  q->bind(9, out.lossless ? 1 : 0);
  q->bind(10, out.sample_rate);
  q->bind(11, out.bit_depth);
  q->bind(12, out.bitrate);
  q->bind(13, out.channels);
  q->bind(14, out.file_size);
  q->bind(15, out.sha256);
  bind_text_or_null(*q, 16, out.checksum_verified_at);
  q->bind(17, out.source);
  q->bind(18, out.source_url);
  bind_text_or_null(*q, 19, out.musicbrainz_recording_id);
  try {
    q->executeStep();
  } catch (const SQLite::Exception& e) {
    if (is_unique_violation(e)) {
      throw StoreError::conflict("Track " + std::to_string(out.disc) + "-" +
                                 std::to_string(out.number) + " already exists on album " +
                                 std::to_string(out.album_id));
    }
    if (is_foreign_key_violation(e)) {
      throw StoreError::not_found("Album " + std::to_string(out.album_id) + " not found");
    }
    throw;
  }
  out.id = q->getColumn(0).getInt64();
  return out;
}

PageResult<Artist> SqliteLibraryRepository::list_artists(const std::string& query, Page page) {
  std::string where = query.empty() ? "" : " WHERE instr(ar.normalized_name, ?1) > 0";
  PageResult<Artist> out;
  {
    StatementHandle q = conn_.statement("SELECT COUNT(*) FROM artists ar" + where);
    if (!query.empty()) q->bind(1, query);
    out.total = count_of(*q);
  }
  StatementHandle q =
      conn_.statement(std::string("SELECT ") + kArtistColumns + " FROM artists ar" + where +
                      " ORDER BY ar.normalized_name, ar.id LIMIT ?2 OFFSET ?3");
  if (!query.empty()) q->bind(1, query);
  q->bind(2, safe_limit(page));
  q->bind(3, safe_offset(page));
  while (q->executeStep()) out.items.push_back(read_artist(*q));
  return out;
}

std::optional<Artist> SqliteLibraryRepository::find_artist(int64_t id) {
  StatementHandle q =
      conn_.statement(std::string("SELECT ") + kArtistColumns + " FROM artists ar WHERE ar.id = ?");
  q->bind(1, id);
  if (!q->executeStep()) return std::nullopt;
  return read_artist(*q);
}

PageResult<Album> SqliteLibraryRepository::list_albums(int64_t artist_id, const std::string& query,
                                                       Page page) {
  // Built per call rather than "(?1 = 0 OR ...)" so the planner can use the
  // artist index when filtering by artist. instr() needs no LIKE escaping.
  std::string where;
  if (artist_id != 0) where += " AND a.artist_id = ?1";
  if (!query.empty()) {
    where += " AND (instr(a.normalized_title, ?2) > 0 OR instr(ar.normalized_name, ?2) > 0)";
  }
  if (!where.empty()) where = " WHERE" + where.substr(4);
  const std::string from = " FROM albums a JOIN artists ar ON ar.id = a.artist_id" + where;
  auto bind_filters = [&](SQLite::Statement& q) {
    if (artist_id != 0) q.bind(1, artist_id);
    if (!query.empty()) q.bind(2, query);
  };

  PageResult<Album> out;
  {
    StatementHandle q = conn_.statement("SELECT COUNT(*)" + from);
    bind_filters(*q);
    out.total = count_of(*q);
  }
  StatementHandle q =
      conn_.statement(std::string("SELECT ") + kAlbumColumns + from +
                      " ORDER BY ar.normalized_name, a.normalized_title, a.year, a.id"
                      " LIMIT ?3 OFFSET ?4");
  bind_filters(*q);
  q->bind(3, safe_limit(page));
  q->bind(4, safe_offset(page));
  while (q->executeStep()) out.items.push_back(read_album(*q));
  return out;
}

std::optional<Album> SqliteLibraryRepository::find_album(int64_t id) {
  StatementHandle q = conn_.statement(std::string("SELECT ") + kAlbumColumns +
                                      " FROM albums a JOIN artists ar ON ar.id = a.artist_id"
                                      " WHERE a.id = ?");
  q->bind(1, id);
  if (!q->executeStep()) return std::nullopt;
  return read_album(*q);
}

std::vector<Track> SqliteLibraryRepository::album_tracks(int64_t album_id) {
  StatementHandle q =
      conn_.statement(std::string("SELECT ") + kTrackColumns +
                      " FROM tracks t WHERE t.album_id = ? ORDER BY t.disc, t.number");
  q->bind(1, album_id);
  std::vector<Track> out;
  while (q->executeStep()) out.push_back(read_track(*q));
  return out;
}

std::optional<Track> SqliteLibraryRepository::find_track(int64_t id) {
  StatementHandle q =
      conn_.statement(std::string("SELECT ") + kTrackColumns + " FROM tracks t WHERE t.id = ?");
  q->bind(1, id);
  if (!q->executeStep()) return std::nullopt;
  return read_track(*q);
}

std::vector<Track> SqliteLibraryRepository::tracks_after(int64_t after_id, int64_t limit) {
  StatementHandle q = conn_.statement(std::string("SELECT ") + kTrackColumns +
                                      " FROM tracks t WHERE t.id > ? ORDER BY t.id LIMIT ?");
  q->bind(1, after_id);
  q->bind(2, std::max<int64_t>(0, limit));
  std::vector<Track> out;
  while (q->executeStep()) out.push_back(read_track(*q));
  return out;
}

bool SqliteLibraryRepository::mark_track_verified(int64_t id, const std::string& path,
                                                  const std::string& sha256,
                                                  const std::string& verified_at) {
  StatementHandle q = conn_.statement(
      "UPDATE tracks SET checksum_verified_at = ? WHERE id = ? AND path = ? AND sha256 = ?");
  q->bind(1, verified_at);
  q->bind(2, id);
  q->bind(3, path);
  q->bind(4, sha256);
  return q->exec() > 0;
}

PageResult<Track> SqliteLibraryRepository::search_tracks(const std::string& query, Page page) {
  std::string where = query.empty() ? "" : " WHERE instr(t.normalized_title, ?1) > 0";
  PageResult<Track> out;
  {
    StatementHandle q = conn_.statement("SELECT COUNT(*) FROM tracks t" + where);
    if (!query.empty()) q->bind(1, query);
    out.total = count_of(*q);
  }
  StatementHandle q =
      conn_.statement(std::string("SELECT ") + kTrackColumns + " FROM tracks t" + where +
                      " ORDER BY t.normalized_title, t.id LIMIT ?2 OFFSET ?3");
  if (!query.empty()) q->bind(1, query);
  q->bind(2, safe_limit(page));
  q->bind(3, safe_offset(page));
  while (q->executeStep()) out.items.push_back(read_track(*q));
  return out;
}

std::optional<Artist> SqliteLibraryRepository::find_artist_by_normalized(
    const std::string& normalized_name) {
  StatementHandle q = conn_.statement(std::string("SELECT ") + kArtistColumns +
                                      " FROM artists ar WHERE ar.normalized_name = ?");
  q->bind(1, normalized_name);
  if (!q->executeStep()) return std::nullopt;
  return read_artist(*q);
}

std::optional<Album> SqliteLibraryRepository::find_album_by_identity(
    int64_t artist_id, const std::string& normalized_title) {
  StatementHandle q = conn_.statement(std::string("SELECT ") + kAlbumColumns +
                                      " FROM albums a JOIN artists ar ON ar.id = a.artist_id"
                                      " WHERE a.artist_id = ? AND a.normalized_title = ?"
                                      " ORDER BY a.id LIMIT 1");
  q->bind(1, artist_id);
  q->bind(2, normalized_title);
  if (!q->executeStep()) return std::nullopt;
  return read_album(*q);
}

std::optional<Album> SqliteLibraryRepository::find_album_by_release(
    const std::string& musicbrainz_release_id) {
  if (musicbrainz_release_id.empty()) return std::nullopt;
  StatementHandle q = conn_.statement(std::string("SELECT ") + kAlbumColumns +
                                      " FROM albums a JOIN artists ar ON ar.id = a.artist_id"
                                      " WHERE a.musicbrainz_release_id = ? ORDER BY a.id LIMIT 1");
  q->bind(1, musicbrainz_release_id);
  if (!q->executeStep()) return std::nullopt;
  return read_album(*q);
}

std::vector<Track> SqliteLibraryRepository::find_tracks_by_sha256(
    const std::vector<std::string>& digests) {
  std::vector<Track> out;
  StatementHandle q =
      conn_.statement(std::string("SELECT ") + kTrackColumns + " FROM tracks t WHERE t.sha256 = ?");
  for (const std::string& d : digests) {
    if (d.empty()) continue;
    q->bind(1, d);
    while (q->executeStep()) out.push_back(read_track(*q));
    q->reset();
  }
  return out;
}

void SqliteLibraryRepository::update_album(const Album& album) {
  std::string normalized =
      album.normalized_title.empty() ? normalize_name(album.title) : album.normalized_title;
  StatementHandle q = conn_.statement(
      "UPDATE albums SET title = ?, normalized_title = ?, year = ?, path = ?, "
      "disc_count = ?, total_tracks = ?, available_tracks = ?, "
      "musicbrainz_release_id = ?, source = ?, status = ? WHERE id = ?");
  q->bind(1, album.title);
  q->bind(2, normalized);
  bind_int_or_null(*q, 3, album.year);
  q->bind(4, album.path);
  q->bind(5, album.disc_count);
  q->bind(6, album.total_tracks);
  q->bind(7, album.available_tracks);
  bind_text_or_null(*q, 8, album.musicbrainz_release_id);
  q->bind(9, album.source);
  q->bind(10, album.status);
  q->bind(11, album.id);
  try {
    q->exec();
  } catch (const SQLite::Exception& e) {
    if (is_unique_violation(e)) {
      throw StoreError::conflict("Album '" + album.title + "' already exists for this artist");
    }
    throw;
  }
}

void SqliteLibraryRepository::update_track(const Track& track) {
  std::string normalized =
      track.normalized_title.empty() ? normalize_name(track.title) : track.normalized_title;
  StatementHandle q = conn_.statement(
      "UPDATE tracks SET disc = ?, number = ?, title = ?, normalized_title = ?, "
      "duration_ms = ?, path = ?, format = ?, lossless = ?, sample_rate = ?, bit_depth = ?, "
      "bitrate = ?, channels = ?, file_size = ?, sha256 = ?, checksum_verified_at = ?, "
      "source = ?, source_url = ?, musicbrainz_recording_id = ? WHERE id = ?");
  q->bind(1, track.disc);
  q->bind(2, track.number);
  q->bind(3, track.title);
  q->bind(4, normalized);
  q->bind(5, track.duration_ms);
  q->bind(6, track.path);
  q->bind(7, track.format);
  q->bind(8, track.lossless ? 1 : 0);
  q->bind(9, track.sample_rate);
  q->bind(10, track.bit_depth);
  q->bind(11, track.bitrate);
  q->bind(12, track.channels);
  q->bind(13, track.file_size);
  q->bind(14, track.sha256);
  bind_text_or_null(*q, 15, track.checksum_verified_at);
  q->bind(16, track.source);
  q->bind(17, track.source_url);
  bind_text_or_null(*q, 18, track.musicbrainz_recording_id);
  q->bind(19, track.id);
  try {
    q->exec();
  } catch (const SQLite::Exception& e) {
    if (is_unique_violation(e)) {
      throw StoreError::conflict("Track " + std::to_string(track.disc) + "-" +
                                 std::to_string(track.number) + " already exists on album " +
                                 std::to_string(track.album_id));
    }
    throw;
  }
}

bool SqliteLibraryRepository::delete_track(int64_t id) {
  StatementHandle q = conn_.statement("DELETE FROM tracks WHERE id = ?");
  q->bind(1, id);
  return q->exec() > 0;
}

bool SqliteLibraryRepository::delete_album(int64_t id) {
  StatementHandle q = conn_.statement("DELETE FROM albums WHERE id = ?");
  q->bind(1, id);
  return q->exec() > 0;
}

bool SqliteLibraryRepository::delete_artist_if_empty(int64_t id) {
  StatementHandle q = conn_.statement(
      "DELETE FROM artists WHERE id = ?1 AND NOT EXISTS "
      "(SELECT 1 FROM albums WHERE artist_id = ?1)");
  q->bind(1, id);
  return q->exec() > 0;
}

int64_t SqliteLibraryRepository::recount_album_stats() {
  // One statement: the counts and the writes see the same snapshot, and
  // correlated subqueries use the (album_id, disc, number) unique index.
  // Not cached: it runs once a week.
  constexpr const char* kCount = "(SELECT COUNT(*) FROM tracks t WHERE t.album_id = albums.id)";
  constexpr const char* kDiscs =
      "(SELECT COALESCE(MAX(t.disc), 1) FROM tracks t WHERE t.album_id = albums.id)";
  SQLite::Statement q(conn_.db(), std::string("UPDATE albums SET total_tracks = ") + kCount +
                                      ", available_tracks = " + kCount +
                                      ", disc_count = " + kDiscs + " WHERE total_tracks IS NOT " +
                                      kCount + " OR available_tracks IS NOT " + kCount +
                                      " OR disc_count IS NOT " + kDiscs);
  return q.exec();
}

}  // namespace barbossa::sqlite
