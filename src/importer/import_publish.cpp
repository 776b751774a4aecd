#include "importer/import_publish.h"

#include <map>

#include <spdlog/spdlog.h>

#include "services/events.h"

namespace barbossa {

void repoint_links_after_upgrade(Store& store, UserLinks& links, int64_t album_id,
                                 const std::vector<std::string>& old_paths) {
  std::vector<HeartHolder> holders;
  std::map<int64_t, std::string> path_of;
  store.read([&](StoreSession& s) {
    holders = s.library().heart_holders(album_id);
    for (const auto& t : s.library().album_tracks(album_id)) path_of[t.id] = t.path;
  });
  for (const auto& h : holders) {
    std::vector<std::string> wanted;
    if (h.album) {
      for (const auto& [id, p] : path_of) wanted.push_back(p);
    } else {
      for (int64_t id : h.track_ids) wanted.push_back(path_of[id]);
    }
    try {
      links.unlink(h.username, old_paths);
      links.link(h.username, wanted);
    } catch (const std::exception& e) {
      spdlog::warn("links of user '{}' for album {} not updated: {}", h.username, album_id,
                   e.what());
    }
  }
}

void publish_import(EventBus& bus, ActivityService& activity, const RecordedImport& recorded,
                    const ImportOutcome& outcome, const ImportRequest& request,
                    const std::string& reviewer_name) {
  for (const auto& a : recorded.activities) {
    const std::string& who = a.action == "review_approved" ? reviewer_name : request.username;
    activity.publish(a, who);
  }
  ImportCompleted done;
  done.album_id = outcome.album_id;
  done.artist = outcome.artist;
  done.title = outcome.album;
  done.year = outcome.year;
  done.source = request.source;
  done.status = outcome.status();
  bus.publish(import_complete_event(done));
  const bool upgrade = outcome.kind == DecisionKind::kUpgrade;
  bus.publish(library_updated_event("album", outcome.album_id, upgrade ? "updated" : "created"));
}

}  // namespace barbossa
