// EventBus: every state change users can see becomes an Event with the next
// sequence number. Events are serialized to JSON once, at publish time; every
// consumer shares the same immutable text.
//
// Thread-safety: all methods may be called from any thread. publish() never
// waits for subscribers: they are called in seq order and must only hand the
// event off (enqueue), never do I/O.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/channels.h"

namespace barbossa {

// Who may receive an event. Combined with the event's channel and each
// connection's subscriptions by the hub.
struct Audience {
  bool everyone = false;
  bool admins = false;
  int64_t user_id = 0;  // 0: no particular user

  static Audience all() { return {true, false, 0}; }
  static Audience admins_only() { return {false, true, 0}; }
  static Audience user(int64_t id) { return {false, false, id}; }
  static Audience user_and_admins(int64_t id) { return {false, true, id}; }

  bool admits(int64_t viewer_id, bool viewer_is_admin) const {
    return everyone || (admins && viewer_is_admin) || (user_id != 0 && user_id == viewer_id);
  }
};

struct Event {
  uint64_t seq = 0;
  int64_t timestamp_ms = 0;
  std::string type;
  Channel channel = Channel::kNone;  // kNone: not channel-bound (notification)
  Audience audience;
  // Events with the same non-empty key supersede each other (progress of one
  // download); a send queue may drop all but the newest.
  std::string coalesce_key;
  // The complete message: payload fields plus type, seq and timestamp.
  std::shared_ptr<const std::string> json;
  // The same, as one WebSocket text frame: every socket gets these bytes.
  std::shared_ptr<const std::string> frame;
  // The same compressed (permessage-deflate), when the bus was asked for it.
  std::shared_ptr<const std::string> deflated_frame;
};

using EventPtr = std::shared_ptr<const Event>;

struct EventDraft {
  std::string type;
  Channel channel = Channel::kNone;
  Audience audience;
  std::string coalesce_key;
  // Object with the event's own fields; type/seq/timestamp are added.
  std::shared_ptr<const nlohmann::json> payload;
};

// The one way to fill a draft, so every event type's builder (services/
// events.h, jobs/job_queue.cpp, http/api.cpp) reads the same.
EventDraft make_event_draft(std::string type, Channel channel, Audience audience,
                            nlohmann::json payload, std::string coalesce_key = {});

class EventBus {
 public:
  using Subscriber = std::function<void(const EventPtr&)>;

  virtual ~EventBus() = default;
  virtual uint64_t publish(const EventDraft& draft) = 0;
  virtual uint64_t last_seq() const = 0;
  // Called for every event published after subscribing, in seq order.
  virtual void subscribe(Subscriber subscriber) = 0;
  // Events with seq > after_seq, oldest first, or nullopt when some of them
  // are no longer buffered (the client must resync).
  virtual std::optional<std::vector<EventPtr>> replay(uint64_t after_seq) const = 0;
};

// Persists the sequence high-water mark so seq never goes backwards across
// restarts. `load` returns the last reserved value; `store` saves a new one.
struct SeqPersistence {
  std::function<uint64_t()> load;
  std::function<void(uint64_t)> store;
};

// In-process bus with a ring buffer of the last `buffer_size` events. With
// `deflate`, every event also carries a compressed frame.
std::unique_ptr<EventBus> make_memory_event_bus(size_t buffer_size, SeqPersistence persistence,
                                                bool deflate = false);

}  // namespace barbossa
