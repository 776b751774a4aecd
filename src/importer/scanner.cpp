#include "importer/scanner.h"

#include <algorithm>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

#include "core/tag_values.h"
#include "files/fs_util.h"
#include "media/sha256.h"

namespace barbossa {
namespace {

namespace fs = std::filesystem;

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

bool is_extra_path(const fs::path& path) {
  static constexpr std::string_view kExtras[] = {".jpg", ".jpeg", ".png", ".gif", ".webp",
                                                 ".cue", ".log",  ".lrc", ".txt", ".pdf"};
  const std::string ext = lower(path.extension().string());
  return std::find(std::begin(kExtras), std::end(kExtras), ext) != std::end(kExtras);
}

// Metadata other systems leave next to the music: macOS resource forks
// ("._01.flac" looks like audio but is not) and NAS thumbnail folders (whose
// JPEGs would otherwise travel with the album as extras).
bool is_junk_directory(const std::string& name) {
  return name == "__MACOSX" || name == ".AppleDouble" || name == "@eaDir";
}
bool is_junk_file(const std::string& name) {
  return name.starts_with("._");
}

// The innermost folder that names a disc wins ("Disc 1/CD2/x.flac" -> 2); a
// plain folder inside a disc folder keeps its disc ("CD2/Bonus/x.flac" -> 2).
int disc_from_relative(const fs::path& relative) {
  int disc = 0;
  for (auto it = relative.begin(); it != relative.end(); ++it) {
    if (std::next(it) == relative.end()) break;  // the file name itself
    if (int n = disc_from_folder_name(it->string()); n > 0) disc = n;
  }
  return disc;
}

struct FileOutcome {
  std::optional<ScannedTrack> track;
  std::string problem;
};

// The files of one folder: subfolders go on `pending`, audio files on
// `audio`, extras into the album. Returns the error that stopped the listing.
std::error_code list_folder(const fs::path& dir, std::vector<fs::path>& pending,
                            std::vector<fs::path>& audio, AlbumCandidate& album) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  for (const fs::directory_iterator end; !ec && it != end; it.increment(ec)) {
    const fs::directory_entry& entry = *it;
    const std::string name = entry.path().filename().string();
    // symlink_status: a link is never followed, to a folder or to a file,
    // so nothing outside root is ever read or moved with the album.
    std::error_code status_ec;
    const fs::file_status status = entry.symlink_status(status_ec);
    if (status_ec) continue;
    if (fs::is_directory(status)) {
      if (!is_junk_directory(name)) pending.push_back(entry.path());
      continue;
    }
    if (!fs::is_regular_file(status) || is_junk_file(name)) continue;
    if (is_audio_path(entry.path())) {
      audio.push_back(entry.path());
    } else if (is_extra_path(entry.path())) {
      album.extras.push_back(entry.path());
    }
  }
  return ec;
}

// Our own walk rather than recursive_directory_iterator: that one turns into
// the end iterator on the first unreadable subfolder, losing its siblings;
// here such a folder becomes a problem and the walk goes on. Returns the
// audio files; extras and problems go into the album.
std::vector<fs::path> walk_album_folder(const fs::path& root, AlbumCandidate& album) {
  std::vector<fs::path> audio;
  std::vector<fs::path> pending{root};
  while (!pending.empty()) {
    const fs::path dir = std::move(pending.back());
    pending.pop_back();
    const std::error_code ec = list_folder(dir, pending, audio, album);
    if (!ec) continue;
    if (dir == root) {
      throw std::runtime_error("scan: cannot read " + display_path(root) + ": " + ec.message());
    }
    album.problems.push_back(display_path(dir.lexically_relative(root).generic_string()) +
                             "/: cannot read folder (" + ec.message() + ")");
  }
  return audio;
}

// Tags, properties and SHA-256 of one audio file, or the problem that
// stopped it.
FileOutcome read_track(const fs::path& root, const fs::path& path, const ScanOptions& options) {
  FileOutcome out;
  const fs::path relative_path = path.lexically_relative(root);
  // The display form (a Latin-1 name reads right in reasons, replies and a
  // title taken from the file name); `path` keeps the bytes that find the file.
  const std::string relative = display_path(relative_path.generic_string());
  AudioReadResult read = read_audio_file(path, options.per_file_time_bound);
  if (!read.info) {
    out.problem = relative + ": " + read.error;
    return out;
  }
  ScannedTrack track;
  try {
    track.sha256 = sha256_file(path);
  } catch (const std::exception& e) {
    out.problem = relative + ": " + e.what();
    return out;
  }
  track.path = path;
  track.relative = relative;
  track.info = std::move(*read.info);
  track.disc_from_folder = disc_from_relative(relative_path);
  out.track = std::move(track);
  return out;
}

// Every file read in parallel, on the shared pool when there is one.
std::vector<FileOutcome> read_tracks(const fs::path& root, const std::vector<fs::path>& audio,
                                     const ScanOptions& options) {
  std::vector<FileOutcome> outcomes(audio.size());
  auto each_file = [&](size_t i) { outcomes[i] = read_track(root, audio[i], options); };
  if (options.pool != nullptr) {
    size_t helpers = options.threads == 0 ? options.pool->size() : options.threads - 1;
    options.pool->run(audio.size(), helpers, each_file);
  } else {
    parallel_for(audio.size(), options.threads, each_file);
  }
  return outcomes;
}

void add_outcomes(std::vector<FileOutcome>& outcomes, AlbumCandidate& album) {
  for (FileOutcome& outcome : outcomes) {
    if (outcome.track) {
      album.tracks.push_back(std::move(*outcome.track));
    } else {
      album.problems.push_back(std::move(outcome.problem));
    }
  }
  // Sorting absolute paths sorts by relative path except where a separator
  // competes with a character below '/' ("A B" vs "A/B"): sort on the key.
  std::sort(album.tracks.begin(), album.tracks.end(),
            [](const ScannedTrack& a, const ScannedTrack& b) { return a.relative < b.relative; });
}

}  // namespace

AlbumCandidate scan_album_folder(const fs::path& root_in, const ScanOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(root_in, ec)) {
    throw std::runtime_error("scan: not a directory: " + display_path(root_in) +
                             (ec ? " (" + ec.message() + ")" : std::string()));
  }
  // Callers get absolute paths whatever form the root came in.
  const fs::path root = fs::absolute(root_in);

  AlbumCandidate album;
  album.root = root;
  std::vector<fs::path> audio = walk_album_folder(root, album);
  // Directory order is arbitrary; relative order is what the caller sees.
  std::sort(audio.begin(), audio.end());
  std::sort(album.extras.begin(), album.extras.end());

  std::vector<FileOutcome> outcomes = read_tracks(root, audio, options);
  add_outcomes(outcomes, album);
  return album;
}

}  // namespace barbossa
