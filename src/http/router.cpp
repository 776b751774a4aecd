#include "http/router.h"

#include <charconv>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "store/store_error.h"

namespace barbossa {
namespace {

// A store error as a client sees it: the status, code and message the store
// answered with when it still threw ApiError itself.
HttpResponse store_error_response(const StoreError& e) {
  switch (e.kind()) {
    case StoreError::Kind::kConflict:
      return HttpResponse::error(409, "conflict", e.what());
    case StoreError::Kind::kNotFound:
      return HttpResponse::error(404, "not_found", e.what());
    case StoreError::Kind::kInvalidArgument:
      break;
  }
  return HttpResponse::error(400, "bad_request", e.what());
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j;
  }
  return parts;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

bool parse_query(std::string_view query, std::unordered_map<std::string, std::string>& out) {
  size_t i = 0;
  while (i <= query.size()) {
    size_t amp = query.find('&', i);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view pair = query.substr(i, amp - i);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      std::string key, value;
      if (!percent_decode(pair.substr(0, eq), key, true)) return false;
      if (eq != std::string_view::npos && !percent_decode(pair.substr(eq + 1), value, true)) {
        return false;
      }
      out[key] = value;
    }
    i = amp + 1;
  }
  return true;
}

std::string HttpRequest::query_string(const std::string& key, const std::string& fallback) const {
  auto it = query.find(key);
  return it == query.end() ? fallback : it->second;
}

int64_t HttpRequest::query_int(const std::string& key, int64_t fallback, int64_t min,
                               int64_t max) const {
  auto it = query.find(key);
  if (it == query.end() || it->second.empty()) return fallback;
  int64_t value = 0;
  const auto& s = it->second;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    throw ApiError::bad_request("Query parameter '" + key + "' must be an integer");
  }
  if (value < min || value > max) {
    throw ApiError::bad_request("Query parameter '" + key + "' must be between " +
                                std::to_string(min) + " and " + std::to_string(max));
  }
  return value;
}

HttpResponse HttpResponse::json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::error(int status, std::string_view code, std::string_view message) {
  nlohmann::json inner = nlohmann::json::object();
  inner["code"] = code;
  inner["message"] = message;
  nlohmann::json outer = nlohmann::json::object();
  outer["error"] = std::move(inner);
  // Messages may quote request text (a path, a name) that is not valid UTF-8;
  // replacing bad bytes keeps the error an error instead of a 500.
  return json(status, outer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Router::add(std::string method, std::string pattern, Handler handler) {
  Route route;
  route.method = std::move(method);
  for (auto part : split_path(pattern)) route.segments.emplace_back(part);
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
}

bool Router::match(const Route& route, const std::vector<std::string_view>& parts,
                   std::vector<int64_t>& ids, std::vector<std::string>& names) {
  if (route.segments.size() != parts.size()) return false;
  ids.clear();
  names.clear();
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto& seg = route.segments[i];
    if (seg == "{id}") {
      int64_t v = 0;
      auto [ptr, ec] = std::from_chars(parts[i].data(), parts[i].data() + parts[i].size(), v);
      if (ec != std::errc() || ptr != parts[i].data() + parts[i].size() || v <= 0) return false;
      ids.push_back(v);
    } else if (seg == "{name}") {
      if (parts[i].empty()) return false;
      names.emplace_back(parts[i]);
    } else if (seg != parts[i]) {
      return false;
    }
  }
  return true;
}

HttpResponse Router::handle(HttpRequest& request) const {
  return guard(request, [&]() -> HttpResponse {
    auto parts = split_path(request.path);
    std::vector<int64_t> ids;
    std::vector<std::string> names;
    std::string allowed;
    for (const auto& route : routes_) {
      if (!match(route, parts, ids, names)) continue;
      bool method_ok =
          route.method == request.method || (route.method == "GET" && request.method == "HEAD");
      if (!method_ok) {
        if (allowed.find(route.method) == std::string::npos) {
          allowed += allowed.empty() ? route.method : ", " + route.method;
        }
        continue;
      }
      request.ids = ids;
      request.names = names;
      return route.handler(request);
    }
    if (!allowed.empty()) {
      auto r = HttpResponse::error(405, "method_not_allowed",
                                   "Method " + request.method + " is not allowed here");
      r.headers.emplace_back("Allow", allowed);
      return r;
    }
    bool is_api = request.path == "/api" || request.path.rfind("/api/", 0) == 0;
    if (!is_api && fallback_ && (request.method == "GET" || request.method == "HEAD")) {
      return fallback_(request);
    }
    return HttpResponse::error(404, "not_found", "No such route: " + request.path);
  });
}

HttpResponse Router::guard(const HttpRequest& request, const std::function<HttpResponse()>& body) {
  try {
    return body();
  } catch (const RateLimitedError& e) {
    auto r = HttpResponse::error(e.status(), e.code(), e.what());
    r.headers.emplace_back("Retry-After", std::to_string(e.retry_after()));
    return r;
  } catch (const ApiError& e) {
    return HttpResponse::error(e.status(), e.code(), e.what());
  } catch (const StoreError& e) {
    return store_error_response(e);
  } catch (const std::exception& e) {
    spdlog::error("{} {} failed: {}", request.method, request.path, e.what());
    return HttpResponse::error(500, "internal", "Internal server error");
  }
}

}  // namespace barbossa
