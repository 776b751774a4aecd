// libFuzzer target: the JSON body (and query) of every REST endpoint, through
// the real routes of http/api.h over a temporary database (api_fixture.h).
//
// Input: byte 0 picks the route, byte 1 the {id}/{name} value and who asks
// (admin, plain user, nobody), then "<query>\n<body>". A handler must answer
// every input with a JSON reply: valid JSON and valid UTF-8, a 4xx for bad
// input, never an exception and never a 500 (a 500 means an input reached an
// error path the handler did not expect).
//
// The route table mirrors register_api_routes (src/http/api.cpp); a route
// added there belongs here too.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api_fixture.h"
#include "core/utf8.h"
#include "http/router.h"

namespace {

struct Route {
  const char* method;
  const char* path;  // {id} and {name} are filled in from byte 1
};

constexpr Route kRoutes[] = {
    {"GET", "/health"},
    {"POST", "/api/auth/login"},
    {"GET", "/api/auth/me"},
    {"GET", "/api/activity"},
    {"GET", "/api/admin/health"},
    {"POST", "/api/admin/notifications"},
    {"GET", "/api/admin/users"},
    {"POST", "/api/admin/users"},
    {"GET", "/api/admin/users/{id}"},
    {"PATCH", "/api/admin/users/{id}"},
    {"DELETE", "/api/admin/users/{id}"},
    {"GET", "/api/artists"},
    {"GET", "/api/artists/{id}"},
    {"GET", "/api/albums"},
    {"GET", "/api/albums/{id}"},
    {"DELETE", "/api/albums/{id}"},
    {"GET", "/api/search"},
    {"POST", "/api/me/library/albums/{id}"},
    {"POST", "/api/albums/{id}/heart"},
    {"DELETE", "/api/me/library/albums/{id}"},
    {"POST", "/api/me/library/tracks/{id}"},
    {"DELETE", "/api/me/library/tracks/{id}"},
    {"GET", "/api/me/library"},
    {"GET", "/api/review"},
    {"GET", "/api/review/{id}"},
    {"POST", "/api/review/{id}/approve"},
    {"POST", "/api/review/{id}/reject"},
    {"GET", "/api/admin/jobs"},
    {"GET", "/api/admin/jobs/{id}"},
    {"POST", "/api/admin/jobs/{id}/retry"},
    {"POST", "/api/admin/jobs/{id}/cancel"},
    {"GET", "/api/admin/schedules"},
    {"POST", "/api/admin/schedules/{name}/run"},
    {"GET", "/api/admin/integrity"},
    {"POST", "/api/downloads"},
    {"GET", "/api/downloads"},
    {"GET", "/api/downloads/{id}"},
    {"POST", "/api/downloads/{id}/cancel"},
    {"POST", "/api/downloads/{id}/retry"},
    {"DELETE", "/api/downloads/{id}"},
};
constexpr size_t kRouteCount = sizeof kRoutes / sizeof kRoutes[0];

// Scheduler default_schedules (src/jobs/scheduler.cpp), and one that is not.
constexpr const char* kNames[] = {"scan-import-folder", "cleanup-downloads", "verify-integrity",
                                  "update-album-stats", "repair-user-links", "backup-database",
                                  "no-such-schedule"};

void check(bool ok, const char* what, const barbossa::HttpRequest& req,
           const barbossa::HttpResponse& res) {
  if (!ok) {
    fprintf(stderr, "fuzz_json_bodies: %s\n%s %s\n%s\n-> %d %s\n", what, req.method.c_str(),
            req.target.c_str(), req.body.c_str(), res.status, res.body.c_str());
    abort();
  }
}

std::string fill(std::string_view pattern, uint8_t selector) {
  std::string out(pattern);
  if (auto at = out.find("{id}"); at != std::string::npos) {
    // Mostly the ids that exist (1-4), sometimes ones that do not.
    int64_t id = (selector & 0x0F) < 12 ? 1 + (selector & 3) : 1000000 + (selector & 0x0F);
    out.replace(at, 4, std::to_string(id));
  }
  if (auto at = out.find("{name}"); at != std::string::npos) {
    out.replace(at, 6, kNames[(selector & 0x0F) % (sizeof kNames / sizeof kNames[0])]);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  barbossa::fuzz::ApiFixture& api = barbossa::fuzz::shared_fixture();
  const Route& route = kRoutes[data[0] % kRouteCount];
  const uint8_t selector = data[1];
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  size_t newline = rest.find('\n');
  std::string_view query =
      newline == std::string_view::npos ? std::string_view() : rest.substr(0, newline);
  std::string_view body = newline == std::string_view::npos ? rest : rest.substr(newline + 1);

  barbossa::HttpRequest req;
  req.method = route.method;
  req.path = fill(route.path, selector);
  req.target = req.path;
  if (!query.empty()) {
    req.target += "?" + std::string(query);
    if (!barbossa::parse_query(query, req.query))
      return 0;  // the server answers 400 before routing
  }
  req.body = std::string(body);
  req.client_address = "192.0.2.1";
  switch (selector >> 6) {
    case 0:
    case 1:
      req.authorization = api.admin_authorization();
      break;
    case 2:
      req.authorization = api.user_authorization();
      break;
    default:
      break;  // anonymous
  }

  barbossa::HttpResponse res = api.handle(req);
  check(res.status >= 200 && res.status <= 599, "status out of range", req, res);
  check(res.status != 500, "a 500: an unexpected error path", req, res);
  if (res.content_type == "application/json" && !res.body.empty()) {
    check(barbossa::is_valid_utf8(res.body), "reply is not valid UTF-8", req, res);
    check(nlohmann::json::accept(res.body), "reply is not valid JSON", req, res);
  }
  return 0;
}
