#include "core/normalize.h"

#include <array>
#include <cstdint>
#include <vector>

namespace barbossa {
namespace {

using namespace std::string_view_literals;

// Decodes UTF-8; invalid bytes become U+FFFD so hostile input cannot derail us.
std::vector<char32_t> decode_utf8(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    bool ok = true;
    for (int k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 2) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    out.push_back(ok ? cp : 0xFFFD);
    i += ok ? len : 1;
  }
  return out;
}

void encode_utf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Base letters for U+00C0..U+017F (Latin-1 Supplement letters and Latin
// Extended-A), lower case; '\0' keeps the code point. A table instead of ICU:
// the stack has no Unicode library and these cover the names we meet.
constexpr std::string_view kLatinBase =
    "aaaaaaaceeeeiiii"  // C0-CF (C6 AE handled below)
    "dnooooo\0ouuuuyts"  // D0-DF (D7 x, DE thorn, DF sharp s)
    "aaaaaaaceeeeiiii"  // E0-EF
    "dnooooo\0ouuuuyty"  // F0-FF
    "aaaaaaccccccccdd"  // 100-10F
    "ddeeeeeeeeeegggg"  // 110-11F
    "gggghhhhiiiiiiii"  // 120-12F
    "iiiijjkkklllllll"  // 130-13F
    "lllnnnnnnnnnoooo"  // 140-14F
    "oooorrrrrrssssss"  // 150-15F
    "ssttttttuuuuuuuu"  // 160-16F
    "uuuuwwyyyzzzzzzs"sv;  // 170-17F

char32_t fold(char32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  if (cp >= 0xC0 && cp <= 0x17F) {
    char b = kLatinBase[cp - 0xC0];
    if (b != '\0') return static_cast<char32_t>(b);
    return cp;
  }
  if (cp >= 0x0391 && cp <= 0x03A9 && cp != 0x03A2) return cp + 32;  // Greek capitals
  if (cp >= 0x0386 && cp <= 0x038F) {                                 // Greek tonos capitals
    static constexpr std::array<char32_t, 10> m = {0x03B1, 0x0387, 0x03B5, 0x03B7, 0x03B9,
                                                   0x038B, 0x03BF, 0x038D, 0x03C5, 0x03C9};
    return m[cp - 0x0386];
  }
  if (cp >= 0x03AC && cp <= 0x03AF) {  // Greek tonos small -> plain
    static constexpr std::array<char32_t, 4> m = {0x03B1, 0x03B5, 0x03B7, 0x03B9};
    return m[cp - 0x03AC];
  }
  if (cp == 0x03CC) return 0x03BF;
  if (cp == 0x03CD) return 0x03C5;
  if (cp == 0x03CE) return 0x03C9;
  if (cp == 0x03C2) return 0x03C3;                      // final sigma
  if (cp >= 0x0410 && cp <= 0x042F) return cp + 32;     // Cyrillic capitals
  if (cp >= 0x0400 && cp <= 0x040F) return cp + 80;     // Cyrillic Ѐ..Џ
  if (cp >= 0xFF21 && cp <= 0xFF3A) return cp - 0xFF21 + 'a';  // full-width Latin (NFKD)
  if (cp >= 0xFF41 && cp <= 0xFF5A) return cp - 0xFF41 + 'a';
  if (cp >= 0xFF10 && cp <= 0xFF19) return cp - 0xFF10 + '0';
  if (cp >= 0x0300 && cp <= 0x036F) return 0;  // combining diacritics: dropped
  return cp;
}

bool is_separator(char32_t cp) {
  if (cp < 0x80) return !((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9'));
  // General punctuation, spaces, CJK punctuation and full-width ASCII punctuation.
  return (cp >= 0x2000 && cp <= 0x206F) || cp == 0x00A0 || (cp >= 0x3000 && cp <= 0x3003) ||
         (cp >= 0xFF01 && cp <= 0xFF0F) || cp == 0x00B7 || cp == 0xFFFD || cp == 0x00D7;
}

constexpr std::array<std::string_view, 14> kEditionWords = {
    "deluxe", "remaster", "remastered", "explicit", "edition", "expanded", "anniversary",
    "bonus",  "mono",     "stereo",     "reissue",  "special", "collector", "clean"};

bool is_edition_group(const std::u32string& folded) {
  std::string ascii;
  for (char32_t c : folded) ascii.push_back(c < 0x80 ? static_cast<char>(c) : ' ');
  for (auto w : kEditionWords) {
    if (ascii.find(w) != std::string::npos) return true;
  }
  return false;
}

std::string fold_impl(std::string_view text, bool strip_editions) {
  std::vector<char32_t> cps = decode_utf8(text);
  std::u32string folded;
  folded.reserve(cps.size());
  for (char32_t cp : cps) {
    if (cp == 0xC6 || cp == 0xE6) {
      folded += U"ae";
    } else if (cp == 0xDF) {
      folded += U"ss";
    } else if (cp == 0x152 || cp == 0x153) {
      folded += U"oe";
    } else if (cp == '&') {
      folded += U" and ";
    } else if (char32_t f = fold(cp); f != 0) {
      folded.push_back(f);
    }
  }
  if (strip_editions) {
    // Remove "(...)" and "[...]" groups that name an edition, not the album.
    std::u32string kept;
    for (size_t i = 0; i < folded.size(); ++i) {
      char32_t c = folded[i];
      if (c == '(' || c == '[') {
        char32_t close = c == '(' ? ')' : ']';
        size_t end = folded.find(close, i + 1);
        if (end != std::u32string::npos &&
            is_edition_group(folded.substr(i + 1, end - i - 1))) {
          i = end;
          kept.push_back(' ');
          continue;
        }
      }
      kept.push_back(c);
    }
    folded.swap(kept);
  }
  std::string out;
  bool pending_space = false;
  for (char32_t c : folded) {
    if (is_separator(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    encode_utf8(c, out);
  }
  return out;
}

}  // namespace

std::string normalize_name(std::string_view text) {
  std::string n = fold_impl(text, true);
  // A title made only of edition words ("Deluxe") must not become empty.
  return n.empty() ? fold_impl(text, false) : n;
}

std::string fold_for_search(std::string_view text) { return fold_impl(text, false); }

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace barbossa
