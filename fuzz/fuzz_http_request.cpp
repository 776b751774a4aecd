// libFuzzer target: an HTTP request from the wire to the router. The bytes go
// through Beast's request_parser with the server's limits, the parsed request
// becomes a plain HttpRequest the way http/server.cpp converts it (target
// split and percent-decoded, query parsed), and the router with every real
// API route answers it (api_fixture.h). Unlike fuzz_json_bodies, the method,
// path, query, headers and the token all come from the input.
//
// Byte 0 bit 0: replace the Authorization header with a valid admin token,
// so the fuzzer gets past authentication. The rest is the request.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <nlohmann/json.hpp>

#include "api_fixture.h"
#include "core/utf8.h"
#include "http/router.h"

namespace http = boost::beast::http;

namespace {

// Mirrors to_plain() in http/server.cpp (file-local there, and server.cpp is
// the one file that may include the server's Beast machinery).
barbossa::HttpRequest to_plain(const http::request<http::string_body>& req) {
  barbossa::HttpRequest out;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  std::string_view target = req.target();
  size_t q = target.find('?');
  if (!barbossa::percent_decode(target.substr(0, q), out.path, false) ||
      out.path.find('\0') != std::string::npos) {
    out.path = "\x01invalid";
  }
  if (q != std::string_view::npos && !barbossa::parse_query(target.substr(q + 1), out.query)) {
    out.query.clear();
    out.query["\x01invalid"] = "1";
  }
  out.body = req.body();
  out.authorization = std::string(req[http::field::authorization]);
  out.client_address = "192.0.2.2";
  return out;
}

void check(bool ok, const char* what, const barbossa::HttpRequest& req,
           const barbossa::HttpResponse& res) {
  if (!ok) {
    fprintf(stderr, "fuzz_http_request: %s\n%s %s\n-> %d %s\n", what, req.method.c_str(),
            req.target.c_str(), res.status, res.body.c_str());
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool as_admin = data[0] & 1;
  std::string_view wire(reinterpret_cast<const char*>(data + 1), size - 1);

  // The server's limits (server.cpp): 16 KiB of headers, MAX_BODY_BYTES of body.
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(1024 * 1024);
  parser.eager(true);
  boost::system::error_code ec;
  size_t offset = 0;
  while (!parser.is_done() && offset < wire.size()) {
    size_t used = parser.put(boost::asio::buffer(wire.data() + offset, wire.size() - offset), ec);
    if (ec == http::error::need_more) break;
    if (ec) return 0;  // the server answers 400 and closes
    if (used == 0) break;
    offset += used;
  }
  if (!parser.is_done()) {
    parser.put_eof(ec);  // the client closed: a body delimited by the end of the stream
    if (ec || !parser.is_done()) return 0;
  }

  barbossa::fuzz::ApiFixture& api = barbossa::fuzz::shared_fixture();
  barbossa::HttpRequest req = to_plain(parser.get());
  if (as_admin) req.authorization = api.admin_authorization();
  barbossa::HttpResponse res = api.handle(req);
  check(res.status >= 100 && res.status <= 599, "status out of range", req, res);
  check(res.status != 500, "a 500: an unexpected error path", req, res);
  if (res.content_type == "application/json" && !res.body.empty()) {
    check(barbossa::is_valid_utf8(res.body), "reply is not valid UTF-8", req, res);
    check(nlohmann::json::accept(res.body), "reply is not valid JSON", req, res);
  }
  return 0;
}
