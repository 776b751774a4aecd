#include "downloads/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

namespace barbossa::downloads {
namespace {

namespace fs = std::filesystem;

struct ReaderFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
using Reader = std::unique_ptr<archive, ReaderFree>;

Reader open_reader(const fs::path& file, ArchiveKind kind) {
  Reader reader(archive_read_new());
  if (!reader) throw ArchiveError("cannot read the archive: out of memory");
  archive* a = reader.get();
  if (kind == ArchiveKind::zip) {
    archive_read_support_format_zip(a);
  } else {
    archive_read_support_format_tar(a);
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_xz(a);
  }
  if (archive_read_open_filename(a, file.c_str(), 64 * 1024) != ARCHIVE_OK) {
    throw ArchiveError(std::string("cannot read the archive: ") + archive_error_string(a));
  }
  return reader;
}

std::string read_failure(archive* a) {
  const char* why = archive_error_string(a);
  return std::string("the archive is damaged or unsupported: ") + (why ? why : "unknown error");
}

// The entry's path relative to the staging folder ("./a/b" -> "a/b"), or an
// ArchiveError naming the entry when it would leave the folder.
fs::path confined_path(const char* name) {
  if (name == nullptr || *name == '\0') throw ArchiveError("archive has an entry with no name");
  std::string shown(name);
  if (shown.front() == '/') {
    throw ArchiveError("archive entry " + shown + " is an absolute path");
  }
  fs::path rel;
  for (const auto& part : fs::path(shown)) {
    if (part == "..") throw ArchiveError("archive entry " + shown + " escapes the download folder");
    if (part.empty() || part == ".") continue;
    rel /= part;
  }
  return rel;
}

// Rejects anything but plain files and folders, naming the entry.
void check_type(archive_entry* entry) {
  std::string name = archive_entry_pathname(entry);
  if (archive_entry_hardlink(entry) != nullptr) {
    throw ArchiveError("archive entry " + name + " is a hard link");
  }
  switch (archive_entry_filetype(entry)) {
    case AE_IFREG:
    case AE_IFDIR:
      return;
    case AE_IFLNK:
      throw ArchiveError("archive entry " + name + " is a symbolic link");
    default:
      throw ArchiveError("archive entry " + name + " is a device, fifo or socket");
  }
}

// Counts an entry's unpacked bytes into *total, stopping past the limit.
// The header's size is checked first (a sparse or lying entry is caught
// without inflating it), then the data is read, since a zip may not say.
void count_data(archive* a, archive_entry* entry, uint64_t* total, const ArchiveLimits& limits) {
  const std::string past =
      "archive unpacks past the " + describe_size(limits.max_total_bytes) + " limit";
  if (archive_entry_size_is_set(entry)) {
    auto declared = static_cast<uint64_t>(std::max<la_int64_t>(0, archive_entry_size(entry)));
    if (declared > limits.max_total_bytes - *total) throw ArchiveError(past);
  }
  std::array<char, 64 * 1024> buf;
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
    if (n < 0) throw ArchiveError(read_failure(a));
    if (n == 0) return;
    if (static_cast<uint64_t>(n) > limits.max_total_bytes - *total) throw ArchiveError(past);
    *total += static_cast<uint64_t>(n);
  }
}

// First pass: every entry is checked, nothing is written.
void check_archive(const fs::path& file, ArchiveKind kind, const ArchiveLimits& limits) {
  Reader reader = open_reader(file, kind);
  archive* a = reader.get();
  archive_entry* entry = nullptr;
  uint64_t total = 0, entries = 0;
  for (;;) {
    int rc = archive_read_next_header(a, &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) throw ArchiveError(read_failure(a));
    if (++entries > limits.max_entries) {
      throw ArchiveError("archive has more than " + std::to_string(limits.max_entries) +
                         " entries");
    }
    confined_path(archive_entry_pathname(entry));
    check_type(entry);
    if (archive_entry_filetype(entry) == AE_IFREG) count_data(a, entry, &total, limits);
  }
}

// What the second pass created, removed again (deepest first) unless kept.
class Written {
 public:
  explicit Written(fs::path staging) : staging_(std::move(staging)) {}
  Written(const Written&) = delete;
  Written& operator=(const Written&) = delete;
  ~Written() {
    if (keep_) return;
    std::error_code ec;
    for (auto it = paths_.rbegin(); it != paths_.rend(); ++it) fs::remove(*it, ec);
  }
  // Creates the folders of `rel` that are missing, recording each.
  void make_dirs(const fs::path& rel) {
    fs::path at = staging_;
    for (const auto& part : rel) {
      at /= part;
      std::error_code ec;
      if (fs::is_directory(fs::symlink_status(at, ec))) continue;
      if (!fs::create_directory(at, ec) || ec) {
        throw ArchiveError("cannot create folder " + rel.string() +
                           " from the archive: " + (ec ? ec.message() : "a file has that name"));
      }
      paths_.push_back(at);
    }
  }
  void add(const fs::path& p) { paths_.push_back(p); }
  void keep() { keep_ = true; }
  const fs::path& staging() const { return staging_; }

 private:
  fs::path staging_;
  std::vector<fs::path> paths_;
  bool keep_ = false;
};

void write_file(archive* a, const fs::path& rel, Written* written) {
  if (rel.has_parent_path()) written->make_dirs(rel.parent_path());
  fs::path target = written->staging() / rel;
  int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw ArchiveError("cannot write " + rel.string() + " from the archive: " + strerror(errno));
  }
  written->add(target);
  std::array<char, 64 * 1024> buf;
  la_ssize_t n = 0;
  while ((n = archive_read_data(a, buf.data(), buf.size())) > 0) {
    for (la_ssize_t off = 0; off < n;) {
      ssize_t w = ::write(fd, buf.data() + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        std::string why = strerror(errno);
        ::close(fd);
        throw ArchiveError("cannot write " + rel.string() + " from the archive: " + why);
      }
      off += w;
    }
  }
  ::close(fd);
  if (n < 0) throw ArchiveError(read_failure(a));
}

// Second pass: the checked archive is written.
UnpackResult extract(const fs::path& file, ArchiveKind kind, const fs::path& staging,
                     const ArchiveLimits& limits) {
  Reader reader = open_reader(file, kind);
  archive* a = reader.get();
  Written written(staging);
  UnpackResult result;
  archive_entry* entry = nullptr;
  for (;;) {
    int rc = archive_read_next_header(a, &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) throw ArchiveError(read_failure(a));
    check_type(entry);  // the file could have changed since the first pass
    fs::path rel = confined_path(archive_entry_pathname(entry));
    if (rel.empty()) continue;
    if (archive_entry_filetype(entry) == AE_IFDIR) {
      written.make_dirs(rel);
      continue;
    }
    write_file(a, rel, &written);
    ++result.files;
    std::error_code ec;
    result.bytes += fs::file_size(staging / rel, ec);
    if (result.bytes > limits.max_total_bytes) {  // the file changed since the first pass
      throw ArchiveError("archive unpacks past the " + describe_size(limits.max_total_bytes) +
                         " limit");
    }
  }
  written.keep();
  return result;
}

}  // namespace

std::string describe_size(uint64_t bytes) {
  static constexpr std::pair<uint64_t, const char*> kUnits[] = {{uint64_t{1} << 40, "TiB"},
                                                                {uint64_t{1} << 30, "GiB"},
                                                                {uint64_t{1} << 20, "MiB"},
                                                                {uint64_t{1} << 10, "KiB"}};
  for (const auto& [size, name] : kUnits) {
    if (bytes >= size && bytes % size == 0) return std::to_string(bytes / size) + " " + name;
  }
  return std::to_string(bytes) + " bytes";
}

ArchiveKind detect_archive(const fs::path& file) {
  std::array<unsigned char, 512> head{};
  std::ifstream in(file, std::ios::binary);
  in.read(reinterpret_cast<char*>(head.data()), head.size());
  auto got = static_cast<size_t>(in.gcount());
  auto starts = [&](std::initializer_list<unsigned char> magic) {
    return got >= magic.size() && std::equal(magic.begin(), magic.end(), head.begin());
  };
  if (starts({'P', 'K', 3, 4}) || starts({'P', 'K', 5, 6})) return ArchiveKind::zip;
  if (starts({0x1f, 0x8b})) return ArchiveKind::tar_gz;
  if (starts({0xfd, '7', 'z', 'X', 'Z', 0})) return ArchiveKind::tar_xz;
  if (got >= 262 && std::memcmp(head.data() + 257, "ustar", 5) == 0) return ArchiveKind::tar;
  return ArchiveKind::none;
}

UnpackResult unpack_archive(const fs::path& archive_file, const fs::path& staging,
                            const ArchiveLimits& limits) {
  ArchiveKind kind = detect_archive(archive_file);
  if (kind == ArchiveKind::none) {
    throw ArchiveError("the file is not a zip or tar archive");
  }
  std::error_code ec;
  if (!fs::is_directory(staging, ec)) {
    throw ArchiveError("the download folder " + staging.string() + " does not exist");
  }
  check_archive(archive_file, kind, limits);
  return extract(archive_file, kind, staging, limits);
}

}  // namespace barbossa::downloads
