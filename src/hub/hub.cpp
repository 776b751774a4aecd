#include "hub/hub.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "core/fault.h"

namespace barbossa {
namespace {

void erase_handle(std::vector<Hub::Handle>& v, const Hub::Handle& h) {
  auto it = std::find(v.begin(), v.end(), h);
  if (it != v.end()) {
    *it = std::move(v.back());
    v.pop_back();
  }
}

}  // namespace

Hub::Hub(EventBus& bus, size_t shards) : bus_(bus) {
  for (size_t i = 0; i < std::max<size_t>(1, shards); ++i) {
    auto shard = std::make_unique<Shard>();
    // Restored from storage: heartbeats never report less than the last
    // process did, even before the first event of this one.
    shard->dispatched_seq.store(bus_.last_seq());
    shards_.push_back(std::move(shard));
  }
  bus_.subscribe([this](const EventPtr& event) { enqueue(event); });
  for (auto& shard : shards_) {
    Shard* s = shard.get();
    s->dispatcher = std::thread([this, s] { dispatch_loop(*s); });
  }
}

Hub::~Hub() {
  stop();
}

void Hub::stop() {
  for (auto& shard : shards_) {
    {
      std::lock_guard lock(shard->queue_mu);
      if (shard->stopping) continue;
      shard->stopping = true;
    }
    shard->queue_cv.notify_all();
    if (shard->dispatcher.joinable()) shard->dispatcher.join();
  }
  // A session and its hub record point at each other (the session detaches
  // when its socket finishes). A socket still open at exit, say a client that
  // stopped reading, would keep both alive for good (LeakSanitizer found it):
  // drop the hub's side once nothing dispatches any more.
  for (auto& shard : shards_) {
    std::unique_lock lock(shard->registry_mu);
    for (auto& client : shard->all) client->connection.reset();
  }
}

Hub::Handle Hub::attach(std::shared_ptr<HubConnection> connection, int64_t user_id,
                        std::string username, bool is_admin,
                        const std::function<void(uint64_t seq)>& greet) {
  HubIdentity identity{user_id, std::move(username), is_admin, 0, account_epoch()};
  return attach(std::move(connection), std::move(identity), greet);
}

Hub::Handle Hub::attach(std::shared_ptr<HubConnection> connection, HubIdentity identity,
                        const std::function<void(uint64_t seq)>& greet) {
  auto client = std::make_shared<HubClient>();
  client->user_id = identity.user_id;
  client->username = std::move(identity.username);
  client->token_version = identity.token_version;
  client->is_admin = identity.is_admin;
  client->connection = std::move(connection);
  client->shard = next_shard_.fetch_add(1, std::memory_order_relaxed) % shards_.size();
  Shard& shard = *shards_[client->shard];
  // close_user/set_admin record the change before they look for sockets, and
  // we look at the record under the registry lock they take: a change either
  // finds this client registered or is seen here.
  std::unique_lock lock(shard.registry_mu);
  if (!apply_recorded(*client, identity.checked_at)) return nullptr;
  client->channels.store(default_channels(client->is_admin));
  // fan_out holds the shared lock for a whole event, so nothing is half
  // delivered while we hold the unique one, and greeting before registering
  // is the same as after: but a greet that throws leaves nothing behind.
  if (greet) greet(shard.dispatched_seq.load(std::memory_order_relaxed));
  try {
    client->index = shard.all.size();
    shard.all.push_back(client);
    if (client->is_admin) shard.admins.push_back(client);
    shard.by_user[client->user_id].push_back(client);
  } catch (...) {
    detach_locked(shard, client);
    throw;
  }
  return client;
}

bool Hub::apply_recorded(HubClient& client, uint64_t checked_at) {
  std::lock_guard lock(changes_mu_);
  auto it = changes_.find(client.user_id);
  if (it == changes_.end() || it->second.epoch <= checked_at) return true;
  if (it->second.closed) return false;
  client.is_admin = it->second.is_admin;
  client.token_version = std::max(client.token_version, it->second.token_version);
  return true;
}

void Hub::record_change(int64_t user_id, bool closed, bool is_admin, int64_t token_version) {
  std::lock_guard lock(changes_mu_);
  AccountChange& change = changes_[user_id];
  change.epoch = account_epoch_.fetch_add(1) + 1;
  change.closed = closed;
  change.is_admin = is_admin;
  change.token_version = token_version;
}

void Hub::detach(const Handle& client) {
  if (!client) return;
  Shard& shard = *shards_[client->shard];
  std::unique_lock lock(shard.registry_mu);
  detach_locked(shard, client);
}

void Hub::detach_locked(Shard& shard, const Handle& client) {
  size_t i = client->index;
  if (i >= shard.all.size() || shard.all[i] != client) return;  // already detached
  shard.all[i] = std::move(shard.all.back());
  shard.all[i]->index = i;
  shard.all.pop_back();
  erase_handle(shard.admins, client);
  auto it = shard.by_user.find(client->user_id);
  if (it != shard.by_user.end()) {
    erase_handle(it->second, client);
    if (it->second.empty()) shard.by_user.erase(it);
  }
  client->index = static_cast<size_t>(-1);
}

std::string Hub::subscribe(HubClient& client, std::string_view channel) const {
  auto parsed = parse_channel(channel);
  if (!parsed) return "Unknown channel: " + std::string(channel);
  if (!channel_visible(*parsed, client.is_admin)) return "Not allowed: " + std::string(channel);
  client.channels.fetch_or(channel_bit(*parsed));
  return {};
}

std::string Hub::unsubscribe(HubClient& client, std::string_view channel) const {
  auto parsed = parse_channel(channel);
  if (!parsed) return "Unknown channel: " + std::string(channel);
  client.channels.fetch_and(static_cast<ChannelMask>(~channel_bit(*parsed)));
  return {};
}

bool Hub::wants(const HubClient& client, const Event& event) {
  if (!event.audience.admits(client.user_id, client.is_admin)) return false;
  if (event.channel == Channel::kNone) return true;
  return channel_visible(event.channel, client.is_admin) &&
         (client.channels.load(std::memory_order_relaxed) & channel_bit(event.channel)) != 0;
}

std::optional<std::vector<EventPtr>> Hub::replay_for(const HubClient& client,
                                                     uint64_t after_seq) const {
  auto all = bus_.replay(after_seq);
  if (!all) return std::nullopt;
  std::vector<EventPtr> mine;
  for (auto& e : *all) {
    if (wants(client, *e)) mine.push_back(e);
  }
  return mine;
}

uint64_t Hub::dispatched_seq(const HubClient& client) const {
  return shards_[client.shard % shards_.size()]->dispatched_seq.load(std::memory_order_acquire);
}

size_t Hub::connection_count() const {
  size_t n = 0;
  for (auto& shard : shards_) {
    std::shared_lock lock(shard->registry_mu);
    n += shard->all.size();
  }
  return n;
}

size_t Hub::close_user(int64_t user_id, uint16_t code, std::string_view reason) {
  record_change(user_id, true, false, 0);  // before the search: see attach
  std::vector<Handle> closing;
  for (auto& shard : shards_) {
    std::unique_lock lock(shard->registry_mu);
    auto it = shard->by_user.find(user_id);
    if (it == shard->by_user.end()) continue;
    std::vector<Handle> mine = it->second;  // detach_locked edits the index
    for (auto& c : mine) detach_locked(*shard, c);
    closing.insert(closing.end(), mine.begin(), mine.end());
  }
  // Outside the locks: a close may call back into the hub (detach). After
  // stop() the hub holds no connections any more.
  for (auto& c : closing) {
    if (c->connection) c->connection->shut_down(code, reason);
  }
  return closing.size();
}

void Hub::set_admin_locked(Shard& shard, const Handle& client, bool is_admin) {
  if (client->is_admin == is_admin) return;
  client->is_admin = is_admin;
  if (is_admin) {
    shard.admins.push_back(client);
  } else {
    erase_handle(shard.admins, client);
  }
}

void Hub::set_admin(int64_t user_id, bool is_admin, int64_t token_version) {
  record_change(user_id, false, is_admin, token_version);  // before the search: see attach
  for (auto& shard : shards_) {
    std::unique_lock lock(shard->registry_mu);
    auto it = shard->by_user.find(user_id);
    if (it == shard->by_user.end()) continue;
    for (auto& c : it->second) {
      set_admin_locked(*shard, c, is_admin);
      c->token_version = std::max(c->token_version, token_version);
    }
  }
}

size_t Hub::sync_accounts(const std::vector<HubAccount>& accounts) {
  std::unordered_map<int64_t, const HubAccount*> by_id;
  int64_t newest_id = 0;
  for (auto& a : accounts) {
    by_id[a.user_id] = &a;
    newest_id = std::max(newest_id, a.user_id);
  }
  std::vector<std::pair<Handle, const char*>> closing;
  for (auto& shard : shards_) {
    std::unique_lock lock(shard->registry_mu);
    std::vector<Handle> stale;
    for (auto& [user_id, clients] : shard->by_user) {
      auto found = by_id.find(user_id);
      if (found == by_id.end()) {
        // Ids are never reused: one above the newest was created after the
        // snapshot, any other is gone.
        if (user_id > newest_id) continue;
        for (auto& c : clients) closing.emplace_back(c, "Account removed");
        stale.insert(stale.end(), clients.begin(), clients.end());
        continue;
      }
      const HubAccount& now = *found->second;
      for (auto& c : clients) {
        if (c->token_version >= now.token_version) continue;  // current, or newer than the snapshot
        if (c->is_admin != now.is_admin && c->token_version + 1 == now.token_version) {
          set_admin_locked(*shard, c, now.is_admin);  // the role alone changed
          c->token_version = now.token_version;
          continue;
        }
        closing.emplace_back(c, "Account changed");
        stale.push_back(c);
      }
    }
    for (auto& c : stale) detach_locked(*shard, c);
  }
  for (auto& [c, reason] : closing) {
    spdlog::info("closing a websocket of user {} ({}): {}", c->user_id, c->username, reason);
    if (c->connection) c->connection->shut_down(4001, reason);
  }
  return closing.size();
}

void Hub::shut_down_all(uint16_t code, std::string_view reason) {
  std::vector<Handle> copy;
  for (auto& shard : shards_) {
    std::shared_lock lock(shard->registry_mu);
    copy.insert(copy.end(), shard->all.begin(), shard->all.end());
  }
  for (auto& c : copy) c->connection->shut_down(code, reason);
}

void Hub::enqueue(const EventPtr& event) {
  for (auto& shard : shards_) {
    {
      std::lock_guard lock(shard->queue_mu);
      if (shard->stopping) continue;
      shard->queue.push_back(event);
    }
    shard->queue_cv.notify_one();
  }
}

void Hub::dispatch_loop(Shard& shard) {
  std::deque<EventPtr> batch;
  for (;;) {
    {
      std::unique_lock lock(shard.queue_mu);
      shard.queue_cv.wait(lock, [&] { return shard.stopping || !shard.queue.empty(); });
      if (shard.stopping) return;
      batch.swap(shard.queue);
    }
    for (auto& e : batch) {
      try {
        fault::maybe_throw("hub_dispatch");
        fan_out(shard, e);
      } catch (const std::exception& ex) {
        // The dispatcher lives on. Sockets that missed the event see a
        // heartbeat seq beyond their last one and resume from the buffer.
        spdlog::error("event {} ({}) not fanned out: {}", e->seq, e->type, ex.what());
        shard.dispatched_seq.store(e->seq, std::memory_order_release);
      } catch (...) {
        spdlog::error("event {} ({}) not fanned out: unknown exception", e->seq, e->type);
        shard.dispatched_seq.store(e->seq, std::memory_order_release);
      }
    }
    batch.clear();
  }
}

void Hub::fan_out(Shard& shard, const EventPtr& ptr) {
  const Event& event = *ptr;
  uint64_t n = 0;
  auto offer = [&](const Handle& c) {
    if (wants(*c, event)) {
      c->connection->deliver(ptr);
      ++n;
    }
  };
  std::shared_lock lock(shard.registry_mu);
  if (event.audience.everyone) {
    for (auto& c : shard.all) offer(c);
  } else {
    if (event.audience.admins) {
      for (auto& c : shard.admins) offer(c);
    }
    if (event.audience.user_id != 0) {
      auto it = shard.by_user.find(event.audience.user_id);
      if (it != shard.by_user.end()) {
        for (auto& c : it->second) {
          // An admin who is also the target was already served above.
          if (!(event.audience.admins && c->is_admin)) offer(c);
        }
      }
    }
  }
  delivered_.fetch_add(n, std::memory_order_relaxed);
  shard.dispatched_seq.store(event.seq, std::memory_order_release);
}

}  // namespace barbossa
