#include "auth/login_throttle.h"

#include <gtest/gtest.h>

namespace barbossa {
namespace {

using std::chrono::milliseconds;

LoginLimits limits() {
  LoginLimits l;
  l.max_failures_per_address = 30;
  l.max_failures_per_address_and_name = 10;
  l.window_seconds = 300;
  l.free_name_failures = 5;
  l.base_delay_ms = 100;
  l.max_delay_ms = 5000;
  return l;
}

TEST(LoginThrottleTest, AddressAndNamePairRefusedAfterItsLimit) {
  LoginThrottle t(limits());
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(t.refuse_for("203.0.113.5", "admin", 1000), 0);
    t.record_failure("203.0.113.5", "admin", 1000);
  }
  EXPECT_GT(t.refuse_for("203.0.113.5", "admin", 1000), 0);
  EXPECT_GT(t.refuse_for("203.0.113.5", "ADMIN", 1000), 0);  // names match without case
  // The same address may still try another name, another address this one.
  EXPECT_EQ(t.refuse_for("203.0.113.5", "alice", 1000), 0);
  EXPECT_EQ(t.refuse_for("203.0.113.6", "admin", 1000), 0);
  // And the refusal ends with the window.
  EXPECT_EQ(t.refuse_for("203.0.113.5", "admin", 1300), 0);
}

TEST(LoginThrottleTest, AddressRefusedAfterItsLimitOverAllNames) {
  LoginThrottle t(limits());
  for (int i = 0; i < 30; ++i) t.record_failure("203.0.113.5", "user" + std::to_string(i), 1000);
  int wait = t.refuse_for("203.0.113.5", "someone-else", 1000);
  EXPECT_GT(wait, 0);
  EXPECT_LE(wait, 300);
  EXPECT_EQ(t.refuse_for("203.0.113.9", "someone-else", 1000), 0);
}

// The owner is never locked out by guesses from elsewhere: the name is only
// slowed, with a delay that grows and is capped.
TEST(LoginThrottleTest, GuessesAtOneNameFromManyAddressesAreSlowedNotRefused) {
  LoginThrottle t(limits());
  std::vector<milliseconds> delays;
  for (int i = 0; i < 200; ++i) {
    std::string addr = "198.51.100." + std::to_string(i % 250);
    EXPECT_EQ(t.refuse_for(addr, "admin", 1000), 0);
    delays.push_back(t.delay_for("admin", 1000));
    t.record_failure(addr, "admin", 1000);
  }
  for (int i = 0; i <= 5; ++i) EXPECT_EQ(delays[static_cast<size_t>(i)], milliseconds(0)) << i;
  EXPECT_EQ(delays[6], milliseconds(100));
  EXPECT_EQ(delays[7], milliseconds(200));
  EXPECT_EQ(delays[8], milliseconds(400));
  EXPECT_EQ(delays[199], milliseconds(5000));
  // The owner from an address without failures: not refused, delay capped.
  EXPECT_EQ(t.refuse_for("192.0.2.1", "admin", 1000), 0);
  EXPECT_EQ(t.delay_for("admin", 1000), milliseconds(5000));
  EXPECT_EQ(t.delay_for("alice", 1000), milliseconds(0));
  // Old failures age out and the delay with them.
  EXPECT_EQ(t.delay_for("admin", 1300), milliseconds(0));
}

TEST(LoginThrottleTest, SuccessClearsOnlyThatAddressesCountForTheName) {
  LoginThrottle t(limits());
  for (int i = 0; i < 10; ++i) t.record_failure("203.0.113.5", "admin", 1000);
  EXPECT_GT(t.refuse_for("203.0.113.5", "admin", 1000), 0);
  t.record_success("203.0.113.5", "admin");
  EXPECT_EQ(t.refuse_for("203.0.113.5", "admin", 1000), 0);
  // The name's count stays: another guesser gets no fresh fast tries.
  EXPECT_GT(t.delay_for("admin", 1000), milliseconds(0));
}

TEST(LoginThrottleTest, Ipv6ClientsCountPerSlash64) {
  EXPECT_EQ(LoginThrottle::address_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(LoginThrottle::address_key("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
  EXPECT_EQ(LoginThrottle::address_key("::ffff:198.51.100.7"), "198.51.100.7");
  EXPECT_EQ(LoginThrottle::address_key("198.51.100.7"), "198.51.100.7");
  EXPECT_EQ(LoginThrottle::address_key("unknown"), "unknown");
  LoginThrottle t(limits());
  for (int i = 0; i < 10; ++i) {
    t.record_failure("2001:db8:1:2::" + std::to_string(i + 1), "admin", 1000);
  }
  EXPECT_GT(t.refuse_for("2001:db8:1:2:ffff::", "admin", 1000), 0);
  EXPECT_EQ(t.refuse_for("2001:db8:1:3::1", "admin", 1000), 0);
}

// The delay is served before the password check, and an address that has
// failed at a name gets one attempt at a time with every other failing
// address: N addresses x 10 tries no longer run in parallel.
TEST(LoginThrottleTest, FailingAddressesTryOneAtATimePerNameAfterTheirDelay) {
  LoginThrottle t(limits());
  for (int i = 0; i < 8; ++i) t.record_failure("198.51.100." + std::to_string(i), "admin", 1000);
  auto first = t.admit("198.51.100.1", "admin", 1000);
  EXPECT_EQ(first.refuse_seconds, 0);
  EXPECT_EQ(first.delay, milliseconds(400));  // 8 failures, 5 free: 100 x 2^2
  ASSERT_NE(first.in_flight, nullptr);
  // While it is held (and checked), other failing addresses are refused,
  // with a Retry-After of at least the delay, in whole seconds.
  auto second = t.admit("198.51.100.2", "ADMIN", 1000);
  EXPECT_EQ(second.refuse_seconds, 1);
  EXPECT_EQ(second.in_flight, nullptr);
  // Other names are not affected.
  t.record_failure("198.51.100.2", "alice", 1000);
  auto alice = t.admit("198.51.100.2", "alice", 1000);
  EXPECT_EQ(alice.refuse_seconds, 0);
  EXPECT_NE(alice.in_flight, nullptr);
  // Answered: the next failing address may go, held for the grown delay.
  first.in_flight.reset();
  t.record_failure("198.51.100.1", "admin", 1001);
  auto third = t.admit("198.51.100.2", "admin", 1001);
  EXPECT_EQ(third.refuse_seconds, 0);
  EXPECT_EQ(third.delay, milliseconds(800));
  EXPECT_NE(third.in_flight, nullptr);
  // The window moves on: failures age out, and so do delay and queueing.
  third.in_flight.reset();
  auto later = t.admit("198.51.100.1", "admin", 1000 + 301);
  EXPECT_EQ(later.delay, milliseconds(0));
  EXPECT_EQ(later.in_flight, nullptr);
}

// The owner, from an address without failures at the name, is neither
// delayed nor held back by guessers' attempts under way.
TEST(LoginThrottleTest, AnAddressWithoutFailuresIsNeverDelayedNorQueued) {
  LoginThrottle t(limits());
  for (int i = 0; i < 200; ++i) t.record_failure("198.51.100." + std::to_string(i), "admin", 1000);
  auto guesser = t.admit("198.51.100.7", "admin", 1000);
  ASSERT_NE(guesser.in_flight, nullptr);
  EXPECT_EQ(guesser.delay, milliseconds(5000));
  for (int i = 0; i < 3; ++i) {
    auto owner = t.admit("192.0.2.1", "admin", 1000);
    EXPECT_EQ(owner.refuse_seconds, 0);
    EXPECT_EQ(owner.delay, milliseconds(0));
    EXPECT_EQ(owner.in_flight, nullptr);
  }
  // Failures at other names do not count against this one.
  t.record_failure("192.0.2.1", "alice", 1000);
  EXPECT_EQ(t.admit("192.0.2.1", "admin", 1000).delay, milliseconds(0));
}

}  // namespace
}  // namespace barbossa
