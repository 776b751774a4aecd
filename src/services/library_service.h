// LibraryService: reading the library and the per-user hearts. A new heart is
// recorded as activity in the same transaction and published after commit; a
// repeated heart changes nothing and publishes nothing.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "services/account_service.h"
#include "services/activity_service.h"
#include "store/store.h"

namespace barbossa {

struct HeartResult {
  bool hearted = false;  // state after the call
  bool changed = false;  // false when the call was a repeat
};

class LibraryService {
 public:
  LibraryService(Store& store, ActivityService& activity) : store_(store), activity_(activity) {}

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

 private:
  Store& store_;
  ActivityService& activity_;
};

nlohmann::json artist_json(const Artist& artist);
nlohmann::json album_json(const Album& album, bool is_hearted);
nlohmann::json track_json(const Track& track, bool is_hearted);

}  // namespace barbossa
