// SqliteImportRepository: review_items and import_history.

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/sqlite/repositories.h"
#include "store/sqlite/row_readers.h"
#include "store/sqlite/sql_helpers.h"
#include "store/store_error.h"

namespace barbossa::sqlite {

namespace {

// The columns a review update writes. duplicate_of comes from the item as
// read before the update; the album it names may have been deleted since
// (the row's own reference was then set to NULL), and writing it back would
// fail the foreign key (crash loop: approve and reject answered 500 after an
// album delete), so it is kept only while that album exists.
constexpr std::string_view kUpdateReviewSql =
    "UPDATE review_items SET status = ?, path = ?, path_name = ?, "
    "suggested_artist = ?, suggested_album = ?, suggested_year = ?, "
    "reasons = ?, duplicate_of = (SELECT id FROM albums WHERE id = ?), reviewer_id = ?, "
    "album_id = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

// Binds kUpdateReviewSql's parameters; the caller's WHERE binds ?11, the id.
void bind_review_update(SQLite::Statement& q, const ReviewItem& item) {
  q.bind(1, std::string(to_string(item.status)));
  q.bind(2, item.path);
  q.bind(3, item.path_name);
  q.bind(4, item.suggested_artist);
  q.bind(5, item.suggested_album);
  bind_int_or_null(q, 6, item.suggested_year);
  q.bind(7, reasons_json(item.reasons));
  bind_opt(q, 8, item.duplicate_of);
  bind_opt(q, 9, item.reviewer_id);
  bind_opt(q, 10, item.album_id);
  q.bind(11, item.id);
}

}  // namespace

ReviewItem SqliteImportRepository::create_review(const ReviewItem& item) {
  StatementHandle q = conn_.statement(
      "INSERT INTO review_items (status, path, path_name, suggested_artist, "
      "suggested_album, suggested_year, confidence, reasons, track_count, "
      "quality_summary, source, download_id, user_id, duplicate_of) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
  q->bind(1, std::string(to_string(item.status)));
  q->bind(2, item.path);
  q->bind(3, item.path_name);
  q->bind(4, item.suggested_artist);
  q->bind(5, item.suggested_album);
  bind_int_or_null(*q, 6, item.suggested_year);
  q->bind(7, item.confidence);
  q->bind(8, reasons_json(item.reasons));
  q->bind(9, item.track_count);
  q->bind(10, item.quality_summary);
  q->bind(11, item.source);
  bind_opt(*q, 12, item.download_id);
  bind_opt(*q, 13, item.user_id);
  bind_opt(*q, 14, item.duplicate_of);
  q->executeStep();
  int64_t id = q->getColumn(0).getInt64();
  q->reset();
  return *find_review(id);
}

std::optional<ReviewItem> SqliteImportRepository::find_review(int64_t id) {
  StatementHandle q =
      conn_.statement(std::string("SELECT ") + kReviewColumns + " FROM review_items WHERE id = ?");
  q->bind(1, id);
  if (!q->executeStep()) return std::nullopt;
  return read_review(*q);
}

PageResult<ReviewItem> SqliteImportRepository::list_reviews(const std::string& status,
                                                            std::optional<int64_t> visible_to,
                                                            Page page) {
  std::string where;
  if (!status.empty()) where += " AND status = ?1";
  if (visible_to) where += " AND user_id = ?2";
  if (!where.empty()) where = " WHERE" + where.substr(4);
  auto bind_filters = [&](SQLite::Statement& q) {
    if (!status.empty()) q.bind(1, status);
    if (visible_to) q.bind(2, *visible_to);
  };
  PageResult<ReviewItem> out;
  {
    StatementHandle q = conn_.statement("SELECT COUNT(*) FROM review_items" + where);
    bind_filters(*q);
    out.total = count_of(*q);
  }
  StatementHandle q =
      conn_.statement(std::string("SELECT ") + kReviewColumns + " FROM review_items" + where +
                      " ORDER BY id DESC LIMIT ?3 OFFSET ?4");
  bind_filters(*q);
  q->bind(3, safe_limit(page));
  q->bind(4, safe_offset(page));
  while (q->executeStep()) out.items.push_back(read_review(*q));
  return out;
}

void SqliteImportRepository::update_review(const ReviewItem& item) {
  StatementHandle q = conn_.statement(std::string(kUpdateReviewSql) + " WHERE id = ?");
  bind_review_update(*q, item);
  q->exec();
}

bool SqliteImportRepository::decide_review(const ReviewItem& item) {
  // Only a pending item may be decided: of two decisions racing, the
  // second changes no row and its caller answers 409.
  StatementHandle q =
      conn_.statement(std::string(kUpdateReviewSql) + " WHERE id = ? AND status = 'pending'");
  bind_review_update(*q, item);
  return q->exec() == 1;
}

void SqliteImportRepository::add_history(const ImportHistoryRow& row) {
  StatementHandle q = conn_.statement(
      "INSERT INTO import_history (normalized_artist, normalized_album, "
      "normalized_track, source, quality, sha256, album_id, track_id) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  q->bind(1, row.normalized_artist);
  q->bind(2, row.normalized_album);
  q->bind(3, row.normalized_track);
  q->bind(4, row.source);
  q->bind(5, row.quality);
  q->bind(6, row.sha256);
  bind_int_or_null(*q, 7, row.album_id);
  bind_int_or_null(*q, 8, row.track_id);
  q->exec();
}

}  // namespace barbossa::sqlite
