// ActivityRepository contract: newest first, paging by id.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/store.h"
#include "unit/store/store_fixture.h"

namespace barbossa::test {
namespace {

class ActivityContract : public StoreContractTest {};

TEST_P(ActivityContract, ActivityNewestFirstWithBeforeId) {
  User u = make_user("alice");
  std::vector<int64_t> ids;
  store_->write([&](StoreSession& s) {
    for (int i = 0; i < 5; ++i) {
      Activity a;
      if (i % 2 == 0) a.user_id = u.id;
      a.action = "heart";
      a.entity_type = "album";
      a.entity_id = i;
      a.details_json = R"({"n":)" + std::to_string(i) + "}";
      Activity saved = s.activity().insert(a);
      EXPECT_GT(saved.id, 0);
      EXPECT_TRUE(is_iso8601_ms_utc(saved.created_at)) << saved.created_at;
      EXPECT_EQ(saved.username, i % 2 == 0 ? "alice" : "");
      ids.push_back(saved.id);
    }
  });

  store_->read([&](StoreSession& s) {
    auto newest = s.activity().list(3, 0);
    ASSERT_EQ(newest.size(), 3u);
    EXPECT_EQ(newest[0].id, ids[4]);
    EXPECT_EQ(newest[1].id, ids[3]);
    EXPECT_EQ(newest[2].id, ids[2]);
    EXPECT_EQ(newest[0].username, "alice");
    EXPECT_EQ(newest[0].user_id, u.id);
    EXPECT_FALSE(newest[1].user_id.has_value());
    EXPECT_EQ(newest[1].username, "");
    EXPECT_EQ(newest[0].details_json, R"({"n":4})");
    EXPECT_EQ(newest[0].entity_type, "album");
    EXPECT_EQ(newest[0].entity_id, 4);

    auto older = s.activity().list(10, newest.back().id);
    ASSERT_EQ(older.size(), 2u);
    EXPECT_EQ(older[0].id, ids[1]);
    EXPECT_EQ(older[1].id, ids[0]);
    EXPECT_TRUE(s.activity().list(10, ids[0]).empty());
  });
}

BARBOSSA_STORE_CONTRACT(ActivityContract);

}  // namespace
}  // namespace barbossa::test
