// The SQLite repositories. Each borrows its session's leased connection. The
// definitions are one file per repository; library_repository.cpp and
// hearts.cpp share SqliteLibraryRepository.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/sqlite/connection_pool.h"
#include "store/store.h"

namespace barbossa::sqlite {

class SqliteUserRepository final : public UserRepository {
 public:
  explicit SqliteUserRepository(Connection& conn) : conn_(conn) {}

  User create(const std::string& username, const std::string& password_hash,
              bool is_admin) override;
  std::optional<User> find_by_id(int64_t id) override;
  std::optional<User> find_by_name(const std::string& username) override;
  std::vector<User> list() override;
  std::vector<AccountState> account_states() override;
  int64_t count() override;
  int64_t count_admins() override;
  bool update_password(int64_t id, const std::string& password_hash) override;
  bool update_admin(int64_t id, bool is_admin) override;
  bool update_username(int64_t id, const std::string& username) override;
  bool remove(int64_t id) override;

 private:
  static StoreError taken(const std::string& username);
  Connection& conn_;
};

class SqliteLibraryRepository final : public LibraryRepository {
 public:
  explicit SqliteLibraryRepository(Connection& conn) : conn_(conn) {}

  Artist create_artist(const Artist& artist) override;
  Album create_album(const Album& album) override;
  Track create_track(const Track& track) override;
  PageResult<Artist> list_artists(const std::string& query, Page page) override;
  std::optional<Artist> find_artist(int64_t id) override;
  PageResult<Album> list_albums(int64_t artist_id, const std::string& query, Page page) override;
  std::optional<Album> find_album(int64_t id) override;
  std::vector<Track> album_tracks(int64_t album_id) override;
  std::optional<Track> find_track(int64_t id) override;
  std::vector<Track> tracks_after(int64_t after_id, int64_t limit) override;
  bool mark_track_verified(int64_t id, const std::string& path, const std::string& sha256,
                           const std::string& verified_at) override;
  PageResult<Track> search_tracks(const std::string& query, Page page) override;
  bool heart_album(int64_t user_id, int64_t album_id) override;
  bool unheart_album(int64_t user_id, int64_t album_id) override;
  bool heart_track(int64_t user_id, int64_t track_id) override;
  bool unheart_track(int64_t user_id, int64_t track_id) override;
  bool is_album_hearted(int64_t user_id, int64_t album_id) override;
  std::vector<int64_t> hearted_track_ids(int64_t user_id, int64_t album_id) override;
  bool all_tracks_hearted(int64_t user_id, int64_t album_id) override;
  PageResult<Album> hearted_albums(int64_t user_id, Page page) override;
  PageResult<Track> hearted_tracks(int64_t user_id, Page page) override;
  std::optional<Artist> find_artist_by_normalized(const std::string& normalized_name) override;
  std::optional<Album> find_album_by_identity(int64_t artist_id,
                                              const std::string& normalized_title) override;
  std::optional<Album> find_album_by_release(const std::string& musicbrainz_release_id) override;
  std::vector<Track> find_tracks_by_sha256(const std::vector<std::string>& digests) override;
  void update_album(const Album& album) override;
  void update_track(const Track& track) override;
  bool delete_track(int64_t id) override;
  bool delete_album(int64_t id) override;
  bool delete_artist_if_empty(int64_t id) override;
  std::vector<HeartHolder> heart_holders(int64_t album_id) override;
  std::vector<std::string> hearted_paths(int64_t user_id) override;
  int64_t recount_album_stats() override;

 private:
  // Runs a heart insert/delete; true when a row changed.
  bool change(const char* sql, int64_t user_id, int64_t entity_id, const char* entity);
  Connection& conn_;
};

class SqliteActivityRepository final : public ActivityRepository {
 public:
  explicit SqliteActivityRepository(Connection& conn) : conn_(conn) {}

  Activity insert(const Activity& activity) override;
  std::vector<Activity> list(int64_t limit, int64_t before_id) override;

 private:
  Connection& conn_;
};

class SqliteMetaRepository final : public MetaRepository {
 public:
  explicit SqliteMetaRepository(Connection& conn) : conn_(conn) {}

  std::optional<std::string> get(const std::string& key) override;
  void put(const std::string& key, const std::string& value) override;

 private:
  Connection& conn_;
};

class SqliteMoveRepository final : public MoveRepository {
 public:
  explicit SqliteMoveRepository(Connection& conn) : conn_(conn) {}
  void mark_move_committed(const std::string& move_id) override;
  bool is_move_committed(const std::string& move_id) override;

 private:
  Connection& conn_;
};

class SqliteImportRepository final : public ImportRepository {
 public:
  explicit SqliteImportRepository(Connection& conn) : conn_(conn), moves_(conn) {}

  ReviewItem create_review(const ReviewItem& item) override;
  std::optional<ReviewItem> find_review(int64_t id) override;
  PageResult<ReviewItem> list_reviews(const std::string& status, std::optional<int64_t> visible_to,
                                      Page page) override;
  void update_review(const ReviewItem& item) override;
  bool decide_review(const ReviewItem& item) override;
  void add_history(const ImportHistoryRow& row) override;
  // MoveRepository's calls, kept here for imports().mark_move_committed().
  void mark_move_committed(const std::string& move_id) override {
    moves_.mark_move_committed(move_id);
  }
  bool is_move_committed(const std::string& move_id) override {
    return moves_.is_move_committed(move_id);
  }

 private:
  Connection& conn_;
  SqliteMoveRepository moves_;
};

class SqliteJobRepository final : public JobRepository {
 public:
  explicit SqliteJobRepository(Connection& conn) : conn_(conn) {}

  EnqueueResult enqueue(const NewJob& job, int64_t now_ms) override;
  std::optional<Job> claim_next(const std::vector<std::string>& queues, const std::string& holder,
                                int64_t lease_ms, int64_t now_ms) override;
  LeaseState heartbeat(int64_t id, const std::string& holder, int64_t lease_ms,
                       int64_t now_ms) override;
  bool set_progress(int64_t id, const std::string& holder, int progress, int64_t now_ms) override;
  std::optional<Job> complete(int64_t id, const std::string& holder, int64_t now_ms) override;
  std::optional<Job> fail(int64_t id, const std::string& holder, const std::string& error,
                          bool retryable, int64_t retry_at_ms, int64_t now_ms) override;
  std::optional<Job> finish_cancelled(int64_t id, const std::string& holder,
                                      int64_t now_ms) override;
  std::optional<Job> cancel(int64_t id, int64_t now_ms) override;
  std::optional<Job> retry(int64_t id, int64_t now_ms) override;
  PageResult<Job> list(const std::string& status, const std::string& queue, Page page) override;
  std::optional<Job> find(int64_t id) override;
  std::vector<JobCount> counts() override;
  std::vector<std::string> running_holders() override;
  int64_t expire_leases(const std::string& holder, int64_t now_ms) override;

 private:
  std::optional<int64_t> live_with_key(const std::string& key);
  std::optional<Job> held(int64_t id, const std::string& holder);

  // A terminal state for a job this holder runs; error nullptr keeps the last
  // error (a success after retries still shows why earlier attempts failed).
  std::optional<Job> finish(int64_t id, const std::string& holder, JobStatus status,
                            const std::string* error, int64_t now_ms);

  // Expired leases that must not run again: the cancel was requested, or the
  // worker died on the last attempt (a job that kills its process must not
  // loop forever).
  void settle_expired(int64_t now_ms);
  Connection& conn_;
};

class SqliteDownloadRepository final : public DownloadRepository {
 public:
  explicit SqliteDownloadRepository(Connection& conn) : conn_(conn) {}

  Download create(int64_t user_id, const std::string& source, const std::string& url) override;
  std::optional<Download> find(int64_t id) override;
  PageResult<Download> list(std::optional<DownloadStatus> status, std::optional<int64_t> user_id,
                            Page page) override;
  std::optional<Download> transition(int64_t id, const std::vector<DownloadStatus>& from,
                                     DownloadStatus to) override;
  bool dismiss(int64_t id) override;

 private:
  Connection& conn_;
};

class SqliteScheduleRepository final : public ScheduleRepository {
 public:
  explicit SqliteScheduleRepository(Connection& conn) : conn_(conn) {}

  void upsert(const std::string& name, const std::string& cron, bool enabled) override;
  std::vector<ScheduleRow> list() override;
  std::optional<ScheduleRow> find(const std::string& name) override;
  bool claim_firing(const std::string& name, int64_t fire_time) override;
  int64_t prune_firings(const std::string& name, int64_t before) override;
  void set_last_run(const std::string& name, int64_t fire_time) override;
  void set_next_run(const std::string& name, std::optional<int64_t> next_run) override;

 private:
  Connection& conn_;
};

}  // namespace barbossa::sqlite
