#include "services/download_service.h"

#include <spdlog/spdlog.h>

#include <string>
#include <utility>

#include "core/download_source.h"
#include "core/error.h"
#include "services/events.h"

namespace barbossa {
namespace {

using nlohmann::json;

std::string label(const Download& d) {
  return "Download " + std::to_string(d.id);
}

// The source a request resolves to, or ApiError for a request no source takes.
std::string resolve_source(const DownloadRequest& request) {
  if (!is_download_source(request.source)) {
    throw ApiError::bad_request("Field 'source' must be auto, http, ytdlp or qobuz");
  }
  std::string why;
  auto url = parse_download_url(request.url, why);
  if (!url) throw ApiError::unprocessable("Cannot download this URL: " + why);
  std::string source = request.source == "auto" ? auto_download_source(url->host) : request.source;
  if (source == "ytdlp" && !request.confirm_lossy) {
    throw ApiError::unprocessable(
        "The ytdlp source is lossy; resend with confirm_lossy: true to accept lossy audio");
  }
  return source;
}

json optional_json(const std::optional<int64_t>& v) {
  return v ? json(*v) : json(nullptr);
}

}  // namespace

Download DownloadService::create(const AuthUser& user, const DownloadRequest& request) {
  std::string source = resolve_source(request);
  Activity started;
  Download created = store_.write([&](StoreSession& s) {
    Download d = s.downloads().create(user.id, source, request.url);
    json details = json::object();
    details["source"] = d.source;
    details["url"] = d.url;
    started = activity_.record(s, user.id, "download_started", "download", d.id, details);
    return d;
  });
  bus_.publish(download_queued_event(created));
  activity_.publish(started, user.username);
  enqueue(created);
  return created;
}

PageResult<Download> DownloadService::list(const AuthUser& viewer, const std::string& status,
                                           Page page) {
  std::optional<DownloadStatus> wanted;
  if (!status.empty()) {
    wanted = parse_download_status(status);
    if (!wanted) {
      throw ApiError::bad_request(
          "Query parameter 'status' must be pending, downloading, importing, complete, "
          "duplicate, pending_review, failed or cancelled");
    }
  }
  std::optional<int64_t> owner;
  if (!viewer.is_admin) owner = viewer.id;
  return store_.read([&](StoreSession& s) { return s.downloads().list(wanted, owner, page); });
}

Download DownloadService::get(const AuthUser& viewer, int64_t id) {
  return store_.read([&](StoreSession& s) { return visible(s, viewer, id); });
}

Download DownloadService::cancel(const AuthUser& viewer, int64_t id) {
  Download cancelled = store_.write([&](StoreSession& s) {
    Download d = visible(s, viewer, id);
    auto moved = s.downloads().transition(
        id, {DownloadStatus::kPending, DownloadStatus::kDownloading, DownloadStatus::kImporting},
        DownloadStatus::kCancelled);
    if (!moved) {
      throw ApiError::conflict(label(d) + " is already " + std::string(to_string(d.status)) +
                               "; only a pending or running download can be cancelled");
    }
    return *moved;
  });
  bus_.publish(download_cancelled_event(cancelled));
  return cancelled;
}

Download DownloadService::retry(const AuthUser& viewer, int64_t id) {
  Download again = store_.write([&](StoreSession& s) {
    Download d = visible(s, viewer, id);
    auto moved = s.downloads().transition(id, {DownloadStatus::kFailed, DownloadStatus::kCancelled},
                                          DownloadStatus::kPending);
    if (!moved) {
      throw ApiError::conflict(label(d) + " is " + std::string(to_string(d.status)) +
                               "; only a failed or cancelled download can be retried");
    }
    return *moved;
  });
  bus_.publish(download_queued_event(again));
  enqueue(again);
  return again;
}

void DownloadService::dismiss(const AuthUser& viewer, int64_t id) {
  store_.write([&](StoreSession& s) {
    Download d = visible(s, viewer, id);
    if (!s.downloads().dismiss(id)) {
      throw ApiError::conflict(label(d) + " is still " + std::string(to_string(d.status)) +
                               "; cancel it before dismissing it");
    }
  });
}

Download DownloadService::visible(StoreSession& s, const AuthUser& viewer, int64_t id) {
  auto d = s.downloads().find(id);
  // Another user's download answers as a missing one: its existence is not
  // theirs to know.
  if (!d || d->dismissed || (!viewer.is_admin && d->user_id != viewer.id)) {
    throw ApiError::not_found("Download " + std::to_string(id) + " not found");
  }
  return *d;
}

void DownloadService::enqueue(const Download& download) {
  if (!enqueue_) return;
  try {
    enqueue_(download);
  } catch (const std::exception& e) {
    // The row is committed and stays pending: the request is not lost, and
    // a retry queues it again.
    spdlog::warn("downloads: could not queue download {}: {}", download.id, e.what());
  }
}

json download_json(const Download& d) {
  json j = json::object();
  j["id"] = d.id;
  j["user_id"] = d.user_id;
  j["source"] = d.source;
  j["url"] = d.url;
  j["status"] = to_string(d.status);
  j["progress"] = d.progress;
  j["bytes_done"] = d.bytes_done;
  j["bytes_total"] = optional_json(d.bytes_total);
  j["speed_bps"] = d.speed_bps;
  j["eta_seconds"] = optional_json(d.eta_seconds);
  j["error"] = d.error.empty() ? json(nullptr) : json(d.error);
  j["album_id"] = optional_json(d.album_id);
  j["review_id"] = optional_json(d.review_id);
  j["created_at"] = d.created_at;
  j["updated_at"] = d.updated_at;
  return j;
}

}  // namespace barbossa
