#include "http/limits.h"

#include <sys/resource.h>

#include <spdlog/spdlog.h>

#include "auth/login_throttle.h"

namespace barbossa {
namespace {

// Descriptors kept back from connections for the database, the library files
// being read or moved, inotify and the listener.
constexpr size_t kReservedDescriptors = 100;

}  // namespace

size_t connection_limit(size_t configured) {
  if (configured > 0) return configured;
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return 10000;
  size_t files = static_cast<size_t>(lim.rlim_cur);
  return files > 2 * kReservedDescriptors ? files - kReservedDescriptors : files / 2;
}

ConnectionCounter::ConnectionCounter(size_t max_total, size_t max_per_address,
                                     std::function<bool(const std::string&)> unlimited)
    : max_total_(max_total), max_per_address_(max_per_address), unlimited_(std::move(unlimited)) {
  spdlog::info("connections limited to {} in all and {} per address", max_total_,
               max_per_address_ > 0 ? std::to_string(max_per_address_) : "any number");
}

std::shared_ptr<ConnectionCounter::Slot> ConnectionCounter::acquire(const std::string& address,
                                                                    std::string& refused) {
  // Outside the lock: the proxy list is immutable but matching takes a moment.
  const bool per_address = max_per_address_ > 0 && !(unlimited_ && unlimited_(address));
  // One host usually owns a whole IPv6 /64 and can pick any address in it.
  std::string key = LoginThrottle::address_key(address);
  {
    std::lock_guard lock(mu_);
    if (total_ >= max_total_) {
      refused = "the server's " + std::to_string(max_total_) + " connections (MAX_CONNECTIONS)";
      return nullptr;
    }
    if (per_address) {
      auto it = per_address_.find(key);
      if (it != per_address_.end() && it->second >= max_per_address_) {
        refused = std::to_string(max_per_address_) +
                  " connections from one address (MAX_CONNECTIONS_PER_ADDRESS)";
        return nullptr;
      }
    }
    ++per_address_[key];
    ++total_;
  }
  return std::make_shared<Slot>(shared_from_this(), std::move(key));
}

size_t ConnectionCounter::open() const {
  std::lock_guard lock(mu_);
  return total_;
}

void ConnectionCounter::release(const std::string& address) {
  std::lock_guard lock(mu_);
  --total_;
  auto it = per_address_.find(address);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

bool WarningThrottle::should_log(uint64_t& suppressed) {
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (logged_once_ && now - last_ < interval_) {
    ++suppressed_;
    return false;
  }
  logged_once_ = true;
  last_ = now;
  suppressed = suppressed_;
  suppressed_ = 0;
  return true;
}

}  // namespace barbossa
