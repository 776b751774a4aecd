// Limits of the network edge against exhaustion (issue 9): connections per
// server and per client address, the bounded queue of work waiting for a
// handler thread, and a throttle for the warnings they log. Plain C++ (no
// Beast) so they are unit-tested on their own; http/server.cpp applies them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace barbossa {

// MAX_CONNECTIONS as configured, or for 0 the open-file limit less the
// descriptors kept for the database, library files, inotify and the listener.
size_t connection_limit(size_t configured);

// Open connections, in total and per client address (an IPv6 client by its
// /64, as the login throttle keys it: LoginThrottle::address_key). Slots
// share ownership of the counter: a WebSocket session may outlive the server
// that counted it.
class ConnectionCounter : public std::enable_shared_from_this<ConnectionCounter> {
 public:
  // Held for the life of one connection; gives its place back when destroyed.
  class Slot {
   public:
    Slot(std::shared_ptr<ConnectionCounter> counter, std::string address)
        : counter_(std::move(counter)), address_(std::move(address)) {}
    ~Slot() { counter_->release(address_); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    std::shared_ptr<ConnectionCounter> counter_;
    std::string address_;
  };

  // max_per_address 0: no limit per address. `unlimited` names addresses the
  // per-address limit skips (reverse proxies carry every client's sockets).
  ConnectionCounter(size_t max_total, size_t max_per_address,
                    std::function<bool(const std::string&)> unlimited = {});

  // A slot, or nullptr with `refused` naming the limit reached.
  std::shared_ptr<Slot> acquire(const std::string& address, std::string& refused);
  size_t open() const;

 private:
  void release(const std::string& address);

  const size_t max_total_;
  const size_t max_per_address_;
  const std::function<bool(const std::string&)> unlimited_;
  mutable std::mutex mu_;
  size_t total_ = 0;
  std::unordered_map<std::string, size_t> per_address_;
};

// A place in the bounded queue of work waiting for a handler thread. Left
// when the handler starts (or, if it never does, when the ticket goes).
class QueueTicket {
 public:
  QueueTicket(std::atomic<size_t>& queued, size_t limit) : queued_(queued) {
    held_ = queued_.fetch_add(1) < limit;
    if (!held_) queued_.fetch_sub(1);
  }
  ~QueueTicket() { leave(); }
  QueueTicket(const QueueTicket&) = delete;
  QueueTicket& operator=(const QueueTicket&) = delete;
  bool admitted() const { return held_; }
  // Called on the handler thread; the session awaits it, so never concurrent
  // with the destructor.
  void leave() {
    if (held_) queued_.fetch_sub(1);
    held_ = false;
  }

 private:
  std::atomic<size_t>& queued_;
  bool held_ = false;
};

// A warning that may repeat thousands of times a second (refused
// connections, a full queue, accept failing) is logged once per interval,
// with how many were held back meanwhile.
class WarningThrottle {
 public:
  explicit WarningThrottle(std::chrono::steady_clock::duration interval = std::chrono::seconds(10))
      : interval_(interval) {}
  // True when this occurrence should be logged; `suppressed` is then the
  // number of occurrences since the last one logged.
  bool should_log(uint64_t& suppressed);

 private:
  const std::chrono::steady_clock::duration interval_;
  std::mutex mu_;
  bool logged_once_ = false;
  std::chrono::steady_clock::time_point last_{};
  uint64_t suppressed_ = 0;
};

}  // namespace barbossa
