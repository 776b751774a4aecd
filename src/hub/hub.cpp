#include "hub/hub.h"

#include <algorithm>

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

Hub::Hub(EventBus& bus) : bus_(bus) {
  bus_.subscribe([this](const EventPtr& event) { enqueue(event); });
  dispatcher_ = std::thread([this] { dispatch_loop(); });
}

Hub::~Hub() { stop(); }

void Hub::stop() {
  {
    std::lock_guard lock(queue_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (dispatcher_.joinable()) dispatcher_.join();
}

Hub::Handle Hub::attach(std::shared_ptr<HubConnection> connection, int64_t user_id,
                        std::string username, bool is_admin) {
  auto client = std::make_shared<HubClient>();
  client->user_id = user_id;
  client->username = std::move(username);
  client->is_admin = is_admin;
  client->channels.store(default_channels(is_admin));
  client->connection = std::move(connection);
  std::unique_lock lock(registry_mu_);
  client->index = all_.size();
  all_.push_back(client);
  if (is_admin) admins_.push_back(client);
  by_user_[user_id].push_back(client);
  return client;
}

void Hub::detach(const Handle& client) {
  if (!client) return;
  std::unique_lock lock(registry_mu_);
  size_t i = client->index;
  if (i >= all_.size() || all_[i] != client) return;  // already detached
  all_[i] = std::move(all_.back());
  all_[i]->index = i;
  all_.pop_back();
  if (client->is_admin) erase_handle(admins_, client);
  auto it = by_user_.find(client->user_id);
  if (it != by_user_.end()) {
    erase_handle(it->second, client);
    if (it->second.empty()) by_user_.erase(it);
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

size_t Hub::connection_count() const {
  std::shared_lock lock(registry_mu_);
  return all_.size();
}

void Hub::shut_down_all(uint16_t code, std::string_view reason) {
  std::vector<Handle> copy;
  {
    std::shared_lock lock(registry_mu_);
    copy = all_;
  }
  for (auto& c : copy) c->connection->shut_down(code, reason);
}

void Hub::enqueue(const EventPtr& event) {
  {
    std::lock_guard lock(queue_mu_);
    if (stopping_) return;
    queue_.push_back(event);
  }
  queue_cv_.notify_one();
}

void Hub::dispatch_loop() {
  std::deque<EventPtr> batch;
  for (;;) {
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      batch.swap(queue_);
    }
    for (auto& e : batch) fan_out(*e, e);
    batch.clear();
  }
}

void Hub::fan_out(const Event& event, const EventPtr& ptr) {
  uint64_t n = 0;
  auto offer = [&](const Handle& c) {
    if (wants(*c, event)) {
      c->connection->deliver(ptr);
      ++n;
    }
  };
  std::shared_lock lock(registry_mu_);
  if (event.audience.everyone) {
    for (auto& c : all_) offer(c);
  } else {
    if (event.audience.admins) {
      for (auto& c : admins_) offer(c);
    }
    if (event.audience.user_id != 0) {
      auto it = by_user_.find(event.audience.user_id);
      if (it != by_user_.end()) {
        for (auto& c : it->second) {
          // An admin who is also the target was already served above.
          if (!(event.audience.admins && c->is_admin)) offer(c);
        }
      }
    }
  }
  delivered_.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace barbossa
