#include "http/static_files.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace barbossa {

namespace fs = std::filesystem;

namespace {
// Anything bigger is not part of the web page.
constexpr uintmax_t kMaxStaticFileBytes = 16 * 1024 * 1024;
}  // namespace

std::string mime_type_for(const std::string& path) {
  auto ext = fs::path(path).extension().string();
  if (ext == ".html" || ext == ".htm") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".woff2") return "font/woff2";
  return "application/octet-stream";
}

Handler make_static_handler(std::string web_root) {
  std::error_code ec;
  // No root, no files: an empty root would confine nothing (every path
  // "starts with" it) and serve the working directory. Config refuses an
  // empty WEB_DIR; this guards other callers.
  fs::path root = web_root.empty() ? fs::path() : fs::weakly_canonical(fs::path(web_root), ec);
  return [root](const HttpRequest& req) {
    auto not_found = [] { return HttpResponse::error(404, "not_found", "Not found"); };
    if (root.empty()) return not_found();
    const std::string& p = req.path;
    if (p.find('\0') != std::string::npos || p.find("..") != std::string::npos) return not_found();
    fs::path rel = fs::path(p).relative_path();
    fs::path candidate = root / rel;
    std::error_code err;
    if (rel.empty() || fs::is_directory(candidate, err)) candidate /= "index.html";
    fs::path real = fs::weakly_canonical(candidate, err);
    if (err) return not_found();
    // Confinement: the resolved path must stay under the root.
    auto [r_end, c_it] = std::mismatch(root.begin(), root.end(), real.begin(), real.end());
    if (r_end != root.end() || !fs::is_regular_file(real, err)) return not_found();
    // The page's assets are small, so they are read whole into the body: the
    // HTTP layer then needs no second (file) response path, and HEAD reports
    // the real length.
    auto size = fs::file_size(real, err);
    if (err || size > kMaxStaticFileBytes) return not_found();
    std::ifstream in(real, std::ios::binary);
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) return not_found();
    HttpResponse r;
    r.status = 200;
    r.content_type = mime_type_for(real.string());
    r.body = std::move(body);
    r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
  };
}

}  // namespace barbossa
