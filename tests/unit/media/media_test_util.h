// Helpers for the media tests: a private temp folder and the command-line
// encoders (sox, flac, lame, ffmpeg) that generate real audio files.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string>
#include "unit/temp_dir.h"

namespace barbossa::test {

// A fresh folder per fixture (mkdtemp: other people run these tests on the
// same machine at the same time), removed with everything in it.
using barbossa::test::TempDir;

inline std::string quote(const std::filesystem::path& path) {
  std::string out = "'";
  for (char c : path.string()) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string random_bytes(size_t size, unsigned seed) {
  std::mt19937 gen(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(gen() & 0xff);
  return out;
}

// Runs a shell command; its output goes to a log that is shown on failure.
inline ::testing::AssertionResult run(const std::string& command,
                                      const std::filesystem::path& dir) {
  const std::filesystem::path log = dir / "command.log";
  const std::string full = "{ " + command + "; } >" + quote(log) + " 2>&1";
  const int rc = std::system(full.c_str());
  if (rc == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "command failed (" << rc << "): " << command << "\n"
                                       << read_text(log);
}

inline bool have_tools() {
  return std::system(
             "(command -v sox && command -v flac && command -v lame && command -v ffmpeg)"
             " >/dev/null 2>&1") == 0;
}

// One second of a 440 Hz sine, the source for every encoder.
inline std::string sox_sine(const std::filesystem::path& out, int rate = 44100, int bits = 16) {
  return "sox -n -r " + std::to_string(rate) + " -b " + std::to_string(bits) + " -c 2 " +
         quote(out) + " synth 1 sine 440";
}

}  // namespace barbossa::test
