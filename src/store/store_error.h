// What a repository reports when the data says no: a uniqueness clash, a
// missing row a write refers to, an argument no row can hold. The store
// knows nothing of HTTP; the layer above (services, jobs, the HTTP router)
// turns these into the ApiError a client sees, with the same message.
#pragma once

#include <stdexcept>
#include <string>

namespace barbossa {

class StoreError : public std::runtime_error {
 public:
  enum class Kind { kConflict, kNotFound, kInvalidArgument };

  StoreError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}

  Kind kind() const { return kind_; }

  static StoreError conflict(const std::string& m) { return {Kind::kConflict, m}; }
  static StoreError not_found(const std::string& m) { return {Kind::kNotFound, m}; }
  static StoreError invalid_argument(const std::string& m) { return {Kind::kInvalidArgument, m}; }

 private:
  Kind kind_;
};

}  // namespace barbossa
