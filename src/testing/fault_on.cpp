// The test build: BARBOSSA_FAULTS (comma-separated point names) arms points.
// Read once; the set is immutable afterwards, so lookups need no lock.
#include <cstdlib>
#include <set>
#include <string>

#include "core/fault.h"

namespace barbossa::fault {
namespace {

const std::set<std::string, std::less<>>& armed_points() {
  static const std::set<std::string, std::less<>> points = [] {
    std::set<std::string, std::less<>> out;
    const char* env = std::getenv("BARBOSSA_FAULTS");
    std::string list = env ? env : "";
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      if (comma == std::string::npos) comma = list.size();
      if (comma > start) out.insert(list.substr(start, comma - start));
      start = comma + 1;
    }
    return out;
  }();
  return points;
}

}  // namespace

bool test_build() { return true; }
bool armed(std::string_view point) { return armed_points().count(point) > 0; }

}  // namespace barbossa::fault
