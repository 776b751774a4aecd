#include "watch/inbox_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/fault.h"
#include "files/fs_util.h"
#include "media/audio_file.h"

namespace barbossa {

namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

constexpr uint32_t kWatchMask = IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_MOVED_FROM |
                                IN_MOVED_TO | IN_DELETE | IN_ONLYDIR | IN_DONT_FOLLOW |
                                IN_EXCL_UNLINK;

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Runs one step of a watcher callback; an exception is logged with `what`
// and reported as false, so the io_context thread and the watcher go on.
template <class F>
bool guarded(const char* what, F&& step) {
  try {
    step();
    return true;
  } catch (const std::exception& e) {
    spdlog::error("watch: {} failed: {}", what, e.what());
  } catch (...) {
    spdlog::error("watch: {} failed: unknown exception", what);
  }
  return false;
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

class InboxWatcher::Impl {
 public:
  Impl(std::vector<Inbox> inboxes, std::chrono::milliseconds settle, ReadyCallback on_ready)
      : inboxes_(std::move(inboxes)),
        on_ready_(std::move(on_ready)),
        tracker_(settle.count()),
        descriptor_(io_),
        timer_(io_) {}

  ~Impl() { stop(); }

  void start() {
    int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
      set_error(std::string("inotify unavailable: ") + std::strerror(errno) +
                "; the periodic scan still finds new entries");
    } else {
      descriptor_.assign(fd);
      std::lock_guard lock(status_mu_);
      status_.inotify = true;
    }
    for (size_t i = 0; i < inboxes_.size(); ++i) {
      if (descriptor_.is_open()) add_watches(inboxes_[i].root, i);
    }
    scan_all(/*rearm=*/false);  // the start-up scan
    {
      std::lock_guard lock(status_mu_);
      status_.running = true;
    }
    if (descriptor_.is_open()) read_events();
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(io_);
      // Every callback catches for itself; this is the last line of defence.
      while (!guarded("an inbox watcher callback", [this] { io_.run(); })) {
      }
    });
  }

  void stop() {
    if (!thread_.joinable()) return;
    io_.stop();
    thread_.join();
    std::error_code ec;
    if (descriptor_.is_open()) descriptor_.close();
    std::lock_guard lock(status_mu_);
    status_.running = false;
  }

  void rescan() {
    asio::post(io_, [this] {
      guarded("rescanning the inboxes", [this] {
        for (size_t i = 0; i < inboxes_.size(); ++i) {
          if (descriptor_.is_open()) add_watches(inboxes_[i].root, i);
        }
        scan_all(/*rearm=*/false);
      });
    });
    // Before start() (or after stop()) nothing runs the io_context; the
    // start-up scan covers that case.
  }

  InboxWatcherStatus status() const {
    std::lock_guard lock(status_mu_);
    return status_;
  }

  const std::vector<Inbox>& inboxes() const { return inboxes_; }

 private:
  struct WatchedDir {
    fs::path path;
    size_t inbox = 0;
  };
  struct EntryRef {
    size_t inbox = 0;
    bool loose = false;
  };

  void set_error(const std::string& message) {
    spdlog::warn("watch: {}", message);
    std::lock_guard lock(status_mu_);
    status_.last_error = message;
  }

  void publish_counts() {
    std::lock_guard lock(status_mu_);
    status_.watches = static_cast<int64_t>(watched_.size());
    status_.tracking = static_cast<int64_t>(tracker_.size());
  }

  // Watches dir and every folder below it (symlinks not followed). Walking
  // after adding the watch catches folders created before it existed.
  void add_watches(const fs::path& dir, size_t inbox) {
    int wd = ::inotify_add_watch(descriptor_.native_handle(), dir.c_str(), kWatchMask);
    if (wd < 0) {
      if (errno == ENOSPC) {
        set_error("inotify watch limit reached (fs.inotify.max_user_watches); " + dir.string() +
                  " is found by the periodic scan only");
      } else if (errno != ENOENT && errno != ENOTDIR) {
        set_error("cannot watch " + dir.string() + ": " + std::strerror(errno));
      }
      return;
    }
    watched_[wd] = WatchedDir{dir, inbox};
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code kind;
      if (it->is_directory(kind) && !it->is_symlink(kind)) add_watches(it->path(), inbox);
    }
    publish_counts();
  }

  void remove_watches_under(const fs::path& dir) {
    for (auto it = watched_.begin(); it != watched_.end();) {
      if (is_lexically_within(dir, it->second.path)) {
        ::inotify_rm_watch(descriptor_.native_handle(), it->first);
        it = watched_.erase(it);
      } else {
        ++it;
      }
    }
    publish_counts();
  }

  void scan_all(bool rearm) {
    const int64_t now = steady_ms();
    const int64_t wall = wall_ms();
    for (size_t i = 0; i < inboxes_.size(); ++i) {
      for (const InboxEntry& entry : list_inbox(inboxes_[i].root)) {
        const std::string key = entry.path.string();
        refs_[key] = EntryRef{i, entry.loose_files};
        if (rearm) {
          tracker_.touch(key, now, wall);
        } else {
          tracker_.touch_if_new(key, now, wall);
        }
      }
    }
    publish_counts();
    arm_timer();
  }

  void touch(const std::string& key, size_t inbox, bool loose, bool moved_in_whole) {
    refs_[key] = EntryRef{inbox, loose};
    tracker_.touch(key, steady_ms(), wall_ms(), moved_in_whole);
  }

  void read_events() {
    descriptor_.async_read_some(asio::buffer(buffer_),
                                [this](boost::system::error_code ec, size_t n) {
                                  if (ec) {
                                    if (ec != asio::error::operation_aborted)
                                      set_error("inotify read: " + ec.message());
                                    return;
                                  }
                                  if (!guarded("handling inotify events", [&] {
                                        fault::maybe_throw("watch_event");
                                        handle_events(n);
                                      })) {
                                    // Events of the batch may be lost: as on
                                    // an overflow, watch and time all anew.
                                    guarded("rescanning after a failed event", [this] {
                                      for (size_t i = 0; i < inboxes_.size(); ++i)
                                        add_watches(inboxes_[i].root, i);
                                      scan_all(/*rearm=*/true);
                                    });
                                  }
                                  guarded("arming the settle timer", [this] {
                                    publish_counts();
                                    arm_timer();
                                  });
                                  read_events();
                                });
  }

  void handle_events(size_t n) {
    size_t offset = 0;
    while (offset + sizeof(inotify_event) <= n) {
      inotify_event ev{};
      std::memcpy(&ev, buffer_.data() + offset, sizeof ev);
      std::string name;
      if (ev.len > 0) name = std::string(buffer_.data() + offset + sizeof(inotify_event));
      if (name.size() > ev.len) name.resize(ev.len);
      name = name.c_str();  // strip the NUL padding
      offset += sizeof(inotify_event) + ev.len;
      handle_event(ev, name);
    }
  }

  void handle_event(const inotify_event& ev, const std::string& name) {
    if (ev.mask & IN_Q_OVERFLOW) {
      // Events were lost: every entry may have changed unseen, so watch the
      // whole trees again and time every entry afresh.
      {
        std::lock_guard lock(status_mu_);
        ++status_.overflows;
      }
      spdlog::warn("watch: inotify event queue overflowed; rescanning the inboxes");
      for (size_t i = 0; i < inboxes_.size(); ++i) add_watches(inboxes_[i].root, i);
      scan_all(/*rearm=*/true);
      return;
    }
    auto it = watched_.find(ev.wd);
    if (it == watched_.end()) return;
    if (ev.mask & IN_IGNORED) {
      watched_.erase(it);
      return;
    }
    if (name.empty()) return;  // an event about a watched folder itself; its parent reports it
    const WatchedDir dir = it->second;
    const Inbox& inbox = inboxes_[dir.inbox];
    const fs::path full = dir.path / name;
    const bool is_dir = (ev.mask & IN_ISDIR) != 0;
    const bool arrived = (ev.mask & (IN_CREATE | IN_MOVED_TO)) != 0;
    const bool left = (ev.mask & (IN_DELETE | IN_MOVED_FROM)) != 0;

    if (is_dir && arrived) add_watches(full, dir.inbox);
    if (is_dir && (ev.mask & IN_MOVED_FROM)) remove_watches_under(full);

    if (dir.path == inbox.root) {
      if (is_hidden_name(name)) return;
      if (is_dir) {
        const std::string key = full.string();
        if (left) {
          tracker_.forget(key);
          refs_.erase(key);
        } else {
          // One rename brought the whole folder: complete at once.
          touch(key, dir.inbox, false, (ev.mask & IN_MOVED_TO) != 0);
        }
      } else if (is_audio_path(full) || is_partial_download_name(name)) {
        touch(inbox.root.string(), dir.inbox, true, false);
      }
      return;
    }
    // Anything deeper belongs to the top-level folder it is in.
    const fs::path relative = dir.path.lexically_relative(inbox.root);
    if (relative.empty() || *relative.begin() == "..") return;
    const fs::path top = inbox.root / *relative.begin();
    if (is_hidden_name(top.filename().string())) return;
    touch(top.string(), dir.inbox, false, false);
  }

  void arm_timer() {
    std::optional<int64_t> next = tracker_.next_deadline();
    if (!next) {
      timer_.cancel();
      return;
    }
    const int64_t wait = std::max<int64_t>(0, *next - steady_ms());
    timer_.expires_after(std::chrono::milliseconds(wait));
    timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;  // re-armed or stopped
      if (!guarded("settling inbox entries", [this] { on_deadline(); })) {
        // Not at once: a deadline that keeps failing must not spin.
        timer_.expires_after(std::chrono::seconds(1));
        timer_.async_wait([this](boost::system::error_code again) {
          if (!again) guarded("settling inbox entries", [this] { arm_timer(); });
        });
      }
    });
  }

  void on_deadline() {
    const int64_t now = steady_ms();
    for (const std::string& key : tracker_.due(now)) {
      auto ref = refs_.find(key);
      if (ref == refs_.end()) {
        tracker_.forget(key);
        continue;
      }
      const Inbox& inbox = inboxes_[ref->second.inbox];
      const InboxEntry entry{fs::path(key), ref->second.loose};
      // One entry's failure (unreadable folder, database busy) times that
      // entry afresh; the others settle as usual.
      try {
        const EntrySnapshot snap = snapshot_entry(entry);
        switch (tracker_.judge(key, snap, now)) {
          case SettleVerdict::kGone:
            refs_.erase(ref);
            break;
          case SettleVerdict::kWaiting:
            break;
          case SettleVerdict::kReady: {
            on_ready_(inbox, entry);
            std::lock_guard lock(status_mu_);
            ++status_.ready;
            break;
          }
        }
      } catch (const std::exception& e) {
        spdlog::error("watch: cannot queue the import of {}: {}", key, e.what());
        tracker_.touch(key, now, wall_ms());
      }
    }
    publish_counts();
    arm_timer();
  }

  std::vector<Inbox> inboxes_;
  ReadyCallback on_ready_;
  SettleTracker tracker_;
  std::map<std::string, EntryRef> refs_;
  std::map<int, WatchedDir> watched_;

  asio::io_context io_;
  asio::posix::stream_descriptor descriptor_;
  asio::steady_timer timer_;
  std::array<char, 64 * 1024> buffer_{};
  std::thread thread_;

  mutable std::mutex status_mu_;
  InboxWatcherStatus status_;
};

InboxWatcher::InboxWatcher(std::vector<Inbox> inboxes, std::chrono::milliseconds settle,
                           ReadyCallback on_ready)
    : impl_(std::make_unique<Impl>(std::move(inboxes), settle, std::move(on_ready))) {}

InboxWatcher::~InboxWatcher() = default;
void InboxWatcher::start() {
  impl_->start();
}
void InboxWatcher::stop() {
  impl_->stop();
}
void InboxWatcher::rescan() {
  impl_->rescan();
}
InboxWatcherStatus InboxWatcher::status() const {
  return impl_->status();
}
const std::vector<Inbox>& InboxWatcher::inboxes() const {
  return impl_->inboxes();
}

}  // namespace barbossa
