#include "http/limits.h"

#include <thread>

#include <gtest/gtest.h>

namespace barbossa {
namespace {

TEST(ConnectionCounterTest, RefusesOverTheServerLimitAndCountsReleasedSlots) {
  auto counter = std::make_shared<ConnectionCounter>(2, 0);
  std::string why;
  auto a = counter->acquire("10.0.0.1", why);
  auto b = counter->acquire("10.0.0.2", why);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(counter->acquire("10.0.0.3", why), nullptr);
  EXPECT_NE(why.find("MAX_CONNECTIONS"), std::string::npos) << why;
  a.reset();
  EXPECT_EQ(counter->open(), 1u);
  EXPECT_NE(counter->acquire("10.0.0.3", why), nullptr);
}

TEST(ConnectionCounterTest, RefusesOverThePerAddressLimitOnlyForThatAddress) {
  auto counter = std::make_shared<ConnectionCounter>(100, 2);
  std::string why;
  auto a1 = counter->acquire("10.0.0.1", why);
  auto a2 = counter->acquire("10.0.0.1", why);
  ASSERT_TRUE(a1 && a2);
  EXPECT_EQ(counter->acquire("10.0.0.1", why), nullptr);
  EXPECT_NE(why.find("MAX_CONNECTIONS_PER_ADDRESS"), std::string::npos) << why;
  EXPECT_NE(counter->acquire("10.0.0.2", why), nullptr);
  a1.reset();
  EXPECT_NE(counter->acquire("10.0.0.1", why), nullptr);
}

// One IPv6 host owns its whole /64: counting each address apart would let it
// open MAX_CONNECTIONS_PER_ADDRESS from each of 2^64 addresses.
TEST(ConnectionCounterTest, Ipv6ClientsAreLimitedPerSlash64) {
  auto counter = std::make_shared<ConnectionCounter>(100, 2);
  std::string why;
  auto a = counter->acquire("2001:db8:1:2::1", why);
  auto b = counter->acquire("2001:db8:1:2:ffff::9", why);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(counter->acquire("2001:db8:1:2:abcd::7", why), nullptr);
  EXPECT_NE(why.find("MAX_CONNECTIONS_PER_ADDRESS"), std::string::npos) << why;
  EXPECT_NE(counter->acquire("2001:db8:1:3::1", why), nullptr);  // the next /64
  // The slot gives back the /64's place, whichever address it came from.
  a.reset();
  EXPECT_NE(counter->acquire("2001:db8:1:2::42", why), nullptr);
}

TEST(ConnectionCounterTest, UnlimitedAddressesSkipOnlyThePerAddressLimit) {
  auto counter = std::make_shared<ConnectionCounter>(
      3, 1, [](const std::string& address) { return address == "127.0.0.1"; });
  std::string why;
  std::vector<std::shared_ptr<ConnectionCounter::Slot>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(counter->acquire("127.0.0.1", why));
    ASSERT_NE(held.back(), nullptr) << why;
  }
  EXPECT_EQ(counter->acquire("127.0.0.1", why), nullptr);  // the server's limit still holds
}

// A WebSocket session can outlive the server (the hub holds it): its slot
// keeps the counter alive instead of touching freed memory.
TEST(ConnectionCounterTest, SlotOutlivesItsCounterOwner) {
  std::string why;
  std::shared_ptr<ConnectionCounter::Slot> slot;
  {
    auto counter = std::make_shared<ConnectionCounter>(1, 1);
    slot = counter->acquire("10.0.0.1", why);
  }
  ASSERT_NE(slot, nullptr);
  slot.reset();  // must not crash (ASan would report a use after free)
}

TEST(QueueTicketTest, AdmitsUpToTheLimitAndLeavesOnce) {
  std::atomic<size_t> queued{0};
  {
    QueueTicket first(queued, 1);
    EXPECT_TRUE(first.admitted());
    QueueTicket second(queued, 1);
    EXPECT_FALSE(second.admitted());
    EXPECT_EQ(queued.load(), 1u);
    first.leave();  // its handler started
    EXPECT_EQ(queued.load(), 0u);
    QueueTicket third(queued, 1);
    EXPECT_TRUE(third.admitted());
  }
  EXPECT_EQ(queued.load(), 0u);
}

TEST(WarningThrottleTest, LogsOncePerIntervalWithTheCountHeldBack) {
  WarningThrottle throttle(std::chrono::milliseconds(50));
  uint64_t held = 99;
  EXPECT_TRUE(throttle.should_log(held));
  EXPECT_EQ(held, 0u);
  EXPECT_FALSE(throttle.should_log(held));
  EXPECT_FALSE(throttle.should_log(held));
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_TRUE(throttle.should_log(held));
  EXPECT_EQ(held, 2u);
}

}  // namespace
}  // namespace barbossa
