#include "store/sqlite/migrations.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <stdexcept>
#include <string>

namespace barbossa {
namespace {

// Timestamps are ISO-8601 UTC with milliseconds so they sort as text and match
// core/time.h's iso8601_utc().
//
// Conventions: optional identifiers (MusicBrainz ids, year, verification time)
// are NULL when unknown so they never collide or sort as real values; other
// text defaults to ''. Indexes that a UNIQUE constraint or primary key already
// leads with (albums.artist_id, tracks.album_id, hearts by user) are not
// repeated. Child-side FK columns get an index so cascades do not scan.
//
// A migration runs inside a transaction, where PRAGMA foreign_keys cannot be
// toggled: a table rebuild sets Migration::rebuilds_tables, and the runner
// turns foreign keys off around its transaction.
constexpr std::string_view kMigration1 = R"sql(
CREATE TABLE users (
  id            INTEGER PRIMARY KEY,
  username      TEXT    NOT NULL UNIQUE COLLATE NOCASE,
  password_hash TEXT    NOT NULL,
  is_admin      INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
  created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE artists (
  id              INTEGER PRIMARY KEY,
  name            TEXT NOT NULL,
  sort_name       TEXT NOT NULL DEFAULT '',
  normalized_name TEXT NOT NULL UNIQUE,
  path            TEXT NOT NULL DEFAULT '',
  musicbrainz_id  TEXT,
  created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE albums (
  id                     INTEGER PRIMARY KEY,
  artist_id              INTEGER NOT NULL REFERENCES artists (id) ON DELETE CASCADE,
  title                  TEXT    NOT NULL,
  normalized_title       TEXT    NOT NULL,
  year                   INTEGER,
  path                   TEXT    NOT NULL DEFAULT '',
  disc_count             INTEGER NOT NULL DEFAULT 1,
  total_tracks           INTEGER NOT NULL DEFAULT 0,
  available_tracks       INTEGER NOT NULL DEFAULT 0,
  musicbrainz_release_id TEXT,
  source                 TEXT    NOT NULL DEFAULT '',
  status                 TEXT    NOT NULL DEFAULT 'available',
  created_at             TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
-- SPEC 3: unique per (artist, normalized title, MusicBrainz id when known).
-- Its leading column also serves lookups by artist.
CREATE UNIQUE INDEX albums_identity
  ON albums (artist_id, normalized_title, COALESCE(musicbrainz_release_id, ''));
CREATE INDEX albums_normalized_title ON albums (normalized_title);

CREATE TABLE tracks (
  id                       INTEGER PRIMARY KEY,
  album_id                 INTEGER NOT NULL REFERENCES albums (id) ON DELETE CASCADE,
  disc                     INTEGER NOT NULL DEFAULT 1,
  number                   INTEGER NOT NULL,
  title                    TEXT    NOT NULL,
  normalized_title         TEXT    NOT NULL,
  duration_ms              INTEGER NOT NULL DEFAULT 0,
  path                     TEXT    NOT NULL DEFAULT '',
  format                   TEXT    NOT NULL DEFAULT '',
  lossless                 INTEGER NOT NULL DEFAULT 0 CHECK (lossless IN (0, 1)),
  sample_rate              INTEGER NOT NULL DEFAULT 0,
  bit_depth                INTEGER NOT NULL DEFAULT 0,
  bitrate                  INTEGER NOT NULL DEFAULT 0,
  channels                 INTEGER NOT NULL DEFAULT 0,
  file_size                INTEGER NOT NULL DEFAULT 0,
  sha256                   TEXT    NOT NULL DEFAULT '',
  checksum_verified_at     TEXT,
  source                   TEXT    NOT NULL DEFAULT '',
  source_url               TEXT    NOT NULL DEFAULT '',
  musicbrainz_recording_id TEXT,
  created_at               TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (album_id, disc, number)
);
CREATE INDEX tracks_normalized_title ON tracks (normalized_title);

CREATE TABLE album_hearts (
  user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  album_id   INTEGER NOT NULL REFERENCES albums (id) ON DELETE CASCADE,
  created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (user_id, album_id)
);
-- Newest-first listing per user; the album side keeps cascades off a scan.
CREATE INDEX album_hearts_user_created ON album_hearts (user_id, created_at);
CREATE INDEX album_hearts_album ON album_hearts (album_id);

CREATE TABLE track_hearts (
  user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  track_id   INTEGER NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
  created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (user_id, track_id)
);
CREATE INDEX track_hearts_user_created ON track_hearts (user_id, created_at);
CREATE INDEX track_hearts_track ON track_hearts (track_id);

-- Paged newest first by id, which the primary key already orders.
CREATE TABLE activity (
  id          INTEGER PRIMARY KEY,
  user_id     INTEGER REFERENCES users (id) ON DELETE SET NULL,
  action      TEXT    NOT NULL,
  entity_type TEXT    NOT NULL DEFAULT '',
  entity_id   INTEGER NOT NULL DEFAULT 0,
  details     TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(details)),
  created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX activity_user ON activity (user_id);

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql";

// The import pipeline: review queue, import history, the album mover's
// commit records, and lookups the duplicate check needs.
constexpr std::string_view kMigration2 = R"sql(
CREATE TABLE review_items (
  id               INTEGER PRIMARY KEY,
  status           TEXT    NOT NULL DEFAULT 'pending'
                           CHECK (status IN ('pending', 'approved', 'rejected')),
  path             TEXT    NOT NULL,
  path_name        TEXT    NOT NULL,
  suggested_artist TEXT    NOT NULL DEFAULT '',
  suggested_album  TEXT    NOT NULL DEFAULT '',
  suggested_year   INTEGER,
  confidence       REAL    NOT NULL DEFAULT 0,
  reasons          TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(reasons)),
  track_count      INTEGER NOT NULL DEFAULT 0,
  quality_summary  TEXT    NOT NULL DEFAULT '',
  source           TEXT    NOT NULL DEFAULT '',
  download_id      INTEGER,
  user_id          INTEGER REFERENCES users (id) ON DELETE SET NULL,
  duplicate_of     INTEGER REFERENCES albums (id) ON DELETE SET NULL,
  reviewer_id      INTEGER REFERENCES users (id) ON DELETE SET NULL,
  album_id         INTEGER REFERENCES albums (id) ON DELETE SET NULL,
  created_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX review_items_status ON review_items (status, id);
CREATE INDEX review_items_user ON review_items (user_id);
CREATE INDEX review_items_reviewer ON review_items (reviewer_id);
CREATE INDEX review_items_duplicate_of ON review_items (duplicate_of);
CREATE INDEX review_items_album ON review_items (album_id);

CREATE TABLE import_history (
  id                INTEGER PRIMARY KEY,
  normalized_artist TEXT    NOT NULL,
  normalized_album  TEXT    NOT NULL,
  normalized_track  TEXT    NOT NULL,
  source            TEXT    NOT NULL DEFAULT '',
  quality           TEXT    NOT NULL DEFAULT '',
  sha256            TEXT    NOT NULL DEFAULT '',
  album_id          INTEGER REFERENCES albums (id) ON DELETE SET NULL,
  track_id          INTEGER REFERENCES tracks (id) ON DELETE SET NULL,
  created_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX import_history_album ON import_history (album_id);
CREATE INDEX import_history_track ON import_history (track_id);

CREATE TABLE committed_moves (
  id         TEXT PRIMARY KEY,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE INDEX tracks_sha256 ON tracks (sha256);
CREATE INDEX albums_release ON albums (musicbrainz_release_id)
  WHERE musicbrainz_release_id IS NOT NULL;
)sql";

// Durable jobs (SPEC 8) and the scheduler's tables. Job times are INTEGER
// milliseconds since the epoch, not ISO text: the claim query compares them
// with a clock the caller passes in (tests inject one), and lease/backoff
// arithmetic stays in SQL without date parsing. A live job (queued or
// running) owns its dedupe key; finished rows keep theirs for history.
// schedule_firings' primary key makes each firing exactly-once across
// processes: the process whose INSERT succeeds runs it.
constexpr std::string_view kMigration3 = R"sql(
CREATE TABLE jobs (
  id               INTEGER PRIMARY KEY,
  queue            TEXT    NOT NULL
                           CHECK (queue IN ('downloads', 'imports', 'exports', 'maintenance')),
  type             TEXT    NOT NULL,
  payload          TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
  dedupe_key       TEXT,
  status           TEXT    NOT NULL DEFAULT 'queued'
                           CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead',
                                             'cancelled')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  max_attempts     INTEGER NOT NULL DEFAULT 3,
  run_after        INTEGER NOT NULL,
  lease_holder     TEXT,
  lease_expires_at INTEGER,
  cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
  last_error       TEXT    NOT NULL DEFAULT '',
  progress         INTEGER NOT NULL DEFAULT 0,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  finished_at      INTEGER
);
CREATE UNIQUE INDEX jobs_live_dedupe ON jobs (dedupe_key)
  WHERE dedupe_key IS NOT NULL AND status IN ('queued', 'running');
-- The claim query: due queued jobs per queue in (run_after, id) order, and
-- running jobs whose lease expired. Partial, so finished history costs nothing.
CREATE INDEX jobs_claim ON jobs (queue, run_after, id) WHERE status = 'queued';
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE status = 'running';
-- Admin listing by status, newest first. A queue filter alone scans: every
-- index here is written on each state change, which the queue's throughput
-- pays for (bench/jobs_bench.cpp).
CREATE INDEX jobs_status ON jobs (status, id);

CREATE TABLE schedules (
  name     TEXT    PRIMARY KEY,
  cron     TEXT    NOT NULL,
  last_run INTEGER,
  next_run INTEGER,
  enabled  INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1))
);

CREATE TABLE schedule_firings (
  name      TEXT    NOT NULL,
  fire_time INTEGER NOT NULL,
  PRIMARY KEY (name, fire_time)
);
)sql";

// User ids are never reused (AUTOINCREMENT): a removed user's id, and so
// any token or link naming it, never becomes someone else's. token_version
// is the `ver` claim every token carries; changing the password or the role
// bumps it (see SqliteUserRepository), which revokes older tokens. Rows that
// exist now keep version 0, which tokens issued before this migration (no
// `ver`) read as, so nobody is logged out by the upgrade; new rows start at 1,
// so such an old token can never pass for a user created afterwards.
// Children (hearts, activity, review items) keep their rows: ids are copied.
constexpr std::string_view kMigration4 = R"sql(
CREATE TABLE users_new (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  username      TEXT    NOT NULL UNIQUE COLLATE NOCASE,
  password_hash TEXT    NOT NULL,
  is_admin      INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
  created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  token_version INTEGER NOT NULL DEFAULT 1
);
INSERT INTO users_new (id, username, password_hash, is_admin, created_at, token_version)
  SELECT id, username, password_hash, is_admin, created_at, 0 FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
)sql";

// Downloads (SPEC §3): the row people see while a job on the `downloads`
// queue does the work. dismissed_at hides a finished row from lists; the
// row stays until cleanup removes it. Lists read by owner and status.
constexpr std::string_view kMigration5 = R"sql(
CREATE TABLE downloads (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  source       TEXT    NOT NULL CHECK (source IN ('http', 'ytdlp', 'qobuz')),
  url          TEXT    NOT NULL,
  status       TEXT    NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'downloading', 'importing', 'complete',
                                         'duplicate', 'pending_review', 'failed', 'cancelled')),
  progress     INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  bytes_done   INTEGER NOT NULL DEFAULT 0,
  bytes_total  INTEGER,
  speed_bps    INTEGER NOT NULL DEFAULT 0,
  eta_seconds  INTEGER,
  error        TEXT    NOT NULL DEFAULT '',
  staging_path TEXT    NOT NULL DEFAULT '',
  album_id     INTEGER REFERENCES albums(id) ON DELETE SET NULL,
  review_id    INTEGER,
  dismissed_at TEXT,
  created_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX downloads_user_status ON downloads(user_id, status);
CREATE INDEX downloads_album ON downloads(album_id);
)sql";

bool table_exists(SQLite::Database& db, const char* name) {
  SQLite::Statement q(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  q.bind(1, name);
  return q.executeStep();
}

bool version_applied(SQLite::Database& db, int version) {
  SQLite::Statement q(db, "SELECT 1 FROM schema_migrations WHERE version = ?");
  q.bind(1, version);
  return q.executeStep();
}

// Applies one migration under BEGIN IMMEDIATE. Returns false when another
// process got there first.
bool apply_one(SQLite::Database& db, const Migration& m) {
  db.exec("BEGIN IMMEDIATE");
  try {
    if (version_applied(db, m.version)) {
      db.exec("COMMIT");
      return false;
    }
    db.exec(std::string(m.sql));
    if (m.rebuilds_tables) {
      SQLite::Statement check(db, "PRAGMA foreign_key_check");
      if (check.executeStep()) {
        throw std::runtime_error("the rebuild broke a reference from table " +
                                 check.getColumn(0).getString());
      }
    }
    SQLite::Statement record(db,
                             "INSERT INTO schema_migrations (version, applied_at) "
                             "VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))");
    record.bind(1, m.version);
    record.exec();
    db.exec("COMMIT");
    return true;
  } catch (const std::exception& e) {
    // Some errors (disk full, I/O) already ended the transaction.
    if (sqlite3_get_autocommit(db.getHandle()) == 0) {
      try {
        db.exec("ROLLBACK");
      } catch (const SQLite::Exception&) {
        // The original error is the one worth reporting.
      }
    }
    throw std::runtime_error("migration " + std::to_string(m.version) + " failed: " + e.what());
  }
}

}  // namespace

const std::vector<Migration>& sqlite_migrations() {
  // clang-format off
  static const std::vector<Migration> kMigrations = {
      {1, kMigration1},
      {2, kMigration2},
      {3, kMigration3},
      {4, kMigration4, /*rebuilds_tables=*/true},
      {5, kMigration5},
  };
  // clang-format on
  return kMigrations;
}

int latest_sqlite_schema_version() {
  return sqlite_migrations().back().version;
}

int applied_schema_version(SQLite::Database& db) {
  if (!table_exists(db, "schema_migrations")) return 0;
  return db.execAndGet("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").getInt();
}

int apply_migrations(SQLite::Database& db) {
  db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      "  version    INTEGER PRIMARY KEY,"
      "  applied_at TEXT NOT NULL)");
  int current = applied_schema_version(db);
  int latest = latest_sqlite_schema_version();
  if (current > latest) {
    // Running old code on a newer schema would silently corrupt it.
    throw std::runtime_error("database schema version " + std::to_string(current) +
                             " is newer than this build supports (" + std::to_string(latest) +
                             "); upgrade Barbossa");
  }
  int applied = 0;
  for (const Migration& m : sqlite_migrations()) {
    if (m.version <= current) continue;
    if (!m.rebuilds_tables) {
      if (apply_one(db, m)) ++applied;
      continue;
    }
    // Outside any transaction, where the pragma takes effect; restored
    // whatever happens, as the connection goes back to the pool.
    bool keys_were_on = db.execAndGet("PRAGMA foreign_keys").getInt() != 0;
    db.exec("PRAGMA foreign_keys = OFF");
    try {
      if (apply_one(db, m)) ++applied;
    } catch (...) {
      if (keys_were_on) db.exec("PRAGMA foreign_keys = ON");
      throw;
    }
    if (keys_were_on) db.exec("PRAGMA foreign_keys = ON");
  }
  return applied;
}

}  // namespace barbossa
