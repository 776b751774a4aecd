#include "core/quality.h"

#include <algorithm>
#include <string>

namespace barbossa {
namespace {

int sign(int64_t a, int64_t b) {
  return a > b ? 1 : a < b ? -1 : 0;
}

// Sample rate in kHz with one decimal only when it carries information:
// 44100 -> "44.1", 96000 -> "96". Rounded to the nearest 100 Hz.
std::string khz(int sample_rate) {
  int tenths = (sample_rate + 50) / 100;
  std::string out = std::to_string(tenths / 10);
  if (tenths % 10 != 0) out += "." + std::to_string(tenths % 10);
  return out;
}

}  // namespace

int compare_quality(const Quality& a, const Quality& b) {
  if (a.lossless != b.lossless) return a.lossless ? 1 : -1;
  if (int c = sign(a.sample_rate, b.sample_rate)) return c;
  if (int c = sign(a.bit_depth, b.bit_depth)) return c;
  // A lossless bitrate only measures how well the audio compressed.
  if (!a.lossless) {
    if (int c = sign(a.bitrate, b.bitrate)) return c;
  }
  return sign(a.file_size, b.file_size);
}

Quality album_quality(const std::vector<Quality>& tracks) {
  if (tracks.empty()) return Quality{};
  Quality q = tracks.front();
  q.file_size = 0;
  for (const Quality& t : tracks) {
    q.lossless = q.lossless && t.lossless;
    q.sample_rate = std::min(q.sample_rate, t.sample_rate);
    q.bit_depth = std::min(q.bit_depth, t.bit_depth);
    q.bitrate = std::min(q.bitrate, t.bitrate);
    q.file_size += t.file_size;
  }
  return q;
}

std::string quality_label(const Quality& q) {
  if (q.lossless) {
    if (q.bit_depth > 0 && q.sample_rate > 0) {
      return std::to_string(q.bit_depth) + "/" + khz(q.sample_rate);
    }
    return q.sample_rate > 0 ? "lossless " + khz(q.sample_rate) + "kHz" : "lossless";
  }
  return q.bitrate > 0 ? "lossy " + std::to_string(q.bitrate) + "k" : "lossy";
}

}  // namespace barbossa
