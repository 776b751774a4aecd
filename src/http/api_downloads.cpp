#include "http/api_downloads.h"

#include <algorithm>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "http/api_json.h"

namespace barbossa {
namespace {

using nlohmann::json;

HttpResponse ok(const json& body, int status = 200) {
  return json_response(body, status);
}

AuthUser caller(ApiContext& c, const HttpRequest& req) {
  return c.accounts.authenticate(bearer_token(req));
}

DownloadService& service(ApiContext& c) {
  if (c.downloads == nullptr) {
    throw ApiError(503, "unavailable", "Downloads are not available in this process");
  }
  return *c.downloads;
}

DownloadRequest parse_request(const HttpRequest& req) {
  const json body = parse_body(req);
  DownloadRequest out;
  out.url = req_string(body, "url");
  if (auto source = opt_string(body, "source")) out.source = *source;
  if (auto lossy = opt_bool(body, "confirm_lossy")) out.confirm_lossy = *lossy;
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
    return ok(page_json(service(c).list(u, req.query_string("status"), p), p, download_json));
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
    return no_content();
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
