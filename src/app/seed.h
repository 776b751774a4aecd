// Library seeding for tests and bench tooling: until the importer exists,
// albums enter the database only through these (they never touch files).
#pragma once

#include <cstdint>
#include <string>

#include "store/store.h"

namespace barbossa {

struct SeedOptions {
  int albums = 0;
  int tracks_per_album = 10;
  int users = 0;
  std::string user_format = "bench%04d";  // printf-style, one integer
  int user_start = 1;
  std::string password = "benchpass";
};

// Creates `users` plain users and `albums` albums (one artist per 10 albums).
// Returns the id of the first album created (0 when none).
int64_t seed_library(Store& store, const SeedOptions& options);

// Adds one album with `tracks` tracks of plausible CD quality; returns its id.
int64_t add_album(Store& store, const std::string& artist, const std::string& title, int year,
                  int tracks);

}  // namespace barbossa
