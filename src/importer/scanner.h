// Album scanner: one folder, walked recursively, becomes one album candidate
// with its audio tracks (tags, properties, SHA-256), the extras that travel
// with it (images, cue sheets, logs, lyrics) and the problems found (each
// names the file and the reason). Files are read and hashed in parallel.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "media/audio_file.h"
#include "media/parallel_pool.h"

namespace barbossa {

struct ScannedTrack {
  std::filesystem::path path;  // absolute
  std::string relative;        // inside the album folder, '/'-separated, UTF-8 (display_path)
  AudioInfo info;
  int disc_from_folder = 0;  // "CD2", "Disc 2" in the relative path; 0: none
  std::string sha256;
};

struct AlbumCandidate {
  std::filesystem::path root;
  std::vector<ScannedTrack> tracks;           // sorted by relative path
  std::vector<std::filesystem::path> extras;  // absolute; images, .cue, .log, .lrc, .txt
  std::vector<std::string> problems;          // "02 - B.flac: zero-byte file"
};

struct ScanOptions {
  std::chrono::milliseconds per_file_time_bound{10000};
  size_t threads = 0;  // 0: hardware concurrency
  // Shared threads to borrow (the composition root owns them); null: threads
  // are started for this scan.
  ParallelPool* pool = nullptr;
};

// Throws std::runtime_error when root is not a readable directory. Symlinks
// inside are not followed (a link cannot smuggle files from elsewhere); other
// files (desktop.ini, .DS_Store) are ignored.
AlbumCandidate scan_album_folder(const std::filesystem::path& root,
                                 const ScanOptions& options = {});

}  // namespace barbossa
