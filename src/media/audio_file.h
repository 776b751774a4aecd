// Reading one audio file in-process with TagLib (SPEC §5.1): tags and audio
// properties for FLAC, MP3 (ID3v1, ID3v2.2/2.3/2.4, APE), M4A (AAC, ALAC),
// Ogg Vorbis, Opus, WAV, AIFF and WavPack. A zero-byte, truncated, garbage or
// hostile file yields an error reason, never a crash; every read is bounded in
// time, so one bad file cannot hang a scan.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace barbossa {

struct AudioTags {
  std::string artist;  // multi-valued tags joined with "; "
  std::vector<std::string> artists;
  std::string album_artist;
  std::string album;
  std::string title;
  int track = 0;  // from "3" or "3/10"; 0 when absent
  int track_total = 0;
  int disc = 0;
  int disc_total = 0;
  int year = 0;
  std::string date;
  std::string genre;
  std::string musicbrainz_album_id;
  std::string musicbrainz_recording_id;
  std::string musicbrainz_artist_id;
  std::string isrc;
};

struct AudioInfo {
  std::string format;  // by container: "flac", "mp3", "m4a", "ogg", "opus", "wav", "aiff", "wv"
  std::string codec;   // "FLAC", "MP3", "AAC", "ALAC", "Vorbis", "Opus", "PCM", "WavPack"
  bool lossless = false;
  int64_t duration_ms = 0;
  int sample_rate = 0;
  int bit_depth = 0;  // from the format's own properties; 0 for lossy codecs
  int bitrate = 0;    // kbit/s
  int channels = 0;
  int64_t file_size = 0;
  AudioTags tags;
};

struct AudioReadResult {
  std::optional<AudioInfo> info;
  std::string error;  // set when info is empty: "zero-byte file", "not a valid FLAC file", ...
};

// True for the extensions the importer treats as audio (case-insensitive):
// .flac .mp3 .m4a .mp4 .aac .ogg .oga .opus .wav .aif .aiff .wv
bool is_audio_path(const std::filesystem::path& path);

constexpr int kDefaultTagReaderAbandonedMax = 8;

// Abandoned tag-reader threads (process-wide: threads are a process resource).
struct TagReaderStats {
  int abandoned = 0;             // still stuck now
  uint64_t abandoned_total = 0;  // since start
  int abandoned_max = kDefaultTagReaderAbandonedMax;
};
TagReaderStats tag_reader_stats();

// The cap (TAG_READER_ABANDONED_MAX, at least 1); set by the composition root.
void set_tag_reader_abandoned_max(int max);

// Reads tags and properties. Never throws. A read that takes longer than
// time_bound is abandoned with the error "timed out reading tags"; its helper
// thread is left to finish on its own. While as many abandoned helpers as the
// cap are still stuck, no file is read: the error is "not read: N earlier tag
// reads are still stuck (TAG_READER_ABANDONED_MAX)".
AudioReadResult read_audio_file(const std::filesystem::path& path,
                                std::chrono::milliseconds time_bound = std::chrono::seconds(10));

}  // namespace barbossa
