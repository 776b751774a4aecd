// A store, a library folder, an event bus whose events are kept, and
// hand-made candidates for the tests of the import stages (plan, record,
// publish, duplicate lookup, the import job): no audio files are read, so
// these run in milliseconds.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "bus/event_bus.h"
#include "core/identify.h"
#include "core/normalize.h"
#include "importer/import_request.h"
#include "services/activity_service.h"
#include "store/store.h"
#include "unit/temp_dir.h"

namespace barbossa::test {

inline void write_file(const std::filesystem::path& p, const std::string& content = "x") {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

class StageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.path();
    for (const char* d : {"library", "import/review", "import/rejected", "trash", "inbox"}) {
      std::filesystem::create_directories(root_ / d);
    }
    paths_ = ImportPaths{root_ / "library", root_ / "import", root_ / "trash"};
    store_ = open_store((root_ / "db.sqlite").string());
    store_->migrate();
    SeqPersistence none{[] { return uint64_t{0}; }, [](uint64_t) {}};
    bus_ = make_memory_event_bus(100, none);
    bus_->subscribe([this](const EventPtr& e) {
      std::lock_guard lock(events_mutex_);
      events_.push_back(e);
    });
    activity_ = std::make_unique<ActivityService>(*store_, *bus_);
  }

  // Every event published so far: its type and its parsed message.
  std::vector<std::pair<std::string, nlohmann::json>> published() {
    std::lock_guard lock(events_mutex_);
    std::vector<std::pair<std::string, nlohmann::json>> out;
    for (const auto& e : events_) out.emplace_back(e->type, nlohmann::json::parse(*e->json));
    return out;
  }

  // A candidate folder of `n` FLAC-named files (not real audio: the stages
  // under test only look at names, tags and checksums).
  AlbumCandidate candidate(const std::string& folder, int n,
                           const std::vector<std::string>& extras = {}) {
    AlbumCandidate c;
    c.root = root_ / "inbox" / folder;
    for (int i = 1; i <= n; ++i) {
      ScannedTrack t;
      t.relative = std::to_string(i) + ".flac";
      t.path = c.root / t.relative;
      t.info.format = "FLAC";
      t.info.lossless = true;
      t.info.sample_rate = 44100;
      t.info.bit_depth = 16;
      t.info.file_size = 1000;
      t.sha256 = std::string(64, static_cast<char>('a' + i));
      write_file(t.path);
      c.tracks.push_back(t);
    }
    for (const auto& e : extras) {
      write_file(c.root / e);
      c.extras.push_back(c.root / e);
    }
    return c;
  }

  Identification ident(const std::string& artist, const std::string& album, int tracks) {
    Identification id;
    id.artist = artist;
    id.album = album;
    id.year = 2001;
    id.confidence = 1.0;
    for (int i = 1; i <= tracks; ++i) id.tracks.push_back({1, i, "Song " + std::to_string(i)});
    return id;
  }

  // An album already in the library, with `tracks` track rows.
  Album seed_album(const std::string& artist_name, const std::string& title, int tracks,
                   const std::string& release = "") {
    return store_->write([&](StoreSession& s) {
      auto& lib = s.library();
      Artist artist;
      if (auto found = lib.find_artist_by_normalized(normalize_name(artist_name))) {
        artist = *found;
      } else {
        Artist a;
        a.name = artist_name;
        a.sort_name = artist_name;
        a.path = artist_name;
        artist = lib.create_artist(a);
      }
      Album album;
      album.artist_id = artist.id;
      album.title = title;
      album.year = 1999;
      album.path = artist_name + "/" + title;
      album.musicbrainz_release_id = release;
      album.status = "available";
      album = lib.create_album(album);
      for (int i = 1; i <= tracks; ++i) {
        Track t;
        t.album_id = album.id;
        t.number = i;
        t.title = "Old " + std::to_string(i);
        t.path = album.path + "/0" + std::to_string(i) + ".mp3";
        t.format = "MP3";
        t.bitrate = 128;
        t.sha256 = std::string(63, 'f') + std::to_string(i);
        lib.create_track(t);
      }
      return album;
    });
  }

  TempDir tmp_;
  std::filesystem::path root_;
  ImportPaths paths_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<EventBus> bus_;
  std::unique_ptr<ActivityService> activity_;
  std::mutex events_mutex_;
  std::vector<EventPtr> events_;
};

}  // namespace barbossa::test
