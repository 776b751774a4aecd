#include "core/tag_values.h"

#include <array>
#include <charconv>
#include <string>

namespace barbossa {
namespace {

using namespace std::string_view_literals;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Reads a run of digits at the front of s (consuming it); nullopt-like -1 when
// there is none or it does not fit an int.
int take_number(std::string_view& s) {
  size_t n = 0;
  while (n < s.size() && is_digit(s[n])) ++n;
  if (n == 0) return -1;
  int value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + n, value);
  if (ec != std::errc{} || ptr != s.data() + n) return -1;
  s.remove_prefix(n);
  return value;
}

bool starts_with_word(std::string_view s, std::string_view word) {
  return s.substr(0, word.size()) == word;
}

}  // namespace

NumberPair parse_number_pair(std::string_view text) {
  std::string_view s = trim(text);
  int number = take_number(s);
  if (number < 0) return {};
  s = trim(s);
  if (s.empty()) return {number, 0};
  if (s.front() != '/') return {};
  s = trim(s.substr(1));
  // "3/" is a tagger that knew the number but not the total.
  if (s.empty()) return {number, 0};
  int total = take_number(s);
  if (total < 0 || !trim(s).empty()) return {};
  return {number, total};
}

int disc_from_folder_name(std::string_view name) {
  std::string lower = ascii_lower(trim(name));
  std::string_view s = lower;
  // "[CD1]" and "(Disc 2)" are folder names too.
  if (!s.empty() && (s.front() == '[' || s.front() == '(')) s.remove_prefix(1);
  bool matched = false;
  for (std::string_view word : {"disc"sv, "disk"sv, "cd"sv}) {
    if (starts_with_word(s, word)) {
      s.remove_prefix(word.size());
      matched = true;
      break;
    }
  }
  if (!matched) return 0;
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '-' || s.front() == '_' || s.front() == '.')) {
    s.remove_prefix(1);
  }
  // "CDs", "Discography" and a bare "CD" stop here: no number follows the word.
  int disc = take_number(s);
  if (disc <= 0 || disc > 999) return 0;
  // "CD1A" is not a disc folder; "Disc 1 - Live" and "CD2 (Bonus)" are.
  if (!s.empty() && (is_alpha(s.front()) || is_digit(s.front()))) return 0;
  return disc;
}

bool is_generic_title(std::string_view title) {
  std::string lower = ascii_lower(trim(title));
  std::string_view s = lower;
  if (s.empty()) return false;  // a missing title is its own defect
  // Words that stand in for a title, per language; those in the second list
  // are generic even without a number ("Untitled", "Unknown").
  static constexpr std::array<std::string_view, 9> kNeedsNumber = {
      "audio track", "track", "piste", "titel", "titre", "pista", "traccia", "faixa", "spur"};
  static constexpr std::array<std::string_view, 6> kAlone = {
      "untitled track", "unknown track", "unknown title", "untitled", "unknown", "no title"};
  bool number_required = true;
  bool matched = false;
  for (std::string_view word : kAlone) {
    if (starts_with_word(s, word)) {
      s.remove_prefix(word.size());
      number_required = false;
      matched = true;
      break;
    }
  }
  if (!matched) {
    for (std::string_view word : kNeedsNumber) {
      if (starts_with_word(s, word)) {
        s.remove_prefix(word.size());
        matched = true;
        break;
      }
    }
  }
  if (matched && !s.empty() && is_alpha(s.front())) return false;  // "Trackside", "Songbird"
  while (!s.empty() && (s.front() == ' ' || s.front() == '-' || s.front() == '_' ||
                        s.front() == '.' || s.front() == '#' || s.front() == ':')) {
    s.remove_prefix(1);
  }
  if (s.empty()) return matched && !number_required;
  std::string_view digits = s;
  if (take_number(s) < 0) return false;
  digits.remove_suffix(s.size());
  // A bare number is a track number ("01", "7"), unless it looks like a real
  // title: "1979", "2112", "747".
  if (!matched && digits.size() > 2 && digits.front() != '0') return false;
  // "01." and "Track 1." come from rippers that append a dot.
  if (!s.empty() && s == ".") s.remove_prefix(1);
  return s.empty();
}

int year_from_date(std::string_view text) {
  std::string_view s = trim(text);
  auto plausible = [](int y) { return y >= 1000 && y <= 2999 ? y : 0; };
  // Scan runs of digits: "2011-03-04" and "2011/03" lead with the year, an
  // ID3v2.3 "20110304" packs it in the first four digits, "04/03/2011" and
  // "March 2011" carry it later.
  for (size_t i = 0; i < s.size();) {
    if (!is_digit(s[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && is_digit(s[j])) ++j;
    size_t len = j - i;
    if (len == 4 || (len == 8 && i == 0)) {
      int year = 0;
      std::from_chars(s.data() + i, s.data() + i + 4, year);
      return plausible(year);
    }
    i = j;
  }
  return 0;
}

}  // namespace barbossa
