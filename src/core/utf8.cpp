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

// Windows-1252 for 0x80-0x9F (0xA0-0xFF are the Latin-1 code points); the
// unassigned 0x81, 0x8D, 0x8F, 0x90 and 0x9D map to themselves, as WHATWG does.
constexpr char16_t kCp1252High[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

// Code points below U+10000 only (all Windows-1252 needs).
void append_utf8(std::string& out, char16_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

void append_hex_escape(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 0xF];
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

std::string utf8_from_legacy(std::string_view text) {
  if (is_valid_utf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + text.size() / 2);
  size_t i = 0;
  while (i < text.size()) {
    size_t consumed = 1;
    size_t len = sequence_length(text, i, consumed);
    if (len > 0) {
      out.append(text.substr(i, len));
      i += len;
      continue;
    }
    auto c = static_cast<unsigned char>(text[i]);
    append_utf8(out, c >= 0x80 && c < 0xA0 ? kCp1252High[c - 0x80] : char16_t{c});
    ++i;
  }
  return out;
}

std::string escape_controls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t consumed = 1;
    size_t len = sequence_length(text, i, consumed);
    if (len > 1) {
      out.append(text.substr(i, len));
      i += len;
      continue;
    }
    ++i;
    if (len == 1 && c >= 0x20 && c != 0x7F) {
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      append_hex_escape(out, c);
    }
  }
  return out;
}

}  // namespace barbossa
