#include "http/router.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace barbossa {
namespace {

HttpRequest req(std::string method, std::string path) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

TEST(RouterTest, MatchesLiteralAndIdSegments) {
  Router router;
  router.add("GET", "/api/albums/{id}", [](const HttpRequest& r) {
    return HttpResponse::json(200, std::to_string(r.ids.at(0)));
  });
  auto r = req("GET", "/api/albums/42");
  EXPECT_EQ(router.handle(r).body, "42");
  auto bad = req("GET", "/api/albums/abc");
  EXPECT_EQ(router.handle(bad).status, 404);
  auto zero = req("GET", "/api/albums/0");
  EXPECT_EQ(router.handle(zero).status, 404);
  auto huge = req("GET", "/api/albums/99999999999999999999999");
  EXPECT_EQ(router.handle(huge).status, 404);
}

TEST(RouterTest, NameSegmentsCaptureText) {
  Router router;
  router.add("POST", "/api/admin/schedules/{name}/run",
             [](const HttpRequest& r) { return HttpResponse::json(200, r.names.at(0)); });
  auto r = req("POST", "/api/admin/schedules/backup-database/run");
  EXPECT_EQ(router.handle(r).body, "backup-database");
  auto missing = req("POST", "/api/admin/schedules/run");
  EXPECT_EQ(router.handle(missing).status, 404);
  auto get = req("GET", "/api/admin/schedules/x/run");
  EXPECT_EQ(router.handle(get).status, 405);
}

TEST(RouterTest, WrongMethodIs405WithAllow) {
  Router router;
  router.add("GET", "/x", [](const HttpRequest&) { return HttpResponse::json(200, "{}"); });
  router.add("POST", "/x", [](const HttpRequest&) { return HttpResponse::json(200, "{}"); });
  auto r = req("DELETE", "/x");
  auto res = router.handle(r);
  EXPECT_EQ(res.status, 405);
  ASSERT_EQ(res.headers.size(), 1u);
  EXPECT_EQ(res.headers[0].second, "GET, POST");
  auto j = nlohmann::json::parse(res.body);
  EXPECT_EQ(j["error"]["code"], "method_not_allowed");
}

TEST(RouterTest, ErrorsBecomeJson) {
  Router router;
  router.add("GET", "/api/e", [](const HttpRequest&) -> HttpResponse { throw ApiError::conflict("taken"); });
  router.add("GET", "/api/boom", [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("secret detail"); });
  router.add("GET", "/api/slow", [](const HttpRequest&) -> HttpResponse { throw RateLimitedError(7); });
  auto e = req("GET", "/api/e");
  auto res = router.handle(e);
  EXPECT_EQ(res.status, 409);
  EXPECT_EQ(nlohmann::json::parse(res.body)["error"]["message"], "taken");
  auto boom = req("GET", "/api/boom");
  res = router.handle(boom);
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(res.body.find("secret detail"), std::string::npos);
  auto slow = req("GET", "/api/slow");
  res = router.handle(slow);
  EXPECT_EQ(res.status, 429);
  EXPECT_EQ(res.headers.at(0).first, "Retry-After");
  EXPECT_EQ(res.headers.at(0).second, "7");
}

TEST(RouterTest, FallbackOnlyOutsideApi) {
  Router router;
  router.set_fallback([](const HttpRequest&) { return HttpResponse::json(200, "page"); });
  auto page = req("GET", "/index.html");
  EXPECT_EQ(router.handle(page).body, "page");
  auto api = req("GET", "/api/unknown");
  EXPECT_EQ(router.handle(api).status, 404);
  auto post = req("POST", "/index.html");
  EXPECT_EQ(router.handle(post).status, 404);
}

TEST(RouterTest, QueryParsingAndValidation) {
  std::unordered_map<std::string, std::string> q;
  EXPECT_TRUE(parse_query("a=1&b=x%20y&c=p+q&d", q));
  EXPECT_EQ(q["a"], "1");
  EXPECT_EQ(q["b"], "x y");
  EXPECT_EQ(q["c"], "p q");
  EXPECT_EQ(q["d"], "");
  std::unordered_map<std::string, std::string> bad;
  EXPECT_FALSE(parse_query("a=%zz", bad));
  EXPECT_FALSE(parse_query("a=%4", bad));
  HttpRequest r;
  r.query = {{"limit", "abc"}, {"big", "500"}, {"ok", "20"}};
  EXPECT_THROW(r.query_int("limit", 1, 1, 100), ApiError);
  EXPECT_THROW(r.query_int("big", 1, 1, 100), ApiError);
  EXPECT_EQ(r.query_int("ok", 1, 1, 100), 20);
  EXPECT_EQ(r.query_int("missing", 7, 1, 100), 7);
}

}  // namespace
}  // namespace barbossa
