// Small key/value rows for install-wide state.
#pragma once

#include <optional>
#include <string>

namespace barbossa {

// Small key/value rows for install-wide state (event sequence high water, ...).
class MetaRepository {
 public:
  virtual ~MetaRepository() = default;
  virtual std::optional<std::string> get(const std::string& key) = 0;
  virtual void put(const std::string& key, const std::string& value) = 0;
};

}  // namespace barbossa
