// DownloadService: the download records behind /api/downloads (SPEC §7,
// §10): create, list, get, cancel, retry, dismiss, with the owner-or-admin
// rule and the events and activity each change sends. It does no transfer:
// a created or retried download is handed to `enqueue` (the app puts it on
// the `downloads` job queue; services/ does not know jobs/), and the worker
// that runs it moves the row on from `pending`.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "bus/event_bus.h"
#include "services/account_service.h"
#include "services/activity_service.h"
#include "store/store.h"

namespace barbossa {

struct DownloadRequest {
  std::string url;
  std::string source = "auto";  // auto, http, ytdlp or qobuz
  bool confirm_lossy = false;   // required for lossy sources (ytdlp)
};

class DownloadService {
 public:
  // Called after the row commits; a throw is logged and the row stays
  // pending (nothing is lost: the row is the record of the request).
  using Enqueue = std::function<void(const Download&)>;

  DownloadService(Store& store, EventBus& bus, ActivityService& activity, Enqueue enqueue = {})
      : store_(store), bus_(bus), activity_(activity), enqueue_(std::move(enqueue)) {}

  // 400 for an unknown source; 422 for a URL no source may fetch, or a lossy
  // source without confirm_lossy.
  Download create(const AuthUser& user, const DownloadRequest& request);
  // Own downloads for users, all for admins; status "" is any, else a
  // status name (400 otherwise). Dismissed ones are left out.
  PageResult<Download> list(const AuthUser& viewer, const std::string& status, Page page);
  // 404 unless the viewer owns it or is an admin, and it is not dismissed.
  Download get(const AuthUser& viewer, int64_t id);
  // pending, downloading or importing → cancelled; 409 once finished.
  Download cancel(const AuthUser& viewer, int64_t id);
  // failed or cancelled → pending, queued again; 409 otherwise.
  Download retry(const AuthUser& viewer, int64_t id);
  // Hides a finished download from lists; 409 while it is active.
  void dismiss(const AuthUser& viewer, int64_t id);

 private:
  // The download if `viewer` may act on it, else ApiError 404.
  Download visible(StoreSession& s, const AuthUser& viewer, int64_t id);
  void enqueue(const Download& download);

  Store& store_;
  EventBus& bus_;
  ActivityService& activity_;
  Enqueue enqueue_;
};

// SPEC §10's download object.
nlohmann::json download_json(const Download& download);

}  // namespace barbossa
