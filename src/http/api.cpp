#include "http/api.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

#include "core/error.h"
#include "core/time.h"
#include "http/api_downloads.h"
#include "http/api_json.h"

namespace barbossa {
namespace {

using nlohmann::json;

HttpResponse ok(const json& body, int status = 200) {
  return json_response(body, status);
}

json user_json(const User& u) {
  json j = json::object();
  j["id"] = u.id;
  j["username"] = u.username;
  j["is_admin"] = u.is_admin;
  j["created_at"] = u.created_at;
  return j;
}

json auth_user_json(const AuthUser& u) {
  json j = json::object();
  j["id"] = u.id;
  j["username"] = u.username;
  j["is_admin"] = u.is_admin;
  return j;
}

class Api {
 public:
  explicit Api(ApiContext& c) : c_(c) {}

  AuthUser user(const HttpRequest& req) const {
    return c_.accounts.authenticate(bearer_token(req));
  }

  AuthUser admin(const HttpRequest& req) const {
    AuthUser u = user(req);
    if (!u.is_admin) throw ApiError::forbidden("Admin role required");
    return u;
  }

  Page page(const HttpRequest& req) const {
    Page p;
    p.limit = req.query_int("limit", 50, 1, c_.max_page);
    p.offset = req.query_int("offset", 0, 0, INT64_MAX / 2);
    return p;
  }

  // Grouped by area, in the order the routes were always added.
  void register_routes(Router& r) {
    register_accounts(r);
    register_admin_users(r);
    register_library(r);
    register_hearts(r);
    register_review(r);
    register_admin_jobs(r);
    register_activity(r);
    register_admin_status(r);
    register_download_routes(r, c_);
  }

 private:
  void register_accounts(Router& r) {
    r.add("GET", "/health", [](const HttpRequest&) { return ok(json{{"status", "ok"}}); });
    r.add("POST", "/api/auth/login", [this](const HttpRequest& req) { return login(req); });
    r.add("GET", "/api/auth/me",
          [this](const HttpRequest& req) { return ok(auth_user_json(user(req))); });
  }

  HttpResponse login(const HttpRequest& req) {
    json body = parse_body(req);
    std::string username = req_string(body, "username");
    std::string password = req_string(body, "password");
    if (username.size() > 256 || password.size() > 1024) {
      throw ApiError::unauthorized("Invalid username or password");
    }
    std::string client = c_.trusted_proxies.client(req.client_address, req.forwarded_for);
    // Refused (429) or slowed before the password is looked at: a delay
    // served after the check would let guesses from many addresses be
    // hashed in parallel. The admission holds the name's one slot for
    // failing addresses until the attempt is answered.
    LoginAdmission admission = c_.accounts.admit_login(username, client);
    auto attempt = [this, username, password, client, slot = admission.in_flight] {
      LoginResult result = c_.accounts.login(username, password, client);
      json out = json::object();
      out["access_token"] = result.access_token;
      out["token_type"] = "bearer";
      out["expires_in"] = result.expires_in;
      out["user"] = auth_user_json(result.user);
      return ok(out);
    };
    if (admission.delay.count() == 0) return attempt();
    HttpResponse held;
    held.delay = admission.delay;
    held.then = std::move(attempt);  // on a handler thread once the timer fires
    return held;
  }

  void register_activity(Router& r) {
    r.add("GET", "/api/activity", [this](const HttpRequest& req) {
      user(req);
      int64_t limit = req.query_int("limit", 50, 1, c_.max_page);
      int64_t before = req.query_int("before_id", 0, 0, INT64_MAX);
      json items = json::array();
      for (auto& a : c_.activity.list(limit, before)) items.push_back(activity_json(a));
      json out = json::object();
      out["total"] = items.size();
      out["items"] = std::move(items);
      return ok(out);
    });
  }

  void register_admin_status(Router& r) {
    r.add("GET", "/api/admin/health", [this](const HttpRequest& req) {
      admin(req);
      json components = c_.component_health ? c_.component_health() : json::object();
      bool all_ok = true;
      for (auto& [name, comp] : components.items()) {
        std::string s = comp.value("status", "ok");
        if (s != "ok" && s != "disabled") all_ok = false;
      }
      json out = json::object();
      out["status"] = all_ok ? "ok" : "degraded";
      out["components"] = std::move(components);
      return ok(out);
    });

    // Admin message to one user's open pages (a `notification` event).
    r.add("POST", "/api/admin/notifications",
          [this](const HttpRequest& req) { return notify_user(req); });
  }

  HttpResponse notify_user(const HttpRequest& req) {
    admin(req);
    json body = parse_body(req);
    auto it = body.find("user_id");
    if (it == body.end() || !it->is_number_integer() || it->get<int64_t>() <= 0) {
      throw ApiError::bad_request("Field 'user_id' must be a positive integer");
    }
    int64_t target = it->get<int64_t>();
    std::string title = req_string(body, "title");
    std::string message = req_string(body, "message");
    std::string level = opt_string(body, "level").value_or("info");
    if (title.size() > 200) throw ApiError::bad_request("Field 'title' is longer than 200 bytes");
    if (message.size() > 16384)
      throw ApiError::bad_request("Field 'message' is longer than 16384 bytes");
    if (level != "info" && level != "success" && level != "warning" && level != "error") {
      throw ApiError::bad_request("Field 'level' must be info, success, warning or error");
    }
    c_.accounts.get_user(target);  // 404 for an unknown user
    json payload = json::object();
    payload["title"] = title;
    payload["message"] = message;
    payload["level"] = level;
    uint64_t seq =
        publish("notification", Channel::kNone, Audience::user(target), std::move(payload));
    json out = json::object();
    out["seq"] = seq;
    return ok(out, 202);
  }

  void register_admin_users(Router& r) {
    r.add("GET", "/api/admin/users", [this](const HttpRequest& req) {
      admin(req);
      Page p = page(req);
      // A household has few users: page the full list in memory.
      auto users = c_.accounts.list_users();
      const auto total = static_cast<int64_t>(users.size());
      json items = json::array();
      for (int64_t i = std::min(p.offset, total); i < std::min(total, p.offset + p.limit); ++i) {
        items.push_back(user_json(users[static_cast<size_t>(i)]));
      }
      json out = json::object();
      out["total"] = users.size();
      out["items"] = std::move(items);
      return ok(out);
    });
    r.add("POST", "/api/admin/users", [this](const HttpRequest& req) {
      admin(req);
      json body = parse_body(req);
      std::string username = req_string(body, "username");
      std::string password = req_string(body, "password");
      bool is_admin = opt_bool(body, "is_admin").value_or(false);
      User created = c_.accounts.create_user(username, password, is_admin);
      publish_user_change(created.id, created.username, "created");
      return ok(user_json(created), 201);
    });
    r.add("GET", "/api/admin/users/{id}", [this](const HttpRequest& req) {
      admin(req);
      return ok(user_json(c_.accounts.get_user(req.ids[0])));
    });
    r.add("PATCH", "/api/admin/users/{id}", [this](const HttpRequest& req) {
      AuthUser me = admin(req);
      json body = parse_body(req);
      UserChanges changes;
      changes.username = opt_string(body, "username");
      changes.password = opt_string(body, "password");
      changes.is_admin = opt_bool(body, "is_admin");
      User updated = c_.accounts.update_user(req.ids[0], changes, me.id);
      // The new token version already locks old tokens out; open sockets
      // follow now. A new password ends them; a new role applies live.
      if (c_.hub && changes.password) {
        c_.hub->close_user(updated.id, 4001, "Password changed");
      } else if (c_.hub && changes.is_admin) {
        c_.hub->set_admin(updated.id, updated.is_admin, updated.token_version);
      }
      publish_user_change(updated.id, updated.username, "updated");
      return ok(user_json(updated));
    });
    r.add("DELETE", "/api/admin/users/{id}", [this](const HttpRequest& req) {
      AuthUser me = admin(req);
      User gone = c_.accounts.get_user(req.ids[0]);
      c_.accounts.remove_user(req.ids[0], me.id);
      if (c_.hub) c_.hub->close_user(gone.id, 4001, "Account removed");
      publish_user_change(gone.id, gone.username, "deleted");
      return no_content();
    });
  }

  // Admin pages list users; they follow changes live on the `system` channel.
  void publish_user_change(int64_t user_id, const std::string& username, const char* action) {
    json payload = json::object();
    payload["user_id"] = user_id;
    payload["username"] = username;
    payload["action"] = action;
    publish("user_updated", Channel::kSystem, Audience::admins_only(), std::move(payload));
  }

  uint64_t publish(const char* type, Channel channel, Audience audience, json payload) {
    return c_.bus.publish(make_event_draft(type, channel, audience, std::move(payload)));
  }

  void register_library(Router& r) {
    r.add("GET", "/api/artists", [this](const HttpRequest& req) {
      user(req);
      return ok(c_.library.list_artists(req.query_string("q"), page(req)));
    });
    r.add("GET", "/api/artists/{id}", [this](const HttpRequest& req) {
      return ok(c_.library.get_artist(user(req), req.ids[0]));
    });
    r.add("GET", "/api/albums", [this](const HttpRequest& req) {
      AuthUser u = user(req);
      int64_t artist = req.query_int("artist_id", 0, 0, INT64_MAX);
      return ok(c_.library.list_albums(u, artist, req.query_string("q"), page(req)));
    });
    r.add("GET", "/api/albums/{id}", [this](const HttpRequest& req) {
      return ok(c_.library.get_album(user(req), req.ids[0]));
    });
    r.add("DELETE", "/api/albums/{id}", [this](const HttpRequest& req) {
      c_.library.delete_album(admin(req), req.ids[0]);
      return no_content();
    });
    r.add("GET", "/api/search", [this](const HttpRequest& req) {
      AuthUser u = user(req);
      std::string q = req.query_string("q");
      if (q.empty()) throw ApiError::bad_request("Query parameter 'q' is required");
      if (q.size() > 256) throw ApiError::bad_request("Query parameter 'q' is too long");
      return ok(c_.library.search(u, q, page(req)));
    });
  }

  static json heart_json(const char* kind, int64_t id, const HeartResult& h) {
    json out = json::object();
    out[kind] = id;
    out["is_hearted"] = h.hearted;
    out["changed"] = h.changed;
    return out;
  }

  void register_hearts(Router& r) {
    auto heart_album = [this](const HttpRequest& req) {
      auto h = c_.library.heart_album(user(req), req.ids[0]);
      return ok(heart_json("album_id", req.ids[0], h), h.changed ? 201 : 200);
    };
    r.add("POST", "/api/me/library/albums/{id}", heart_album);
    r.add("POST", "/api/albums/{id}/heart", heart_album);  // alias used by wsbench
    r.add("DELETE", "/api/me/library/albums/{id}", [this](const HttpRequest& req) {
      auto h = c_.library.unheart_album(user(req), req.ids[0]);
      return ok(heart_json("album_id", req.ids[0], h));
    });
    r.add("POST", "/api/me/library/tracks/{id}", [this](const HttpRequest& req) {
      auto h = c_.library.heart_track(user(req), req.ids[0]);
      return ok(heart_json("track_id", req.ids[0], h), h.changed ? 201 : 200);
    });
    r.add("DELETE", "/api/me/library/tracks/{id}", [this](const HttpRequest& req) {
      auto h = c_.library.unheart_track(user(req), req.ids[0]);
      return ok(heart_json("track_id", req.ids[0], h));
    });
    r.add("GET", "/api/me/library", [this](const HttpRequest& req) {
      return ok(c_.library.my_library(user(req), page(req)));
    });
  }

  ImportService& importer() const {
    if (c_.importer == nullptr) throw ApiError(503, "unavailable", "The importer is not running");
    return *c_.importer;
  }

  static json review_json(const ReviewItem& r) {
    json j = json::object();
    j["id"] = r.id;
    j["status"] = to_string(r.status);
    j["path_name"] = r.path_name;
    j["suggested_artist"] = r.suggested_artist;
    j["suggested_album"] = r.suggested_album;
    j["suggested_year"] = r.suggested_year > 0 ? json(r.suggested_year) : json(nullptr);
    j["confidence"] = r.confidence;
    j["reasons"] = r.reasons;
    j["track_count"] = r.track_count;
    j["quality"] = r.quality_summary;
    j["source"] = r.source;
    j["download_id"] = r.download_id ? json(*r.download_id) : json(nullptr);
    j["duplicate_of"] = r.duplicate_of ? json(*r.duplicate_of) : json(nullptr);
    j["album_id"] = r.album_id ? json(*r.album_id) : json(nullptr);
    j["reviewer_id"] = r.reviewer_id ? json(*r.reviewer_id) : json(nullptr);
    j["created_at"] = r.created_at;
    j["updated_at"] = r.updated_at;
    return j;
  }

  static json outcome_json(const ImportOutcome& o) {
    json j = json::object();
    j["status"] = o.status();
    j["album_id"] = o.album_id != 0 ? json(o.album_id) : json(nullptr);
    j["review_id"] = o.review_id != 0 ? json(o.review_id) : json(nullptr);
    j["artist"] = o.artist;
    j["album"] = o.album;
    j["year"] = o.year > 0 ? json(o.year) : json(nullptr);
    j["reasons"] = o.reasons;
    return j;
  }

  // Admins see every item; a user sees the items of what they brought in.
  // Anyone else gets 404, not 403: the item's existence is not theirs to know.
  ReviewItem visible_review(const AuthUser& u, int64_t id) {
    auto item = importer().find_review(id);
    if (!item || (!u.is_admin && item->user_id != u.id)) {
      throw ApiError::not_found("Review item not found");
    }
    return *item;
  }

  void register_review(Router& r) {
    r.add("GET", "/api/review", [this](const HttpRequest& req) {
      AuthUser u = user(req);
      std::string status = req.query_string("status");
      if (!status.empty() && !parse_review_status(status)) {
        throw ApiError::bad_request(
            "Query parameter 'status' must be pending, approved or rejected");
      }
      Page p = page(req);
      auto result = importer().list_reviews(
          status, u.is_admin ? std::nullopt : std::optional<int64_t>(u.id), p);
      return ok(page_json(result, p, review_json));
    });
    r.add("GET", "/api/review/{id}", [this](const HttpRequest& req) {
      return ok(review_json(visible_review(user(req), req.ids[0])));
    });
    r.add("POST", "/api/review/{id}/approve", [this](const HttpRequest& req) {
      AuthUser u = admin(req);
      ReviewOverrides overrides;
      if (!req.body.empty()) {
        json body = parse_body(req);
        overrides.artist = opt_string(body, "artist");
        overrides.album = opt_string(body, "album");
        auto it = body.find("year");
        if (it != body.end() && !it->is_null()) {
          if (!it->is_number_integer())
            throw ApiError::bad_request("Field 'year' must be an integer");
          int64_t year = it->get<int64_t>();
          if (year < 0 || year > 9999)
            throw ApiError::bad_request("Field 'year' must be between 0 and 9999");
          overrides.year = static_cast<int>(year);
        }
        for (const auto* v : {&overrides.artist, &overrides.album}) {
          if (*v && (*v)->size() > 1024)
            throw ApiError::bad_request("Names are limited to 1024 bytes");
        }
      }
      ImportOutcome outcome = importer().approve(req.ids[0], u.id, u.username, overrides);
      json out = outcome_json(outcome);
      out["review"] = review_json(visible_review(u, req.ids[0]));
      return ok(out);
    });
    r.add("POST", "/api/review/{id}/reject", [this](const HttpRequest& req) {
      AuthUser u = admin(req);
      bool delete_files = false;
      if (!req.body.empty())
        delete_files = opt_bool(parse_body(req), "delete_files").value_or(false);
      importer().reject(req.ids[0], u.id, u.username, delete_files);
      return ok(review_json(visible_review(u, req.ids[0])));
    });
  }

  JobQueue& jobs() const {
    if (c_.jobs == nullptr) {
      throw ApiError(503, "unavailable", "The job queue is not running in this process");
    }
    return *c_.jobs;
  }

  Scheduler& scheduler() const {
    if (c_.scheduler == nullptr) {
      throw ApiError(503, "unavailable", "The scheduler is not running in this process");
    }
    return *c_.scheduler;
  }

  void register_admin_jobs(Router& r) {
    r.add("GET", "/api/admin/jobs", [this](const HttpRequest& req) {
      admin(req);
      std::string status = req.query_string("status");
      if (!status.empty() && !is_job_status(status)) {
        throw ApiError::bad_request(
            "Query parameter 'status' must be queued, running, succeeded, failed, dead or "
            "cancelled");
      }
      std::string queue = req.query_string("queue");
      if (!queue.empty() && !is_job_queue(queue)) {
        throw ApiError::bad_request(
            "Query parameter 'queue' must be downloads, imports, exports or maintenance");
      }
      Page p = page(req);
      auto result = jobs().list(status, queue, p);
      return ok(page_json(result, p, job_json));
    });
    r.add("GET", "/api/admin/jobs/{id}", [this](const HttpRequest& req) {
      admin(req);
      auto job = jobs().find(req.ids[0]);
      if (!job) throw ApiError::not_found("Job " + std::to_string(req.ids[0]) + " not found");
      return ok(job_json(*job));
    });
    r.add("POST", "/api/admin/jobs/{id}/retry", [this](const HttpRequest& req) {
      admin(req);
      return ok(job_json(retry_job(jobs(), req.ids[0])));
    });
    r.add("POST", "/api/admin/jobs/{id}/cancel", [this](const HttpRequest& req) {
      admin(req);
      return ok(job_json(cancel_job(jobs(), req.ids[0])));
    });

    r.add("GET", "/api/admin/schedules", [this](const HttpRequest& req) {
      admin(req);
      json items = json::array();
      for (const auto& info : scheduler().list()) items.push_back(schedule_json(info));
      json out = json::object();
      out["items"] = std::move(items);
      return ok(out);
    });
    r.add("POST", "/api/admin/schedules/{name}/run", [this](const HttpRequest& req) {
      admin(req);
      int64_t id = scheduler().run_now(req.names[0]);  // 404 for an unknown name
      json out = json::object();
      out["job_id"] = id;
      return ok(out, 202);
    });

    r.add("GET", "/api/admin/integrity", [this](const HttpRequest& req) {
      admin(req);
      if (!c_.integrity_report) {
        throw ApiError(503, "unavailable", "Integrity reports are not available in this process");
      }
      auto text = c_.integrity_report();
      if (!text) throw ApiError::not_found("No integrity check has run yet");
      json report = json::parse(*text, nullptr, /*allow_exceptions=*/false);
      if (report.is_discarded() || !report.is_object()) {
        throw std::runtime_error("stored integrity report is not a JSON object");
      }
      return ok(report);
    });
  }

  ApiContext& c_;
};

}  // namespace

std::shared_ptr<void> register_api_routes(Router& router, ApiContext& context) {
  auto api = std::make_shared<Api>(context);
  api->register_routes(router);
  return api;
}

}  // namespace barbossa
