// InboxWatcher: inotify on the inboxes (SPEC §6), recursive, on its own
// thread and io_context (Asio stays inside the .cpp). Every event inside a
// top-level entry re-arms that entry's settle deadline; at the deadline the
// entry is snapshotted and judged by SettleTracker; a complete entry goes to
// the ready callback (which queues its import job).
//
// New subfolders get watches as they appear (and are walked, so folders made
// before their watch existed are not missed). An event-queue overflow, the
// start and rescan() all list every inbox and arm the entries found, so
// nothing depends on having seen every event: the snapshot rule decides.
//
// When inotify is unavailable (watch limit reached, no inotify) the watcher
// says so in its status and the periodic scan (rescan()) still finds
// everything, one settle time after each scan.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "watch/inbox.h"

namespace barbossa {

struct InboxWatcherStatus {
  bool running = false;
  bool inotify = false;  // false: scans only
  int64_t watches = 0;   // folders under watch
  int64_t tracking = 0;  // entries waiting to settle
  int64_t ready = 0;     // entries handed to the callback since start
  int64_t overflows = 0;
  std::string last_error;  // empty: none
};

class InboxWatcher {
 public:
  // Called on the watcher's thread; must not block for long (it queues a
  // job). An exception is logged and the entry is looked at again after
  // another settle time.
  using ReadyCallback = std::function<void(const Inbox&, const InboxEntry&)>;

  InboxWatcher(std::vector<Inbox> inboxes, std::chrono::milliseconds settle,
               ReadyCallback on_ready);
  ~InboxWatcher();  // stop()s
  InboxWatcher(const InboxWatcher&) = delete;
  InboxWatcher& operator=(const InboxWatcher&) = delete;

  // Adds the watches, scans every inbox (the start-up scan) and starts the
  // thread.
  void start();
  void stop();
  // Lists every inbox and arms entries not already waiting. Thread-safe.
  void rescan();
  InboxWatcherStatus status() const;
  const std::vector<Inbox>& inboxes() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace barbossa
