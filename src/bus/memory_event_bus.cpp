#include <deque>
#include <mutex>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "bus/event_bus.h"
#include "core/fault.h"
#include "core/time.h"
#include "core/ws_deflate.h"
#include "core/ws_frame.h"

namespace barbossa {

EventDraft make_event_draft(std::string type, Channel channel, Audience audience,
                            nlohmann::json payload, std::string coalesce_key) {
  EventDraft d;
  d.type = std::move(type);
  d.channel = channel;
  d.audience = audience;
  d.coalesce_key = std::move(coalesce_key);
  d.payload = std::make_shared<const nlohmann::json>(std::move(payload));
  return d;
}

namespace {

// Sequence numbers are reserved from storage in blocks, so a publish writes
// to disk once per block instead of once per event, and a restart resumes
// above anything that could have been handed out.
constexpr uint64_t kSeqBlock = 1000;

class MemoryEventBus final : public EventBus {
 public:
  MemoryEventBus(size_t buffer_size, SeqPersistence persistence, bool deflate)
      : buffer_size_(buffer_size == 0 ? 1 : buffer_size),
        persistence_(std::move(persistence)),
        deflate_(deflate) {
    seq_ = persistence_.load ? persistence_.load() : 0;
    reserved_ = seq_;
  }

  uint64_t publish(const EventDraft& draft) override {
    auto event = std::make_shared<Event>();
    event->type = draft.type;
    event->channel = draft.channel;
    event->audience = draft.audience;
    event->coalesce_key = draft.coalesce_key;

    std::lock_guard lock(mu_);
    event->seq = ++seq_;
    if (seq_ > reserved_) {
      reserved_ = seq_ + kSeqBlock;
      if (persistence_.store) persistence_.store(reserved_);
    }
    event->timestamp_ms = unix_now_ms();
    nlohmann::json message = draft.payload ? *draft.payload : nlohmann::json::object();
    message["type"] = draft.type;
    message["seq"] = event->seq;
    message["timestamp"] = iso8601_utc(event->timestamp_ms);
    // replace: a payload that quotes outside text (a tag, a file name) with
    // bytes that are not UTF-8 still goes out, with U+FFFD, instead of
    // throwing out of publish() under the bus lock.
    event->json = std::make_shared<const std::string>(
        message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    event->frame =
        std::make_shared<const std::string>(ws_encode_frame(WsOpcode::kText, *event->json));
    if (deflate_) {
      event->deflated_frame = std::make_shared<const std::string>(
          ws_encode_frame(WsOpcode::kText, ws_deflate(*event->json), /*compressed=*/true));
    }

    EventPtr shared = std::move(event);
    ring_.push_back(shared);
    if (ring_.size() > buffer_size_) ring_.pop_front();
    // Under the lock so every subscriber sees events in seq order; they only enqueue.
    for (auto& subscriber : subscribers_) deliver(subscriber, shared);
    return shared->seq;
  }

  // The event is committed and numbered: a subscriber that throws misses it
  // (logged), the others and the publisher do not.
  static void deliver(const Subscriber& subscriber, const EventPtr& event) noexcept {
    try {
      fault::maybe_throw("bus_subscriber");
      subscriber(event);
    } catch (const std::exception& e) {
      spdlog::error("event {} ({}) not delivered to a subscriber: {}", event->seq, event->type,
                    e.what());
    } catch (...) {
      spdlog::error("event {} ({}) not delivered to a subscriber: unknown exception", event->seq,
                    event->type);
    }
  }

  uint64_t last_seq() const override {
    std::lock_guard lock(mu_);
    return seq_;
  }

  void subscribe(Subscriber subscriber) override {
    std::lock_guard lock(mu_);
    subscribers_.push_back(std::move(subscriber));
  }

  std::optional<std::vector<EventPtr>> replay(uint64_t after_seq) const override {
    std::lock_guard lock(mu_);
    std::vector<EventPtr> out;
    if (after_seq > seq_) return std::nullopt;  // not a seq this install handed out
    if (after_seq == seq_) return out;
    uint64_t oldest = ring_.empty() ? seq_ + 1 : ring_.front()->seq;
    if (after_seq + 1 < oldest) return std::nullopt;
    size_t start = static_cast<size_t>(after_seq + 1 - oldest);
    out.assign(ring_.begin() + static_cast<std::ptrdiff_t>(start), ring_.end());
    return out;
  }

 private:
  const size_t buffer_size_;
  SeqPersistence persistence_;
  const bool deflate_;
  mutable std::mutex mu_;
  uint64_t seq_ = 0;
  uint64_t reserved_ = 0;
  std::deque<EventPtr> ring_;
  std::vector<Subscriber> subscribers_;
};

}  // namespace

std::unique_ptr<EventBus> make_memory_event_bus(size_t buffer_size, SeqPersistence persistence,
                                                bool deflate) {
  return std::make_unique<MemoryEventBus>(buffer_size, std::move(persistence), deflate);
}

}  // namespace barbossa
