// libFuzzer target: tag reading (media/audio_file.h) on arbitrary bytes. The
// input is written to a file under each audio extension TagLib dispatches on
// and read with our time bound, as a scan of a hostile inbox would. The read
// must return info or an error reason, and every tag value must be valid
// UTF-8 (it goes into JSON, SPEC §13).
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/utf8.h"
#include "media/audio_file.h"

namespace fs = std::filesystem;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "fuzz_tags: invariant violated: %s\n", what);
    abort();
  }
}

// One folder per process, removed at exit (libFuzzer exits normally at the
// end of -max_total_time).
struct WorkDir {
  fs::path path = fs::temp_directory_path() / ("fuzz_tags." + std::to_string(getpid()));
  WorkDir() { fs::create_directories(path); }
  ~WorkDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

const fs::path& work_dir() {
  static const WorkDir dir;
  return dir.path;
}

void check_tags(const barbossa::AudioTags& t) {
  for (const std::string* s :
       {&t.artist, &t.album_artist, &t.album, &t.title, &t.date, &t.genre, &t.musicbrainz_album_id,
        &t.musicbrainz_recording_id, &t.musicbrainz_artist_id, &t.isrc}) {
    check(barbossa::is_valid_utf8(*s), "tag value is not valid UTF-8");
  }
  for (const std::string& s : t.artists)
    check(barbossa::is_valid_utf8(s), "artist not valid UTF-8");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (const char* ext : {".flac", ".mp3", ".m4a", ".ogg", ".opus"}) {
    fs::path file = work_dir() / (std::string("input") + ext);
    {
      std::ofstream out(file, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    // The server's default bound is 10 s; a few seconds is plenty for a
    // small input even under the sanitizers, and a hang still shows here.
    auto result = barbossa::read_audio_file(file, std::chrono::seconds(5));
    check(result.info.has_value() != !result.error.empty(), "neither info nor an error reason");
    if (result.error == "timed out reading tags") {
      fprintf(stderr, "fuzz_tags: read of %zu bytes as %s timed out\n", size, ext);
    }
    if (result.info) {
      check(result.info->duration_ms >= 0 && result.info->file_size == static_cast<int64_t>(size),
            "impossible duration or size");
      check_tags(result.info->tags);
    }
  }
  return 0;
}
