#include "services/library_service.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/normalize.h"
#include "core/time.h"
#include "files/fs_util.h"
#include "services/events.h"
#include "services/journaled_write.h"

namespace barbossa {
namespace {

nlohmann::json quality_json(const std::vector<Track>& tracks) {
  nlohmann::json q = nlohmann::json::object();
  if (tracks.empty()) {
    q["format"] = nullptr;
    q["lossless"] = false;
    q["sample_rate"] = nullptr;
    q["bit_depth"] = nullptr;
    q["bitrate"] = nullptr;
    return q;
  }
  // The album is as good as its weakest track: a single lossy file makes the
  // album lossy, a single 16-bit file makes it 16-bit.
  std::map<std::string, int> formats;
  bool lossless = true;
  int sample_rate = tracks.front().sample_rate;
  int bit_depth = tracks.front().bit_depth;
  int64_t bitrate_sum = 0;
  for (const auto& t : tracks) {
    formats[t.format]++;
    lossless = lossless && t.lossless;
    sample_rate = std::min(sample_rate, t.sample_rate);
    bit_depth = std::min(bit_depth, t.bit_depth);
    bitrate_sum += t.bitrate;
  }
  auto most = std::max_element(formats.begin(), formats.end(),
                               [](auto& a, auto& b) { return a.second < b.second; });
  q["format"] = most->first;
  q["lossless"] = lossless;
  q["sample_rate"] = sample_rate;
  q["bit_depth"] = lossless && bit_depth > 0 ? nlohmann::json(bit_depth) : nlohmann::json(nullptr);
  q["bitrate"] = static_cast<int64_t>(bitrate_sum / static_cast<int64_t>(tracks.size()));
  return q;
}

nlohmann::json page_json(nlohmann::json items, int64_t total, Page page) {
  nlohmann::json j = nlohmann::json::object();
  j["items"] = std::move(items);
  j["total"] = total;
  j["limit"] = page.limit;
  j["offset"] = page.offset;
  return j;
}

}  // namespace

nlohmann::json artist_json(const Artist& a) {
  nlohmann::json j = nlohmann::json::object();
  j["id"] = a.id;
  j["name"] = a.name;
  j["sort_name"] = a.sort_name.empty() ? a.name : a.sort_name;
  j["album_count"] = a.album_count;
  j["musicbrainz_id"] =
      a.musicbrainz_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.musicbrainz_id);
  return j;
}

nlohmann::json album_json(const Album& a, bool is_hearted) {
  nlohmann::json j = nlohmann::json::object();
  j["id"] = a.id;
  j["title"] = a.title;
  j["year"] = a.year > 0 ? nlohmann::json(a.year) : nlohmann::json(nullptr);
  nlohmann::json artist = nlohmann::json::object();
  artist["id"] = a.artist_id;
  artist["name"] = a.artist_name;
  j["artist"] = std::move(artist);
  j["track_count"] = a.total_tracks;
  j["available_tracks"] = a.available_tracks;
  j["disc_count"] = a.disc_count;
  j["source"] = a.source.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.source);
  j["status"] = a.status;
  j["is_hearted"] = is_hearted;
  j["created_at"] = a.created_at;
  j["musicbrainz_release_id"] = a.musicbrainz_release_id.empty()
                                    ? nlohmann::json(nullptr)
                                    : nlohmann::json(a.musicbrainz_release_id);
  return j;
}

nlohmann::json track_json(const Track& t, bool is_hearted) {
  nlohmann::json j = nlohmann::json::object();
  j["id"] = t.id;
  j["album_id"] = t.album_id;
  j["disc"] = t.disc;
  j["number"] = t.number;
  j["title"] = t.title;
  j["duration_ms"] = t.duration_ms;
  j["format"] = t.format;
  j["lossless"] = t.lossless;
  j["sample_rate"] = t.sample_rate;
  j["bit_depth"] = t.bit_depth > 0 ? nlohmann::json(t.bit_depth) : nlohmann::json(nullptr);
  j["bitrate"] = t.bitrate;
  j["channels"] = t.channels;
  j["file_size"] = t.file_size;
  j["sha256"] = t.sha256;
  j["source"] = t.source.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.source);
  j["is_hearted"] = is_hearted;
  return j;
}

nlohmann::json LibraryService::list_artists(const std::string& query, Page page) {
  auto result = store_.read(
      [&](StoreSession& s) { return s.library().list_artists(fold_for_search(query), page); });
  nlohmann::json items = nlohmann::json::array();
  for (auto& a : result.items) items.push_back(artist_json(a));
  return page_json(std::move(items), result.total, page);
}

nlohmann::json LibraryService::get_artist(const AuthUser& viewer, int64_t id) {
  return store_.read([&](StoreSession& s) {
    auto artist = s.library().find_artist(id);
    if (!artist) throw ApiError::not_found("Artist not found");
    nlohmann::json j = artist_json(*artist);
    auto albums = s.library().list_albums(id, "", Page{1000, 0});
    nlohmann::json items = nlohmann::json::array();
    // Same album shape as the album list, hearts included: a page showing an
    // artist must not show the viewer's hearted albums as unhearted.
    for (auto& a : albums.items) {
      nlohmann::json album = album_json(a, s.library().is_album_hearted(viewer.id, a.id));
      album["quality"] = quality_json(s.library().album_tracks(a.id));
      items.push_back(std::move(album));
    }
    j["albums"] = std::move(items);
    return j;
  });
}

nlohmann::json LibraryService::list_albums(const AuthUser& viewer, int64_t artist_id,
                                           const std::string& query, Page page) {
  return store_.read([&](StoreSession& s) {
    auto result = s.library().list_albums(artist_id, fold_for_search(query), page);
    nlohmann::json items = nlohmann::json::array();
    for (auto& a : result.items) {
      nlohmann::json j = album_json(a, s.library().is_album_hearted(viewer.id, a.id));
      j["quality"] = quality_json(s.library().album_tracks(a.id));
      items.push_back(std::move(j));
    }
    return page_json(std::move(items), result.total, page);
  });
}

nlohmann::json LibraryService::get_album(const AuthUser& viewer, int64_t id) {
  return store_.read([&](StoreSession& s) {
    auto album = s.library().find_album(id);
    if (!album) throw ApiError::not_found("Album not found");
    auto tracks = s.library().album_tracks(id);
    auto hearted = s.library().hearted_track_ids(viewer.id, id);
    nlohmann::json j = album_json(*album, s.library().is_album_hearted(viewer.id, id));
    j["quality"] = quality_json(tracks);
    nlohmann::json items = nlohmann::json::array();
    for (auto& t : tracks) {
      bool h = std::find(hearted.begin(), hearted.end(), t.id) != hearted.end();
      items.push_back(track_json(t, h));
    }
    j["tracks"] = std::move(items);
    return j;
  });
}

nlohmann::json LibraryService::search(const AuthUser& viewer, const std::string& query, Page page) {
  std::string folded = fold_for_search(query);
  return store_.read([&](StoreSession& s) {
    nlohmann::json out = nlohmann::json::object();
    nlohmann::json artists = nlohmann::json::array();
    nlohmann::json albums = nlohmann::json::array();
    nlohmann::json tracks = nlohmann::json::array();
    // A query of only punctuation or spaces folds to nothing, which the store
    // reads as "no filter": searching for "!!!" must find nothing, not all.
    if (!folded.empty()) {
      for (auto& a : s.library().list_artists(folded, page).items) {
        artists.push_back(artist_json(a));
      }
      for (auto& a : s.library().list_albums(0, folded, page).items) {
        nlohmann::json album = album_json(a, s.library().is_album_hearted(viewer.id, a.id));
        album["quality"] = quality_json(s.library().album_tracks(a.id));
        albums.push_back(std::move(album));
      }
      std::map<int64_t, std::vector<int64_t>> hearted_by_album;
      for (auto& t : s.library().search_tracks(folded, page).items) {
        auto it = hearted_by_album.find(t.album_id);
        if (it == hearted_by_album.end()) {
          auto ids = s.library().hearted_track_ids(viewer.id, t.album_id);
          it = hearted_by_album.emplace(t.album_id, std::move(ids)).first;
        }
        bool h = std::find(it->second.begin(), it->second.end(), t.id) != it->second.end();
        tracks.push_back(track_json(t, h));
      }
    }
    out["query"] = query;
    out["artists"] = std::move(artists);
    out["albums"] = std::move(albums);
    out["tracks"] = std::move(tracks);
    return out;
  });
}

HeartResult LibraryService::heart_album(const AuthUser& user, int64_t album_id) {
  Activity row;
  bool changed = store_.write([&](StoreSession& s) {
    auto album = s.library().find_album(album_id);
    if (!album) throw ApiError::not_found("Album not found");
    if (!s.library().heart_album(user.id, album_id)) return false;
    nlohmann::json details = nlohmann::json::object();
    details["artist"] = album->artist_name;
    details["title"] = album->title;
    row = activity_.record(s, user.id, "heart", "album", album_id, details);
    return true;
  });
  if (changed) {
    activity_.publish(row, user.username);
    sync_album_links(user.id, user.username, album_id);
  }
  return {true, changed};
}

HeartResult LibraryService::unheart_album(const AuthUser& user, int64_t album_id) {
  Activity row;
  bool changed = store_.write([&](StoreSession& s) {
    auto album = s.library().find_album(album_id);
    if (!album) throw ApiError::not_found("Album not found");
    if (!s.library().unheart_album(user.id, album_id)) return false;
    nlohmann::json details = nlohmann::json::object();
    details["artist"] = album->artist_name;
    details["title"] = album->title;
    row = activity_.record(s, user.id, "unheart", "album", album_id, details);
    return true;
  });
  if (changed) {
    activity_.publish(row, user.username);
    sync_album_links(user.id, user.username, album_id);
  }
  return {false, changed};
}

HeartResult LibraryService::heart_track(const AuthUser& user, int64_t track_id) {
  std::vector<Activity> rows;
  int64_t album_id = 0;
  store_.write([&](StoreSession& s) {
    auto track = s.library().find_track(track_id);
    if (!track) throw ApiError::not_found("Track not found");
    album_id = track->album_id;
    auto album = s.library().find_album(track->album_id);
    if (!album) throw ApiError::not_found("Album not found");
    if (!s.library().heart_track(user.id, track_id)) return;
    nlohmann::json details = nlohmann::json::object();
    details["artist"] = album->artist_name;
    details["album"] = album->title;
    details["album_id"] = album->id;
    details["title"] = track->title;
    rows.push_back(activity_.record(s, user.id, "heart", "track", track_id, details));
    // Hearting every track of an album hearts the album (SPEC §3).
    if (s.library().all_tracks_hearted(user.id, album->id) &&
        s.library().heart_album(user.id, album->id)) {
      nlohmann::json album_details = nlohmann::json::object();
      album_details["artist"] = album->artist_name;
      album_details["title"] = album->title;
      rows.push_back(activity_.record(s, user.id, "heart", "album", album->id, album_details));
    }
  });
  for (auto& row : rows) activity_.publish(row, user.username);
  if (!rows.empty()) sync_album_links(user.id, user.username, album_id);
  return {true, !rows.empty()};
}

HeartResult LibraryService::unheart_track(const AuthUser& user, int64_t track_id) {
  Activity row;
  int64_t album_id = 0;
  bool changed = store_.write([&](StoreSession& s) {
    auto track = s.library().find_track(track_id);
    if (!track) throw ApiError::not_found("Track not found");
    album_id = track->album_id;
    if (!s.library().unheart_track(user.id, track_id)) return false;
    auto album = s.library().find_album(track->album_id);
    nlohmann::json details = nlohmann::json::object();
    details["artist"] = album ? album->artist_name : "";
    details["album"] = album ? album->title : "";
    details["album_id"] = track->album_id;
    details["title"] = track->title;
    row = activity_.record(s, user.id, "unheart", "track", track_id, details);
    return true;
  });
  if (changed) {
    activity_.publish(row, user.username);
    sync_album_links(user.id, user.username, album_id);
  }
  return {false, changed};
}

nlohmann::json LibraryService::my_library(const AuthUser& user, Page page) {
  return store_.read([&](StoreSession& s) {
    auto albums = s.library().hearted_albums(user.id, page);
    auto tracks = s.library().hearted_tracks(user.id, page);
    nlohmann::json album_items = nlohmann::json::array();
    for (auto& a : albums.items) album_items.push_back(album_json(a, true));
    nlohmann::json track_items = nlohmann::json::array();
    for (auto& t : tracks.items) track_items.push_back(track_json(t, true));
    nlohmann::json out = nlohmann::json::object();
    out["albums"] = page_json(std::move(album_items), albums.total, page);
    out["tracks"] = page_json(std::move(track_items), tracks.total, page);
    return out;
  });
}

void LibraryService::sync_album_links(int64_t user_id, const std::string& username,
                                      int64_t album_id) {
  if (files_.links == nullptr) return;
  std::vector<std::string> wanted;
  std::vector<std::string> unwanted;
  store_.read([&](StoreSession& s) {
    bool whole = s.library().is_album_hearted(user_id, album_id);
    auto hearted = s.library().hearted_track_ids(user_id, album_id);
    std::set<int64_t> hearted_set(hearted.begin(), hearted.end());
    for (const Track& t : s.library().album_tracks(album_id)) {
      if (t.path.empty()) continue;
      (whole || hearted_set.count(t.id) ? wanted : unwanted).push_back(t.path);
    }
  });
  try {
    if (!unwanted.empty()) files_.links->unlink(username, unwanted);
    if (!wanted.empty()) files_.links->link(username, wanted);
  } catch (const std::exception& e) {
    spdlog::warn("links of user '{}' for album {} not updated: {}", username, album_id, e.what());
  }
}

// The album as one read sees it: its rows, its tracks and who hearts it.
LibraryService::AlbumSnapshot LibraryService::load_album(int64_t album_id) {
  AlbumSnapshot snap;
  store_.read([&](StoreSession& s) {
    auto album = s.library().find_album(album_id);
    if (!album) return;
    snap.album = *album;
    snap.tracks = s.library().album_tracks(album_id);
    snap.holders = s.library().heart_holders(album_id);
  });
  if (snap.album.id == 0) throw ApiError::not_found("Album not found");
  return snap;
}

// Never two movers on one folder: an import upgrading this album (in this
// process or in `barbossa import`) holds the folder's lease from listing its
// files to its commit. Refused rather than waited for: an upgrade may take
// minutes, and the admin can simply delete again afterwards. `snap` is read
// again under the lease: an upgrade that committed since the first read
// changed the tracks (and the links to remove).
FolderLease LibraryService::lease_album_folder(AlbumSnapshot& snap) {
  const int64_t album_id = snap.album.id;
  const std::string path = snap.album.path;
  FolderLease lease = files_.mover->lease_folder(files_.library_dir / path, false);
  if (!lease.held()) {
    throw ApiError::conflict("Album " + std::to_string(album_id) +
                             " is being changed by an import; try again when it is done");
  }
  // A mover that died on this folder (a `barbossa import` killed in the
  // middle of an upgrade) left a journal that still claims it: settle it
  // first, or this would trash half of each copy and its rollback would then
  // bring old files back without rows. Live moves are locked and left alone.
  try {
    files_.mover->recover([&](const std::string& id) {
      return store_.read([&](StoreSession& s) { return s.imports().is_move_committed(id); });
    });
  } catch (const std::exception& e) {
    spdlog::error("deleting album {}: recovering interrupted album moves failed: {}", album_id,
                  e.what());
  }
  snap = load_album(album_id);
  if (snap.album.path != path) {
    throw ApiError::conflict("Album " + std::to_string(album_id) + " moved; try again");
  }
  return lease;
}

// Every file of the album's folder to DATA_DIR's trash, as one journaled
// move; none when the album has no folder in the library.
std::optional<AlbumMove> LibraryService::plan_album_trash(const Album& album) const {
  namespace fs = std::filesystem;
  const fs::path album_dir = files_.library_dir / album.path;
  std::error_code ec;
  if (!is_within(files_.library_dir, album_dir) || !fs::is_directory(album_dir, ec)) {
    return std::nullopt;
  }
  AlbumMove move;
  move.id = "delete-" + std::to_string(album.id) + "-" + std::to_string(unix_now_ms()) + "-" +
            std::to_string(std::random_device{}());
  const fs::path trash =
      files_.trash_dir / (compact_utc_stamp(unix_now_ms()) + "-album-" + std::to_string(album.id));
  add_folder_steps(move.steps, album_dir, trash, false);  // a listing error trashes what it read
  move.source_root = album_dir;
  return move;
}

// Links of everyone who hearted the album go with its files.
void LibraryService::unlink_deleted_album(const AlbumSnapshot& snap) {
  if (files_.links == nullptr) return;
  std::vector<std::string> paths;
  for (const Track& t : snap.tracks) {
    if (!t.path.empty()) paths.push_back(t.path);
  }
  for (const HeartHolder& h : snap.holders) {
    try {
      files_.links->unlink(h.username, paths);
    } catch (const std::exception& e) {
      spdlog::warn("links of user '{}' for deleted album {} not removed: {}", h.username,
                   snap.album.id, e.what());
    }
  }
}

void LibraryService::delete_album(const AuthUser& admin, int64_t album_id) {
  AlbumSnapshot snap = load_album(album_id);
  const bool has_files = files_.mover != nullptr && !snap.album.path.empty();
  FolderLease lease;
  if (has_files) lease = lease_album_folder(snap);
  std::optional<AlbumMove> move;
  if (has_files) move = plan_album_trash(snap.album);

  const Album& album = snap.album;
  Activity row;
  ChangeTidy tidy;
  tidy.after_finish = [&] {
    // The artist's folder goes too when this was its last album.
    std::filesystem::path artist_dir = (files_.library_dir / album.path).parent_path();
    std::error_code ec;
    if (std::filesystem::is_directory(artist_dir, ec)) {
      prune_empty_dirs(artist_dir, files_.library_dir);
    }
  };
  commit_journaled_change(
      store_, files_.mover, move ? &*move : nullptr,
      [&](StoreSession& s) {
        s.library().delete_album(album_id);
        s.library().delete_artist_if_empty(album.artist_id);
        nlohmann::json details = nlohmann::json::object();
        details["artist"] = album.artist_name;
        details["title"] = album.title;
        details["year"] = album.year;
        row = activity_.record(s, admin.id, "delete", "album", album_id, details);
      },
      tidy);

  unlink_deleted_album(snap);
  spdlog::info("album {} '{}' by '{}' deleted by '{}'", album_id, album.title, album.artist_name,
               admin.username);
  activity_.publish(row, admin.username);
  bus_.publish(library_updated_event("album", album_id, "deleted"));
}

}  // namespace barbossa
