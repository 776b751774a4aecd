// A job's state (SPEC 8). Stored and shown (JSON, CLI, events) as the same
// lower-case words as before it was an enum; compared only as the enum.
#pragma once

#include <array>
#include <optional>
#include <ostream>
#include <string_view>
#include <utility>

namespace barbossa {

enum class JobStatus { kQueued, kRunning, kSucceeded, kFailed, kDead, kCancelled };

inline constexpr std::array<std::pair<JobStatus, std::string_view>, 6> kJobStatusNames{{
    {JobStatus::kQueued, "queued"},
    {JobStatus::kRunning, "running"},
    {JobStatus::kSucceeded, "succeeded"},
    {JobStatus::kFailed, "failed"},
    {JobStatus::kDead, "dead"},
    {JobStatus::kCancelled, "cancelled"},
}};

inline std::string_view to_string(JobStatus status) {
  for (const auto& [value, name] : kJobStatusNames) {
    if (value == status) return name;
  }
  return "unknown";
}

// nullopt for any other text.
inline std::optional<JobStatus> parse_job_status(std::string_view text) {
  for (const auto& [value, name] : kJobStatusNames) {
    if (name == text) return value;
  }
  return std::nullopt;
}

inline std::ostream& operator<<(std::ostream& out, JobStatus status) {
  return out << to_string(status);
}

}  // namespace barbossa
