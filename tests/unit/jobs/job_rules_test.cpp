// The job rules the queue applies before the store: queue names, what a new
// job must carry, the retry backoff.

#include "jobs/job_rules.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"

namespace barbossa {
namespace {

std::string bad_request_message(const NewJob& job) {
  try {
    check_new_job(job);
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    return e.what();
  }
  return "";
}

TEST(JobRulesTest, QueuesAndStatuses) {
  for (const char* q : {"downloads", "imports", "exports", "maintenance"})
    EXPECT_TRUE(is_job_queue(q));
  EXPECT_FALSE(is_job_queue("nope"));
  EXPECT_FALSE(is_job_queue(""));
  for (const char* s : {"queued", "running", "succeeded", "failed", "dead", "cancelled"}) {
    EXPECT_TRUE(is_job_status(s));
  }
  EXPECT_FALSE(is_job_status("pending"));
}

TEST(JobRulesTest, NewJobNeedsAKnownQueueAndAType) {
  NewJob job;
  job.queue = "nope";
  job.type = "t";
  EXPECT_EQ(bad_request_message(job), "Unknown job queue 'nope'");
  job.queue = "imports";
  job.type = "";
  EXPECT_EQ(bad_request_message(job), "A job needs a type");
  job.type = "t";
  EXPECT_EQ(bad_request_message(job), "");
}

TEST(JobRulesTest, BackoffDoublesPerAttemptAndIsCapped) {
  EXPECT_EQ(retry_backoff_ms(1000, 1), 1000);
  EXPECT_EQ(retry_backoff_ms(1000, 2), 2000);
  EXPECT_EQ(retry_backoff_ms(1000, 3), 4000);
  EXPECT_EQ(retry_backoff_ms(1000, 0), 1000);
  EXPECT_EQ(retry_backoff_ms(1, 1000), int64_t{1} << 20);
}

}  // namespace
}  // namespace barbossa
