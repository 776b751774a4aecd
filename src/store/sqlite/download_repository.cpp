// SqliteDownloadRepository: the downloads table (migration 5).

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/sqlite/repositories.h"
#include "store/sqlite/sql_helpers.h"

namespace barbossa::sqlite {

namespace {

constexpr const char* kDownloadColumns =
    "id, user_id, source, url, status, progress, bytes_done, bytes_total, speed_bps, "
    "eta_seconds, error, staging_path, album_id, review_id, dismissed_at IS NOT NULL, "
    "created_at, updated_at";

constexpr const char* kNow = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

Download read_download(const SQLite::Statement& q) {
  Download d;
  d.id = q.getColumn(0).getInt64();
  d.user_id = q.getColumn(1).getInt64();
  d.source = text(q, 2);
  d.url = text(q, 3);
  // The CHECK constraint admits only names parse knows.
  d.status = parse_download_status(text(q, 4)).value_or(DownloadStatus::kFailed);
  d.progress = q.getColumn(5).getInt();
  d.bytes_done = q.getColumn(6).getInt64();
  d.bytes_total = opt_int(q, 7);
  d.speed_bps = q.getColumn(8).getInt64();
  d.eta_seconds = opt_int(q, 9);
  d.error = text(q, 10);
  d.staging_path = text(q, 11);
  d.album_id = opt_int(q, 12);
  d.review_id = opt_int(q, 13);
  d.dismissed = q.getColumn(14).getInt() != 0;
  d.created_at = text(q, 15);
  d.updated_at = text(q, 16);
  return d;
}

}  // namespace

Download SqliteDownloadRepository::create(int64_t user_id, const std::string& source,
                                          const std::string& url) {
  StatementHandle q = conn_.statement(
      std::string("INSERT INTO downloads (user_id, source, url) VALUES (?, ?, ?) RETURNING ") +
      kDownloadColumns);
  q->bind(1, user_id);
  q->bind(2, source);
  q->bind(3, url);
  q->executeStep();
  Download d = read_download(*q);
  q->reset();
  return d;
}

std::optional<Download> SqliteDownloadRepository::find(int64_t id) {
  StatementHandle q =
      conn_.statement(std::string("SELECT ") + kDownloadColumns + " FROM downloads WHERE id = ?");
  q->bind(1, id);
  if (!q->executeStep()) return std::nullopt;
  return read_download(*q);
}

PageResult<Download> SqliteDownloadRepository::list(std::optional<DownloadStatus> status,
                                                    std::optional<int64_t> user_id, Page page) {
  std::string where = " WHERE dismissed_at IS NULL";
  if (status) where += " AND status = ?1";
  if (user_id) where += " AND user_id = ?2";
  auto bind_filters = [&](SQLite::Statement& q) {
    if (status) q.bind(1, std::string(to_string(*status)));
    if (user_id) q.bind(2, *user_id);
  };
  PageResult<Download> out;
  {
    StatementHandle q = conn_.statement("SELECT COUNT(*) FROM downloads" + where);
    bind_filters(*q);
    out.total = count_of(*q);
  }
  StatementHandle q =
      conn_.statement(std::string("SELECT ") + kDownloadColumns + " FROM downloads" + where +
                      " ORDER BY id DESC LIMIT ?3 OFFSET ?4");
  bind_filters(*q);
  q->bind(3, safe_limit(page));
  q->bind(4, safe_offset(page));
  while (q->executeStep()) out.items.push_back(read_download(*q));
  return out;
}

std::optional<Download> SqliteDownloadRepository::transition(
    int64_t id, const std::vector<DownloadStatus>& from, DownloadStatus to) {
  if (from.empty()) return std::nullopt;
  std::string in;
  for (size_t i = 0; i < from.size(); ++i) in += i == 0 ? "?" : ", ?";
  // A fresh start forgets the last attempt's error and figures.
  std::string reset = to == DownloadStatus::kPending
                          ? ", error = '', progress = 0, speed_bps = 0, eta_seconds = NULL"
                          : "";
  StatementHandle q =
      conn_.statement("UPDATE downloads SET status = ?" + reset + ", updated_at = " + kNow +
                      " WHERE id = ? AND status IN (" + in + ") RETURNING " + kDownloadColumns);
  int index = 1;
  q->bind(index++, std::string(to_string(to)));
  q->bind(index++, id);
  for (DownloadStatus s : from) q->bind(index++, std::string(to_string(s)));
  if (!q->executeStep()) return std::nullopt;
  Download d = read_download(*q);
  q->reset();
  return d;
}

bool SqliteDownloadRepository::dismiss(int64_t id) {
  StatementHandle q = conn_.statement(std::string("UPDATE downloads SET dismissed_at = ") + kNow +
                                      ", updated_at = " + kNow +
                                      " WHERE id = ? AND dismissed_at IS NULL AND status NOT IN "
                                      "('pending', 'downloading', 'importing')");
  q->bind(1, id);
  return q->exec() == 1;
}

}  // namespace barbossa::sqlite
