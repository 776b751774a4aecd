// Records without files, for tests and bench tooling (`barbossa dev seed`,
// `barbossa dev add-album`): users and albums written straight to the
// database, no audio file behind any track. Albums with files come in
// through the importer (`barbossa import`, the watch folder).
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

// Creates `users` plain users named by user_format from user_start (a name
// that exists already is left as it is; all share one password hash) and
// `albums` albums (one artist per 10 albums). Returns the id of the first
// album created (0 when none).
int64_t seed_library(Store& store, const SeedOptions& options);

// Adds one album with `tracks` tracks of plausible CD quality; returns its id.
int64_t add_album(Store& store, const std::string& artist, const std::string& title, int year,
                  int tracks);

}  // namespace barbossa
