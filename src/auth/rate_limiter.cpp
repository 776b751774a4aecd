#include "auth/rate_limiter.h"

namespace barbossa {

void RateLimiter::prune(std::deque<int64_t>& times, int64_t now) const {
  while (!times.empty() && times.front() <= now - window_seconds_) times.pop_front();
}

int RateLimiter::retry_after(const std::string& key, int64_t now) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  if (it == failures_.end()) return 0;
  prune(it->second, now);
  if (it->second.empty()) {
    failures_.erase(it);
    return 0;
  }
  if (static_cast<int>(it->second.size()) < max_failures_) return 0;
  // Blocked until enough failures age out of the window.
  int64_t until =
      it->second[it->second.size() - static_cast<size_t>(max_failures_)] + window_seconds_;
  return static_cast<int>(until - now > 0 ? until - now : 1);
}

void RateLimiter::record_failure(const std::string& key, int64_t now) {
  std::lock_guard lock(mu_);
  auto& times = failures_[key];
  prune(times, now);
  times.push_back(now);
  // Bounded memory per key even under a flood.
  while (static_cast<int>(times.size()) > max_failures_ * 2) times.pop_front();
  // Bounded number of keys: forget the idle ones when the map grows large.
  if (failures_.size() > 100000) {
    for (auto it = failures_.begin(); it != failures_.end();) {
      prune(it->second, now);
      it = it->second.empty() ? failures_.erase(it) : std::next(it);
    }
  }
}

int RateLimiter::count(const std::string& key, int64_t now) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  if (it == failures_.end()) return 0;
  prune(it->second, now);
  int n = static_cast<int>(it->second.size());
  if (n == 0) failures_.erase(it);
  return n;
}

void RateLimiter::reset(const std::string& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

}  // namespace barbossa
