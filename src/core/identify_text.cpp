#include "core/identify_text.h"

#include <algorithm>

namespace barbossa {
namespace {

constexpr size_t kMaxListed = 5;

}  // namespace

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

std::string plural(size_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

std::string list_items(const std::vector<std::string>& items) {
  std::string out;
  size_t shown = std::min(items.size(), kMaxListed);
  for (size_t i = 0; i < shown; ++i) {
    if (i > 0) out += ", ";
    out += items[i];
  }
  if (items.size() > shown) out += " and " + std::to_string(items.size() - shown) + " more";
  return out;
}

std::string list_ranges(const std::vector<int>& sorted) {
  std::vector<std::string> ranges;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[j] + 1) ++j;
    ranges.push_back(j == i ? std::to_string(sorted[i])
                            : std::to_string(sorted[i]) + "-" + std::to_string(sorted[j]));
    i = j + 1;
  }
  return list_items(ranges);
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

}  // namespace barbossa
