// Hub: the registry of live WebSocket connections and the fan-out of bus
// events to them. It knows nothing of sockets: a connection is anything that
// can take an event without blocking (the Beast session implements it).
//
// Routing uses indexes (everyone, admins, user -> connections), never a scan
// per user. Fan-out runs on the hub's own dispatcher threads, so a publisher
// only pays for one enqueue, and a connection's deliver() never blocks (one
// non-blocking send at most), so a slow socket never delays the others.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bus/event_bus.h"
#include "core/channels.h"

namespace barbossa {

class HubConnection {
 public:
  virtual ~HubConnection() = default;
  // Thread-safe and non-blocking; called from a dispatcher thread.
  virtual void deliver(const EventPtr& event) = 0;
  // Starts a close handshake with `code` (e.g. 1001 at shutdown).
  virtual void shut_down(uint16_t code, std::string_view reason) = 0;
};

// Who a connection belongs to, as its token check found the account.
struct HubIdentity {
  int64_t user_id = 0;
  std::string username;
  bool is_admin = false;
  int64_t token_version = 0;  // the account's token_version when the token was checked
  // Hub::account_epoch() read before the token check: account changes the
  // hub learns of after it apply to the connection as it attaches.
  uint64_t checked_at = 0;
};

// An account as the database has it now (Hub::sync_accounts).
struct HubAccount {
  int64_t user_id = 0;
  int64_t token_version = 0;
  bool is_admin = false;
};

// One attached connection as the hub sees it.
struct HubClient {
  int64_t user_id = 0;
  std::string username;
  // The token_version its token was checked against; changes only under the
  // shard's registry lock (a role change the hub applies live).
  int64_t token_version = 0;
  // Changes only under the shard's registry lock (set_admin), together with
  // the admins index; atomic because sessions read it unlocked (subscribe).
  std::atomic<bool> is_admin{false};
  std::atomic<ChannelMask> channels{0};
  std::shared_ptr<HubConnection> connection;
  size_t shard = 0;  // fixed for life: one dispatcher serves it, in order
  size_t index = 0;  // position in its shard's `all`, for O(1) removal
};

class Hub {
 public:
  using Handle = std::shared_ptr<HubClient>;

  // Subscribes to `bus` and starts `shards` dispatcher threads. Connections
  // are spread over the shards; every event goes to every shard, so sending
  // to many sockets runs on several cores while each socket still sees
  // events in seq order.
  explicit Hub(EventBus& bus, size_t shards = 2);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // `greet`, when given, runs under the shard's registry lock with the seq of
  // the last event that shard fanned out: events up to it were never offered
  // to this connection, every later one will be. A session sends its first
  // heartbeat from there, so that heartbeat is its first message and its seq
  // is exact. A greet that throws leaves nothing registered.
  //
  // Returns nullptr, registering nothing, when close_user ended the account
  // after `identity.checked_at`: its token was checked before the change and
  // would otherwise attach as if it never happened. A role set since then
  // (set_admin) applies instead of the checked one.
  Handle attach(std::shared_ptr<HubConnection> connection, HubIdentity identity,
                const std::function<void(uint64_t seq)>& greet = {});
  // The same for a connection whose identity was just checked (tests).
  Handle attach(std::shared_ptr<HubConnection> connection, int64_t user_id, std::string username,
                bool is_admin, const std::function<void(uint64_t seq)>& greet = {});
  void detach(const Handle& client);

  // Empty string on success, otherwise the error message for the client.
  std::string subscribe(HubClient& client, std::string_view channel) const;
  std::string unsubscribe(HubClient& client, std::string_view channel) const;

  // Whether `event` should reach `client` right now (audience, channel
  // permission and subscription).
  static bool wants(const HubClient& client, const Event& event);

  // Missed events for `client` with seq > after_seq, or nullopt when they are
  // no longer buffered.
  std::optional<std::vector<EventPtr>> replay_for(const HubClient& client,
                                                  uint64_t after_seq) const;

  uint64_t last_seq() const { return bus_.last_seq(); }
  // Seq of the newest event already offered to `client` (<= last_seq). A
  // heartbeat carrying it promises: everything up to here is in your queue.
  uint64_t dispatched_seq(const HubClient& client) const;
  size_t connection_count() const;
  uint64_t delivered_count() const { return delivered_.load(std::memory_order_relaxed); }

  // The account changed under open sockets. close_user detaches every
  // connection of `user_id` at once (no event reaches them after it returns)
  // and asks each to close with `code` (4001 when the account was removed or
  // its password changed); returns how many. set_admin moves the user's
  // connections in or out of the admins index under the registry lock, so a
  // demoted admin gets no admin-only event fanned out after it returns.
  //
  // Both are remembered (see attach), so a socket whose token was checked
  // just before the change cannot attach with the old identity.
  // `token_version` is the account's new one, which the connections adopt
  // (their token is still the old one; the socket lives on with the new role).
  size_t close_user(int64_t user_id, uint16_t code, std::string_view reason);
  void set_admin(int64_t user_id, bool is_admin, int64_t token_version);

  // Read before a token check and passed to attach as HubIdentity::checked_at.
  uint64_t account_epoch() const { return account_epoch_.load(); }

  // Brings open sockets in line with the accounts table (changes made by
  // another process: `barbossa user remove/passwd`). `accounts` is every
  // account, read in one query. Returns how many connections were closed.
  // A connection of a removed account, or whose token_version is older than
  // the account's, is closed with 4001; one whose role changed and nothing
  // else (exactly one version later) gets the new role, like set_admin. A
  // connection newer than the snapshot (a later login, a user created since)
  // is left alone.
  size_t sync_accounts(const std::vector<HubAccount>& accounts);

  // Asks every connection to close with `code`; used at shutdown.
  void shut_down_all(uint16_t code, std::string_view reason);
  // Stops the dispatchers (pending events are dropped) and lets go of the
  // connections. Call it last, when no thread uses the hub any more.
  void stop();

 private:
  struct Shard {
    mutable std::shared_mutex registry_mu;
    std::vector<Handle> all;
    std::vector<Handle> admins;
    std::unordered_map<int64_t, std::vector<Handle>> by_user;

    std::mutex queue_mu;
    std::condition_variable queue_cv;
    std::deque<EventPtr> queue;
    bool stopping = false;
    std::atomic<uint64_t> dispatched_seq{0};
    std::thread dispatcher;
  };

  // The last close_user/set_admin of one account, at which epoch.
  struct AccountChange {
    uint64_t epoch = 0;
    bool closed = false;
    bool is_admin = false;
    int64_t token_version = 0;
  };

  void detach_locked(Shard& shard, const Handle& client);
  static void set_admin_locked(Shard& shard, const Handle& client, bool is_admin);
  void record_change(int64_t user_id, bool closed, bool is_admin, int64_t token_version);
  // Applies a change recorded after `checked_at`; false when the account was closed.
  bool apply_recorded(HubClient& client, uint64_t checked_at);
  void enqueue(const EventPtr& event);
  void dispatch_loop(Shard& shard);
  void fan_out(Shard& shard, const EventPtr& event);

  EventBus& bus_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<size_t> next_shard_{0};
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> account_epoch_{0};
  std::mutex changes_mu_;  // taken inside a registry lock, never the other way round
  std::unordered_map<int64_t, AccountChange> changes_;
};

}  // namespace barbossa
