#include "hub/hub.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace barbossa {
namespace {

class RecordingConnection : public HubConnection {
 public:
  void deliver(const EventPtr& e) override {
    std::lock_guard lock(mu);
    seqs.push_back(e->seq);
  }
  void shut_down(uint16_t code, std::string_view) override {
    std::lock_guard lock(mu);
    closed_with = code;
  }
  std::vector<uint64_t> received() {
    std::lock_guard lock(mu);
    return seqs;
  }
  std::mutex mu;
  std::vector<uint64_t> seqs;
  uint16_t closed_with = 0;
};

EventDraft event(Channel channel, Audience audience) {
  EventDraft d;
  d.type = "test";
  d.channel = channel;
  d.audience = audience;
  d.payload = std::make_shared<nlohmann::json>(nlohmann::json::object());
  return d;
}

class HubTest : public ::testing::Test {
 protected:
  std::shared_ptr<RecordingConnection> connect(int64_t user, bool admin) {
    auto c = std::make_shared<RecordingConnection>();
    handles.push_back(hub.attach(c, user, "u" + std::to_string(user), admin));
    connections.push_back(c);
    return c;
  }
  // Publishes a marker to everyone and waits until every connection has it:
  // everything published before is then delivered too (each connection is
  // served by one dispatcher, in order).
  void drain(const std::shared_ptr<RecordingConnection>& = nullptr) {
    uint64_t marker = bus->publish(event(Channel::kNone, Audience::all()));
    for (auto& c : connections) {
      bool seen = false;
      for (int i = 0; i < 500 && !seen; ++i) {
        auto r = c->received();
        seen = !r.empty() && r.back() == marker;
        if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      if (!seen && !detached(c)) FAIL() << "marker not delivered";
    }
  }
  bool detached(const std::shared_ptr<RecordingConnection>& c) {
    for (auto& h : handles) {
      if (h->connection == c) return h->index == static_cast<size_t>(-1);
    }
    return false;
  }
  std::unique_ptr<EventBus> bus = make_memory_event_bus(100, {});
  Hub hub{*bus, 3};  // several shards: connections spread over dispatchers
  std::vector<Hub::Handle> handles;
  std::vector<std::shared_ptr<RecordingConnection>> connections;
};

TEST_F(HubTest, UserEventReachesAllOfThatUsersSocketsOnly) {
  auto a1 = connect(1, false), a2 = connect(1, false), b = connect(2, false);
  uint64_t seq = bus->publish(event(Channel::kNone, Audience::user(1)));
  drain(b);
  auto has = [&](auto& c) {
    auto r = c->received();
    return std::find(r.begin(), r.end(), seq) != r.end();
  };
  EXPECT_TRUE(has(a1));
  EXPECT_TRUE(has(a2));
  EXPECT_FALSE(has(b));
}

TEST_F(HubTest, SystemEventsReachAdminsOnly) {
  auto admin = connect(1, true), user = connect(2, false);
  uint64_t seq = bus->publish(event(Channel::kSystem, Audience::admins_only()));
  uint64_t leaked = bus->publish(event(Channel::kSystem, Audience::all()));
  drain(user);
  drain(admin);
  auto r = admin->received();
  EXPECT_NE(std::find(r.begin(), r.end(), seq), r.end());
  auto u = user->received();
  EXPECT_EQ(std::find(u.begin(), u.end(), seq), u.end());
  // Even a mis-addressed system event stays away from non-admins.
  EXPECT_EQ(std::find(u.begin(), u.end(), leaked), u.end());
}

TEST_F(HubTest, UserAndAdminsAudienceDeliversOncePerSocket) {
  auto admin_owner = connect(1, true), other_admin = connect(3, true), other = connect(2, false);
  uint64_t seq = bus->publish(event(Channel::kDownloads, Audience::user_and_admins(1)));
  drain(other);
  drain(admin_owner);
  drain(other_admin);
  auto count = [&](auto& c) {
    auto r = c->received();
    return std::count(r.begin(), r.end(), seq);
  };
  EXPECT_EQ(count(admin_owner), 1);
  EXPECT_EQ(count(other_admin), 1);
  EXPECT_EQ(count(other), 0);
}

TEST_F(HubTest, SubscriptionsFilterAndPermissionsAreChecked) {
  auto c = connect(5, false);
  auto h = handles.back();
  EXPECT_FALSE(hub.subscribe(*h, "nope").empty());
  EXPECT_FALSE(hub.subscribe(*h, "review").empty());
  EXPECT_TRUE(hub.unsubscribe(*h, "activity").empty());
  uint64_t seq = bus->publish(event(Channel::kActivity, Audience::all()));
  drain(c);
  auto r = c->received();
  EXPECT_EQ(std::find(r.begin(), r.end(), seq), r.end());
  EXPECT_TRUE(hub.subscribe(*h, "activity").empty());
  seq = bus->publish(event(Channel::kActivity, Audience::all()));
  drain(c);
  r = c->received();
  EXPECT_NE(std::find(r.begin(), r.end(), seq), r.end());
}

TEST_F(HubTest, DetachStopsDeliveryAndCounts) {
  auto a = connect(1, false), b = connect(2, false);
  EXPECT_EQ(hub.connection_count(), 2u);
  hub.detach(handles[0]);
  hub.detach(handles[0]);  // idempotent
  EXPECT_EQ(hub.connection_count(), 1u);
  uint64_t seq = bus->publish(event(Channel::kActivity, Audience::all()));
  drain(b);
  auto r = a->received();
  EXPECT_EQ(std::find(r.begin(), r.end(), seq), r.end());
}

TEST_F(HubTest, ReplayIsFilteredForTheClient) {
  auto c = connect(5, false);
  auto h = handles.back();
  bus->publish(event(Channel::kActivity, Audience::all()));        // 1: visible
  bus->publish(event(Channel::kNone, Audience::user(6)));          // 2: someone else's
  bus->publish(event(Channel::kSystem, Audience::admins_only()));  // 3: admins
  bus->publish(event(Channel::kNone, Audience::user(5)));          // 4: mine
  auto r = hub.replay_for(*h, 0);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0]->seq, 1u);
  EXPECT_EQ((*r)[1]->seq, 4u);
}

TEST_F(HubTest, EachConnectionSeesEventsInSeqOrder) {
  for (int i = 0; i < 8; ++i) connect(i + 1, i % 2 == 0);
  for (int i = 0; i < 200; ++i) bus->publish(event(Channel::kActivity, Audience::all()));
  drain();
  for (auto& c : connections) {
    auto r = c->received();
    EXPECT_TRUE(std::is_sorted(r.begin(), r.end()));
    EXPECT_EQ(r.size(), 201u);
  }
}

TEST_F(HubTest, ShutDownAllClosesEveryConnection) {
  auto a = connect(1, false), b = connect(2, true);
  hub.shut_down_all(1001, "bye");
  EXPECT_EQ(a->closed_with, 1001);
  EXPECT_EQ(b->closed_with, 1001);
}

// A removed user (or one whose password changed) loses every open socket
// with 4001, on every shard, and no later event reaches them; others stay.
TEST_F(HubTest, CloseUserClosesAllOfThatUsersSocketsWith4001) {
  auto a1 = connect(1, false), a2 = connect(1, true), a3 = connect(1, false), b = connect(2, false);
  EXPECT_EQ(hub.close_user(1, 4001, "Account removed"), 3u);
  EXPECT_EQ(a1->closed_with, 4001);
  EXPECT_EQ(a2->closed_with, 4001);
  EXPECT_EQ(a3->closed_with, 4001);
  EXPECT_EQ(b->closed_with, 0);
  EXPECT_EQ(hub.connection_count(), 1u);
  size_t before = a2->received().size();
  bus->publish(event(Channel::kNone, Audience::user(1)));
  bus->publish(event(Channel::kSystem, Audience::admins_only()));
  drain();
  EXPECT_EQ(a2->received().size(), before);
  EXPECT_EQ(hub.close_user(1, 4001, "again"), 0u);
  for (auto& h : handles) hub.detach(h);  // the sessions' own detach: harmless
  EXPECT_EQ(hub.connection_count(), 0u);
}

// A demoted admin must stop getting admin-only events at once, and a
// promoted user start; their sockets stay open.
TEST_F(HubTest, SetAdminMovesTheUsersSocketsInAndOutOfTheAdminAudience) {
  auto admin = connect(1, true), admin2 = connect(1, true), other = connect(2, true);
  auto h = handles.front();
  ASSERT_EQ(hub.subscribe(*h, "system"), "");
  hub.set_admin(1, false, 2);
  uint64_t admins_only = bus->publish(event(Channel::kNone, Audience::admins_only()));
  uint64_t system = bus->publish(event(Channel::kSystem, Audience::all()));
  drain();
  auto has = [](auto& c, uint64_t seq) {
    auto r = c->received();
    return std::find(r.begin(), r.end(), seq) != r.end();
  };
  EXPECT_FALSE(has(admin, admins_only));
  EXPECT_FALSE(has(admin2, admins_only));
  EXPECT_FALSE(has(admin, system));
  EXPECT_TRUE(has(other, admins_only));
  EXPECT_NE(hub.subscribe(*h, "system"), "");  // no longer allowed
  EXPECT_EQ(admin->closed_with, 0);

  hub.set_admin(1, true, 3);
  uint64_t again = bus->publish(event(Channel::kNone, Audience::admins_only()));
  drain();
  EXPECT_TRUE(has(admin, again));
  EXPECT_TRUE(has(admin2, again));
  for (auto& handle : handles) hub.detach(handle);  // the admins index stays consistent
  EXPECT_EQ(hub.connection_count(), 0u);
}

// The token of a socket is checked on a handler thread, and the socket
// attaches only after its 101 went out: an account removed in between must
// not attach with its old identity (it would stay open for good).
TEST_F(HubTest, AttachIsRefusedWhenTheAccountClosedDuringTheTokenCheck) {
  uint64_t checked_at = hub.account_epoch();
  EXPECT_EQ(hub.close_user(1, 4001, "Account removed"), 0u);  // nothing attached yet
  auto c = std::make_shared<RecordingConnection>();
  bool greeted = false;
  auto h =
      hub.attach(c, HubIdentity{1, "u1", false, 1, checked_at}, [&](uint64_t) { greeted = true; });
  EXPECT_EQ(h, nullptr);
  EXPECT_FALSE(greeted);
  EXPECT_EQ(hub.connection_count(), 0u);
  // Another user, and the same user checked after the change, attach.
  EXPECT_NE(hub.attach(c, HubIdentity{2, "u2", false, 1, checked_at}), nullptr);
  auto later = hub.attach(c, HubIdentity{1, "u1", false, 2, hub.account_epoch()});
  ASSERT_NE(later, nullptr);
  EXPECT_EQ(hub.connection_count(), 2u);
  hub.detach(later);
}

// A demoted admin whose token was checked just before the demotion attaches
// as what the account is now, not as an admin for the life of the socket.
TEST_F(HubTest, AttachTakesTheRoleSetDuringTheTokenCheck) {
  uint64_t checked_at = hub.account_epoch();
  hub.set_admin(1, false, 6);
  auto c = std::make_shared<RecordingConnection>();
  auto h = hub.attach(c, HubIdentity{1, "u1", true, 5, checked_at});
  ASSERT_NE(h, nullptr);
  handles.push_back(h);
  connections.push_back(c);
  EXPECT_FALSE(h->is_admin);
  EXPECT_EQ(h->token_version, 6);
  uint64_t admins_only = bus->publish(event(Channel::kNone, Audience::admins_only()));
  drain();
  auto r = c->received();
  EXPECT_EQ(std::find(r.begin(), r.end(), admins_only), r.end());
  // The sync sees the account as the hub now has it: nothing to close.
  EXPECT_EQ(hub.sync_accounts({{1, 6, false}}), 0u);
  EXPECT_EQ(c->closed_with, 0);
}

// If the greeting (the first heartbeat) throws, the session never gets a
// handle to detach: nothing may stay registered, or the session and its
// connection slot leak for good.
TEST_F(HubTest, AttachRegistersNothingWhenGreetThrows) {
  auto c = std::make_shared<RecordingConnection>();
  EXPECT_THROW(hub.attach(c, 1, "u1", true, [](uint64_t) { throw std::runtime_error("greet"); }),
               std::runtime_error);
  EXPECT_EQ(hub.connection_count(), 0u);
  EXPECT_EQ(hub.close_user(1, 4001, "gone"), 0u);
  EXPECT_EQ(c.use_count(), 1);  // the hub keeps no reference to it
}

// Changes made by another process (barbossa user remove/passwd, a role
// change) reach open sockets through sync_accounts.
TEST_F(HubTest, SyncAccountsClosesRemovedAndStaleSocketsAndReRolesDemotedOnes) {
  auto changed_password = std::make_shared<RecordingConnection>();
  auto demoted = std::make_shared<RecordingConnection>();
  auto removed = std::make_shared<RecordingConnection>();
  auto unchanged = std::make_shared<RecordingConnection>();
  auto created_since = std::make_shared<RecordingConnection>();
  auto newer_login = std::make_shared<RecordingConnection>();
  auto promoted_and_passwd = std::make_shared<RecordingConnection>();
  uint64_t epoch = hub.account_epoch();
  auto attach = [&](auto& c, int64_t id, bool admin, int64_t version) {
    auto h = hub.attach(c, HubIdentity{id, "u", admin, version, epoch});
    handles.push_back(h);
    connections.push_back(c);
    return h;
  };
  attach(changed_password, 1, false, 1);
  auto demoted_handle = attach(demoted, 2, true, 1);
  attach(removed, 3, false, 1);
  attach(unchanged, 4, false, 1);
  attach(created_since, 9, false, 1);  // newer than every id in the snapshot
  attach(newer_login, 5, false, 3);    // logged in after the snapshot was read
  attach(promoted_and_passwd, 6, false, 1);
  std::vector<HubAccount> now = {{1, 2, false}, {2, 2, false}, {4, 1, false},
                                 {5, 2, false}, {6, 3, true},  {8, 1, false}};
  EXPECT_EQ(hub.sync_accounts(now), 3u);
  EXPECT_EQ(changed_password->closed_with, 4001);
  EXPECT_EQ(removed->closed_with, 4001);
  EXPECT_EQ(promoted_and_passwd->closed_with, 4001);
  EXPECT_EQ(demoted->closed_with, 0);
  EXPECT_FALSE(demoted_handle->is_admin);
  EXPECT_EQ(demoted_handle->token_version, 2);
  EXPECT_EQ(unchanged->closed_with, 0);
  EXPECT_EQ(created_since->closed_with, 0);
  EXPECT_EQ(newer_login->closed_with, 0);
  EXPECT_EQ(hub.connection_count(), 4u);

  uint64_t admins_only = bus->publish(event(Channel::kNone, Audience::admins_only()));
  uint64_t to_removed = bus->publish(event(Channel::kNone, Audience::user(3)));
  drain();
  auto r = demoted->received();
  EXPECT_EQ(std::find(r.begin(), r.end(), admins_only), r.end());
  r = removed->received();
  EXPECT_EQ(std::find(r.begin(), r.end(), to_removed), r.end());
  EXPECT_EQ(hub.sync_accounts(now), 0u);  // settled: a second pass changes nothing
}

}  // namespace
}  // namespace barbossa
