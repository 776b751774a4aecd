// The durable job queue and its workers against real SQLite files in a temp
// dir. Repository-level tests pass `now` explicitly; pool tests use the real
// clock with short backoffs and leases.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bus/event_bus.h"
#include "core/error.h"
#include "jobs/job_queue.h"
#include "jobs/job_rules.h"
#include "jobs/worker_pool.h"
#include "store/store.h"
#include "unit/temp_dir.h"

namespace barbossa {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using test::TempDir;

template <typename Pred>
bool wait_until(Pred pred, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

NewJob job_of(const std::string& queue, const std::string& type, const std::string& key = "") {
  NewJob j;
  j.queue = queue;
  j.type = type;
  j.dedupe_key = key;
  return j;
}

class JobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open_store((dir_.path() / "barbossa.db").string());
    store_->migrate();
  }

  EnqueueResult enqueue(const NewJob& j, int64_t now) {
    return store_->write([&](StoreSession& s) { return s.jobs().enqueue(j, now); });
  }
  std::optional<Job> claim(const std::string& holder, int64_t now, int64_t lease = 1000,
                           std::vector<std::string> queues = {"downloads", "imports", "exports",
                                                              "maintenance"}) {
    return store_->write(
        [&](StoreSession& s) { return s.jobs().claim_next(queues, holder, lease, now); });
  }
  std::optional<Job> find(int64_t id) {
    return store_->read([&](StoreSession& s) { return s.jobs().find(id); });
  }

  JobWorkersOptions fast_options() {
    JobWorkersOptions o;
    o.workers = 3;
    o.lease_ms = 5000;
    o.backoff_base_ms = 20;
    o.poll_ms = 20;
    return o;
  }

  bool wait_status(JobQueue& q, int64_t id, const std::string& status,
                   std::chrono::milliseconds timeout = 10s) {
    return wait_until([&] { return to_string(q.find(id)->status) == status; }, timeout);
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(JobsTest, MigrationCreatesJobTables) {
  EXPECT_GE(store_->schema_version(), 3);
  store_->read([](StoreSession& s) { EXPECT_TRUE(s.jobs().counts().empty()); });
}

TEST_F(JobsTest, DedupeKeyAllowsOneLiveJob) {
  EnqueueResult first = enqueue(job_of("imports", "import-folder", "import:/a"), 100);
  EXPECT_TRUE(first.created);
  EnqueueResult second = enqueue(job_of("imports", "import-folder", "import:/a"), 200);
  EXPECT_FALSE(second.created);
  EXPECT_EQ(second.id, first.id);
  EXPECT_TRUE(enqueue(job_of("imports", "import-folder", "import:/b"), 200).created);
  EXPECT_TRUE(enqueue(job_of("imports", "import-folder"), 200).created);  // no key: no dedupe

  // Still live while running.
  std::optional<Job> running = claim("w1", 300);
  ASSERT_TRUE(running);
  EXPECT_EQ(running->id, first.id);
  EXPECT_EQ(enqueue(job_of("imports", "import-folder", "import:/a"), 300).id, first.id);

  // Finished: the key is free again.
  store_->write([&](StoreSession& s) { ASSERT_TRUE(s.jobs().complete(first.id, "w1", 400)); });
  EnqueueResult third = enqueue(job_of("imports", "import-folder", "import:/a"), 500);
  EXPECT_TRUE(third.created);
  EXPECT_NE(third.id, first.id);
}

// The queue checks the job rules before the store (which trusts the name).
TEST_F(JobsTest, RejectsUnknownQueue) {
  DbJobQueue queue(*store_, nullptr);
  EXPECT_THROW(queue.enqueue(job_of("nope", "x")), ApiError);
}

TEST_F(JobsTest, ClaimsDueJobsInRunAfterThenIdOrder) {
  NewJob late = job_of("imports", "t");
  late.run_after_ms = 3000;
  int64_t a = enqueue(late, 0).id;
  NewJob early = job_of("maintenance", "t");
  early.run_after_ms = 1000;
  int64_t b = enqueue(early, 0).id;
  early.queue = "downloads";
  int64_t c = enqueue(early, 0).id;

  EXPECT_FALSE(claim("w", 500));  // nothing due yet
  EXPECT_EQ(claim("w", 5000)->id, b);
  EXPECT_EQ(claim("w", 5000)->id, c);
  std::optional<Job> last = claim("w", 5000);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->id, a);
  EXPECT_EQ(last->status, JobStatus::kRunning);
  EXPECT_EQ(last->attempts, 1);
  EXPECT_EQ(last->lease_holder, "w");
  EXPECT_EQ(last->lease_expires_ms, 6000);
  EXPECT_FALSE(claim("w", 5000));
}

TEST_F(JobsTest, ClaimHonoursQueueFilter) {
  int64_t m = enqueue(job_of("maintenance", "t"), 0).id;
  int64_t i = enqueue(job_of("imports", "t"), 0).id;
  EXPECT_EQ(claim("w", 10, 1000, {"imports"})->id, i);
  EXPECT_FALSE(claim("w", 10, 1000, {"imports", "downloads"}));
  EXPECT_EQ(claim("w", 10, 1000, {"maintenance"})->id, m);
}

TEST_F(JobsTest, ExpiredLeaseRunsAgainAndFencesTheOldHolder) {
  int64_t id = enqueue(job_of("imports", "t"), 0).id;
  ASSERT_TRUE(claim("w1", 0, 1000));
  EXPECT_FALSE(claim("w2", 500));  // lease still held
  store_->write([&](StoreSession& s) {
    EXPECT_TRUE(s.jobs().heartbeat(id, "w1", 1000, 600).held);  // now until 1600
  });
  EXPECT_FALSE(claim("w2", 1500));
  std::optional<Job> again = claim("w2", 1700);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, id);
  EXPECT_EQ(again->attempts, 2);
  EXPECT_EQ(again->lease_holder, "w2");
  store_->write([&](StoreSession& s) {
    // The first worker woke up late: none of its calls count any more.
    EXPECT_FALSE(s.jobs().heartbeat(id, "w1", 1000, 1800).held);
    EXPECT_FALSE(s.jobs().set_progress(id, "w1", 50, 1800));
    EXPECT_FALSE(s.jobs().complete(id, "w1", 1800));
    EXPECT_FALSE(fail_job(s.jobs(), id, "w1", "x", true, 1000, 1800));
    std::optional<Job> done = s.jobs().complete(id, "w2", 1800);
    ASSERT_TRUE(done);
    EXPECT_EQ(done->status, JobStatus::kSucceeded);
    EXPECT_EQ(done->progress, 100);
    EXPECT_EQ(done->finished_ms, 1800);
  });
}

TEST_F(JobsTest, ExpiredLeaseOnLastAttemptEndsDead) {
  NewJob j = job_of("imports", "t");
  j.max_attempts = 1;
  int64_t id = enqueue(j, 0).id;
  ASSERT_TRUE(claim("w1", 0, 100));
  EXPECT_FALSE(claim("w2", 200));
  EXPECT_EQ(find(id)->status, JobStatus::kDead);
  EXPECT_NE(find(id)->last_error.find("lease expired"), std::string::npos);
}

TEST_F(JobsTest, RetryBacksOffExponentiallyThenSucceeds) {
  int64_t id = enqueue(job_of("downloads", "t"), 0).id;
  ASSERT_TRUE(claim("w", 0));
  store_->write([&](StoreSession& s) {
    std::optional<Job> j = fail_job(s.jobs(), id, "w", "timeout", true, 1000, 0);
    ASSERT_TRUE(j);
    EXPECT_EQ(j->status, JobStatus::kQueued);
    EXPECT_EQ(j->run_after_ms, 1000);  // attempt 1 waits base
    EXPECT_EQ(j->last_error, "timeout");
  });
  EXPECT_FALSE(claim("w", 999));
  ASSERT_TRUE(claim("w", 1000));
  store_->write([&](StoreSession& s) {
    EXPECT_EQ(fail_job(s.jobs(), id, "w", "timeout", true, 1000, 1000)->run_after_ms, 3000);  // 2x
  });
  EXPECT_FALSE(claim("w", 2999));
  std::optional<Job> third = claim("w", 3000);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->attempts, 3);
  store_->write([&](StoreSession& s) {
    EXPECT_EQ(s.jobs().complete(id, "w", 3100)->status, JobStatus::kSucceeded);
  });
}

TEST_F(JobsTest, AdminCancelAndRetry) {
  int64_t queued = enqueue(job_of("exports", "t", "k"), 0).id;
  int64_t running = enqueue(job_of("exports", "t"), 0).id;
  ASSERT_EQ(claim("w", 0, 1000, {"exports"})->id, queued);
  // Swap roles: cancel the running one and the still-queued one.
  store_->write([&](StoreSession& s) {
    std::optional<Job> c1 = s.jobs().cancel(running, 10);
    EXPECT_EQ(c1->status, JobStatus::kCancelled);
    std::optional<Job> c2 = s.jobs().cancel(queued, 10);
    EXPECT_EQ(c2->status, JobStatus::kRunning);
    EXPECT_TRUE(c2->cancel_requested);
    EXPECT_TRUE(s.jobs().heartbeat(queued, "w", 1000, 20).cancel_requested);
    // A failure after a cancel request ends cancelled, not retried.
    EXPECT_EQ(fail_job(s.jobs(), queued, "w", "stopped", true, 10, 30)->status,
              JobStatus::kCancelled);
    EXPECT_FALSE(s.jobs().cancel(999, 40));
    std::optional<Job> again = s.jobs().retry(queued, 40);
    EXPECT_EQ(again->status, JobStatus::kQueued);
    EXPECT_EQ(again->attempts, 0);
    EXPECT_FALSE(again->cancel_requested);
    // A live job with the same key blocks a second copy.
    EXPECT_EQ(s.jobs().retry(running, 40)->status, JobStatus::kQueued);
  });
  store_->read([&](StoreSession& s) {
    EXPECT_EQ(s.jobs().list("queued", "", Page{}).total, 2);
    EXPECT_EQ(s.jobs().list("", "exports", Page{1, 0}).items.size(), 1u);
    EXPECT_EQ(s.jobs().list("", "exports", Page{1, 0}).items[0].id, running);  // newest first
    std::vector<JobCount> counts = s.jobs().counts();
    ASSERT_EQ(counts.size(), 1u);
    EXPECT_EQ(counts[0].queue, "exports");
    EXPECT_EQ(counts[0].count, 2);
  });
}

TEST_F(JobsTest, RetryConflictsWithLiveDuplicate) {
  int64_t first = enqueue(job_of("imports", "t", "k"), 0).id;
  store_->write([&](StoreSession& s) { s.jobs().cancel(first, 1); });
  enqueue(job_of("imports", "t", "k"), 2);
  // The store reports the clash; the queue answers it as the admin's 409.
  EXPECT_THROW(store_->write([&](StoreSession& s) { s.jobs().retry(first, 3); }), StoreError);
  DbJobQueue queue(*store_, nullptr);
  try {
    queue.retry(first);
    FAIL() << "expected ApiError";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 409);
  }
}

// ---------------------------------------------------------------------------
// Worker pool

TEST_F(JobsTest, WorkersRetryTransientFailureThenSucceed) {
  DbJobQueue queue(*store_, nullptr);
  JobWorkers workers(queue, fast_options());
  std::atomic<int> runs{0};
  workers.register_handler("flaky", [&](JobContext& ctx) {
    ++runs;
    if (ctx.attempt() < 3) throw RetryableError("transient " + std::to_string(ctx.attempt()));
  });
  workers.start();
  int64_t id = queue.enqueue(job_of("imports", "flaky")).id;
  ASSERT_TRUE(wait_status(queue, id, "succeeded"));
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(queue.find(id)->attempts, 3);
}

TEST_F(JobsTest, WorkersEndAlwaysFailingJobDeadWithLastError) {
  DbJobQueue queue(*store_, nullptr);
  JobWorkers workers(queue, fast_options());
  workers.register_handler("broken", [&](JobContext& ctx) {
    throw std::runtime_error("boom " + std::to_string(ctx.attempt()));  // unexpected: retryable
  });
  workers.start();
  int64_t id = queue.enqueue(job_of("imports", "broken")).id;
  ASSERT_TRUE(wait_status(queue, id, "dead"));
  EXPECT_EQ(queue.find(id)->attempts, 3);
  EXPECT_EQ(queue.find(id)->last_error, "boom 3");
}

TEST_F(JobsTest, WorkersDoNotRetryFinalOutcomesOrUnknownTypes) {
  DbJobQueue queue(*store_, nullptr);
  JobWorkers workers(queue, fast_options());
  std::atomic<int> runs{0};
  workers.register_handler("review", [&](JobContext&) {
    ++runs;
    throw FinalError("needs review");
  });
  workers.start();
  int64_t id = queue.enqueue(job_of("imports", "review")).id;
  int64_t unknown = queue.enqueue(job_of("imports", "no-such-type")).id;
  ASSERT_TRUE(wait_status(queue, id, "failed"));
  ASSERT_TRUE(wait_status(queue, unknown, "failed"));
  std::this_thread::sleep_for(100ms);  // several backoff periods: nothing more runs
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(queue.find(id)->attempts, 1);
  EXPECT_EQ(queue.find(id)->last_error, "needs review");
  EXPECT_NE(queue.find(unknown)->last_error.find("no handler"), std::string::npos);
}

TEST_F(JobsTest, WorkersCancelQueuedAndRunningJobs) {
  DbJobQueue queue(*store_, nullptr);
  JobWorkers workers(queue, fast_options());
  std::atomic<bool> started{false};
  std::atomic<bool> saw_cancel{false};
  workers.register_handler("long", [&](JobContext& ctx) {
    started = true;
    while (!ctx.cancelled()) std::this_thread::sleep_for(2ms);
    saw_cancel = true;
  });
  workers.start();
  NewJob later = job_of("imports", "long");
  later.run_after_ms = queue.now_ms() + 3'600'000;
  int64_t queued = queue.enqueue(later).id;
  EXPECT_EQ(queue.cancel(queued)->status, JobStatus::kCancelled);

  int64_t running = queue.enqueue(job_of("imports", "long")).id;
  ASSERT_TRUE(wait_until([&] { return started.load(); }));
  queue.cancel(running);
  ASSERT_TRUE(wait_status(queue, running, "cancelled"));
  EXPECT_TRUE(saw_cancel);
}

TEST_F(JobsTest, CancelFromAnotherProcessReachesTheHandlerThroughTheLease) {
  DbJobQueue queue(*store_, nullptr);
  auto other_store = open_store((dir_.path() / "barbossa.db").string());
  DbJobQueue other(*other_store, nullptr);  // no in-process signal to our workers
  JobWorkersOptions o = fast_options();
  o.lease_ms = 300;  // heartbeat every 100 ms
  JobWorkers workers(queue, o);
  std::atomic<bool> started{false};
  workers.register_handler("long", [&](JobContext& ctx) {
    started = true;
    while (!ctx.cancelled()) std::this_thread::sleep_for(2ms);
  });
  workers.start();
  int64_t id = queue.enqueue(job_of("imports", "long")).id;
  ASSERT_TRUE(wait_until([&] { return started.load(); }));
  other.cancel(id);
  EXPECT_TRUE(wait_status(queue, id, "cancelled", 3s));
}

TEST_F(JobsTest, LongMaintenanceJobDoesNotStarveImports) {
  DbJobQueue queue(*store_, nullptr);
  JobWorkersOptions o = fast_options();
  o.workers = 3;
  o.queue_limits = {{"maintenance", 1}, {"imports", 2}};
  JobWorkers workers(queue, o);
  std::atomic<bool> release{false};
  std::atomic<int> maintenance_running{0};
  std::atomic<int> max_maintenance{0};
  workers.register_handler("verify", [&](JobContext&) {
    int now = ++maintenance_running;
    max_maintenance = std::max(max_maintenance.load(), now);
    while (!release) std::this_thread::sleep_for(2ms);
    --maintenance_running;
  });
  workers.register_handler("import", [](JobContext&) {});
  workers.start();
  int64_t m1 = queue.enqueue(job_of("maintenance", "verify")).id;
  int64_t m2 = queue.enqueue(job_of("maintenance", "verify")).id;
  std::vector<int64_t> imports;
  for (int i = 0; i < 5; ++i) imports.push_back(queue.enqueue(job_of("imports", "import")).id);
  for (int64_t id : imports) ASSERT_TRUE(wait_status(queue, id, "succeeded"));
  EXPECT_EQ(max_maintenance, 1);
  EXPECT_EQ(queue.find(m2)->status, JobStatus::kQueued);  // waits for the one maintenance slot
  release = true;
  EXPECT_TRUE(wait_status(queue, m1, "succeeded"));
  EXPECT_TRUE(wait_status(queue, m2, "succeeded"));
  EXPECT_EQ(max_maintenance, 1);
}

TEST_F(JobsTest, TwoPoolsOnOneDatabaseNeverRunAJobTwice) {
  auto store_b = open_store((dir_.path() / "barbossa.db").string());
  DbJobQueue queue_a(*store_, nullptr);
  DbJobQueue queue_b(*store_b, nullptr);
  std::mutex mu;
  std::map<int64_t, int> runs;
  auto handler = [&](JobContext& ctx) {
    std::lock_guard<std::mutex> lock(mu);
    ++runs[ctx.job_id()];
  };
  JobWorkersOptions o = fast_options();
  o.workers = 2;
  o.queue_limits = {{"imports", 2}, {"downloads", 2}};
  JobWorkers a(queue_a, o);
  JobWorkers b(queue_b, o);
  a.register_handler("n", handler);
  b.register_handler("n", handler);
  a.start();
  b.start();
  constexpr int kJobs = 300;
  for (int i = 0; i < kJobs; ++i) {
    (i % 2 ? queue_a : queue_b).enqueue(job_of(i % 3 ? "imports" : "downloads", "n"));
  }
  ASSERT_TRUE(wait_until(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return runs.size() == static_cast<size_t>(kJobs);
      },
      60s));
  ASSERT_TRUE(wait_until([&] { return queue_a.list("succeeded", "", Page{1, 0}).total == kJobs; }));
  std::lock_guard<std::mutex> lock(mu);
  for (const auto& [id, n] : runs) EXPECT_EQ(n, 1) << "job " << id;
}

TEST_F(JobsTest, PublishesJobUpdatesWithThrottledProgress) {
  auto bus = make_memory_event_bus(1000, {});
  std::mutex mu;
  std::vector<nlohmann::json> events;
  bus->subscribe([&](const EventPtr& e) {
    EXPECT_EQ(e->channel, Channel::kSystem);
    EXPECT_TRUE(e->audience.admins);
    EXPECT_FALSE(e->audience.everyone);
    std::lock_guard<std::mutex> lock(mu);
    events.push_back(nlohmann::json::parse(*e->json));
  });
  DbJobQueue queue(*store_, bus.get());
  JobWorkers workers(queue, fast_options());
  workers.register_handler("slow", [](JobContext& ctx) {
    for (int p = 0; p <= 100; ++p) {  // about 600 ms
      ctx.progress(p);
      std::this_thread::sleep_for(6ms);
    }
  });
  workers.start();
  int64_t id = queue.enqueue(job_of("exports", "slow")).id;
  ASSERT_TRUE(wait_status(queue, id, "succeeded"));
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard<std::mutex> lock(mu);
    return !events.empty() && events.back()["status"] == "succeeded";
  }));
  std::lock_guard<std::mutex> lock(mu);
  std::vector<std::string> statuses;
  int progress_events = 0;
  for (const auto& e : events) {
    EXPECT_EQ(e["type"], "job_update");
    EXPECT_EQ(e["job_id"], id);
    EXPECT_EQ(e["queue"], "exports");
    EXPECT_EQ(e["type"], "job_update");
    statuses.push_back(e["status"]);
    if (e["status"] == "running" && e.contains("progress") && e["progress"] != 0) ++progress_events;
  }
  EXPECT_EQ(statuses.front(), "queued");
  EXPECT_EQ(statuses.back(), "succeeded");
  EXPECT_EQ(events.back()["progress"], 100);
  EXPECT_GE(progress_events, 1);
  EXPECT_LE(progress_events, 5);  // at most 4/s over about 0.6 s (+ the first)
}

TEST_F(JobsTest, RestartTakesBackJobsOfADeadLocalHolderAtOnce) {
  // A holder string of a previous instance of this host whose process is
  // gone: same host, a pid with another start time.
  std::string me = make_lease_holder();
  EXPECT_FALSE(lease_holder_is_dead_local(me));
  std::string host = me.substr(0, me.find(':'));
  std::string dead = host + ":" + std::to_string(::getpid()) + ":1:deadbeef";
  EXPECT_TRUE(lease_holder_is_dead_local(dead));
  EXPECT_FALSE(lease_holder_is_dead_local("other-host:1:1:x"));

  DbJobQueue queue(*store_, nullptr);
  int64_t id = queue.enqueue(job_of("imports", "n")).id;
  ASSERT_TRUE(queue.claim({"imports"}, dead, 3'600'000));  // an hour-long lease
  JobWorkers workers(queue, fast_options());
  std::atomic<int> runs{0};
  workers.register_handler("n", [&](JobContext&) { ++runs; });
  workers.start();
  ASSERT_TRUE(wait_status(queue, id, "succeeded", 5s));
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(queue.find(id)->attempts, 2);
}

TEST_F(JobsTest, StopAbandonsHandlersPastTheGraceAndLeavesTheirLeases) {
  DbJobQueue queue(*store_, nullptr);
  int64_t id = 0;
  {
    JobWorkers workers(queue, fast_options());
    std::atomic<bool> started{false};
    workers.register_handler("stuck", [&](JobContext& ctx) {
      started = true;
      while (!ctx.cancelled()) std::this_thread::sleep_for(2ms);
    });
    workers.start();
    id = queue.enqueue(job_of("imports", "stuck")).id;
    ASSERT_TRUE(wait_until([&] { return started.load(); }));
    EXPECT_EQ(workers.stop(50ms), 1u);
  }
  // Not recorded as anything: a restart or lease expiry runs it again.
  EXPECT_EQ(queue.find(id)->status, JobStatus::kRunning);
}

}  // namespace
}  // namespace barbossa
