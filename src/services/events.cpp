#include "services/events.h"

#include <memory>
#include <utility>

#include <nlohmann/json.hpp>

namespace barbossa {
namespace {

using nlohmann::json;

EventDraft draft(const char* type, Channel channel, Audience audience, json payload) {
  return make_event_draft(type, channel, audience, std::move(payload));
}

json optional_json(const std::optional<int64_t>& v) {
  return v ? json(*v) : json(nullptr);
}

}  // namespace

EventDraft library_updated_event(const std::string& entity_type, int64_t entity_id,
                                 const std::string& action) {
  json p = json::object();
  p["entity_type"] = entity_type;
  p["entity_id"] = entity_id;
  p["action"] = action;
  return draft("library_updated", Channel::kLibrary, Audience::all(), std::move(p));
}

EventDraft import_complete_event(const ImportCompleted& done) {
  json p = json::object();
  p["album_id"] = done.album_id;
  p["artist"] = done.artist;
  p["title"] = done.title;
  p["year"] = done.year;
  p["source"] = done.source;
  p["status"] = done.status;
  return draft("import_complete", Channel::kLibrary, Audience::all(), std::move(p));
}

EventDraft import_review_event(const ReviewItem& item) {
  json reasons = json::array();
  for (const auto& r : item.reasons) reasons.push_back(r);
  json p = json::object();
  p["review_id"] = item.id;
  p["path"] = item.path_name;
  p["suggested_artist"] = item.suggested_artist;
  p["suggested_album"] = item.suggested_album;
  p["confidence"] = item.confidence;
  p["reasons"] = std::move(reasons);
  p["duplicate_of"] = optional_json(item.duplicate_of);
  return draft("import_review", Channel::kReview, Audience::admins_only(), std::move(p));
}

EventDraft activity_event(const Activity& activity, const std::string& username) {
  json p = json::object();
  p["activity_id"] = activity.id;
  p["action"] = activity.action;
  p["user_id"] = optional_json(activity.user_id);
  p["username"] = username.empty() ? json(nullptr) : json(username);
  p["entity_type"] = activity.entity_type;
  p["entity_id"] = activity.entity_id;
  p["details"] = json::parse(activity.details_json, nullptr, false);
  if (p["details"].is_discarded()) p["details"] = json::object();
  p["created_at"] = activity.created_at;
  return draft("activity", Channel::kActivity, Audience::all(), std::move(p));
}

EventDraft download_queued_event(const Download& download) {
  json p = json::object();
  p["download_id"] = download.id;
  p["user_id"] = download.user_id;
  p["source"] = download.source;
  p["url"] = download.url;
  p["status"] = to_string(download.status);
  return draft("download_queued", Channel::kDownloads, Audience::user_and_admins(download.user_id),
               std::move(p));
}

EventDraft download_cancelled_event(const Download& download) {
  json p = json::object();
  p["download_id"] = download.id;
  return draft("download_cancelled", Channel::kDownloads,
               Audience::user_and_admins(download.user_id), std::move(p));
}

EventDraft integrity_report_event(int64_t checked, size_t missing, size_t mismatched,
                                  int64_t duration_ms) {
  json p = json::object();
  p["checked"] = checked;
  p["missing"] = missing;
  p["mismatched"] = mismatched;
  p["duration_ms"] = duration_ms;
  return draft("integrity_report", Channel::kSystem, Audience::admins_only(), std::move(p));
}

}  // namespace barbossa
