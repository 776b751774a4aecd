// Store: the one door to persistent state. Repositories are reached through a
// StoreSession, which is one database connection leased for the caller's
// scope; a write session is one transaction that commits only when asked, so
// an exception anywhere rolls everything back. SQLite is the embedded backend;
// PostgreSQL implements the same interfaces later.
//
// Thread-safety: a Store is shared by all threads; a StoreSession belongs to
// the thread that opened it and must not outlive its scope.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace barbossa {

struct User {
  int64_t id = 0;
  std::string username;
  std::string password_hash;
  bool is_admin = false;
  std::string created_at;
  // Tokens carry it (claim `ver`); a password or role change bumps it.
  int64_t token_version = 0;
};

struct AccountState {
  int64_t id = 0;
  int64_t token_version = 0;
  bool is_admin = false;
};

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

struct Activity {
  int64_t id = 0;
  std::optional<int64_t> user_id;
  std::string username;  // filled by reads (empty for system activity)
  std::string action;
  std::string entity_type;
  int64_t entity_id = 0;
  std::string details_json = "{}";
  std::string created_at;
};

// Someone who hearted an album or some of its tracks: their links follow the
// album's files.
struct HeartHolder {
  int64_t user_id = 0;
  std::string username;
  bool album = false;              // the album itself is hearted
  std::vector<int64_t> track_ids;  // tracks hearted one by one
};

struct ReviewItem {
  int64_t id = 0;
  std::string status = "pending";  // pending | approved | rejected
  std::string path;                // the folder under IMPORT_DIR/review (absolute)
  std::string path_name;           // its last component, what people see
  std::string suggested_artist;
  std::string suggested_album;
  int suggested_year = 0;
  double confidence = 0.0;
  std::vector<std::string> reasons;
  int track_count = 0;
  std::string quality_summary;
  std::string source;
  std::optional<int64_t> download_id;
  std::optional<int64_t> user_id;       // who brought it in (a download's owner)
  std::optional<int64_t> duplicate_of;  // album id
  std::optional<int64_t> reviewer_id;
  std::optional<int64_t> album_id;  // the album an approval produced
  std::string created_at;
  std::string updated_at;
};

// One row per imported track (SPEC §3).
struct ImportHistoryRow {
  std::string normalized_artist;
  std::string normalized_album;
  std::string normalized_track;
  std::string source;
  std::string quality;
  std::string sha256;
  int64_t album_id = 0;
  int64_t track_id = 0;
};

struct Page {
  int64_t limit = 50;
  int64_t offset = 0;
};

template <typename T>
struct PageResult {
  std::vector<T> items;
  int64_t total = 0;
};

class UserRepository {
 public:
  virtual ~UserRepository() = default;
  // Throws ApiError 409 when the username is taken (case-insensitive).
  virtual User create(const std::string& username, const std::string& password_hash,
                      bool is_admin) = 0;
  virtual std::optional<User> find_by_id(int64_t id) = 0;
  virtual std::optional<User> find_by_name(const std::string& username) = 0;
  virtual std::vector<User> list() = 0;
  // Every account's id, token_version and role, and nothing else: polled
  // every few seconds so open sockets follow changes made by another process.
  virtual std::vector<AccountState> account_states() = 0;
  virtual int64_t count() = 0;
  virtual int64_t count_admins() = 0;
  // Each returns false when the user does not exist. A new password, or a
  // role different from the current one, also bumps token_version.
  virtual bool update_password(int64_t id, const std::string& password_hash) = 0;
  virtual bool update_admin(int64_t id, bool is_admin) = 0;
  virtual bool update_username(int64_t id, const std::string& username) = 0;  // 409 on clash
  virtual bool remove(int64_t id) = 0;
};

class LibraryRepository {
 public:
  virtual ~LibraryRepository() = default;
  // Creation is for the importer, tests and bench tooling.
  virtual Artist create_artist(const Artist& artist) = 0;
  virtual Album create_album(const Album& album) = 0;  // 409 on (artist, title, mbid) clash
  virtual Track create_track(const Track& track) = 0;  // 409 on (album, disc, number) clash

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
  // call changed nothing; idempotence is decided by the database.
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

class ImportRepository {
 public:
  virtual ~ImportRepository() = default;
  virtual ReviewItem create_review(const ReviewItem& item) = 0;
  virtual std::optional<ReviewItem> find_review(int64_t id) = 0;
  // status "" : any. visible_to: only items that user brought in; nullopt: all.
  virtual PageResult<ReviewItem> list_reviews(const std::string& status,
                                              std::optional<int64_t> visible_to, Page page) = 0;
  // Rewrites status, path, path_name, suggestions, reasons, reviewer, album;
  // touches updated_at.
  virtual void update_review(const ReviewItem& item) = 0;
  // The decision itself (approve, reject): update_review guarded by
  // "status = 'pending'" in the same UPDATE, so of two decisions racing in
  // different threads or processes exactly one writes. False, nothing
  // written, when the item was no longer pending.
  virtual bool decide_review(const ReviewItem& item) = 0;
  virtual void add_history(const ImportHistoryRow& row) = 0;
  // The album mover's commit point: recorded in the import's own transaction.
  virtual void mark_move_committed(const std::string& move_id) = 0;
  virtual bool is_move_committed(const std::string& move_id) = 0;
};

class ActivityRepository {
 public:
  virtual ~ActivityRepository() = default;
  virtual Activity insert(const Activity& activity) = 0;  // returns it with id and created_at
  // Newest first; before_id 0 means from the newest.
  virtual std::vector<Activity> list(int64_t limit, int64_t before_id) = 0;
};

// Small key/value rows for install-wide state (event sequence high water, ...).
class MetaRepository {
 public:
  virtual ~MetaRepository() = default;
  virtual std::optional<std::string> get(const std::string& key) = 0;
  virtual void put(const std::string& key, const std::string& value) = 0;
};

// A durable job (SPEC 3, 8). Times are milliseconds since the epoch; every
// JobRepository call takes `now_ms` from its caller so tests control time.
struct Job {
  int64_t id = 0;
  std::string queue;  // downloads | imports | exports | maintenance
  std::string type;   // handler name
  std::string payload_json = "{}";
  std::string dedupe_key;         // empty: none
  std::string status = "queued";  // queued | running | succeeded | failed | dead | cancelled
  int attempts = 0;
  int max_attempts = 3;
  int64_t run_after_ms = 0;
  std::string lease_holder;
  int64_t lease_expires_ms = 0;  // 0: no lease
  bool cancel_requested = false;
  std::string last_error;
  int progress = 0;  // 0-100
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  int64_t finished_ms = 0;  // 0: not finished
};

struct NewJob {
  std::string queue;
  std::string type;
  std::string payload_json = "{}";
  std::string dedupe_key;  // empty: no deduplication
  int max_attempts = 3;
  int64_t run_after_ms = 0;  // 0: now
};

struct EnqueueResult {
  int64_t id = 0;
  bool created = false;  // false: a live job already held the dedupe key
};

// What a worker learns when it extends its lease.
struct LeaseState {
  bool held = false;  // false: the lease expired and someone else may run it
  bool cancel_requested = false;
};

struct JobCount {
  std::string queue;
  std::string status;
  int64_t count = 0;
};

// Writes (enqueue, claim, outcomes) belong in a write session: claim_next
// relies on its BEGIN IMMEDIATE to be atomic across processes. Calls a worker
// makes about its own job are fenced by `holder`: they change nothing (and
// return false/nullopt) once the lease passed to someone else.
class JobRepository {
 public:
  virtual ~JobRepository() = default;
  // Unknown queue: ApiError 400. A live job with the same dedupe key: its id.
  virtual EnqueueResult enqueue(const NewJob& job, int64_t now_ms) = 0;
  // The first due job of `queues` by (run_after, id) - queued and due, or
  // running with an expired lease (its worker died: late acknowledgement) -
  // made running with attempts + 1 and a lease until now + lease_ms. Expired
  // jobs that used their last attempt end dead, and expired ones whose cancel
  // was requested end cancelled, instead of running again.
  virtual std::optional<Job> claim_next(const std::vector<std::string>& queues,
                                        const std::string& holder, int64_t lease_ms,
                                        int64_t now_ms) = 0;
  virtual LeaseState heartbeat(int64_t id, const std::string& holder, int64_t lease_ms,
                               int64_t now_ms) = 0;
  virtual bool set_progress(int64_t id, const std::string& holder, int progress,
                            int64_t now_ms) = 0;
  virtual std::optional<Job> complete(int64_t id, const std::string& holder, int64_t now_ms) = 0;
  // retryable and attempts left: queued again after backoff_base_ms *
  // 2^(attempts-1); retryable and none left: dead; not retryable: failed.
  virtual std::optional<Job> fail(int64_t id, const std::string& holder, const std::string& error,
                                  bool retryable, int64_t backoff_base_ms, int64_t now_ms) = 0;
  // The worker's end of a running job whose cancel was requested.
  virtual std::optional<Job> finish_cancelled(int64_t id, const std::string& holder,
                                              int64_t now_ms) = 0;
  // queued -> cancelled; running -> cancel_requested set (the worker ends it).
  // nullopt when the job does not exist; finished jobs are returned unchanged.
  virtual std::optional<Job> cancel(int64_t id, int64_t now_ms) = 0;
  // dead | failed | cancelled -> queued, attempts reset, due now. nullopt when
  // missing; other states unchanged. 409 when a live job holds its dedupe key.
  virtual std::optional<Job> retry(int64_t id, int64_t now_ms) = 0;
  // Newest first; empty status/queue: any.
  virtual PageResult<Job> list(const std::string& status, const std::string& queue, Page page) = 0;
  virtual std::optional<Job> find(int64_t id) = 0;
  virtual std::vector<JobCount> counts() = 0;
  // Distinct lease holders of running jobs, and a way to end their leases now:
  // for a restarted process to take back what its previous instance held.
  virtual std::vector<std::string> running_holders() = 0;
  virtual int64_t expire_leases(const std::string& holder, int64_t now_ms) = 0;
};

// A cron schedule's stored state (SPEC 8; the `schedules` table). Times are
// Unix seconds, the unit of core/cron.h; nullopt is NULL (never ran / no
// firing computed yet).
struct ScheduleRow {
  std::string name;
  std::string cron;
  bool enabled = true;
  std::optional<int64_t> last_run;  // fire time of the latest scheduled firing
  std::optional<int64_t> next_run;  // the next firing as last computed
};

// Writes belong in a write session. claim_firing is what makes each firing
// happen exactly once across processes: the (name, fire_time) primary key
// lets exactly one INSERT succeed.
class ScheduleRepository {
 public:
  virtual ~ScheduleRepository() = default;
  // Inserts the definition or updates cron and enabled, keeping last_run (the
  // missed-run check needs it). next_run is kept too unless the cron text
  // changed: it was computed from the old expression.
  virtual void upsert(const std::string& name, const std::string& cron, bool enabled) = 0;
  virtual std::vector<ScheduleRow> list() = 0;  // by name
  virtual std::optional<ScheduleRow> find(const std::string& name) = 0;
  // True when this call inserted the firing row, i.e. this caller runs it.
  virtual bool claim_firing(const std::string& name, int64_t fire_time) = 0;
  // Firing rows older than `before` are only history; returns how many went.
  virtual int64_t prune_firings(const std::string& name, int64_t before) = 0;
  // Never moves last_run backwards: a process lagging behind another cannot
  // undo the newer firing it recorded.
  virtual void set_last_run(const std::string& name, int64_t fire_time) = 0;
  virtual void set_next_run(const std::string& name, std::optional<int64_t> next_run) = 0;
};

class StoreSession {
 public:
  virtual ~StoreSession() = default;  // rolls back an uncommitted write session
  virtual UserRepository& users() = 0;
  virtual LibraryRepository& library() = 0;
  virtual ActivityRepository& activity() = 0;
  virtual MetaRepository& meta() = 0;
  virtual ImportRepository& imports() = 0;
  virtual JobRepository& jobs() = 0;
  virtual ScheduleRepository& schedules() = 0;
  virtual void commit() = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Applies every pending numbered migration; safe to call at each start.
  // Returns the number of migrations applied.
  virtual int migrate() = 0;
  virtual int schema_version() = 0;
  virtual int latest_schema_version() const = 0;
  // Cheap liveness probe for health reporting.
  virtual bool ping() = 0;

  // Writes a consistent copy of the whole database to `destination` while
  // the store stays in use (SPEC 8 backup-database). The copy appears under
  // that name complete and on disk, or not at all: a crash leaves at most a
  // temporary file beside it. Throws std::runtime_error when the backend
  // cannot back up or the copy fails.
  virtual void backup_to(const std::filesystem::path& destination) = 0;

  // durable: only with write; see write_durable().
  virtual std::unique_ptr<StoreSession> open_session(bool write, bool durable = false) = 0;

  template <typename F>
  auto read(F&& f) {
    auto session = open_session(false);
    return f(*session);
  }

  // Like write(), but the commit is on disk when this returns, whatever the
  // backend's usual sync level: for commits that files depend on (the album
  // mover deletes its journal right after).
  template <typename F>
  auto write_durable(F&& f) {
    auto session = open_session(true, /*durable=*/true);
    if constexpr (std::is_void_v<decltype(f(*session))>) {
      f(*session);
      session->commit();
    } else {
      auto result = f(*session);
      session->commit();
      return result;
    }
  }

  template <typename F>
  auto write(F&& f) {
    auto session = open_session(true);
    if constexpr (std::is_void_v<decltype(f(*session))>) {
      f(*session);
      session->commit();
    } else {
      auto result = f(*session);
      session->commit();
      return result;
    }
  }
};

// url: "sqlite:///abs/path.db", "sqlite://relative.db" or a bare path.
// Throws std::runtime_error for an unsupported scheme or an unopenable file.
std::unique_ptr<Store> open_store(const std::string& url);

}  // namespace barbossa
