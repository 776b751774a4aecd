// The wording of identification: trimming tag values and writing reasons
// that name files without drowning the page ("a, b, c, d, e and 3 more").
// Shared by the candidate (core/identify.cpp) and its rules
// (core/identify_rules.cpp) so both read values the same way. Pure: no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace barbossa {

// Without leading and trailing spaces, tabs and line breaks.
std::string_view trim(std::string_view s);

// "'s'".
std::string quoted(std::string_view s);

// "1 track", "4 tracks".
std::string plural(size_t n, std::string_view word);

// At most five items, then "and N more".
std::string list_items(const std::vector<std::string>& items);

// Sorted numbers as ranges: "3", "3-5", "2-3, 7-8" (shortened like list_items).
std::string list_ranges(const std::vector<int>& sorted);

std::string join(const std::vector<std::string>& parts, std::string_view sep);

}  // namespace barbossa
