// SHA-256 of files: streamed through OpenSSL EVP with one fixed buffer, so
// memory does not depend on file size; parallel across files.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace barbossa {

// Lower-case hex digest. Throws std::runtime_error naming the file and the
// OS error when it cannot be opened or read.
std::string sha256_file(const std::filesystem::path& path);

std::string sha256_hex(const void* data, size_t size);

struct FileDigest {
  std::string sha256;  // empty when error is set
  std::string error;
};

// Hashes every file with up to `threads` workers (0: hardware concurrency);
// results are in input order.
std::vector<FileDigest> sha256_files(const std::vector<std::filesystem::path>& paths, size_t threads = 0);

// Runs fn(i) for i in [0, count) on up to `threads` threads (0: hardware
// concurrency); the calling thread takes part. Exceptions are rethrown.
void parallel_for(size_t count, size_t threads, const std::function<void(size_t)>& fn);

}  // namespace barbossa
