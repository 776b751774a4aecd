#include "auth/rate_limiter.h"

#include <gtest/gtest.h>

namespace barbossa {
namespace {

TEST(RateLimiterTest, BlocksAfterMaxFailuresWithinWindow) {
  RateLimiter r(3, 60);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(r.retry_after("k", 100), 0);
    r.record_failure("k", 100 + i);
  }
  int wait = r.retry_after("k", 103);
  EXPECT_GT(wait, 0);
  EXPECT_LE(wait, 60);
  EXPECT_EQ(r.retry_after("other", 103), 0);
}

TEST(RateLimiterTest, WindowSlides) {
  RateLimiter r(2, 10);
  r.record_failure("k", 0);
  r.record_failure("k", 5);
  EXPECT_EQ(r.retry_after("k", 6), 4);  // the failure at 0 ages out at 10
  EXPECT_EQ(r.retry_after("k", 10), 0);
}

TEST(RateLimiterTest, ResetClears) {
  RateLimiter r(1, 10);
  r.record_failure("k", 0);
  EXPECT_GT(r.retry_after("k", 1), 0);
  r.reset("k");
  EXPECT_EQ(r.retry_after("k", 1), 0);
}

}  // namespace
}  // namespace barbossa
