#include "app/seed.h"

#include <fmt/format.h>
#include <fmt/printf.h>

#include "auth/password.h"
#include "core/normalize.h"
#include "services/account_service.h"

namespace barbossa {
namespace {

Track cd_track(int64_t album_id, int number, const std::string& title) {
  Track t;
  t.album_id = album_id;
  t.disc = 1;
  t.number = number;
  t.title = title;
  t.normalized_title = normalize_name(title);
  t.duration_ms = 180000 + number * 1000;
  t.format = "flac";
  t.lossless = true;
  t.sample_rate = 44100;
  t.bit_depth = 16;
  t.bitrate = 900;
  t.channels = 2;
  t.file_size = 20000000;
  t.sha256 = std::string(64, '0');
  t.source = "seed";
  return t;
}

Artist find_or_create_artist(StoreSession& s, const std::string& name) {
  std::string normalized = normalize_name(name);
  auto found = s.library().list_artists(fold_for_search(name), Page{100, 0});
  for (auto& a : found.items) {
    if (a.normalized_name == normalized) return a;
  }
  Artist a;
  a.name = name;
  a.sort_name = name;
  a.normalized_name = normalized;
  a.path = name;
  return s.library().create_artist(a);
}

int64_t add_album_in(StoreSession& s, const std::string& artist_name, const std::string& title,
                     int year, int tracks) {
  Artist artist = find_or_create_artist(s, artist_name);
  Album album;
  album.artist_id = artist.id;
  album.title = title;
  album.normalized_title = normalize_name(title);
  album.year = year;
  album.path = artist_name + "/" + title;
  album.total_tracks = tracks;
  album.available_tracks = tracks;
  album.source = "seed";
  Album created = s.library().create_album(album);
  for (int n = 1; n <= tracks; ++n) {
    s.library().create_track(cd_track(created.id, n, fmt::format("Track Title {}", n)));
  }
  return created.id;
}

}  // namespace

int64_t seed_library(Store& store, const SeedOptions& o) {
  if (o.users > 0) {
    // One hash for all seeded users: Argon2id per user would take minutes.
    std::string hash = hash_password(o.password);
    store.write([&](StoreSession& s) {
      for (int i = 0; i < o.users; ++i) {
        std::string name = fmt::sprintf(o.user_format, o.user_start + i);
        std::string problem = AccountService::username_problem(name);
        if (!problem.empty()) throw std::runtime_error(problem + ": " + name);
        if (!s.users().find_by_name(name)) s.users().create(name, hash, false);
      }
    });
  }
  int64_t first = 0;
  const int kBatch = 1000;
  for (int start = 0; start < o.albums; start += kBatch) {
    store.write([&](StoreSession& s) {
      for (int i = start; i < std::min(o.albums, start + kBatch); ++i) {
        int64_t id =
            add_album_in(s, fmt::format("Seed Artist {}", i / 10 + 1),
                         fmt::format("Seed Album {}", i + 1), 2000 + i % 25, o.tracks_per_album);
        if (first == 0) first = id;
      }
    });
  }
  return first;
}

int64_t add_album(Store& store, const std::string& artist, const std::string& title, int year,
                  int tracks) {
  return store.write([&](StoreSession& s) { return add_album_in(s, artist, title, year, tracks); });
}

}  // namespace barbossa
