// Column lists and row readers: one SELECT column order per record, and the
// function that reads a row in that order.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <string>
#include <vector>

#include "store/store.h"

namespace barbossa::sqlite {

inline constexpr const char* kUserColumns =
    "id, username, password_hash, is_admin, created_at, token_version";

inline constexpr const char* kArtistColumns =
    "ar.id, ar.name, ar.sort_name, ar.normalized_name, ar.path, ar.musicbrainz_id, "
    "(SELECT COUNT(*) FROM albums WHERE artist_id = ar.id)";

// Expects `albums a JOIN artists ar`.
inline constexpr const char* kAlbumColumns =
    "a.id, a.artist_id, ar.name, a.title, a.normalized_title, a.year, a.path, a.disc_count, "
    "a.total_tracks, a.available_tracks, a.musicbrainz_release_id, a.source, a.status, "
    "a.created_at";

inline constexpr const char* kTrackColumns =
    "t.id, t.album_id, t.disc, t.number, t.title, t.normalized_title, t.duration_ms, t.path, "
    "t.format, t.lossless, t.sample_rate, t.bit_depth, t.bitrate, t.channels, t.file_size, "
    "t.sha256, t.checksum_verified_at, t.source, t.source_url, t.musicbrainz_recording_id";

inline constexpr const char* kActivityColumns =
    "ac.id, ac.user_id, u.username, ac.action, ac.entity_type, ac.entity_id, ac.details, "
    "ac.created_at";

inline constexpr const char* kReviewColumns =
    "id, status, path, path_name, suggested_artist, suggested_album, suggested_year, confidence, "
    "reasons, track_count, quality_summary, source, download_id, user_id, duplicate_of, "
    "reviewer_id, album_id, created_at, updated_at";

inline constexpr const char* kJobColumns =
    "id, queue, type, payload, dedupe_key, status, attempts, max_attempts, run_after, "
    "lease_holder, lease_expires_at, cancel_requested, last_error, progress, created_at, "
    "updated_at, finished_at";

inline constexpr const char* kScheduleColumns = "name, cron, enabled, last_run, next_run";

// A status column. The CHECK constraints keep other words out of the tables;
// one that got in anyway (a newer build's state) throws rather than guess.
JobStatus job_status_column(const SQLite::Statement& q, int col);
ReviewStatus review_status_column(const SQLite::Statement& q, int col);

User read_user(const SQLite::Statement& q);
Artist read_artist(const SQLite::Statement& q);
Album read_album(const SQLite::Statement& q);
Track read_track(const SQLite::Statement& q);
Activity read_activity(const SQLite::Statement& q);
ReviewItem read_review(const SQLite::Statement& q);
std::string reasons_json(const std::vector<std::string>& reasons);
Job read_job(const SQLite::Statement& q);
ScheduleRow read_schedule(const SQLite::Statement& q);

}  // namespace barbossa::sqlite
