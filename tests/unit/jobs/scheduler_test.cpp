// The scheduler against real SQLite files in a temp dir, with a fake clock:
// next runs, exactly-once firings (also across two Store objects on one file,
// as two processes would be), missed runs at start-up, run-now and dedupe.

#include "jobs/scheduler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "jobs/job_queue.h"
#include "store/store.h"
#include "unit/temp_dir.h"

namespace barbossa {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// 2026-03-04 is a Wednesday.
constexpr int64_t kDay = 86'400;
constexpr int64_t kMarch4 = 1'772'582'400;  // 2026-03-04T00:00:00Z
constexpr int64_t at(int64_t day_offset, int hour, int minute, int second = 0) {
  return kMarch4 + day_offset * kDay + hour * 3600 + minute * 60 + second;
}

using test::TempDir;

// One "process": its own Store on the shared file, its queue and scheduler,
// all on the test's clock.
struct Process {
  Process(const fs::path& db, std::atomic<int64_t>& clock)
      : store(open_store(db.string())),
        queue(*store, nullptr, [&clock] { return clock.load() * 1000; }),
        scheduler(*store, queue, default_schedules(), [&clock] { return clock.load(); }) {
    store->migrate();
  }
  std::unique_ptr<Store> store;
  DbJobQueue queue;
  Scheduler scheduler;
};

class SchedulerTest : public ::testing::Test {
 protected:
  fs::path db() const { return dir_.path() / "barbossa.db"; }
  std::unique_ptr<Process> process() { return std::make_unique<Process>(db(), now_); }

  static std::vector<Job> jobs_of(JobQueue& queue, const std::string& type) {
    std::vector<Job> out;
    for (auto& j : queue.list("", "", Page{1000, 0}).items) {
      if (j.type == type) out.push_back(j);
    }
    return out;
  }
  static int firings_of(const std::vector<ScheduleFiring>& firings, const std::string& name) {
    int n = 0;
    for (const auto& f : firings) n += f.name == name ? 1 : 0;
    return n;
  }

  TempDir dir_;
  std::atomic<int64_t> now_{at(0, 10, 7, 30)};
};

TEST_F(SchedulerTest, DefaultSchedulesAreTheSixOfTheSpec) {
  auto defs = default_schedules();
  ASSERT_EQ(defs.size(), 6u);
  for (const auto& d : defs) {
    EXPECT_TRUE(d.enabled) << d.name;
    EXPECT_EQ(d.queue, d.name == "scan-import-folder" ? "imports" : "maintenance") << d.name;
  }
}

TEST_F(SchedulerTest, ListsNextRunsOfTheSix) {
  auto p = process();
  EXPECT_TRUE(p->scheduler.start_up().empty());
  auto list = p->scheduler.list();
  ASSERT_EQ(list.size(), 6u);
  struct Want {
    const char* name;
    const char* cron;
    const char* next;
  };
  const Want want[] = {
      {"scan-import-folder", "*/5 * * * *", "2026-03-04T10:10:00.000Z"},
      {"cleanup-downloads", "0 * * * *", "2026-03-04T11:00:00.000Z"},
      {"verify-integrity", "0 3 * * *", "2026-03-05T03:00:00.000Z"},
      {"update-album-stats", "0 4 * * 0", "2026-03-08T04:00:00.000Z"},
      {"repair-user-links", "30 4 * * 0", "2026-03-08T04:30:00.000Z"},
      {"backup-database", "0 2 * * *", "2026-03-05T02:00:00.000Z"},
  };
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(list[i].name, want[i].name);
    EXPECT_EQ(list[i].cron, want[i].cron);
    EXPECT_TRUE(list[i].enabled);
    EXPECT_EQ(list[i].last_run, "") << list[i].name;
    EXPECT_EQ(list[i].next_run, want[i].next) << list[i].name;
  }
  // The stored next runs agree (what another process or the CLI would read).
  auto row = p->store->read([](StoreSession& s) { return s.schedules().find("verify-integrity"); });
  ASSERT_TRUE(row);
  EXPECT_EQ(row->next_run, at(1, 3, 0));
  EXPECT_FALSE(row->last_run);
}

TEST_F(SchedulerTest, TickAtTheExactMinuteFiresOnce) {
  auto p = process();
  p->scheduler.start_up();
  now_ = at(0, 10, 9, 59);
  EXPECT_TRUE(p->scheduler.tick().empty());
  now_ = at(0, 10, 10);
  auto fired = p->scheduler.tick();
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].name, "scan-import-folder");
  EXPECT_EQ(fired[0].fire_time, at(0, 10, 10));
  EXPECT_TRUE(fired[0].created);
  auto job = p->queue.find(fired[0].job_id);
  ASSERT_TRUE(job);
  EXPECT_EQ(job->type, "scan-import-folder");
  EXPECT_EQ(job->queue, "imports");
  EXPECT_EQ(job->dedupe_key, "schedule:scan-import-folder");

  EXPECT_TRUE(p->scheduler.tick().empty());  // same second
  now_ = at(0, 10, 10, 45);
  EXPECT_TRUE(p->scheduler.tick().empty());  // same minute
  EXPECT_EQ(jobs_of(p->queue, "scan-import-folder").size(), 1u);
  EXPECT_EQ(p->scheduler.list()[0].last_run, "2026-03-04T10:10:00.000Z");
  EXPECT_EQ(p->scheduler.list()[0].next_run, "2026-03-04T10:15:00.000Z");
}

TEST_F(SchedulerTest, TwoProcessesFireEachFiringOnce) {
  auto a = process();
  auto b = process();
  a->scheduler.start_up();
  b->scheduler.start_up();

  now_ = at(0, 10, 10);
  auto fired_a = a->scheduler.tick();
  ASSERT_EQ(fired_a.size(), 1u);
  // Finish the job first, so dedupe cannot be what stops a second one.
  ASSERT_TRUE(a->queue.cancel(fired_a[0].job_id));
  EXPECT_TRUE(b->scheduler.tick().empty());
  EXPECT_EQ(jobs_of(a->queue, "scan-import-folder").size(), 1u);

  // Both at once, from two threads: 11:00 is due for two schedules.
  now_ = at(0, 11, 0);
  std::vector<ScheduleFiring> from_a, from_b;
  std::thread ta([&] { from_a = a->scheduler.tick(); });
  std::thread tb([&] { from_b = b->scheduler.tick(); });
  ta.join();
  tb.join();
  std::vector<ScheduleFiring> all = from_a;
  all.insert(all.end(), from_b.begin(), from_b.end());
  EXPECT_EQ(firings_of(all, "scan-import-folder"), 1);
  EXPECT_EQ(firings_of(all, "cleanup-downloads"), 1);
  EXPECT_EQ(all.size(), 2u);
}

TEST_F(SchedulerTest, DailyScheduleMissedForThreeDaysRunsOnceAtStartUp) {
  {
    auto p = process();
    now_ = at(0, 2, 59, 30);
    EXPECT_TRUE(p->scheduler.start_up().empty());
    now_ = at(0, 3, 0);
    auto fired = p->scheduler.tick();
    EXPECT_EQ(firings_of(fired, "verify-integrity"), 1);
    // Finished jobs, so each later firing shows as a job of its own.
    for (const auto& f : fired) ASSERT_TRUE(p->queue.cancel(f.job_id));
  }
  // Down from 03:00 on the 4th until 05:00:30 on the 7th.
  now_ = at(3, 5, 0, 30);
  auto p = process();
  auto fired = p->scheduler.start_up();
  ASSERT_EQ(firings_of(fired, "verify-integrity"), 1);
  for (const auto& f : fired) {
    if (f.name == "verify-integrity") {
      EXPECT_EQ(f.fire_time, at(3, 3, 0));
    }
  }
  // Known but never fired before the stop: its stored next run (the 5th,
  // 02:00) passed while down, so it also runs once.
  EXPECT_EQ(firings_of(fired, "backup-database"), 1);
  // Sunday's schedules were not due while down.
  EXPECT_EQ(firings_of(fired, "update-album-stats"), 0);
  EXPECT_EQ(firings_of(fired, "repair-user-links"), 0);
  EXPECT_EQ(jobs_of(p->queue, "verify-integrity").size(), 2u);  // the 4th's and this one

  EXPECT_TRUE(p->scheduler.tick().empty());
  EXPECT_EQ(jobs_of(p->queue, "verify-integrity").size(), 2u);
  EXPECT_EQ(p->scheduler.list()[2].last_run, "2026-03-07T03:00:00.000Z");
  EXPECT_EQ(p->scheduler.list()[2].next_run, "2026-03-08T03:00:00.000Z");
}

TEST_F(SchedulerTest, BrandNewInstallDoesNotFireAtStartUp) {
  auto p = process();
  now_ = at(0, 3, 0);  // even exactly at a firing time of several schedules
  EXPECT_TRUE(p->scheduler.start_up().empty());
  EXPECT_EQ(p->queue.list("", "", Page{1000, 0}).total, 0);
  // A restart before anything was due fires nothing either.
  now_ = at(0, 3, 4);
  auto again = process();
  EXPECT_TRUE(again->scheduler.start_up().empty());
  EXPECT_EQ(p->queue.list("", "", Page{1000, 0}).total, 0);
}

TEST_F(SchedulerTest, RunNowEnqueuesAtOnceAndUnknownIs404) {
  auto p = process();
  p->scheduler.start_up();
  int64_t id = p->scheduler.run_now("backup-database");
  auto job = p->queue.find(id);
  ASSERT_TRUE(job);
  EXPECT_EQ(job->type, "backup-database");
  EXPECT_EQ(job->queue, "maintenance");
  EXPECT_EQ(job->status, JobStatus::kQueued);
  EXPECT_EQ(job->run_after_ms, now_.load() * 1000);
  // Still queued: asking again gives the same job.
  EXPECT_EQ(p->scheduler.run_now("backup-database"), id);
  // On-demand runs do not count as scheduled firings.
  EXPECT_EQ(p->scheduler.list()[5].last_run, "");

  try {
    p->scheduler.run_now("no-such-schedule");
    FAIL() << "expected ApiError";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 404);
  }
}

TEST_F(SchedulerTest, FiringWhilePreviousJobIsLiveQueuesNoSecondJob) {
  auto p = process();
  p->scheduler.start_up();
  now_ = at(0, 10, 10);
  auto first = p->scheduler.tick();
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(first[0].created);

  now_ = at(0, 10, 15);
  auto second = p->scheduler.tick();
  ASSERT_EQ(second.size(), 1u);     // the firing happened...
  EXPECT_FALSE(second[0].created);  // ...onto the still queued job
  EXPECT_EQ(second[0].job_id, first[0].job_id);
  EXPECT_EQ(jobs_of(p->queue, "scan-import-folder").size(), 1u);

  // Once it is finished, the next firing queues a new one.
  ASSERT_TRUE(p->queue.cancel(first[0].job_id));
  now_ = at(0, 10, 20);
  auto third = p->scheduler.tick();
  ASSERT_EQ(third.size(), 1u);
  EXPECT_TRUE(third[0].created);
  EXPECT_NE(third[0].job_id, first[0].job_id);
}

TEST_F(SchedulerTest, LateTickFiresOnlyTheLatestDueTime) {
  auto p = process();
  p->scheduler.start_up();
  now_ = at(0, 10, 31);  // slept through 10:10 ... 10:30
  auto fired = p->scheduler.tick();
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].fire_time, at(0, 10, 30));
}

TEST_F(SchedulerTest, LoopTicksUntilStopped) {
  auto p = process();
  p->scheduler.start_up();
  now_ = at(0, 10, 10);
  p->scheduler.start();
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (jobs_of(p->queue, "scan-import-folder").empty() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  auto started = std::chrono::steady_clock::now();
  p->scheduler.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 500ms);  // no waiting out the second
  EXPECT_EQ(jobs_of(p->queue, "scan-import-folder").size(), 1u);
}

TEST_F(SchedulerTest, RepositoryKeepsLastRunAndClaimsOnce) {
  auto store = open_store(db().string());
  store->migrate();
  store->write([](StoreSession& s) {
    auto& r = s.schedules();
    r.upsert("x", "0 3 * * *", true);
    r.set_last_run("x", 100);
    r.set_next_run("x", 200);
    r.set_last_run("x", 50);  // never backwards
    EXPECT_TRUE(r.claim_firing("x", 100));
    EXPECT_FALSE(r.claim_firing("x", 100));
    EXPECT_TRUE(r.claim_firing("y", 100));
    r.upsert("x", "0 3 * * *", false);  // same cron: next_run kept
  });
  auto row = store->read([](StoreSession& s) { return s.schedules().find("x"); });
  ASSERT_TRUE(row);
  EXPECT_FALSE(row->enabled);
  EXPECT_EQ(row->last_run, 100);
  EXPECT_EQ(row->next_run, 200);

  store->write([](StoreSession& s) {
    s.schedules().upsert("x", "0 4 * * *", true);  // new cron: next_run was for the old one
    EXPECT_EQ(s.schedules().prune_firings("x", 101), 1);
  });
  row = store->read([](StoreSession& s) { return s.schedules().find("x"); });
  EXPECT_EQ(row->cron, "0 4 * * *");
  EXPECT_EQ(row->last_run, 100);
  EXPECT_FALSE(row->next_run);
  EXPECT_EQ(store->read([](StoreSession& s) { return s.schedules().list().size(); }), 1u);
}

}  // namespace
}  // namespace barbossa
