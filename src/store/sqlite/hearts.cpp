// SqliteLibraryRepository's hearts: album_hearts and track_hearts, and the
// reads that follow them (holders, hearted paths).

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/sqlite/repositories.h"
#include "store/sqlite/row_readers.h"
#include "store/sqlite/sql_helpers.h"
#include "store/store_error.h"

namespace barbossa::sqlite {

bool SqliteLibraryRepository::heart_album(int64_t user_id, int64_t album_id) {
  // OR IGNORE covers the primary key only; a missing user or album still
  // fails the foreign key, which is what tells us it is missing.
  return change("INSERT OR IGNORE INTO album_hearts (user_id, album_id) VALUES (?, ?)", user_id,
                album_id, "Album");
}

bool SqliteLibraryRepository::unheart_album(int64_t user_id, int64_t album_id) {
  return change("DELETE FROM album_hearts WHERE user_id = ? AND album_id = ?", user_id, album_id,
                "Album");
}

bool SqliteLibraryRepository::heart_track(int64_t user_id, int64_t track_id) {
  return change("INSERT OR IGNORE INTO track_hearts (user_id, track_id) VALUES (?, ?)", user_id,
                track_id, "Track");
}

bool SqliteLibraryRepository::unheart_track(int64_t user_id, int64_t track_id) {
  return change("DELETE FROM track_hearts WHERE user_id = ? AND track_id = ?", user_id, track_id,
                "Track");
}

bool SqliteLibraryRepository::is_album_hearted(int64_t user_id, int64_t album_id) {
  StatementHandle q =
      conn_.statement("SELECT 1 FROM album_hearts WHERE user_id = ? AND album_id = ?");
  q->bind(1, user_id);
  q->bind(2, album_id);
  return q->executeStep();
}

std::vector<int64_t> SqliteLibraryRepository::hearted_track_ids(int64_t user_id, int64_t album_id) {
  StatementHandle q = conn_.statement(
      "SELECT t.id FROM track_hearts h JOIN tracks t ON t.id = h.track_id "
      "WHERE h.user_id = ? AND t.album_id = ? ORDER BY t.disc, t.number");
  q->bind(1, user_id);
  q->bind(2, album_id);
  std::vector<int64_t> out;
  while (q->executeStep()) out.push_back(q->getColumn(0).getInt64());
  return out;
}

bool SqliteLibraryRepository::all_tracks_hearted(int64_t user_id, int64_t album_id) {
  StatementHandle q = conn_.statement(
      "SELECT COUNT(*), COUNT(h.track_id) FROM tracks t "
      "LEFT JOIN track_hearts h ON h.track_id = t.id AND h.user_id = ?1 "
      "WHERE t.album_id = ?2");
  q->bind(1, user_id);
  q->bind(2, album_id);
  q->executeStep();
  int64_t tracks = q->getColumn(0).getInt64();
  int64_t hearted = q->getColumn(1).getInt64();
  return tracks > 0 && hearted == tracks;
}

PageResult<Album> SqliteLibraryRepository::hearted_albums(int64_t user_id, Page page) {
  PageResult<Album> out;
  {
    StatementHandle q = conn_.statement("SELECT COUNT(*) FROM album_hearts WHERE user_id = ?");
    q->bind(1, user_id);
    out.total = count_of(*q);
  }
  // Newest heart first; rowid breaks ties within one millisecond.
  StatementHandle q = conn_.statement(std::string("SELECT ") + kAlbumColumns +
                                      " FROM album_hearts h JOIN albums a ON a.id = h.album_id"
                                      " JOIN artists ar ON ar.id = a.artist_id WHERE h.user_id = ?"
                                      " ORDER BY h.created_at DESC, h.rowid DESC LIMIT ? OFFSET ?");
  q->bind(1, user_id);
  q->bind(2, safe_limit(page));
  q->bind(3, safe_offset(page));
  while (q->executeStep()) out.items.push_back(read_album(*q));
  return out;
}

PageResult<Track> SqliteLibraryRepository::hearted_tracks(int64_t user_id, Page page) {
  PageResult<Track> out;
  {
    StatementHandle q = conn_.statement("SELECT COUNT(*) FROM track_hearts WHERE user_id = ?");
    q->bind(1, user_id);
    out.total = count_of(*q);
  }
  StatementHandle q = conn_.statement(std::string("SELECT ") + kTrackColumns +
                                      " FROM track_hearts h JOIN tracks t ON t.id = h.track_id"
                                      " WHERE h.user_id = ?"
                                      " ORDER BY h.created_at DESC, h.rowid DESC LIMIT ? OFFSET ?");
  q->bind(1, user_id);
  q->bind(2, safe_limit(page));
  q->bind(3, safe_offset(page));
  while (q->executeStep()) out.items.push_back(read_track(*q));
  return out;
}

std::vector<HeartHolder> SqliteLibraryRepository::heart_holders(int64_t album_id) {
  std::vector<HeartHolder> out;
  auto holder = [&out](int64_t user_id, const std::string& username) -> HeartHolder& {
    for (HeartHolder& h : out) {
      if (h.user_id == user_id) return h;
    }
    out.push_back(HeartHolder{user_id, username, false, {}});
    return out.back();
  };
  {
    StatementHandle q = conn_.statement(
        "SELECT u.id, u.username FROM album_hearts h JOIN users u "
        "ON u.id = h.user_id WHERE h.album_id = ? ORDER BY u.id");
    q->bind(1, album_id);
    while (q->executeStep()) holder(q->getColumn(0).getInt64(), text(*q, 1)).album = true;
  }
  StatementHandle q = conn_.statement(
      "SELECT u.id, u.username, t.id FROM track_hearts h "
      "JOIN tracks t ON t.id = h.track_id JOIN users u ON u.id = h.user_id "
      "WHERE t.album_id = ? ORDER BY u.id, t.disc, t.number");
  q->bind(1, album_id);
  while (q->executeStep()) {
    holder(q->getColumn(0).getInt64(), text(*q, 1)).track_ids.push_back(q->getColumn(2).getInt64());
  }
  return out;
}

std::vector<std::string> SqliteLibraryRepository::hearted_paths(int64_t user_id) {
  StatementHandle q = conn_.statement(
      "SELECT t.path FROM tracks t WHERE t.album_id IN "
      "(SELECT album_id FROM album_hearts WHERE user_id = ?1) "
      "UNION SELECT t.path FROM track_hearts h JOIN tracks t ON t.id = h.track_id "
      "WHERE h.user_id = ?1 ORDER BY 1");
  q->bind(1, user_id);
  std::vector<std::string> out;
  while (q->executeStep()) out.push_back(text(*q, 0));
  return out;
}

bool SqliteLibraryRepository::change(const char* sql, int64_t user_id, int64_t entity_id,
                                     const char* entity) {
  StatementHandle q = conn_.statement(sql);
  q->bind(1, user_id);
  q->bind(2, entity_id);
  try {
    return q->exec() > 0;
  } catch (const SQLite::Exception& e) {
    if (is_foreign_key_violation(e)) {
      throw StoreError::not_found(std::string(entity) + " " + std::to_string(entity_id) +
                                  " or user " + std::to_string(user_id) + " not found");
    }
    throw;
  }
}

}  // namespace barbossa::sqlite
