#include "store/sqlite/row_readers.h"

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "store/sqlite/sql_helpers.h"

namespace barbossa::sqlite {

JobStatus job_status_column(const SQLite::Statement& q, int col) {
  std::string word = text(q, col);
  if (auto status = parse_job_status(word)) return *status;
  throw std::runtime_error("unknown job status '" + word + "' in the database");
}

ReviewStatus review_status_column(const SQLite::Statement& q, int col) {
  std::string word = text(q, col);
  if (auto status = parse_review_status(word)) return *status;
  throw std::runtime_error("unknown review status '" + word + "' in the database");
}

User read_user(const SQLite::Statement& q) {
  User u;
  u.id = q.getColumn(0).getInt64();
  u.username = text(q, 1);
  u.password_hash = text(q, 2);
  u.is_admin = q.getColumn(3).getInt() != 0;
  u.created_at = text(q, 4);
  u.token_version = q.getColumn(5).getInt64();
  return u;
}

Artist read_artist(const SQLite::Statement& q) {
  Artist a;
  a.id = q.getColumn(0).getInt64();
  a.name = text(q, 1);
  a.sort_name = text(q, 2);
  a.normalized_name = text(q, 3);
  a.path = text(q, 4);
  a.musicbrainz_id = text(q, 5);
  a.album_count = q.getColumn(6).getInt64();
  return a;
}

Album read_album(const SQLite::Statement& q) {
  Album a;
  a.id = q.getColumn(0).getInt64();
  a.artist_id = q.getColumn(1).getInt64();
  a.artist_name = text(q, 2);
  a.title = text(q, 3);
  a.normalized_title = text(q, 4);
  a.year = q.getColumn(5).getInt();  // NULL reads as 0: unknown
  a.path = text(q, 6);
  a.disc_count = q.getColumn(7).getInt();
  a.total_tracks = q.getColumn(8).getInt();
  a.available_tracks = q.getColumn(9).getInt();
  a.musicbrainz_release_id = text(q, 10);
  a.source = text(q, 11);
  a.status = text(q, 12);
  a.created_at = text(q, 13);
  return a;
}

Track read_track(const SQLite::Statement& q) {
  Track t;
  t.id = q.getColumn(0).getInt64();
  t.album_id = q.getColumn(1).getInt64();
  t.disc = q.getColumn(2).getInt();
  t.number = q.getColumn(3).getInt();
  t.title = text(q, 4);
  t.normalized_title = text(q, 5);
  t.duration_ms = q.getColumn(6).getInt64();
  t.path = text(q, 7);
  t.format = text(q, 8);
  t.lossless = q.getColumn(9).getInt() != 0;
  t.sample_rate = q.getColumn(10).getInt();
  t.bit_depth = q.getColumn(11).getInt();
  t.bitrate = q.getColumn(12).getInt();
  t.channels = q.getColumn(13).getInt();
  t.file_size = q.getColumn(14).getInt64();
  t.sha256 = text(q, 15);
  t.checksum_verified_at = text(q, 16);
  t.source = text(q, 17);
  t.source_url = text(q, 18);
  t.musicbrainz_recording_id = text(q, 19);
  return t;
}

Activity read_activity(const SQLite::Statement& q) {
  Activity a;
  a.id = q.getColumn(0).getInt64();
  if (!q.getColumn(1).isNull()) a.user_id = q.getColumn(1).getInt64();
  a.username = text(q, 2);
  a.action = text(q, 3);
  a.entity_type = text(q, 4);
  a.entity_id = q.getColumn(5).getInt64();
  a.details_json = text(q, 6);
  a.created_at = text(q, 7);
  return a;
}

ReviewItem read_review(const SQLite::Statement& q) {
  ReviewItem r;
  r.id = q.getColumn(0).getInt64();
  r.status = review_status_column(q, 1);
  r.path = text(q, 2);
  r.path_name = text(q, 3);
  r.suggested_artist = text(q, 4);
  r.suggested_album = text(q, 5);
  r.suggested_year = q.getColumn(6).getInt();
  r.confidence = q.getColumn(7).getDouble();
  nlohmann::json reasons = nlohmann::json::parse(text(q, 8), nullptr, false);
  if (reasons.is_array()) {
    for (const auto& reason : reasons) {
      if (reason.is_string()) r.reasons.push_back(reason.get<std::string>());
    }
  }
  r.track_count = q.getColumn(9).getInt();
  r.quality_summary = text(q, 10);
  r.source = text(q, 11);
  r.download_id = opt_int(q, 12);
  r.user_id = opt_int(q, 13);
  r.duplicate_of = opt_int(q, 14);
  r.reviewer_id = opt_int(q, 15);
  r.album_id = opt_int(q, 16);
  r.created_at = text(q, 17);
  r.updated_at = text(q, 18);
  return r;
}

std::string reasons_json(const std::vector<std::string>& reasons) {
  // Reasons quote tags, which may not be valid UTF-8.
  return nlohmann::json(reasons).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Job read_job(const SQLite::Statement& q) {
  Job j;
  j.id = q.getColumn(0).getInt64();
  j.queue = text(q, 1);
  j.type = text(q, 2);
  j.payload_json = text(q, 3);
  j.dedupe_key = text(q, 4);
  j.status = job_status_column(q, 5);
  j.attempts = q.getColumn(6).getInt();
  j.max_attempts = q.getColumn(7).getInt();
  j.run_after_ms = q.getColumn(8).getInt64();
  j.lease_holder = text(q, 9);
  j.lease_expires_ms = q.getColumn(10).getInt64();  // NULL reads as 0
  j.cancel_requested = q.getColumn(11).getInt() != 0;
  j.last_error = text(q, 12);
  j.progress = q.getColumn(13).getInt();
  j.created_ms = q.getColumn(14).getInt64();
  j.updated_ms = q.getColumn(15).getInt64();
  j.finished_ms = q.getColumn(16).getInt64();
  return j;
}

ScheduleRow read_schedule(const SQLite::Statement& q) {
  ScheduleRow r;
  r.name = text(q, 0);
  r.cron = text(q, 1);
  r.enabled = q.getColumn(2).getInt() != 0;
  r.last_run = opt_int(q, 3);
  r.next_run = opt_int(q, 4);
  return r;
}

}  // namespace barbossa::sqlite
