#include "media/parallel_pool.h"

#include <algorithm>
#include <atomic>
#include <exception>

namespace barbossa {

ParallelPool::ParallelPool(size_t threads) {
  if (threads == 0) threads = std::max<size_t>(1, std::thread::hardware_concurrency());
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

ParallelPool::~ParallelPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

void ParallelPool::work() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

namespace {

// One loop's shared state. Helpers hold it by shared_ptr: a helper that is
// dequeued after the loop finished finds no index left and returns at once.
struct Loop {
  Loop(size_t n, const std::function<void(size_t)>& f) : count(n), fn(f) {}
  const size_t count;
  const std::function<void(size_t)>& fn;  // valid until `done` reaches count
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  std::condition_variable finished;
  size_t done = 0;  // under mutex
  std::exception_ptr error;

  // Returns when no index is left to claim.
  void drain() {
    for (;;) {
      if (failed.load(std::memory_order_relaxed)) {
        // Claim the rest without running it, so `done` still adds up.
        size_t i = next.fetch_add(1, std::memory_order_relaxed);
        if (i >= count) return;
        finish_one(nullptr);
        continue;
      }
      size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= count) return;
      std::exception_ptr e;
      try {
        fn(i);
      } catch (...) {
        e = std::current_exception();
        failed.store(true, std::memory_order_relaxed);
      }
      finish_one(e);
    }
  }

  void finish_one(std::exception_ptr e) {
    std::lock_guard lock(mutex);
    if (e && !error) error = e;
    if (++done == count) finished.notify_all();
  }
};

}  // namespace

void ParallelPool::run(size_t count, size_t max_helpers, const std::function<void(size_t)>& fn) {
  if (count == 0) return;
  auto loop = std::make_shared<Loop>(count, fn);
  const size_t helpers = std::min({count - 1, max_helpers, threads_.size()});
  if (helpers > 0) {
    {
      std::lock_guard lock(mutex_);
      for (size_t h = 0; h < helpers; ++h) queue_.push_back([loop] { loop->drain(); });
    }
    if (helpers == 1) {
      wake_.notify_one();
    } else {
      wake_.notify_all();
    }
  }
  loop->drain();
  std::unique_lock lock(loop->mutex);
  loop->finished.wait(lock, [&] { return loop->done == loop->count; });
  if (loop->error) std::rethrow_exception(loop->error);
}

}  // namespace barbossa
