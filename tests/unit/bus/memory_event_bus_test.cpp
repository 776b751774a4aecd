#include <atomic>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "bus/event_bus.h"

namespace barbossa {
namespace {

EventDraft draft(const std::string& type, int n = 0) {
  EventDraft d;
  d.type = type;
  d.channel = Channel::kActivity;
  d.audience = Audience::all();
  d.payload = std::make_shared<nlohmann::json>(nlohmann::json{{"n", n}});
  return d;
}

TEST(MemoryEventBusTest, AssignsIncreasingSeqAndSerializesOnce) {
  auto bus = make_memory_event_bus(10, {});
  std::vector<EventPtr> seen;
  bus->subscribe([&](const EventPtr& e) { seen.push_back(e); });
  EXPECT_EQ(bus->publish(draft("a", 1)), 1u);
  EXPECT_EQ(bus->publish(draft("b", 2)), 2u);
  ASSERT_EQ(seen.size(), 2u);
  auto j = nlohmann::json::parse(*seen[1]->json);
  EXPECT_EQ(j["type"], "b");
  EXPECT_EQ(j["seq"], 2);
  EXPECT_EQ(j["n"], 2);
  EXPECT_TRUE(j["timestamp"].get<std::string>().ends_with("Z"));
  EXPECT_EQ(bus->last_seq(), 2u);
}

// Regression (issue 9): a subscriber's exception escaped publish(), after
// the caller's transaction had committed, so the request failed with 500 and
// later subscribers never saw the event.
TEST(MemoryEventBusTest, ThrowingSubscriberNeitherFailsPublishNorStarvesTheOthers) {
  auto bus = make_memory_event_bus(10, {});
  std::vector<uint64_t> seen;
  bus->subscribe([](const EventPtr&) { throw std::runtime_error("subscriber broke"); });
  bus->subscribe([&](const EventPtr& e) { seen.push_back(e->seq); });
  EXPECT_EQ(bus->publish(draft("a", 1)), 1u);
  EXPECT_EQ(bus->publish(draft("b", 2)), 2u);
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2}));
  ASSERT_TRUE(bus->replay(0).has_value());
  EXPECT_EQ(bus->replay(0)->size(), 2u);
}

TEST(MemoryEventBusTest, PayloadWithInvalidUtf8IsPublishedAsValidJson) {
  auto bus = make_memory_event_bus(10, {});
  std::vector<EventPtr> seen;
  bus->subscribe([&](const EventPtr& e) { seen.push_back(e); });
  EventDraft d = draft("import_review");
  auto payload = std::make_shared<nlohmann::json>(nlohmann::json::object());
  (*payload)["path"] = "Caf\xe9 Tacuba";  // a Latin-1 name that slipped through
  d.payload = std::move(payload);
  ASSERT_NO_THROW(bus->publish(std::move(d)));
  ASSERT_EQ(seen.size(), 1u);
  auto j = nlohmann::json::parse(*seen[0]->json);
  EXPECT_EQ(j["path"], "Caf\uFFFD Tacuba");
  EXPECT_EQ(j["type"], "import_review");
}

TEST(MemoryEventBusTest, ReplayReturnsMissedEventsInOrder) {
  auto bus = make_memory_event_bus(5, {});
  for (int i = 0; i < 4; ++i) bus->publish(draft("e", i));
  auto r = bus->replay(1);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0]->seq, 2u);
  EXPECT_EQ((*r)[2]->seq, 4u);
  EXPECT_TRUE(bus->replay(4)->empty());
}

TEST(MemoryEventBusTest, ReplayOfEvictedEventsAsksForResync) {
  auto bus = make_memory_event_bus(3, {});
  for (int i = 0; i < 6; ++i) bus->publish(draft("e", i));
  EXPECT_FALSE(bus->replay(1).has_value());  // 2 and 3 are gone
  ASSERT_TRUE(bus->replay(3).has_value());   // 4,5,6 still buffered
  EXPECT_EQ(bus->replay(3)->size(), 3u);
  EXPECT_FALSE(bus->replay(99).has_value());  // never handed out
}

TEST(MemoryEventBusTest, SeqNeverGoesBackwardsAcrossRestarts) {
  uint64_t stored = 0;
  int writes = 0;
  SeqPersistence p{[&] { return stored; }, [&](uint64_t v) { stored = v; ++writes; }};
  uint64_t last = 0;
  {
    auto bus = make_memory_event_bus(10, p);
    for (int i = 0; i < 5; ++i) last = bus->publish(draft("e"));
  }
  EXPECT_EQ(writes, 1);  // reserved in blocks, not once per event
  auto again = make_memory_event_bus(10, p);
  EXPECT_GE(again->last_seq(), last);
  EXPECT_GT(again->publish(draft("e")), last);
  // The old client's position is not buffered any more: resync.
  EXPECT_FALSE(again->replay(last).has_value());
}

TEST(MemoryEventBusTest, ConcurrentPublishersGetUniqueOrderedSeqs) {
  auto bus = make_memory_event_bus(100000, {});
  std::vector<uint64_t> delivered;
  bus->subscribe([&](const EventPtr& e) { delivered.push_back(e->seq); });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) bus->publish(draft("e"));
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(delivered.size(), 4000u);
  for (size_t i = 0; i < delivered.size(); ++i) EXPECT_EQ(delivered[i], i + 1);
}

TEST(AudienceTest, Admits) {
  EXPECT_TRUE(Audience::all().admits(5, false));
  EXPECT_FALSE(Audience::admins_only().admits(5, false));
  EXPECT_TRUE(Audience::admins_only().admits(5, true));
  EXPECT_TRUE(Audience::user(5).admits(5, false));
  EXPECT_FALSE(Audience::user(5).admits(6, true));
  EXPECT_TRUE(Audience::user_and_admins(5).admits(6, true));
  EXPECT_FALSE(Audience::user_and_admins(5).admits(6, false));
}

}  // namespace
}  // namespace barbossa
