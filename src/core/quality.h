// Audio quality and its order (SPEC §3): lossless beats lossy; then higher
// sample rate; then higher bit depth; then (lossy only) higher bitrate; then
// larger file; otherwise equal, and equal keeps the copy already in the library.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace barbossa {

struct Quality {
  bool lossless = false;
  int sample_rate = 0;  // Hz
  int bit_depth = 0;    // 0 for lossy codecs
  int bitrate = 0;      // kbit/s
  int64_t file_size = 0;
};

// > 0: a is better, < 0: b is better, 0: equal.
int compare_quality(const Quality& a, const Quality& b);

// An album is as good as its weakest track: lossless only when every track
// is, the lowest sample rate, bit depth and bitrate, and the total size (so
// two rips of one album compare by size last).
Quality album_quality(const std::vector<Quality>& tracks);

// "24/96", "16/44.1", "lossy 320k": what the web page shows. The sample rate
// prints in kHz with one decimal only when needed (44100 -> 44.1, 48000 -> 48).
// Lossless without a known bit depth: "lossless 44.1kHz" (or "lossless");
// lossy without a known bitrate: "lossy".
std::string quality_label(const Quality& q);

}  // namespace barbossa
