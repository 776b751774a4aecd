// ScheduleRepository contract: definitions keep their run times across
// upserts, each firing is claimed once, last_run never goes backwards.

#include <gtest/gtest.h>

#include <optional>

#include "store/store.h"
#include "unit/store/store_fixture.h"

namespace barbossa::test {
namespace {

class SchedulesContract : public StoreContractTest {};

TEST_P(SchedulesContract, UpsertKeepsRunTimesUnlessTheCronChanges) {
  store_->write([](StoreSession& s) {
    s.schedules().upsert("b-job", "0 3 * * *", true);
    s.schedules().upsert("a-job", "*/5 * * * *", true);
    s.schedules().set_last_run("a-job", 100);
    s.schedules().set_next_run("a-job", 400);
    s.schedules().upsert("a-job", "*/5 * * * *", false);
  });
  store_->read([](StoreSession& s) {
    auto all = s.schedules().list();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].name, "a-job");  // by name
    EXPECT_FALSE(all[0].enabled);
    EXPECT_EQ(all[0].last_run, std::optional<int64_t>(100));
    EXPECT_EQ(all[0].next_run, std::optional<int64_t>(400));
    EXPECT_FALSE(all[1].last_run);
    EXPECT_FALSE(s.schedules().find("nope"));
  });
  store_->write([](StoreSession& s) { s.schedules().upsert("a-job", "*/10 * * * *", true); });
  auto row = store_->read([](StoreSession& s) { return s.schedules().find("a-job"); });
  ASSERT_TRUE(row);
  EXPECT_EQ(row->cron, "*/10 * * * *");
  EXPECT_EQ(row->last_run, std::optional<int64_t>(100));
  EXPECT_FALSE(row->next_run);  // computed from the old expression
}

TEST_P(SchedulesContract, EachFiringIsClaimedOnceAndLastRunNeverGoesBack) {
  store_->write([](StoreSession& s) {
    s.schedules().upsert("job", "* * * * *", true);
    EXPECT_TRUE(s.schedules().claim_firing("job", 60));
    EXPECT_FALSE(s.schedules().claim_firing("job", 60));
    EXPECT_TRUE(s.schedules().claim_firing("job", 120));
    EXPECT_EQ(s.schedules().prune_firings("job", 120), 1);
    s.schedules().set_last_run("job", 120);
    s.schedules().set_last_run("job", 60);
  });
  auto row = store_->read([](StoreSession& s) { return s.schedules().find("job"); });
  ASSERT_TRUE(row);
  EXPECT_EQ(row->last_run, std::optional<int64_t>(120));
}

BARBOSSA_STORE_CONTRACT(SchedulesContract);

}  // namespace
}  // namespace barbossa::test
