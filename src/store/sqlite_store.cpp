// SQLite backend of the Store. One file holds the connection pool (with each
// connection's prepared-statement cache), the session and the repositories
// because they share the row mapping helpers and nothing outside needs them;
// open_store() is the only public entry.

#include "store/store.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/normalize.h"
#include "store/migrations.h"

namespace barbossa {
namespace {

// ---------------------------------------------------------------------------
// Connections

// Busy timeout first: switching to WAL takes a lock another connection may
// hold at that moment.
constexpr const char* kConnectionPragmas =
    "PRAGMA busy_timeout = 5000;"
    "PRAGMA journal_mode = WAL;"
    "PRAGMA foreign_keys = ON;"
    "PRAGMA synchronous = NORMAL;";

// Idle connections kept for reuse. More may be open at once (one per live
// session); the extras are closed when returned. Never blocking on a lease
// means a thread holding a session can open another without deadlocking.
constexpr size_t kMaxIdleConnections = 8;

// Prepared statements kept per connection. The repositories have about 75
// distinct texts (counting every variant of the WHERE clauses built per
// call), so all fit; the cap only bounds memory should that ever grow.
constexpr size_t kMaxCachedStatements = 128;

// A prepared statement lent out for one use. It is reset when the handle goes
// out of scope: a SELECT left mid-iteration (every single-row lookup stops
// after one step) would otherwise keep its implicit read transaction open, so
// later reads on the connection would see an old snapshot and its next
// BEGIN IMMEDIATE would fail with SQLITE_BUSY_SNAPSHOT, which the busy
// timeout cannot wait out.
class StatementHandle {
 public:
  // Lent by the cache, which marks it busy until this handle is gone.
  StatementHandle(SQLite::Statement& statement, bool& in_use)
      : statement_(&statement), in_use_(&in_use) {
    in_use = true;
  }
  // Not cached (see StatementCache::get): owned and finalized here.
  explicit StatementHandle(std::unique_ptr<SQLite::Statement> owned)
      : statement_(owned.get()), owned_(std::move(owned)) {}
  StatementHandle(const StatementHandle&) = delete;
  StatementHandle& operator=(const StatementHandle&) = delete;
  ~StatementHandle() {
    // The result is the last step's error, already thrown by that step.
    statement_->tryReset();
    if (in_use_ != nullptr) *in_use_ = false;
  }

  SQLite::Statement& operator*() const { return *statement_; }
  SQLite::Statement* operator->() const { return statement_; }

 private:
  SQLite::Statement* statement_;
  bool* in_use_ = nullptr;
  std::unique_ptr<SQLite::Statement> owned_;
};

// The prepared statements of one connection, keyed by SQL text, so SQL is
// compiled once per connection instead of on every call. Only the thread
// holding the connection's lease uses it, hence no locking. Schema changes
// (migrations, another process) need no invalidation: statements prepared
// with sqlite3_prepare_v2, as SQLiteCpp does, are recompiled by SQLite on
// their next step.
class StatementCache {
 public:
  explicit StatementCache(SQLite::Database& db) : db_(db) {}
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  StatementHandle get(std::string_view sql) {
    auto it = entries_.find(sql);
    if (it != entries_.end()) {
      Entry& e = it->second;
      if (e.in_use) {
        // The same text is already lent out further up this thread's stack;
        // sharing it would reset that caller's statement under it.
        return StatementHandle(std::make_unique<SQLite::Statement>(db_, std::string(sql)));
      }
      e.last_used = ++clock_;
      // Handles reset on release already; this also drops the previous
      // caller's bindings so no parameter can leak into this use.
      e.statement.tryReset();
      e.statement.clearBindings();
      return StatementHandle(e.statement, e.in_use);
    }
    if (entries_.size() >= kMaxCachedStatements && !evict_one()) {
      return StatementHandle(std::make_unique<SQLite::Statement>(db_, std::string(sql)));
    }
    // Prepared before insertion: SQL that fails to compile leaves no entry.
    Entry& e = entries_.try_emplace(std::string(sql), db_, sql).first->second;
    e.last_used = ++clock_;
    return StatementHandle(e.statement, e.in_use);
  }

 private:
  struct Entry {
    Entry(SQLite::Database& db, std::string_view sql) : statement(db, std::string(sql)) {}
    SQLite::Statement statement;
    uint64_t last_used = 0;
    bool in_use = false;  // lent to a live handle: must not be evicted
  };

  // Heterogeneous lookup: a call site's SQL literal needs no std::string.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  // Drops the least recently used idle statement; false when all are lent.
  // A linear scan is fine: it only runs once the cap is reached.
  bool evict_one() {
    auto victim = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->second.in_use) continue;
      if (victim == entries_.end() || it->second.last_used < victim->second.last_used) victim = it;
    }
    if (victim == entries_.end()) return false;
    entries_.erase(victim);
    return true;
  }

  SQLite::Database& db_;
  // Node-based: an entry stays put while others are added or erased, so a
  // handle's pointers into it remain valid.
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
  uint64_t clock_ = 0;
};

// One pooled connection with its statement cache. The cache is declared after
// the database so it is destroyed first: sqlite3_close() refuses to close a
// connection that still has unfinalized statements, and SQLiteCpp would then
// leak the handle. Dropping a connection thus drops its cache with it.
class Connection {
 public:
  explicit Connection(const std::string& path)
      : db_(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE), cache_(db_) {
    db_.exec(kConnectionPragmas);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  SQLite::Database& db() { return db_; }
  StatementHandle statement(std::string_view sql) { return cache_.get(sql); }

 private:
  SQLite::Database db_;
  StatementCache cache_;
};

class ConnectionPool;

// A leased connection; hands it back to the pool when it goes out of scope.
class Lease {
 public:
  Lease(ConnectionPool* pool, std::unique_ptr<Connection> conn)
      : pool_(pool), conn_(std::move(conn)) {}
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  ~Lease();

  Connection& conn() { return *conn_; }
  SQLite::Database& db() { return conn_->db(); }

 private:
  ConnectionPool* pool_;
  std::unique_ptr<Connection> conn_;
};

class ConnectionPool {
 public:
  explicit ConnectionPool(std::string path) : path_(std::move(path)) {}

  Lease acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        std::unique_ptr<Connection> conn = std::move(idle_.back());
        idle_.pop_back();
        return Lease(this, std::move(conn));
      }
    }
    // Opening does I/O, so outside the lock.
    return Lease(this, std::make_unique<Connection>(path_));
  }

  void release(std::unique_ptr<Connection> conn) {
    // A connection stuck inside a transaction (a failed rollback) would hand
    // its open transaction to the next session; closing it rolls it back.
    // Its cached statements go with it.
    if (sqlite3_get_autocommit(conn->db().getHandle()) == 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() < kMaxIdleConnections) idle_.push_back(std::move(conn));
  }

 private:
  const std::string path_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

Lease::~Lease() {
  if (conn_) pool_->release(std::move(conn_));
}

// ---------------------------------------------------------------------------
// Row mapping and binding helpers

std::string text(const SQLite::Statement& q, int col) {
  SQLite::Column c = q.getColumn(col);
  return c.isNull() ? std::string() : c.getString();
}

// Unknown optional values are stored as NULL (see migrations.cpp).
void bind_text_or_null(SQLite::Statement& q, int index, const std::string& value) {
  if (value.empty()) {
    q.bind(index);
  } else {
    q.bind(index, value);
  }
}

void bind_int_or_null(SQLite::Statement& q, int index, int64_t value) {
  if (value == 0) {
    q.bind(index);
  } else {
    q.bind(index, value);
  }
}

// Negative LIMIT means "no limit" to SQLite; a caller's bad page must not
// turn into a full table dump.
int64_t safe_limit(const Page& p) {
  return p.limit < 0 ? 0 : p.limit;
}
int64_t safe_offset(const Page& p) {
  return p.offset < 0 ? 0 : p.offset;
}

int extended_code(const SQLite::Exception& e) {
  return e.getExtendedErrorCode();
}

bool is_unique_violation(const SQLite::Exception& e) {
  int code = extended_code(e);
  return code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY;
}

bool is_foreign_key_violation(const SQLite::Exception& e) {
  return extended_code(e) == SQLITE_CONSTRAINT_FOREIGNKEY;
}

int64_t count_of(SQLite::Statement& q) {
  q.executeStep();
  return q.getColumn(0).getInt64();
}

constexpr const char* kUserColumns =
    "id, username, password_hash, is_admin, created_at, token_version";

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

constexpr const char* kArtistColumns =
    "ar.id, ar.name, ar.sort_name, ar.normalized_name, ar.path, ar.musicbrainz_id, "
    "(SELECT COUNT(*) FROM albums WHERE artist_id = ar.id)";

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

// Expects `albums a JOIN artists ar`.
constexpr const char* kAlbumColumns =
    "a.id, a.artist_id, ar.name, a.title, a.normalized_title, a.year, a.path, a.disc_count, "
    "a.total_tracks, a.available_tracks, a.musicbrainz_release_id, a.source, a.status, "
    "a.created_at";

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

constexpr const char* kTrackColumns =
    "t.id, t.album_id, t.disc, t.number, t.title, t.normalized_title, t.duration_ms, t.path, "
    "t.format, t.lossless, t.sample_rate, t.bit_depth, t.bitrate, t.channels, t.file_size, "
    "t.sha256, t.checksum_verified_at, t.source, t.source_url, t.musicbrainz_recording_id";

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

constexpr const char* kActivityColumns =
    "ac.id, ac.user_id, u.username, ac.action, ac.entity_type, ac.entity_id, ac.details, "
    "ac.created_at";

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

// ---------------------------------------------------------------------------
// Repositories. Each borrows the session's connection.

class SqliteUserRepository final : public UserRepository {
 public:
  explicit SqliteUserRepository(Connection& conn) : conn_(conn) {}

  User create(const std::string& username, const std::string& password_hash,
              bool is_admin) override {
    StatementHandle q =
        conn_.statement(std::string("INSERT INTO users (username, password_hash, is_admin) "
                                    "VALUES (?, ?, ?) RETURNING ") +
                        kUserColumns);
    q->bind(1, username);
    q->bind(2, password_hash);
    q->bind(3, is_admin ? 1 : 0);
    try {
      q->executeStep();
    } catch (const SQLite::Exception& e) {
      if (is_unique_violation(e)) throw taken(username);
      throw;
    }
    return read_user(*q);
  }

  std::optional<User> find_by_id(int64_t id) override {
    StatementHandle q =
        conn_.statement(std::string("SELECT ") + kUserColumns + " FROM users WHERE id = ?");
    q->bind(1, id);
    if (!q->executeStep()) return std::nullopt;
    return read_user(*q);
  }

  std::optional<User> find_by_name(const std::string& username) override {
    // The column's NOCASE collation makes this lookup case-insensitive too.
    StatementHandle q =
        conn_.statement(std::string("SELECT ") + kUserColumns + " FROM users WHERE username = ?");
    q->bind(1, username);
    if (!q->executeStep()) return std::nullopt;
    return read_user(*q);
  }

  std::vector<User> list() override {
    StatementHandle q =
        conn_.statement(std::string("SELECT ") + kUserColumns + " FROM users ORDER BY id");
    std::vector<User> out;
    while (q->executeStep()) out.push_back(read_user(*q));
    return out;
  }

  std::vector<AccountState> account_states() override {
    StatementHandle q = conn_.statement("SELECT id, token_version, is_admin FROM users");
    std::vector<AccountState> out;
    while (q->executeStep()) {
      out.push_back(
          {q->getColumn(0).getInt64(), q->getColumn(1).getInt64(), q->getColumn(2).getInt() != 0});
    }
    return out;
  }

  int64_t count() override {
    StatementHandle q = conn_.statement("SELECT COUNT(*) FROM users");
    return count_of(*q);
  }

  int64_t count_admins() override {
    StatementHandle q = conn_.statement("SELECT COUNT(*) FROM users WHERE is_admin = 1");
    return count_of(*q);
  }

  bool update_password(int64_t id, const std::string& password_hash) override {
    // A new password revokes every token issued before it.
    StatementHandle q = conn_.statement(
        "UPDATE users SET password_hash = ?, token_version = token_version + 1 WHERE id = ?");
    q->bind(1, password_hash);
    q->bind(2, id);
    return q->exec() > 0;
  }

  bool update_admin(int64_t id, bool is_admin) override {
    // A changed role revokes tokens that still claim the old one; setting
    // the role a user already has changes nothing.
    StatementHandle q = conn_.statement(
        "UPDATE users SET token_version = token_version + (is_admin != ?1), is_admin = ?1 "
        "WHERE id = ?2");
    q->bind(1, is_admin ? 1 : 0);
    q->bind(2, id);
    return q->exec() > 0;
  }

  bool update_username(int64_t id, const std::string& username) override {
    StatementHandle q = conn_.statement("UPDATE users SET username = ? WHERE id = ?");
    q->bind(1, username);
    q->bind(2, id);
    try {
      return q->exec() > 0;
    } catch (const SQLite::Exception& e) {
      if (is_unique_violation(e)) throw taken(username);
      throw;
    }
  }

  bool remove(int64_t id) override {
    StatementHandle q = conn_.statement("DELETE FROM users WHERE id = ?");
    q->bind(1, id);
    return q->exec() > 0;
  }

 private:
  static ApiError taken(const std::string& username) {
    return ApiError::conflict("Username '" + username + "' is already taken");
  }

  Connection& conn_;
};

class SqliteLibraryRepository final : public LibraryRepository {
 public:
  explicit SqliteLibraryRepository(Connection& conn) : conn_(conn) {}

  Artist create_artist(const Artist& artist) override {
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
        throw ApiError::conflict("Artist '" + out.name + "' already exists");
      }
      throw;
    }
    out.id = q->getColumn(0).getInt64();
    out.album_count = 0;
    return out;
  }

  Album create_album(const Album& album) override {
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
        throw ApiError::conflict("Album '" + album.title + "' already exists for this artist");
      }
      if (is_foreign_key_violation(e)) {
        throw ApiError::not_found("Artist " + std::to_string(album.artist_id) + " not found");
      }
      throw;
    }
    int64_t id = q->getColumn(0).getInt64();
    q->reset();  // completes the insert before the read below
    // Re-read so created_at and artist_name are filled like any other read.
    return *find_album(id);
  }

  Track create_track(const Track& track) override {
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
        throw ApiError::conflict("Track " + std::to_string(out.disc) + "-" +
                                 std::to_string(out.number) + " already exists on album " +
                                 std::to_string(out.album_id));
      }
      if (is_foreign_key_violation(e)) {
        throw ApiError::not_found("Album " + std::to_string(out.album_id) + " not found");
      }
      throw;
    }
    out.id = q->getColumn(0).getInt64();
    return out;
  }

  PageResult<Artist> list_artists(const std::string& query, Page page) override {
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

  std::optional<Artist> find_artist(int64_t id) override {
    StatementHandle q = conn_.statement(std::string("SELECT ") + kArtistColumns +
                                        " FROM artists ar WHERE ar.id = ?");
    q->bind(1, id);
    if (!q->executeStep()) return std::nullopt;
    return read_artist(*q);
  }

  PageResult<Album> list_albums(int64_t artist_id, const std::string& query, Page page) override {
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

  std::optional<Album> find_album(int64_t id) override {
    StatementHandle q = conn_.statement(std::string("SELECT ") + kAlbumColumns +
                                        " FROM albums a JOIN artists ar ON ar.id = a.artist_id"
                                        " WHERE a.id = ?");
    q->bind(1, id);
    if (!q->executeStep()) return std::nullopt;
    return read_album(*q);
  }

  std::vector<Track> album_tracks(int64_t album_id) override {
    StatementHandle q =
        conn_.statement(std::string("SELECT ") + kTrackColumns +
                        " FROM tracks t WHERE t.album_id = ? ORDER BY t.disc, t.number");
    q->bind(1, album_id);
    std::vector<Track> out;
    while (q->executeStep()) out.push_back(read_track(*q));
    return out;
  }

  std::optional<Track> find_track(int64_t id) override {
    StatementHandle q =
        conn_.statement(std::string("SELECT ") + kTrackColumns + " FROM tracks t WHERE t.id = ?");
    q->bind(1, id);
    if (!q->executeStep()) return std::nullopt;
    return read_track(*q);
  }

  std::vector<Track> tracks_after(int64_t after_id, int64_t limit) override {
    StatementHandle q = conn_.statement(std::string("SELECT ") + kTrackColumns +
                                        " FROM tracks t WHERE t.id > ? ORDER BY t.id LIMIT ?");
    q->bind(1, after_id);
    q->bind(2, std::max<int64_t>(0, limit));
    std::vector<Track> out;
    while (q->executeStep()) out.push_back(read_track(*q));
    return out;
  }

  bool mark_track_verified(int64_t id, const std::string& path, const std::string& sha256,
                           const std::string& verified_at) override {
    StatementHandle q = conn_.statement(
        "UPDATE tracks SET checksum_verified_at = ? WHERE id = ? AND path = ? AND sha256 = ?");
    q->bind(1, verified_at);
    q->bind(2, id);
    q->bind(3, path);
    q->bind(4, sha256);
    return q->exec() > 0;
  }

  PageResult<Track> search_tracks(const std::string& query, Page page) override {
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

  bool heart_album(int64_t user_id, int64_t album_id) override {
    // OR IGNORE covers the primary key only; a missing user or album still
    // fails the foreign key, which is what tells us it is missing.
    return change("INSERT OR IGNORE INTO album_hearts (user_id, album_id) VALUES (?, ?)", user_id,
                  album_id, "Album");
  }

  bool unheart_album(int64_t user_id, int64_t album_id) override {
    return change("DELETE FROM album_hearts WHERE user_id = ? AND album_id = ?", user_id, album_id,
                  "Album");
  }

  bool heart_track(int64_t user_id, int64_t track_id) override {
    return change("INSERT OR IGNORE INTO track_hearts (user_id, track_id) VALUES (?, ?)", user_id,
                  track_id, "Track");
  }

  bool unheart_track(int64_t user_id, int64_t track_id) override {
    return change("DELETE FROM track_hearts WHERE user_id = ? AND track_id = ?", user_id, track_id,
                  "Track");
  }

  bool is_album_hearted(int64_t user_id, int64_t album_id) override {
    StatementHandle q =
        conn_.statement("SELECT 1 FROM album_hearts WHERE user_id = ? AND album_id = ?");
    q->bind(1, user_id);
    q->bind(2, album_id);
    return q->executeStep();
  }

  std::vector<int64_t> hearted_track_ids(int64_t user_id, int64_t album_id) override {
    StatementHandle q = conn_.statement(
        "SELECT t.id FROM track_hearts h JOIN tracks t ON t.id = h.track_id "
        "WHERE h.user_id = ? AND t.album_id = ? ORDER BY t.disc, t.number");
    q->bind(1, user_id);
    q->bind(2, album_id);
    std::vector<int64_t> out;
    while (q->executeStep()) out.push_back(q->getColumn(0).getInt64());
    return out;
  }

  bool all_tracks_hearted(int64_t user_id, int64_t album_id) override {
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

  PageResult<Album> hearted_albums(int64_t user_id, Page page) override {
    PageResult<Album> out;
    {
      StatementHandle q = conn_.statement("SELECT COUNT(*) FROM album_hearts WHERE user_id = ?");
      q->bind(1, user_id);
      out.total = count_of(*q);
    }
    // Newest heart first; rowid breaks ties within one millisecond.
    StatementHandle q =
        conn_.statement(std::string("SELECT ") + kAlbumColumns +
                        " FROM album_hearts h JOIN albums a ON a.id = h.album_id"
                        " JOIN artists ar ON ar.id = a.artist_id WHERE h.user_id = ?"
                        " ORDER BY h.created_at DESC, h.rowid DESC LIMIT ? OFFSET ?");
    q->bind(1, user_id);
    q->bind(2, safe_limit(page));
    q->bind(3, safe_offset(page));
    while (q->executeStep()) out.items.push_back(read_album(*q));
    return out;
  }

  PageResult<Track> hearted_tracks(int64_t user_id, Page page) override {
    PageResult<Track> out;
    {
      StatementHandle q = conn_.statement("SELECT COUNT(*) FROM track_hearts WHERE user_id = ?");
      q->bind(1, user_id);
      out.total = count_of(*q);
    }
    StatementHandle q =
        conn_.statement(std::string("SELECT ") + kTrackColumns +
                        " FROM track_hearts h JOIN tracks t ON t.id = h.track_id"
                        " WHERE h.user_id = ?"
                        " ORDER BY h.created_at DESC, h.rowid DESC LIMIT ? OFFSET ?");
    q->bind(1, user_id);
    q->bind(2, safe_limit(page));
    q->bind(3, safe_offset(page));
    while (q->executeStep()) out.items.push_back(read_track(*q));
    return out;
  }

  std::optional<Artist> find_artist_by_normalized(const std::string& normalized_name) override {
    StatementHandle q = conn_.statement(std::string("SELECT ") + kArtistColumns +
                                        " FROM artists ar WHERE ar.normalized_name = ?");
    q->bind(1, normalized_name);
    if (!q->executeStep()) return std::nullopt;
    return read_artist(*q);
  }

  std::optional<Album> find_album_by_identity(int64_t artist_id,
                                              const std::string& normalized_title) override {
    StatementHandle q = conn_.statement(std::string("SELECT ") + kAlbumColumns +
                                        " FROM albums a JOIN artists ar ON ar.id = a.artist_id"
                                        " WHERE a.artist_id = ? AND a.normalized_title = ?"
                                        " ORDER BY a.id LIMIT 1");
    q->bind(1, artist_id);
    q->bind(2, normalized_title);
    if (!q->executeStep()) return std::nullopt;
    return read_album(*q);
  }

  std::optional<Album> find_album_by_release(const std::string& musicbrainz_release_id) override {
    if (musicbrainz_release_id.empty()) return std::nullopt;
    StatementHandle q =
        conn_.statement(std::string("SELECT ") + kAlbumColumns +
                        " FROM albums a JOIN artists ar ON ar.id = a.artist_id"
                        " WHERE a.musicbrainz_release_id = ? ORDER BY a.id LIMIT 1");
    q->bind(1, musicbrainz_release_id);
    if (!q->executeStep()) return std::nullopt;
    return read_album(*q);
  }

  std::vector<Track> find_tracks_by_sha256(const std::vector<std::string>& digests) override {
    std::vector<Track> out;
    StatementHandle q = conn_.statement(std::string("SELECT ") + kTrackColumns +
                                        " FROM tracks t WHERE t.sha256 = ?");
    for (const std::string& d : digests) {
      if (d.empty()) continue;
      q->bind(1, d);
      while (q->executeStep()) out.push_back(read_track(*q));
      q->reset();
    }
    return out;
  }

  void update_album(const Album& album) override {
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
        throw ApiError::conflict("Album '" + album.title + "' already exists for this artist");
      }
      throw;
    }
  }

  void update_track(const Track& track) override {
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
        throw ApiError::conflict("Track " + std::to_string(track.disc) + "-" +
                                 std::to_string(track.number) + " already exists on album " +
                                 std::to_string(track.album_id));
      }
      throw;
    }
  }

  bool delete_track(int64_t id) override {
    StatementHandle q = conn_.statement("DELETE FROM tracks WHERE id = ?");
    q->bind(1, id);
    return q->exec() > 0;
  }

  bool delete_album(int64_t id) override {
    StatementHandle q = conn_.statement("DELETE FROM albums WHERE id = ?");
    q->bind(1, id);
    return q->exec() > 0;
  }

  bool delete_artist_if_empty(int64_t id) override {
    StatementHandle q = conn_.statement(
        "DELETE FROM artists WHERE id = ?1 AND NOT EXISTS "
        "(SELECT 1 FROM albums WHERE artist_id = ?1)");
    q->bind(1, id);
    return q->exec() > 0;
  }

  std::vector<HeartHolder> heart_holders(int64_t album_id) override {
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
      holder(q->getColumn(0).getInt64(), text(*q, 1))
          .track_ids.push_back(q->getColumn(2).getInt64());
    }
    return out;
  }

  std::vector<std::string> hearted_paths(int64_t user_id) override {
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

  int64_t recount_album_stats() override {
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

 private:
  // Runs a heart insert/delete; true when a row changed.
  bool change(const char* sql, int64_t user_id, int64_t entity_id, const char* entity) {
    StatementHandle q = conn_.statement(sql);
    q->bind(1, user_id);
    q->bind(2, entity_id);
    try {
      return q->exec() > 0;
    } catch (const SQLite::Exception& e) {
      if (is_foreign_key_violation(e)) {
        throw ApiError::not_found(std::string(entity) + " " + std::to_string(entity_id) +
                                  " or user " + std::to_string(user_id) + " not found");
      }
      throw;
    }
  }

  Connection& conn_;
};

class SqliteActivityRepository final : public ActivityRepository {
 public:
  explicit SqliteActivityRepository(Connection& conn) : conn_(conn) {}

  Activity insert(const Activity& activity) override {
    StatementHandle q = conn_.statement(
        "INSERT INTO activity (user_id, action, entity_type, entity_id, details) "
        "VALUES (?, ?, ?, ?, ?) RETURNING id");
    if (activity.user_id) {
      q->bind(1, *activity.user_id);
    } else {
      q->bind(1);
    }
    q->bind(2, activity.action);
    q->bind(3, activity.entity_type);
    q->bind(4, activity.entity_id);
    q->bind(5, activity.details_json.empty() ? std::string("{}") : activity.details_json);
    try {
      q->executeStep();
    } catch (const SQLite::Exception& e) {
      if (is_foreign_key_violation(e)) {
        throw ApiError::not_found("User " + std::to_string(*activity.user_id) + " not found");
      }
      throw;
    }
    int64_t id = q->getColumn(0).getInt64();
    q->reset();
    // Re-read for created_at and username, exactly as list() reports them.
    StatementHandle r = conn_.statement(std::string("SELECT ") + kActivityColumns +
                                        " FROM activity ac LEFT JOIN users u ON u.id = ac.user_id"
                                        " WHERE ac.id = ?");
    r->bind(1, id);
    r->executeStep();
    return read_activity(*r);
  }

  std::vector<Activity> list(int64_t limit, int64_t before_id) override {
    StatementHandle q = conn_.statement(std::string("SELECT ") + kActivityColumns +
                                        " FROM activity ac LEFT JOIN users u ON u.id = ac.user_id" +
                                        (before_id > 0 ? " WHERE ac.id < ?2" : "") +
                                        " ORDER BY ac.id DESC LIMIT ?1");
    q->bind(1, limit < 0 ? int64_t{0} : limit);
    if (before_id > 0) q->bind(2, before_id);
    std::vector<Activity> out;
    while (q->executeStep()) out.push_back(read_activity(*q));
    return out;
  }

 private:
  Connection& conn_;
};

class SqliteMetaRepository final : public MetaRepository {
 public:
  explicit SqliteMetaRepository(Connection& conn) : conn_(conn) {}

  std::optional<std::string> get(const std::string& key) override {
    StatementHandle q = conn_.statement("SELECT value FROM meta WHERE key = ?");
    q->bind(1, key);
    if (!q->executeStep()) return std::nullopt;
    return text(*q, 0);
  }

  void put(const std::string& key, const std::string& value) override {
    StatementHandle q = conn_.statement(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    q->bind(1, key);
    q->bind(2, value);
    q->exec();
  }

 private:
  Connection& conn_;
};

constexpr const char* kReviewColumns =
    "id, status, path, path_name, suggested_artist, suggested_album, suggested_year, confidence, "
    "reasons, track_count, quality_summary, source, download_id, user_id, duplicate_of, "
    "reviewer_id, album_id, created_at, updated_at";

std::optional<int64_t> opt_int(const SQLite::Statement& q, int col) {
  SQLite::Column c = q.getColumn(col);
  if (c.isNull()) return std::nullopt;
  return c.getInt64();
}

void bind_opt(SQLite::Statement& q, int index, const std::optional<int64_t>& value) {
  if (value) {
    q.bind(index, *value);
  } else {
    q.bind(index);
  }
}

ReviewItem read_review(const SQLite::Statement& q) {
  ReviewItem r;
  r.id = q.getColumn(0).getInt64();
  r.status = text(q, 1);
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
  q.bind(1, item.status);
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

class SqliteImportRepository final : public ImportRepository {
 public:
  explicit SqliteImportRepository(Connection& conn) : conn_(conn) {}

  ReviewItem create_review(const ReviewItem& item) override {
    StatementHandle q = conn_.statement(
        "INSERT INTO review_items (status, path, path_name, suggested_artist, "
        "suggested_album, suggested_year, confidence, reasons, track_count, "
        "quality_summary, source, download_id, user_id, duplicate_of) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
    q->bind(1, item.status);
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

  std::optional<ReviewItem> find_review(int64_t id) override {
    StatementHandle q = conn_.statement(std::string("SELECT ") + kReviewColumns +
                                        " FROM review_items WHERE id = ?");
    q->bind(1, id);
    if (!q->executeStep()) return std::nullopt;
    return read_review(*q);
  }

  PageResult<ReviewItem> list_reviews(const std::string& status, std::optional<int64_t> visible_to,
                                      Page page) override {
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

  void update_review(const ReviewItem& item) override {
    StatementHandle q = conn_.statement(std::string(kUpdateReviewSql) + " WHERE id = ?");
    bind_review_update(*q, item);
    q->exec();
  }

  bool decide_review(const ReviewItem& item) override {
    // Only a pending item may be decided: of two decisions racing, the
    // second changes no row and its caller answers 409.
    StatementHandle q =
        conn_.statement(std::string(kUpdateReviewSql) + " WHERE id = ? AND status = 'pending'");
    bind_review_update(*q, item);
    return q->exec() == 1;
  }

  void add_history(const ImportHistoryRow& row) override {
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

  void mark_move_committed(const std::string& move_id) override {
    StatementHandle q = conn_.statement("INSERT OR IGNORE INTO committed_moves (id) VALUES (?)");
    q->bind(1, move_id);
    q->exec();
  }

  bool is_move_committed(const std::string& move_id) override {
    StatementHandle q = conn_.statement("SELECT 1 FROM committed_moves WHERE id = ?");
    q->bind(1, move_id);
    return q->executeStep();
  }

 private:
  Connection& conn_;
};

// ---------------------------------------------------------------------------
// Jobs

constexpr const char* kJobColumns =
    "id, queue, type, payload, dedupe_key, status, attempts, max_attempts, run_after, "
    "lease_holder, lease_expires_at, cancel_requested, last_error, progress, created_at, "
    "updated_at, finished_at";

Job read_job(const SQLite::Statement& q) {
  Job j;
  j.id = q.getColumn(0).getInt64();
  j.queue = text(q, 1);
  j.type = text(q, 2);
  j.payload_json = text(q, 3);
  j.dedupe_key = text(q, 4);
  j.status = text(q, 5);
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

bool is_job_queue(const std::string& queue) {
  return queue == "downloads" || queue == "imports" || queue == "exports" || queue == "maintenance";
}

// attempt n (1-based) waits base * 2^(n-1); the shift is capped so a large
// max_attempts cannot overflow.
int64_t backoff_ms(int64_t base_ms, int attempt) {
  int shift = std::clamp(attempt - 1, 0, 20);
  return base_ms * (int64_t{1} << shift);
}

class SqliteJobRepository final : public JobRepository {
 public:
  explicit SqliteJobRepository(Connection& conn) : conn_(conn) {}

  EnqueueResult enqueue(const NewJob& job, int64_t now_ms) override {
    if (!is_job_queue(job.queue))
      throw ApiError::bad_request("Unknown job queue '" + job.queue + "'");
    if (job.type.empty()) throw ApiError::bad_request("A job needs a type");
    if (!job.dedupe_key.empty()) {
      if (auto existing = live_with_key(job.dedupe_key)) return {*existing, false};
    }
    StatementHandle q = conn_.statement(
        "INSERT INTO jobs (queue, type, payload, dedupe_key, max_attempts, run_after, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    q->bind(1, job.queue);
    q->bind(2, job.type);
    q->bind(3, job.payload_json.empty() ? std::string("{}") : job.payload_json);
    bind_text_or_null(*q, 4, job.dedupe_key);
    q->bind(5, std::max(1, job.max_attempts));
    q->bind(6, job.run_after_ms > 0 ? job.run_after_ms : now_ms);
    q->bind(7, now_ms);
    q->bind(8, now_ms);
    try {
      q->exec();
    } catch (const SQLite::Exception& e) {
      // Outside a write transaction another connection can take the key
      // between the lookup and the insert; the index is the arbiter.
      if (is_unique_violation(e) && !job.dedupe_key.empty()) {
        if (auto existing = live_with_key(job.dedupe_key)) return {*existing, false};
      }
      throw;
    }
    return {conn_.db().getLastInsertRowid(), true};
  }

  std::optional<Job> claim_next(const std::vector<std::string>& queues, const std::string& holder,
                                int64_t lease_ms, int64_t now_ms) override {
    if (queues.empty()) return std::nullopt;
    settle_expired(now_ms);
    // Candidates by (run_after, id): one indexed seek per queue for queued
    // work, and the (few) expired leases, filtered by queue here.
    std::optional<std::pair<int64_t, int64_t>> best;  // (run_after, id)
    auto consider = [&](int64_t run_after, int64_t id) {
      if (!best || std::make_pair(run_after, id) < *best) best = std::make_pair(run_after, id);
    };
    for (const std::string& queue : queues) {
      StatementHandle q = conn_.statement(
          "SELECT run_after, id FROM jobs WHERE status = 'queued' AND queue = ? AND run_after <= ? "
          "ORDER BY run_after, id LIMIT 1");
      q->bind(1, queue);
      q->bind(2, now_ms);
      if (q->executeStep()) consider(q->getColumn(0).getInt64(), q->getColumn(1).getInt64());
    }
    {
      StatementHandle q = conn_.statement(
          "SELECT run_after, id, queue FROM jobs WHERE status = 'running' AND lease_expires_at <= "
          "? "
          "ORDER BY run_after, id");
      q->bind(1, now_ms);
      while (q->executeStep()) {
        std::string queue = text(*q, 2);
        if (std::find(queues.begin(), queues.end(), queue) == queues.end()) continue;
        consider(q->getColumn(0).getInt64(), q->getColumn(1).getInt64());
        break;  // rows come in (run_after, id) order: the first match is the best
      }
    }
    if (!best) return std::nullopt;
    StatementHandle q = conn_.statement(
        std::string(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_holder = ?, "
            "lease_expires_at = ?, updated_at = ?, progress = 0 WHERE id = ? RETURNING ") +
        kJobColumns);
    q->bind(1, holder);
    q->bind(2, now_ms + lease_ms);
    q->bind(3, now_ms);
    q->bind(4, best->second);
    if (!q->executeStep()) return std::nullopt;
    return read_job(*q);
  }

  LeaseState heartbeat(int64_t id, const std::string& holder, int64_t lease_ms,
                       int64_t now_ms) override {
    StatementHandle q = conn_.statement(
        "UPDATE jobs SET lease_expires_at = ?, updated_at = ? "
        "WHERE id = ? AND status = 'running' AND lease_holder = ? RETURNING cancel_requested");
    q->bind(1, now_ms + lease_ms);
    q->bind(2, now_ms);
    q->bind(3, id);
    q->bind(4, holder);
    if (!q->executeStep()) return {};
    return {true, q->getColumn(0).getInt() != 0};
  }

  bool set_progress(int64_t id, const std::string& holder, int progress, int64_t now_ms) override {
    StatementHandle q = conn_.statement(
        "UPDATE jobs SET progress = ?, updated_at = ? "
        "WHERE id = ? AND status = 'running' AND lease_holder = ?");
    q->bind(1, std::clamp(progress, 0, 100));
    q->bind(2, now_ms);
    q->bind(3, id);
    q->bind(4, holder);
    return q->exec() > 0;
  }

  std::optional<Job> complete(int64_t id, const std::string& holder, int64_t now_ms) override {
    return finish(id, holder, "succeeded", nullptr, now_ms);
  }

  std::optional<Job> fail(int64_t id, const std::string& holder, const std::string& error,
                          bool retryable, int64_t backoff_base_ms, int64_t now_ms) override {
    std::optional<Job> job = held(id, holder);
    if (!job) return std::nullopt;
    if (job->cancel_requested) return finish(id, holder, "cancelled", &error, now_ms);
    if (!retryable) return finish(id, holder, "failed", &error, now_ms);
    if (job->attempts >= job->max_attempts) return finish(id, holder, "dead", &error, now_ms);
    StatementHandle q = conn_.statement(
        std::string("UPDATE jobs SET status = 'queued', run_after = ?, last_error = ?, "
                    "lease_holder = NULL, "
                    "lease_expires_at = NULL, updated_at = ? "
                    "WHERE id = ? AND status = 'running' AND lease_holder = ? RETURNING ") +
        kJobColumns);
    q->bind(1, now_ms + backoff_ms(backoff_base_ms, job->attempts));
    q->bind(2, error);
    q->bind(3, now_ms);
    q->bind(4, id);
    q->bind(5, holder);
    if (!q->executeStep()) return std::nullopt;
    return read_job(*q);
  }

  std::optional<Job> finish_cancelled(int64_t id, const std::string& holder,
                                      int64_t now_ms) override {
    return finish(id, holder, "cancelled", nullptr, now_ms);
  }

  std::optional<Job> cancel(int64_t id, int64_t now_ms) override {
    StatementHandle q = conn_.statement(
        std::string(
            "UPDATE jobs SET "
            "status = CASE status WHEN 'queued' THEN 'cancelled' ELSE status END, "
            "cancel_requested = CASE status WHEN 'running' THEN 1 ELSE cancel_requested END, "
            "finished_at = CASE status WHEN 'queued' THEN ?1 ELSE finished_at END, updated_at = ?1 "
            "WHERE id = ?2 AND status IN ('queued', 'running') RETURNING ") +
        kJobColumns);
    q->bind(1, now_ms);
    q->bind(2, id);
    if (q->executeStep()) return read_job(*q);
    return find(id);
  }

  std::optional<Job> retry(int64_t id, int64_t now_ms) override {
    StatementHandle q = conn_.statement(
        std::string(
            "UPDATE jobs SET status = 'queued', attempts = 0, run_after = ?1, lease_holder = NULL, "
            "lease_expires_at = NULL, cancel_requested = 0, progress = 0, finished_at = NULL, "
            "updated_at = ?1 WHERE id = ?2 AND status IN ('dead', 'failed', 'cancelled') "
            "RETURNING ") +
        kJobColumns);
    q->bind(1, now_ms);
    q->bind(2, id);
    try {
      if (q->executeStep()) return read_job(*q);
    } catch (const SQLite::Exception& e) {
      if (is_unique_violation(e)) {
        throw ApiError::conflict("Another live job already has this job's dedupe key");
      }
      throw;
    }
    return find(id);
  }

  PageResult<Job> list(const std::string& status, const std::string& queue, Page page) override {
    std::string where = " WHERE 1 = 1";
    if (!status.empty()) where += " AND status = :status";
    if (!queue.empty()) where += " AND queue = :queue";
    auto bind_filters = [&](SQLite::Statement& q) {
      if (!status.empty()) q.bind(":status", status);
      if (!queue.empty()) q.bind(":queue", queue);
    };
    PageResult<Job> result;
    {
      StatementHandle q = conn_.statement("SELECT COUNT(*) FROM jobs" + where);
      bind_filters(*q);
      result.total = count_of(*q);
    }
    StatementHandle q = conn_.statement(std::string("SELECT ") + kJobColumns + " FROM jobs" +
                                        where + " ORDER BY id DESC LIMIT :limit OFFSET :offset");
    bind_filters(*q);
    q->bind(":limit", safe_limit(page));
    q->bind(":offset", safe_offset(page));
    while (q->executeStep()) result.items.push_back(read_job(*q));
    return result;
  }

  std::optional<Job> find(int64_t id) override {
    StatementHandle q =
        conn_.statement(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?");
    q->bind(1, id);
    if (!q->executeStep()) return std::nullopt;
    return read_job(*q);
  }

  std::vector<JobCount> counts() override {
    StatementHandle q = conn_.statement(
        "SELECT queue, status, COUNT(*) FROM jobs GROUP BY queue, status ORDER BY queue, status");
    std::vector<JobCount> out;
    while (q->executeStep()) out.push_back({text(*q, 0), text(*q, 1), q->getColumn(2).getInt64()});
    return out;
  }

  std::vector<std::string> running_holders() override {
    StatementHandle q = conn_.statement(
        "SELECT DISTINCT lease_holder FROM jobs WHERE status = 'running' AND "
        "lease_holder IS NOT NULL");
    std::vector<std::string> out;
    while (q->executeStep()) out.push_back(text(*q, 0));
    return out;
  }

  int64_t expire_leases(const std::string& holder, int64_t now_ms) override {
    StatementHandle q = conn_.statement(
        "UPDATE jobs SET lease_expires_at = ?, updated_at = ? "
        "WHERE status = 'running' AND lease_holder = ? AND lease_expires_at > ?");
    q->bind(1, now_ms);
    q->bind(2, now_ms);
    q->bind(3, holder);
    q->bind(4, now_ms);
    return q->exec();
  }

 private:
  std::optional<int64_t> live_with_key(const std::string& key) {
    StatementHandle q = conn_.statement(
        "SELECT id FROM jobs WHERE dedupe_key = ? AND status IN ('queued', 'running')");
    q->bind(1, key);
    if (!q->executeStep()) return std::nullopt;
    return q->getColumn(0).getInt64();
  }

  std::optional<Job> held(int64_t id, const std::string& holder) {
    StatementHandle q = conn_.statement(std::string("SELECT ") + kJobColumns +
                                        " FROM jobs WHERE id = ? AND status = 'running' AND "
                                        "lease_holder = ?");
    q->bind(1, id);
    q->bind(2, holder);
    if (!q->executeStep()) return std::nullopt;
    return read_job(*q);
  }

  // A terminal state for a job this holder runs; error nullptr keeps the last
  // error (a success after retries still shows why earlier attempts failed).
  std::optional<Job> finish(int64_t id, const std::string& holder, const char* status,
                            const std::string* error, int64_t now_ms) {
    StatementHandle q = conn_.statement(
        std::string(
            "UPDATE jobs SET status = ?1, last_error = COALESCE(?2, last_error), "
            "progress = CASE ?1 WHEN 'succeeded' THEN 100 ELSE progress END, lease_holder = NULL, "
            "lease_expires_at = NULL, finished_at = ?3, updated_at = ?3 "
            "WHERE id = ?4 AND status = 'running' AND lease_holder = ?5 RETURNING ") +
        kJobColumns);
    q->bind(1, status);
    if (error != nullptr) {
      q->bind(2, *error);
    } else {
      q->bind(2);
    }
    q->bind(3, now_ms);
    q->bind(4, id);
    q->bind(5, holder);
    if (!q->executeStep()) return std::nullopt;
    return read_job(*q);
  }

  // Expired leases that must not run again: the cancel was requested, or the
  // worker died on the last attempt (a job that kills its process must not
  // loop forever).
  void settle_expired(int64_t now_ms) {
    StatementHandle q = conn_.statement(
        "UPDATE jobs SET "
        "status = CASE cancel_requested WHEN 1 THEN 'cancelled' ELSE 'dead' END, "
        "last_error = CASE cancel_requested WHEN 1 THEN last_error "
        "ELSE 'lease expired on the last attempt (worker died or stalled)' END, "
        "lease_holder = NULL, lease_expires_at = NULL, finished_at = ?1, updated_at = ?1 "
        "WHERE status = 'running' AND lease_expires_at <= ?1 "
        "AND (cancel_requested = 1 OR attempts >= max_attempts)");
    q->bind(1, now_ms);
    q->exec();
  }

  Connection& conn_;
};

// ---------------------------------------------------------------------------
// Schedules

constexpr const char* kScheduleColumns = "name, cron, enabled, last_run, next_run";

ScheduleRow read_schedule(const SQLite::Statement& q) {
  ScheduleRow r;
  r.name = text(q, 0);
  r.cron = text(q, 1);
  r.enabled = q.getColumn(2).getInt() != 0;
  r.last_run = opt_int(q, 3);
  r.next_run = opt_int(q, 4);
  return r;
}

class SqliteScheduleRepository final : public ScheduleRepository {
 public:
  explicit SqliteScheduleRepository(Connection& conn) : conn_(conn) {}

  void upsert(const std::string& name, const std::string& cron, bool enabled) override {
    // SET expressions see the old row, so the CASE compares with the old cron.
    StatementHandle q = conn_.statement(
        "INSERT INTO schedules (name, cron, enabled) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET "
        "next_run = CASE WHEN schedules.cron = excluded.cron THEN schedules.next_run END, "
        "cron = excluded.cron, enabled = excluded.enabled");
    q->bind(1, name);
    q->bind(2, cron);
    q->bind(3, enabled ? 1 : 0);
    q->exec();
  }

  std::vector<ScheduleRow> list() override {
    StatementHandle q = conn_.statement(std::string("SELECT ") + kScheduleColumns +
                                        " FROM schedules ORDER BY name");
    std::vector<ScheduleRow> out;
    while (q->executeStep()) out.push_back(read_schedule(*q));
    return out;
  }

  std::optional<ScheduleRow> find(const std::string& name) override {
    StatementHandle q = conn_.statement(std::string("SELECT ") + kScheduleColumns +
                                        " FROM schedules WHERE name = ?");
    q->bind(1, name);
    if (!q->executeStep()) return std::nullopt;
    return read_schedule(*q);
  }

  bool claim_firing(const std::string& name, int64_t fire_time) override {
    StatementHandle q =
        conn_.statement("INSERT OR IGNORE INTO schedule_firings (name, fire_time) VALUES (?, ?)");
    q->bind(1, name);
    q->bind(2, fire_time);
    return q->exec() > 0;
  }

  int64_t prune_firings(const std::string& name, int64_t before) override {
    StatementHandle q =
        conn_.statement("DELETE FROM schedule_firings WHERE name = ? AND fire_time < ?");
    q->bind(1, name);
    q->bind(2, before);
    return q->exec();
  }

  void set_last_run(const std::string& name, int64_t fire_time) override {
    StatementHandle q = conn_.statement(
        "UPDATE schedules SET last_run = MAX(COALESCE(last_run, ?1), ?1) WHERE name = ?2");
    q->bind(1, fire_time);
    q->bind(2, name);
    q->exec();
  }

  void set_next_run(const std::string& name, std::optional<int64_t> next_run) override {
    StatementHandle q = conn_.statement("UPDATE schedules SET next_run = ? WHERE name = ?");
    bind_opt(*q, 1, next_run);
    q->bind(2, name);
    q->exec();
  }

 private:
  Connection& conn_;
};

// ---------------------------------------------------------------------------
// Session and store

class SqliteSession final : public StoreSession {
 public:
  SqliteSession(Lease lease, bool write, bool durable)
      : lease_(std::move(lease)),
        write_(write),
        durable_(write && durable),
        users_(lease_.conn()),
        library_(lease_.conn()),
        activity_(lease_.conn()),
        meta_(lease_.conn()),
        imports_(lease_.conn()),
        jobs_(lease_.conn()),
        schedules_(lease_.conn()) {
    // IMMEDIATE takes the write lock now, under the busy timeout, instead of
    // failing with SQLITE_BUSY when a read later upgrades to a write.
    // WAL with synchronous=NORMAL makes a commit durable only at the next
    // checkpoint; FULL syncs the WAL at commit. The level is a connection
    // setting that cannot change inside a transaction: set it before BEGIN,
    // restore it for the pool's next user in the destructor.
    if (durable_) lease_.db().exec("PRAGMA synchronous = FULL");
    if (write_) lease_.db().exec("BEGIN IMMEDIATE");
  }

  ~SqliteSession() override {
    end_transaction();
    if (durable_ && sqlite3_get_autocommit(lease_.db().getHandle()) != 0) {
      try {
        lease_.db().exec("PRAGMA synchronous = NORMAL");
      } catch (const SQLite::Exception&) {
        // Only costs speed on this connection.
      }
    }
  }

  void end_transaction() {
    if (!write_ || committed_) return;
    // Errors such as disk full may already have ended the transaction.
    if (sqlite3_get_autocommit(lease_.db().getHandle()) != 0) return;
    try {
      lease_.db().exec("ROLLBACK");
    } catch (const SQLite::Exception&) {
      // The pool drops a connection still inside a transaction.
    }
  }

  UserRepository& users() override { return users_; }
  LibraryRepository& library() override { return library_; }
  ActivityRepository& activity() override { return activity_; }
  MetaRepository& meta() override { return meta_; }
  ImportRepository& imports() override { return imports_; }
  JobRepository& jobs() override { return jobs_; }
  ScheduleRepository& schedules() override { return schedules_; }

  void commit() override {
    if (!write_ || committed_) return;
    lease_.db().exec("COMMIT");
    committed_ = true;
  }

 private:
  Lease lease_;
  const bool write_;
  const bool durable_;
  bool committed_ = false;
  SqliteUserRepository users_;
  SqliteLibraryRepository library_;
  SqliteActivityRepository activity_;
  SqliteMetaRepository meta_;
  SqliteImportRepository imports_;
  SqliteJobRepository jobs_;
  SqliteScheduleRepository schedules_;
};

// ---------------------------------------------------------------------------
// Online backup, on raw handles: SQLiteCpp has no backup into a file that is
// not yet a database, and the copy needs its own connections anyway.

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using SqliteHandle = std::unique_ptr<sqlite3, SqliteCloser>;

struct BackupFinisher {
  void operator()(sqlite3_backup* b) const { sqlite3_backup_finish(b); }
};
using BackupHandle = std::unique_ptr<sqlite3_backup, BackupFinisher>;

SqliteHandle open_raw(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  SqliteHandle db(raw);  // a failed open still returns a handle to close
  if (rc != SQLITE_OK) {
    throw std::runtime_error("cannot open '" + path +
                             "': " + (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  return db;
}

void fsync_or_throw(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + path.string());
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) throw std::system_error(err, std::generic_category(), "fsync " + path.string());
}

// The backup's temporary file and SQLite's journal beside it, removed unless
// the copy made it to its final name.
class TempBackupFile {
 public:
  explicit TempBackupFile(std::filesystem::path path) : path_(std::move(path)) { remove(); }
  TempBackupFile(const TempBackupFile&) = delete;
  TempBackupFile& operator=(const TempBackupFile&) = delete;
  ~TempBackupFile() {
    if (armed_) remove();
  }
  const std::filesystem::path& path() const { return path_; }
  void release() { armed_ = false; }

 private:
  void remove() {
    std::error_code ec;
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
      std::filesystem::remove(std::filesystem::path(path_.string() + suffix), ec);
    }
  }
  std::filesystem::path path_;
  bool armed_ = true;
};

// A backup step that meets a lock is retried this often, kBackupRetryDelay
// apart, before the backup fails (the next scheduled run tries again).
constexpr int kBackupBusyRetries = 100;
constexpr std::chrono::milliseconds kBackupRetryDelay{100};

void backup_database_file(const std::string& source_path,
                          const std::filesystem::path& destination) {
  namespace fs = std::filesystem;
  fs::path dir = destination.parent_path();
  if (dir.empty()) dir = ".";
  // The same folder, so the rename is atomic; a leftover of a crashed
  // backup with this name is ours to replace.
  TempBackupFile temp(destination.string() + ".tmp");
  {
    // Its own connection, not a pooled one: the copy must not run inside a
    // session's transaction or change a pooled connection's settings. No
    // OPEN_CREATE: a vanished database is an error, not an empty backup.
    SqliteHandle source = open_raw(source_path, SQLITE_OPEN_READWRITE);
    sqlite3_busy_timeout(source.get(), 5000);
    SqliteHandle dest = open_raw(temp.path().string(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    BackupHandle backup(sqlite3_backup_init(dest.get(), "main", source.get(), "main"));
    if (!backup) throw std::runtime_error(std::string("backup: ") + sqlite3_errmsg(dest.get()));
    // -1: every page in one step, inside one read transaction of the
    // source, so the copy is one consistent snapshot; under WAL that read
    // does not block writers.
    int rc = SQLITE_OK;
    for (int attempt = 0;; ++attempt) {
      rc = sqlite3_backup_step(backup.get(), -1);
      if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || attempt >= kBackupBusyRetries) break;
      std::this_thread::sleep_for(kBackupRetryDelay);
    }
    if (rc != SQLITE_DONE) {
      throw std::runtime_error(std::string("backup: ") + sqlite3_errstr(rc));
    }
    rc = sqlite3_backup_finish(backup.release());
    if (rc != SQLITE_OK) {
      throw std::runtime_error(std::string("backup: ") + sqlite3_errmsg(dest.get()));
    }
    // The copy carries the source's WAL flag; a backup should be one
    // self-contained file that opens anywhere, so it goes back to a
    // rollback journal.
    char* error = nullptr;
    if (sqlite3_exec(dest.get(), "PRAGMA journal_mode = DELETE", nullptr, nullptr, &error) !=
        SQLITE_OK) {
      std::string message = error != nullptr ? error : "unknown error";
      sqlite3_free(error);
      throw std::runtime_error("backup: " + message);
    }
    // Closed (checked) before the fsync, so every page is written.
    if (sqlite3_close(dest.get()) != SQLITE_OK) {
      throw std::runtime_error(std::string("backup: cannot close: ") + sqlite3_errmsg(dest.get()));
    }
    dest.release();
  }
  fsync_or_throw(temp.path());
  fs::rename(temp.path(), destination);
  temp.release();
  // The rename itself is durable only once the folder is synced.
  fsync_or_throw(dir);
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const std::string& path) : path_(path), pool_(path) {
    // Open one connection now so a bad path fails at startup, not at the
    // first request; it goes back to the pool for reuse.
    pool_.acquire();
  }

  int migrate() override {
    Lease lease = pool_.acquire();
    return apply_migrations(lease.db());
  }

  int schema_version() override {
    Lease lease = pool_.acquire();
    return applied_schema_version(lease.db());
  }

  int latest_schema_version() const override { return latest_sqlite_schema_version(); }

  bool ping() override {
    try {
      Lease lease = pool_.acquire();
      return lease.db().execAndGet("SELECT 1").getInt() == 1;
    } catch (const std::exception&) {
      return false;
    }
  }

  std::unique_ptr<StoreSession> open_session(bool write, bool durable) override {
    return std::make_unique<SqliteSession>(pool_.acquire(), write, durable);
  }

  void backup_to(const std::filesystem::path& destination) override {
    try {
      backup_database_file(path_, destination);
    } catch (const std::exception& e) {
      throw std::runtime_error("Cannot back up database '" + path_ + "' to '" +
                               destination.string() + "': " + e.what());
    }
  }

 private:
  const std::string path_;
  ConnectionPool pool_;
};

// The database holds password hashes and everyone's hearts: owner-only. A new
// one is created empty with mode 0600 before SQLite opens it (SQLite makes its
// -wal and -shm with the database's mode); an existing one, and its -wal and
// -shm, lose any group and other bits.
void make_database_owner_only(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    return;
  }
  if (errno != EEXIST) return;  // SQLite's own open reports what is wrong
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    const std::string file = path + suffix;
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0) {
      ::chmod(file.c_str(), st.st_mode & 0700);
    }
  }
}

// Maps a store URL to a filesystem path; see open_store() in store.h.
std::string sqlite_path_from_url(const std::string& url) {
  constexpr std::string_view kSqlitePrefix = "sqlite://";
  std::string path;
  if (url.rfind(kSqlitePrefix, 0) == 0) {
    // "sqlite:///abs" leaves "/abs"; "sqlite://rel" leaves "rel".
    path = url.substr(kSqlitePrefix.size());
  } else if (auto scheme_end = url.find("://"); scheme_end != std::string::npos) {
    throw std::runtime_error("Unsupported database URL scheme '" + url.substr(0, scheme_end) +
                             "' in '" + url + "'; only sqlite:// is supported for now");
  } else {
    path = url;
  }
  if (path.empty()) throw std::runtime_error("Database URL '" + url + "' names no file");
  if (path == ":memory:" || path.rfind("file:", 0) == 0) {
    // Each pooled connection would see its own private database.
    throw std::runtime_error("Database URL '" + url + "' is not supported; use a file path");
  }
  return path;
}

}  // namespace

std::unique_ptr<Store> open_store(const std::string& url) {
  std::string path = sqlite_path_from_url(url);
  try {
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    make_database_owner_only(path);
    return std::make_unique<SqliteStore>(path);
  } catch (const std::exception& e) {
    throw std::runtime_error("Cannot open database '" + path + "': " + e.what());
  }
}

}  // namespace barbossa
