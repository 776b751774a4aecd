// LibraryService: reading the library and the per-user hearts. A new heart is
// recorded as activity in the same transaction and published after commit; a
// repeated heart changes nothing and publishes nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "files/album_mover.h"
#include "files/user_links.h"
#include "services/account_service.h"
#include "services/activity_service.h"
#include "store/store.h"

namespace barbossa {

struct HeartResult {
  bool hearted = false;  // state after the call
  bool changed = false;  // false when the call was a repeat
};

// Where the library's files live. Without it (tests of the records alone)
// hearts and deletes touch the database only.
struct LibraryFiles {
  std::filesystem::path library_dir;
  std::filesystem::path trash_dir;
  UserLinks* links = nullptr;
  AlbumMover* mover = nullptr;
};

class LibraryService {
 public:
  LibraryService(Store& store, EventBus& bus, ActivityService& activity, LibraryFiles files = {})
      : store_(store), bus_(bus), activity_(activity), files_(files) {}

  nlohmann::json list_artists(const std::string& query, Page page);
  nlohmann::json get_artist(const AuthUser& viewer, int64_t id);
  nlohmann::json list_albums(const AuthUser& viewer, int64_t artist_id, const std::string& query,
                             Page page);
  nlohmann::json get_album(const AuthUser& viewer, int64_t id);
  nlohmann::json search(const AuthUser& viewer, const std::string& query, Page page);

  HeartResult heart_album(const AuthUser& user, int64_t album_id);
  HeartResult unheart_album(const AuthUser& user, int64_t album_id);
  HeartResult heart_track(const AuthUser& user, int64_t track_id);
  HeartResult unheart_track(const AuthUser& user, int64_t track_id);
  nlohmann::json my_library(const AuthUser& user, Page page);

  // Admin: the album's files go to the trash, everyone's links to them go,
  // the rows go (hearts with them); `delete` activity and library_updated.
  void delete_album(const AuthUser& admin, int64_t album_id);

  // Makes the user's links for one album match their hearts: every hearted
  // track linked, every other track of the album unlinked. Failures are
  // logged, never thrown: the database is the truth and repair-user-links
  // (a scheduled job) fixes the files.
  void sync_album_links(int64_t user_id, const std::string& username, int64_t album_id);

 private:
  struct AlbumSnapshot {
    Album album;
    std::vector<Track> tracks;
    std::vector<HeartHolder> holders;
  };
  AlbumSnapshot load_album(int64_t album_id);  // 404 when it is gone
  FolderLease lease_album_folder(AlbumSnapshot& snap);
  std::optional<AlbumMove> plan_album_trash(const Album& album) const;
  void unlink_deleted_album(const AlbumSnapshot& snap);

  Store& store_;
  EventBus& bus_;
  ActivityService& activity_;
  LibraryFiles files_;
};

nlohmann::json artist_json(const Artist& artist);
nlohmann::json album_json(const Album& album, bool is_hearted);
nlohmann::json track_json(const Track& track, bool is_hearted);

}  // namespace barbossa
