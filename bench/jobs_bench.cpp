// jobs_bench [JOBS] [WORKERS] [DIR]: throughput of the embedded job queue.
// Enqueues JOBS no-op jobs (one transaction each, as producers do), then runs
// them through JobWorkers (claim + outcome = two transactions per job) on a
// fresh SQLite database in DIR (default: a temp dir) with the store's usual
// durability (WAL, synchronous=NORMAL), job_update events published to an
// in-memory bus. Prints jobs/s for each phase, one line each, plus a JSON line.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "bus/event_bus.h"
#include "jobs/job_queue.h"
#include "jobs/worker_pool.h"
#include "store/store.h"

namespace fs = std::filesystem;
using namespace barbossa;

int main(int argc, char** argv) {
  const int jobs = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int workers = argc > 2 ? std::atoi(argv[2]) : 4;
  fs::path dir =
      argc > 3 ? fs::path(argv[3])
               : fs::temp_directory_path() / ("barbossa-jobs-bench-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    auto store = open_store((dir / "bench.db").string());
    store->migrate();
    auto bus = make_memory_event_bus(4096, {});
    std::atomic<uint64_t> events{0};
    bus->subscribe([&](const EventPtr&) { ++events; });
    DbJobQueue queue(*store, bus.get());

    using Clock = std::chrono::steady_clock;
    auto t0 = Clock::now();
    NewJob job;
    job.queue = "imports";
    job.type = "noop";
    for (int i = 0; i < jobs; ++i) queue.enqueue(job);
    double enqueue_s = std::chrono::duration<double>(Clock::now() - t0).count();

    JobWorkersOptions options;
    options.workers = workers;
    options.queue_limits = {{"imports", workers}};
    JobWorkers pool(queue, options);
    std::atomic<int> done{0};
    pool.register_handler("noop", [&](JobContext&) { ++done; });
    auto t1 = Clock::now();
    pool.start();
    // Handler calls counted, then the last outcomes committed.
    while (done.load() < jobs) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    while (pool.running() > 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
    double run_s = std::chrono::duration<double>(Clock::now() - t1).count();
    pool.stop(std::chrono::seconds(5));

    int64_t succeeded = queue.list("succeeded", "", Page{1, 0}).total;
    std::printf("enqueue  %d jobs in %.3f s: %.0f jobs/s\n", jobs, enqueue_s, jobs / enqueue_s);
    std::printf(
        "execute  %d jobs in %.3f s: %.0f jobs/s (%d workers, %lld succeeded, %llu events)\n", jobs,
        run_s, jobs / run_s, workers, static_cast<long long>(succeeded),
        static_cast<unsigned long long>(events.load()));
    std::printf(
        "{\"bench\":\"jobs\",\"jobs\":%d,\"workers\":%d,\"enqueue_per_s\":%.0f,"
        "\"execute_per_s\":%.0f,\"succeeded\":%lld}\n",
        jobs, workers, jobs / enqueue_s, jobs / run_s, static_cast<long long>(succeeded));
    if (succeeded != jobs) return 1;
  }
  if (argc <= 3) fs::remove_all(dir);
  return 0;
}
