// JobRepository contract: dedupe keys, claims and leases, outcomes, cancel
// and retry. The store stores the retry time it is given; the backoff and
// the queue names are job rules (tests/unit/jobs).

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "store/store.h"
#include "unit/store/store_fixture.h"

namespace barbossa::test {
namespace {

class JobsContract : public StoreContractTest {
 protected:
  EnqueueResult enqueue(const std::string& queue, const std::string& key, int64_t now,
                        int max_attempts = 3) {
    NewJob j;
    j.queue = queue;
    j.type = "t";
    j.dedupe_key = key;
    j.max_attempts = max_attempts;
    return store_->write([&](StoreSession& s) { return s.jobs().enqueue(j, now); });
  }
  std::optional<Job> claim(const std::string& holder, int64_t now) {
    return store_->write([&](StoreSession& s) {
      return s.jobs().claim_next({"imports", "maintenance"}, holder, 1000, now);
    });
  }
};

TEST_P(JobsContract, OneLiveJobPerDedupeKey) {
  EnqueueResult first = enqueue("imports", "k", 0);
  EXPECT_TRUE(first.created);
  EnqueueResult again = enqueue("imports", "k", 1);
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.id, first.id);
  EXPECT_TRUE(enqueue("imports", "", 2).created);
}

TEST_P(JobsContract, ClaimLeasesTheFirstDueJobAndFencesOthers) {
  int64_t id = enqueue("maintenance", "", 10).id;
  EXPECT_FALSE(claim("w1", 5));  // not due yet
  std::optional<Job> job = claim("w1", 10);
  ASSERT_TRUE(job);
  EXPECT_EQ(job->id, id);
  EXPECT_EQ(job->status, JobStatus::kRunning);
  EXPECT_EQ(job->attempts, 1);
  EXPECT_EQ(job->lease_expires_ms, 1010);
  EXPECT_FALSE(claim("w2", 500));  // leased
  store_->write([&](StoreSession& s) {
    EXPECT_FALSE(s.jobs().complete(id, "w2", 600));  // not the holder
    EXPECT_TRUE(s.jobs().heartbeat(id, "w1", 1000, 600).held);
  });
}

TEST_P(JobsContract, FailStoresTheGivenRetryTimeThenEndsDead) {
  int64_t id = enqueue("imports", "", 0, /*max_attempts=*/2).id;
  ASSERT_TRUE(claim("w", 0));
  store_->write([&](StoreSession& s) {
    std::optional<Job> j = s.jobs().fail(id, "w", "timeout", true, 1234, 0);
    ASSERT_TRUE(j);
    EXPECT_EQ(j->status, JobStatus::kQueued);
    EXPECT_EQ(j->run_after_ms, 1234);
    EXPECT_EQ(j->last_error, "timeout");
  });
  ASSERT_TRUE(claim("w", 1234));
  store_->write([&](StoreSession& s) {
    EXPECT_EQ(s.jobs().fail(id, "w", "again", true, 9999, 1300)->status, JobStatus::kDead);
  });
}

TEST_P(JobsContract, NonRetryableFailureIsFinal) {
  int64_t id = enqueue("imports", "", 0).id;
  ASSERT_TRUE(claim("w", 0));
  store_->write([&](StoreSession& s) {
    EXPECT_EQ(s.jobs().fail(id, "w", "bad input", false, 0, 5)->status, JobStatus::kFailed);
    EXPECT_EQ(s.jobs().find(id)->finished_ms, 5);
  });
}

TEST_P(JobsContract, CancelAndRetry) {
  int64_t id = enqueue("imports", "k", 0).id;
  store_->write([&](StoreSession& s) {
    EXPECT_EQ(s.jobs().cancel(id, 1)->status, JobStatus::kCancelled);
    EXPECT_FALSE(s.jobs().cancel(9999, 1));
  });
  // A live job took the key meanwhile: the retry is a conflict.
  enqueue("imports", "k", 2);
  EXPECT_EQ(error_status([&] { store_->write([&](StoreSession& s) { s.jobs().retry(id, 3); }); }),
            409);
  std::vector<JobCount> counts = store_->read([](StoreSession& s) { return s.jobs().counts(); });
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0].status, JobStatus::kCancelled);
  EXPECT_EQ(counts[1].status, JobStatus::kQueued);
}

BARBOSSA_STORE_CONTRACT(JobsContract);

}  // namespace
}  // namespace barbossa::test
