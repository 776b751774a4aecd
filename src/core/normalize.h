// Name normalization for duplicate detection and search (SPEC §3): case fold,
// drop diacritics, drop bracketed edition words, '&' -> 'and', collapse
// punctuation and spaces. Text outside Latin scripts is kept as is (lower-cased
// where we know how), so two different Japanese titles never collide.
#pragma once

#include <string>
#include <string_view>

namespace barbossa {

std::string normalize_name(std::string_view text);

// Lower-cased, diacritic-free form without edition stripping; used for
// substring search where the user types part of a name.
std::string fold_for_search(std::string_view text);

// ASCII letters lower-cased, every other byte kept: for names that are ASCII
// by definition (file extensions, URL schemes and hosts, partial-file
// suffixes), where Unicode folding would be wrong or wasted.
std::string ascii_lower(std::string_view text);

}  // namespace barbossa
