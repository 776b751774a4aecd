// open_store(): which backend a database URL names. Only SQLite is built;
// another backend adds its scheme here.

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "store/sqlite/sqlite_store.h"
#include "store/store.h"

namespace barbossa {
namespace {

// Maps a store URL to a filesystem path; see open_store() in store.h.
std::string sqlite_path_from_url(const std::string& url) {
  constexpr std::string_view kSqlitePrefix = "sqlite://";
  std::string path;
  if (url.rfind(kSqlitePrefix, 0) == 0) {
    // "sqlite:///abs" leaves "/abs"; "sqlite://rel" leaves "rel".
    path = url.substr(kSqlitePrefix.size());
  } else if (auto scheme_end = url.find("://"); scheme_end != std::string::npos) {
    throw std::runtime_error("Unsupported database URL scheme '" + url.substr(0, scheme_end) +
                             "' in '" + url + "'; only sqlite:// is supported for now");
  } else {
    path = url;
  }
  if (path.empty()) throw std::runtime_error("Database URL '" + url + "' names no file");
  if (path == ":memory:" || path.rfind("file:", 0) == 0) {
    // Each pooled connection would see its own private database.
    throw std::runtime_error("Database URL '" + url + "' is not supported; use a file path");
  }
  return path;
}

}  // namespace

std::unique_ptr<Store> open_store(const std::string& url) {
  return sqlite::open_sqlite_store(sqlite_path_from_url(url));
}

}  // namespace barbossa
