// Login throttling that stops guessing without locking the owner out.
//
// A per-name lockout would let anyone lock `admin` out by failing ten times,
// so failures are counted three ways:
//   - per client address and per (address, name): over the limit, the
//     attempt is refused (429 + Retry-After) before any password check;
//   - per name, over all addresses: never refused, only slowed. Past the
//     first `free_name_failures` the answer waits
//     min(2^(failures - free) x base_delay, max_delay), so spreading guesses
//     over many addresses costs time, while the owner, from an address with
//     no failures of its own, still gets in (after at most max_delay).
// The delay is served before the password is checked (admit), and only to
// an address that has already failed at the name: such attempts go one at a
// time per name (a second one meanwhile gets 429), so guessers cannot run
// their tries in parallel. An address with no failures for the name is never
// delayed nor held back by others: the owner always gets straight in.
// IPv6 clients are keyed by their /64, which one host usually owns whole.
// Time is passed in (unix seconds) so tests control it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include "auth/rate_limiter.h"

namespace barbossa {

struct LoginLimits {
  int max_failures_per_address = 30;
  int max_failures_per_address_and_name = 10;
  int window_seconds = 300;
  int free_name_failures = 5;
  int base_delay_ms = 100;
  int max_delay_ms = 5000;
};

// What to do with a login attempt before its password is looked at.
struct LoginAdmission {
  // > 0: refuse now (429) with this Retry-After.
  int refuse_seconds = 0;
  // Wait this long (on a timer) before checking the password.
  std::chrono::milliseconds delay{0};
  // The name's one slot for attempts from failing addresses; held until the
  // attempt is answered (dropping it frees the slot). Empty for a clean address.
  std::shared_ptr<void> in_flight;
};

class LoginThrottle {
 public:
  explicit LoginThrottle(LoginLimits limits);

  // Decides an attempt at `username` from `address` made now: refused (over
  // a limit, or another attempt at the name from a failing address is under
  // way), held for a delay and then checked, or checked at once. The throttle
  // must outlive the returned slot.
  LoginAdmission admit(const std::string& address, const std::string& username, int64_t now);

  // Seconds until this address (or this address for this name) may try
  // again; 0 when the attempt may go ahead.
  int refuse_for(const std::string& address, const std::string& username, int64_t now);
  // How long to hold the answer to an attempt at `username` made now.
  std::chrono::milliseconds delay_for(const std::string& username, int64_t now);
  void record_failure(const std::string& address, const std::string& username, int64_t now);
  // The address proved it knows the password: its own counts for the name
  // clear. The name's count does not, or each of the owner's logins would
  // hand a distributed guesser a fresh set of fast tries.
  void record_success(const std::string& address, const std::string& username);

  // "198.51.100.7" -> itself; IPv6 -> its /64 prefix; anything else as is.
  static std::string address_key(const std::string& address);

 private:
  static std::string name_key(const std::string& username);

  void leave(const std::string& name);

  LoginLimits limits_;
  std::mutex in_flight_mu_;
  std::unordered_set<std::string> in_flight_;  // names with an attempt from a failing address
  RateLimiter by_address_;
  RateLimiter by_pair_;
  RateLimiter by_name_;
};

}  // namespace barbossa
