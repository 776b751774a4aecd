// Unpacks a downloaded archive (zip, tar, tar.gz, tar.xz) into a download's
// staging folder with every entry confined to it (SPEC §7). The archive is
// checked whole before anything is written: one entry with "..", an absolute
// path, a symbolic or hard link, a device or fifo, or an unpacked total past
// the limit (a zip bomb) rejects it, with a reason a person can act on.
// What is written is plain files and folders; if writing fails half way,
// what was written is removed again.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace barbossa::downloads {

// Message is the reason shown to the user: "archive entry ../x escapes the
// download folder", "archive unpacks past the 2 GiB limit".
class ArchiveError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Known by the first bytes of the file, never by its name.
enum class ArchiveKind { none, zip, tar, tar_gz, tar_xz };

struct ArchiveLimits {
  uint64_t max_total_bytes = uint64_t{2} << 30;  // sum of unpacked entry sizes
  uint64_t max_entries = 100000;
};

struct UnpackResult {
  uint64_t files = 0;
  uint64_t bytes = 0;
};

// ArchiveKind::none for anything else (an audio file, a short or unreadable file).
ArchiveKind detect_archive(const std::filesystem::path& file);

// Unpacks into `staging` (which must exist). Throws ArchiveError; on a throw
// nothing this call wrote is left in `staging`.
UnpackResult unpack_archive(const std::filesystem::path& archive,
                            const std::filesystem::path& staging, const ArchiveLimits& limits = {});

// "2 GiB", "512 MiB", "1000 bytes": the limit as a person reads it.
std::string describe_size(uint64_t bytes);

}  // namespace barbossa::downloads
