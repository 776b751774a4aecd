#include "auth/login_throttle.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace barbossa {
namespace {

// The per-name delay saturates long before this many failures; the count
// needs no more memory than that.
constexpr int kNameHistory = 64;

}  // namespace

LoginThrottle::LoginThrottle(LoginLimits limits)
    : limits_(limits),
      by_address_(std::max(1, limits.max_failures_per_address), limits.window_seconds),
      by_pair_(std::max(1, limits.max_failures_per_address_and_name), limits.window_seconds),
      by_name_(kNameHistory, limits.window_seconds) {}

std::string LoginThrottle::address_key(const std::string& address) {
  std::array<unsigned char, 16> v6{};
  if (address.find(':') == std::string::npos ||
      inet_pton(AF_INET6, address.c_str(), v6.data()) != 1) {
    return address;
  }
  // An IPv4-mapped address is one IPv4 host.
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(v6.begin(), v6.begin() + 12, kMapped)) {
    char text[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, v6.data() + 12, text, sizeof text)) return text;
  }
  std::fill(v6.begin() + 8, v6.end(), 0);
  char text[INET6_ADDRSTRLEN];
  if (!inet_ntop(AF_INET6, v6.data(), text, sizeof text)) return address;
  return std::string(text) + "/64";
}

std::string LoginThrottle::name_key(const std::string& username) {
  // Usernames match case-insensitively (ASCII, like the column's NOCASE), so
  // the counts must too: otherwise "Admin", "aDmin", ... each count apart.
  std::string key;
  key.reserve(username.size());
  for (char c : username) {
    key.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return key;
}

int LoginThrottle::refuse_for(const std::string& address, const std::string& username,
                              int64_t now) {
  std::string addr = address_key(address);
  return std::max(by_address_.retry_after(addr, now),
                  by_pair_.retry_after(addr + "\n" + name_key(username), now));
}

LoginAdmission LoginThrottle::admit(const std::string& address, const std::string& username,
                                    int64_t now) {
  LoginAdmission out;
  out.refuse_seconds = refuse_for(address, username, now);
  if (out.refuse_seconds > 0) return out;
  std::string name = name_key(username);
  // Owner's path: no failures from here at this name, nothing in the way.
  if (by_pair_.count(address_key(address) + "\n" + name, now) == 0) return out;
  out.delay = delay_for(username, now);
  {
    std::lock_guard lock(in_flight_mu_);
    if (!in_flight_.insert(name).second) {
      // One failing attempt at this name at a time: come back once it is
      // answered (at least the delay it is being held for).
      auto ms = std::max<int64_t>(out.delay.count(), 1);
      out.refuse_seconds = static_cast<int>((ms + 999) / 1000);
      out.delay = std::chrono::milliseconds(0);
      return out;
    }
  }
  // The slot goes back however the attempt ends (answered, failed, dropped).
  // (It points at the throttle, which it does not own.)
  out.in_flight =
      std::shared_ptr<void>(static_cast<void*>(this), [this, name](void*) { leave(name); });
  return out;
}

void LoginThrottle::leave(const std::string& name) {
  std::lock_guard lock(in_flight_mu_);
  in_flight_.erase(name);
}

std::chrono::milliseconds LoginThrottle::delay_for(const std::string& username, int64_t now) {
  int failures = by_name_.count(name_key(username), now);
  int over = failures - limits_.free_name_failures;
  if (over <= 0 || limits_.base_delay_ms <= 0) return std::chrono::milliseconds(0);
  // 2^over overflows nothing: the shift is capped well inside 64 bits.
  int64_t delay = static_cast<int64_t>(limits_.base_delay_ms) << std::min(over - 1, 40);
  return std::chrono::milliseconds(std::min<int64_t>(delay, limits_.max_delay_ms));
}

void LoginThrottle::record_failure(const std::string& address, const std::string& username,
                                   int64_t now) {
  std::string addr = address_key(address);
  std::string name = name_key(username);
  by_address_.record_failure(addr, now);
  by_pair_.record_failure(addr + "\n" + name, now);
  by_name_.record_failure(name, now);
}

void LoginThrottle::record_success(const std::string& address, const std::string& username) {
  by_pair_.reset(address_key(address) + "\n" + name_key(username));
}

}  // namespace barbossa
