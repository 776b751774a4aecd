// Online backup of a SQLite database file into another file (SPEC 8
// backup-database).
#pragma once

#include <filesystem>
#include <string>

namespace barbossa::sqlite {

// Writes a consistent copy of the database at source_path to destination
// while it stays in use, through its own connections (never a pooled one).
// The copy appears under that name complete and synced, or not at all: a
// crash leaves at most destination + ".tmp". Throws on failure.
void backup_database_file(const std::string& source_path, const std::filesystem::path& destination);

}  // namespace barbossa::sqlite
