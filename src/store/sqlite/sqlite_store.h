// The SQLite backend of Store: a connection pool over one database file.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace barbossa::sqlite {

// Opens (creating it and its folder, owner-only) the database file at path.
// Throws std::runtime_error "Cannot open database '<path>': ..." on failure.
std::unique_ptr<Store> open_sqlite_store(const std::string& path);

}  // namespace barbossa::sqlite
