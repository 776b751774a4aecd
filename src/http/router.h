// Router: maps (method, path pattern) to handlers over plain request and
// response structs, so handlers compile without Beast and are unit-testable.
// Patterns are literal segments, `{id}` (a positive integer) and `{name}` (any
// non-empty segment, decoded).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace barbossa {

struct HttpRequest {
  std::string method;  // upper case
  std::string target;  // as received
  std::string path;    // decoded, no query
  std::unordered_map<std::string, std::string> query;
  std::string body;
  std::string authorization;
  std::string client_address;  // the socket's peer
  // X-Forwarded-For (several headers joined with ", "); only believed as far
  // as TRUSTED_PROXIES vouch for it (auth/trusted_proxies.h).
  std::string forwarded_for;
  std::vector<int64_t> ids;        // values of {id} segments, in order
  std::vector<std::string> names;  // values of {name} segments, in order

  // Query helpers throw ApiError 400 for malformed values.
  std::string query_string(const std::string& key, const std::string& fallback = "") const;
  int64_t query_int(const std::string& key, int64_t fallback, int64_t min, int64_t max) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Answer no sooner than this (slowed logins): the server waits on a timer,
  // so a held answer never holds a handler thread.
  std::chrono::milliseconds delay{0};
  // When set, this response is only a promise: after `delay` the server runs
  // `then` on a handler thread (through Router::guard) and sends what it
  // returns. A slowed login checks the password only once its delay is over.
  std::function<HttpResponse()> then;

  static HttpResponse json(int status, std::string body);
  static HttpResponse error(int status, std::string_view code, std::string_view message);
};

using Handler = std::function<HttpResponse(const HttpRequest&)>;

class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler);
  // Used for GET/HEAD requests that match no route outside /api (web page).
  void set_fallback(Handler handler) { fallback_ = std::move(handler); }

  // Never throws: handler exceptions become JSON errors (ApiError keeps its
  // status, anything else is a 500 that is logged once).
  HttpResponse handle(HttpRequest& request) const;
  // Runs `body` with the same conversion of exceptions as handle() (for the
  // second half of a response, HttpResponse::then).
  static HttpResponse guard(const HttpRequest& request, const std::function<HttpResponse()>& body);

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
  };
  static bool match(const Route& route, const std::vector<std::string_view>& parts,
                    std::vector<int64_t>& ids, std::vector<std::string>& names);

  std::vector<Route> routes_;
  Handler fallback_;
};

// Splits "a=1&b=x%20y" into decoded pairs; returns false on bad escapes.
bool parse_query(std::string_view query, std::unordered_map<std::string, std::string>& out);
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space);

}  // namespace barbossa
