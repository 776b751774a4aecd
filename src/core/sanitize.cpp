#include "core/sanitize.h"

#include <algorithm>
#include <array>
#include <utility>

namespace barbossa {
namespace {

using namespace std::string_view_literals;

constexpr size_t kMaxExtensionBytes = 16;

bool is_illegal_ascii(unsigned char c) {
  static constexpr std::string_view kIllegal = "/\\:*?\"<>|"sv;
  return c < 0x20 || c == 0x7F || kIllegal.find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_whitespace_control(unsigned char c) {
  return c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

void strip_dots_and_spaces(std::string& s) {
  size_t begin = s.find_first_not_of(". ");
  if (begin == std::string::npos) {
    s.clear();
    return;
  }
  size_t end = s.find_last_not_of(". ");
  s = s.substr(begin, end - begin + 1);
}

// Everything but the reserved-name rule and the fallback: valid UTF-8, legal
// characters, single spaces, no dots or spaces at the ends, at most max_bytes.
// May return "".
std::string clean(std::string_view name, size_t max_bytes) {
  std::string text = valid_utf8(name);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == ' ' || is_whitespace_control(c)) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else if (is_illegal_ascii(c)) {
      out.push_back('_');
    } else if (c == 0xC2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
      // C1 control characters (U+0080..U+009F): as invisible as C0 ones.
      out.push_back('_');
      ++i;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  strip_dots_and_spaces(out);
  if (out.size() > max_bytes) {
    out = truncate_utf8(out, max_bytes);
    strip_dots_and_spaces(out);  // the cut may leave a space or dot at the end
  }
  return out;
}

// Windows refuses these as a name or a name's stem ("nul.txt"); a library
// copied to such a disk or shared over SMB would lose the folder.
bool is_reserved_stem(std::string_view stem) {
  static constexpr std::array<std::string_view, 4> kNames = {"con", "prn", "aux", "nul"};
  std::string lower(stem);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  for (auto n : kNames) {
    if (lower == n) return true;
  }
  return lower.size() == 4 && (lower.starts_with("com") || lower.starts_with("lpt")) &&
         lower[3] >= '1' && lower[3] <= '9';
}

// Appends "_" to a reserved stem ("CON" -> "CON_", "nul.txt" -> "nul_.txt").
std::string avoid_reserved(std::string s) {
  size_t dot = s.find('.');
  std::string_view stem = std::string_view(s).substr(0, dot);
  while (!stem.empty() && stem.back() == ' ') stem.remove_suffix(1);
  if (!is_reserved_stem(stem)) return s;
  s.insert(stem.size(), "_");
  if (s.size() > kMaxComponentBytes) {
    s = truncate_utf8(s, kMaxComponentBytes);
    strip_dots_and_spaces(s);
  }
  return s;
}

// Extensions are short ASCII words; anything else is part of the name.
std::string clean_extension(std::string_view ext) {
  while (!ext.empty() && ext.front() == '.') ext.remove_prefix(1);
  std::string out;
  for (char c : ext) {
    if (c >= 'A' && c <= 'Z') {
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      out.push_back(c);
    }
  }
  if (out.size() > kMaxExtensionBytes) out.resize(kMaxExtensionBytes);
  return out;
}

std::string padded(int number) {
  std::string digits = std::to_string(std::max(number, 0));
  if (digits.size() < 2) digits.insert(0, 2 - digits.size(), '0');
  return digits;
}

}  // namespace

std::string sanitize_component(std::string_view name, std::string_view fallback) {
  std::string out = clean(name, kMaxComponentBytes);
  if (out.empty()) {
    // The fallback is sanitized too, so even a bad one cannot yield "" or "..".
    out = clean(fallback, kMaxComponentBytes);
    if (out.empty()) out = "_";
  }
  return avoid_reserved(std::move(out));
}

std::string album_folder_name(std::string_view album, int year) {
  std::string suffix = year > 0 ? " (" + std::to_string(year) + ")" : "";
  // The year is part of the identity of the folder: shorten the album instead.
  std::string title = clean(album, kMaxComponentBytes - suffix.size());
  if (title.empty()) title = "Unknown Album";
  return avoid_reserved(title + suffix);
}

std::string disc_folder_name(int disc) {
  return "Disc " + std::to_string(std::max(disc, 1));
}

std::string track_file_name(int number, std::string_view title, std::string_view ext) {
  std::string prefix = padded(number) + " - ";
  std::string extension = clean_extension(ext);
  std::string suffix = extension.empty() ? "" : "." + extension;
  std::string name = clean(title, kMaxComponentBytes - prefix.size() - suffix.size());
  if (name.empty()) name = "Untitled";
  return prefix + name + suffix;
}

std::string sanitize_file_name(std::string_view name) {
  size_t dot = name.rfind('.');
  if (dot != std::string_view::npos && dot + 1 < name.size()) {
    std::string_view raw_ext = name.substr(dot + 1);
    std::string extension = clean_extension(raw_ext);
    // Only a plain ASCII word counts as an extension: "Vol. 2" has none.
    if (extension.size() == raw_ext.size()) {
      std::string stem = clean(name.substr(0, dot), kMaxComponentBytes - extension.size() - 1);
      if (!stem.empty()) return avoid_reserved(stem + "." + extension);
    }
  }
  return sanitize_component(name);
}

}  // namespace barbossa
