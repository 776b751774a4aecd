// What every group of API routes (api.cpp, api_downloads.cpp) needs to read a
// request and write an answer, written once: the JSON response, the paged
// list shape, body fields with their 400s, and the bearer token.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "http/router.h"
#include "store/page.h"

namespace barbossa {

// Text from requests and from tags is not guaranteed UTF-8: bad bytes become
// U+FFFD instead of failing the whole response.
HttpResponse json_response(const nlohmann::json& body, int status = 200);
HttpResponse no_content();

// {items, total, limit, offset}: the shape of every paged list.
template <typename T, typename ToJson>
nlohmann::json page_json(const PageResult<T>& result, const Page& p, ToJson to_json) {
  nlohmann::json items = nlohmann::json::array();
  for (const T& item : result.items) items.push_back(to_json(item));
  nlohmann::json out = nlohmann::json::object();
  out["items"] = std::move(items);
  out["total"] = result.total;
  out["limit"] = p.limit;
  out["offset"] = p.offset;
  return out;
}

// The body as a JSON object, else ApiError 400.
nlohmann::json parse_body(const HttpRequest& req);
// A field absent or null: nullopt; of another type: ApiError 400.
std::optional<std::string> opt_string(const nlohmann::json& body, const char* key);
std::string req_string(const nlohmann::json& body, const char* key);  // 400 when absent
std::optional<bool> opt_bool(const nlohmann::json& body, const char* key);

// The token of `Authorization: Bearer …`, else ApiError 401.
std::string bearer_token(const HttpRequest& req);

}  // namespace barbossa
