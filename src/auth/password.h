// Argon2id password hashing (libsodium, interactive limits: about 64 MiB and
// a few tens of milliseconds per hash, which keeps login >= 10/s on 2 cores).
#pragma once

#include <string>
#include <string_view>

namespace barbossa {

// Throws std::runtime_error if libsodium cannot allocate the memory it needs.
std::string hash_password(std::string_view password);
bool verify_password(std::string_view password, const std::string& encoded_hash);

// Rejects passwords that are too short or too long with a message for the user;
// empty string when acceptable.
std::string password_problem(std::string_view password);

// Random URL-safe text of `bytes` random bytes (for generated passwords and secrets).
std::string random_token(size_t bytes);

}  // namespace barbossa
