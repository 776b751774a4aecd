// Paging of list reads, shared by every repository.
#pragma once

#include <cstdint>
#include <vector>

namespace barbossa {

struct Page {
  int64_t limit = 50;
  int64_t offset = 0;
};

template <typename T>
struct PageResult {
  std::vector<T> items;
  int64_t total = 0;
};

}  // namespace barbossa
