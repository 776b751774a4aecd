#include "http/api_json.h"

#include "core/error.h"

namespace barbossa {

using nlohmann::json;

HttpResponse json_response(const json& body, int status) {
  return HttpResponse::json(status, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

HttpResponse no_content() {
  HttpResponse r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

json parse_body(const HttpRequest& req) {
  if (req.body.empty()) throw ApiError::bad_request("Request body must be a JSON object");
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) throw ApiError::bad_request("Request body is not valid JSON");
  if (!body.is_object()) throw ApiError::bad_request("Request body must be a JSON object");
  return body;
}

std::optional<std::string> opt_string(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string())
    throw ApiError::bad_request(std::string("Field '") + key + "' must be a string");
  return it->get<std::string>();
}

std::string req_string(const json& body, const char* key) {
  auto v = opt_string(body, key);
  if (!v) throw ApiError::bad_request(std::string("Field '") + key + "' is required");
  return *v;
}

std::optional<bool> opt_bool(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean())
    throw ApiError::bad_request(std::string("Field '") + key + "' must be a boolean");
  return it->get<bool>();
}

std::string bearer_token(const HttpRequest& req) {
  const std::string& h = req.authorization;
  if (h.size() > 7 && (h.rfind("Bearer ", 0) == 0 || h.rfind("bearer ", 0) == 0))
    return h.substr(7);
  throw ApiError::unauthorized("Missing bearer token");
}

}  // namespace barbossa
