#include "http/api_downloads.h"

#include <algorithm>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace barbossa {
namespace {

using nlohmann::json;

HttpResponse ok(const json& body, int status = 200) {
  return HttpResponse::json(status, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

AuthUser caller(ApiContext& c, const HttpRequest& req) {
  const std::string& h = req.authorization;
  if (h.size() <= 7 || (h.rfind("Bearer ", 0) != 0 && h.rfind("bearer ", 0) != 0)) {
    throw ApiError::unauthorized("Missing bearer token");
  }
  return c.accounts.authenticate(h.substr(7));
}

DownloadService& service(ApiContext& c) {
  if (c.downloads == nullptr) {
    throw ApiError(503, "unavailable", "Downloads are not available in this process");
  }
  return *c.downloads;
}

DownloadRequest parse_request(const HttpRequest& req) {
  if (req.body.empty()) throw ApiError::bad_request("Request body must be a JSON object");
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) throw ApiError::bad_request("Request body is not valid JSON");
  if (!body.is_object()) throw ApiError::bad_request("Request body must be a JSON object");
  DownloadRequest out;
  auto url = body.find("url");
  if (url == body.end() || url->is_null()) throw ApiError::bad_request("Field 'url' is required");
  if (!url->is_string()) throw ApiError::bad_request("Field 'url' must be a string");
  out.url = url->get<std::string>();
  if (auto s = body.find("source"); s != body.end() && !s->is_null()) {
    if (!s->is_string()) throw ApiError::bad_request("Field 'source' must be a string");
    out.source = s->get<std::string>();
  }
  if (auto c = body.find("confirm_lossy"); c != body.end() && !c->is_null()) {
    if (!c->is_boolean()) throw ApiError::bad_request("Field 'confirm_lossy' must be a boolean");
    out.confirm_lossy = c->get<bool>();
  }
  return out;
}

json list_json(const PageResult<Download>& result, const Page& p) {
  json items = json::array();
  for (const Download& d : result.items) items.push_back(download_json(d));
  json out = json::object();
  out["items"] = std::move(items);
  out["total"] = result.total;
  out["limit"] = p.limit;
  out["offset"] = p.offset;
  return out;
}

}  // namespace

void register_download_routes(Router& r, ApiContext& c) {
  r.add("POST", "/api/downloads", [&c](const HttpRequest& req) {
    AuthUser u = caller(c, req);
    return ok(download_json(service(c).create(u, parse_request(req))), 201);
  });
  r.add("GET", "/api/downloads", [&c](const HttpRequest& req) {
    AuthUser u = caller(c, req);
    Page p;
    // SPEC §10: a limit above the maximum is lowered, not refused.
    p.limit = std::min(req.query_int("limit", 50, 1, INT64_MAX), c.max_page);
    p.offset = req.query_int("offset", 0, 0, INT64_MAX / 2);
    return ok(list_json(service(c).list(u, req.query_string("status"), p), p));
  });
  r.add("GET", "/api/downloads/{id}", [&c](const HttpRequest& req) {
    return ok(download_json(service(c).get(caller(c, req), req.ids[0])));
  });
  r.add("POST", "/api/downloads/{id}/cancel", [&c](const HttpRequest& req) {
    return ok(download_json(service(c).cancel(caller(c, req), req.ids[0])));
  });
  r.add("POST", "/api/downloads/{id}/retry", [&c](const HttpRequest& req) {
    return ok(download_json(service(c).retry(caller(c, req), req.ids[0])));
  });
  r.add("DELETE", "/api/downloads/{id}", [&c](const HttpRequest& req) {
    service(c).dismiss(caller(c, req), req.ids[0]);
    HttpResponse gone;
    gone.status = 204;
    gone.content_type.clear();
    return gone;
  });
}

DownloadService::Enqueue download_enqueuer(JobQueue& queue) {
  return [&queue](const Download& d) {
    NewJob job;
    job.queue = "downloads";
    job.type = "download";
    job.payload_json = json{{"download_id", d.id}}.dump();
    job.dedupe_key = "download:" + std::to_string(d.id);
    queue.enqueue(job);
  };
}

}  // namespace barbossa
