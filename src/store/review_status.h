// A review item's state. Stored and shown (JSON) as the same lower-case
// words as before it was an enum; compared only as the enum.
#pragma once

#include <array>
#include <optional>
#include <ostream>
#include <string_view>
#include <utility>

namespace barbossa {

enum class ReviewStatus { kPending, kApproved, kRejected };

inline constexpr std::array<std::pair<ReviewStatus, std::string_view>, 3> kReviewStatusNames{{
    {ReviewStatus::kPending, "pending"},
    {ReviewStatus::kApproved, "approved"},
    {ReviewStatus::kRejected, "rejected"},
}};

inline std::string_view to_string(ReviewStatus status) {
  for (const auto& [value, name] : kReviewStatusNames) {
    if (value == status) return name;
  }
  return "unknown";
}

// nullopt for any other text.
inline std::optional<ReviewStatus> parse_review_status(std::string_view text) {
  for (const auto& [value, name] : kReviewStatusNames) {
    if (name == text) return value;
  }
  return std::nullopt;
}

inline std::ostream& operator<<(std::ostream& out, ReviewStatus status) {
  return out << to_string(status);
}

}  // namespace barbossa
