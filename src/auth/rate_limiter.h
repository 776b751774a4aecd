// Login rate limit: a sliding window of failures per key (client address and
// username are separate keys). Time is passed in so tests control it.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace barbossa {

class RateLimiter {
 public:
  RateLimiter(int max_failures, int window_seconds)
      : max_failures_(max_failures), window_seconds_(window_seconds) {}

  // Seconds until `key` may try again, or 0 when it may try now.
  int retry_after(const std::string& key, int64_t now);
  void record_failure(const std::string& key, int64_t now);
  // Failures of `key` still inside the window (at most 2 x max_failures).
  int count(const std::string& key, int64_t now);
  void reset(const std::string& key);

 private:
  void prune(std::deque<int64_t>& times, int64_t now) const;

  const int max_failures_;
  const int window_seconds_;
  std::mutex mu_;
  std::unordered_map<std::string, std::deque<int64_t>> failures_;
};

}  // namespace barbossa
