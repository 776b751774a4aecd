#include "core/utf8.h"

namespace barbossa {
namespace {

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

bool is_continuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

// Length of the well-formed UTF-8 sequence at s[i], or 0 when it is not one.
// Follows Unicode table 3-7, so overlong forms, surrogates and code points
// past U+10FFFF are rejected; `consumed` is the length of the maximal invalid
// subpart, which becomes one U+FFFD (the W3C/Unicode recommended practice).
size_t sequence_length(std::string_view s, size_t i, size_t& consumed) {
  auto c = static_cast<unsigned char>(s[i]);
  consumed = 1;
  if (c < 0x80) return 1;
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    if (i + k >= s.size()) return 0;
    auto cc = static_cast<unsigned char>(s[i + k]);
    bool ok = k == 1 ? (cc >= lo && cc <= hi) : is_continuation(cc);
    if (!ok) return 0;
    consumed = k + 1;
  }
  return len;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    size_t consumed = 1;
    size_t len = sequence_length(text, i, consumed);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t consumed = 1;
    size_t len = sequence_length(text, i, consumed);
    if (len == 0) {
      out += kReplacementChar;
      i += consumed;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::string truncate_utf8(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t cut = max_bytes;
  // Back off to the start of the sequence the cut would split; a sequence is
  // at most four bytes, so more continuation bytes than that are garbage.
  for (int k = 0; k < 3 && cut > 0 && is_continuation(static_cast<unsigned char>(text[cut])); ++k) {
    --cut;
  }
  return std::string(text.substr(0, cut));
}

}  // namespace barbossa
