// Binding, reading and error helpers every SQLite repository shares.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdint>
#include <optional>
#include <string>

#include "store/page.h"

namespace barbossa::sqlite {

// A text column; NULL reads as "".
std::string text(const SQLite::Statement& q, int col);
// An integer column; NULL reads as nullopt.
std::optional<int64_t> opt_int(const SQLite::Statement& q, int col);

// Unknown optional values are stored as NULL (see migrations.cpp): "" and 0
// bind as NULL, and so does nullopt.
void bind_text_or_null(SQLite::Statement& q, int index, const std::string& value);
void bind_int_or_null(SQLite::Statement& q, int index, int64_t value);
void bind_opt(SQLite::Statement& q, int index, const std::optional<int64_t>& value);

// Negative LIMIT means "no limit" to SQLite; a caller's bad page must not
// turn into a full table dump.
int64_t safe_limit(const Page& p);
int64_t safe_offset(const Page& p);

bool is_unique_violation(const SQLite::Exception& e);
bool is_foreign_key_violation(const SQLite::Exception& e);

// Steps a SELECT COUNT(*) and returns its value.
int64_t count_of(SQLite::Statement& q);

}  // namespace barbossa::sqlite
