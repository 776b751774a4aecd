// A fixed set of threads that parallel loops borrow. Starting threads per
// album cost more than it saved: each new thread also allocates and faults in
// its own hash buffer and tag-reader helper. The pool is owned by the
// composition root and shared by every import in the process. (The durable
// background-job workers are another thing: jobs/worker_pool.h.)
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace barbossa {

class ParallelPool {
 public:
  // threads 0: hardware concurrency.
  explicit ParallelPool(size_t threads = 0);
  ~ParallelPool();  // finishes queued work, then joins
  ParallelPool(const ParallelPool&) = delete;
  ParallelPool& operator=(const ParallelPool&) = delete;

  size_t size() const { return threads_.size(); }

  // Runs fn(i) for i in [0, count) on the calling thread and up to
  // max_helpers pool threads; returns when every call has
  // finished. The caller always takes part, so nested or concurrent loops
  // from many threads cannot deadlock: a loop whose helpers are busy elsewhere
  // simply runs on its caller. The first exception is rethrown.
  void run(size_t count, size_t max_helpers, const std::function<void(size_t)>& fn);

 private:
  void work();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace barbossa
