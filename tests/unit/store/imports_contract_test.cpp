// ImportRepository contract: review items and their decisions.

#include <gtest/gtest.h>

#include <exception>
#include <optional>

#include "store/store.h"
#include "unit/store/store_fixture.h"

namespace barbossa::test {
namespace {

class ImportsContract : public StoreContractTest {};

TEST_P(ImportsContract, ReviewItemsRoundTripFilterAndUpdate) {
  User owner = make_user("owner");
  ReviewItem item;
  item.path = "/data/import/review/X";
  item.path_name = "X";
  item.suggested_artist = "A";
  item.suggested_album = "X";
  item.suggested_year = 2001;
  item.confidence = 0.7;
  item.reasons = {"generic title 'Track 01': 01.flac", "caf\xC3\xA9"};
  item.track_count = 3;
  item.source = "http";
  item.download_id = 5;
  item.user_id = owner.id;
  ReviewItem created =
      store_->write([&](StoreSession& s) { return s.imports().create_review(item); });
  EXPECT_GT(created.id, 0);
  EXPECT_EQ(created.status, ReviewStatus::kPending);
  EXPECT_EQ(created.reasons, item.reasons);
  EXPECT_EQ(created.download_id, std::optional<int64_t>(5));
  EXPECT_FALSE(created.reviewer_id);
  EXPECT_TRUE(is_iso8601_ms_utc(created.created_at));
  ReviewItem other = item;
  other.user_id.reset();
  store_->write([&](StoreSession& s) { s.imports().create_review(other); });

  store_->read([&](StoreSession& s) {
    EXPECT_EQ(s.imports().list_reviews("", std::nullopt, Page{}).total, 2);
    EXPECT_EQ(s.imports().list_reviews("pending", owner.id, Page{}).total, 1);
    EXPECT_EQ(s.imports().list_reviews("approved", std::nullopt, Page{}).total, 0);
  });
  created.status = ReviewStatus::kRejected;
  created.reviewer_id = owner.id;
  created.path = "";
  store_->write([&](StoreSession& s) { s.imports().update_review(created); });
  auto back = store_->read([&](StoreSession& s) { return s.imports().find_review(created.id); });
  EXPECT_EQ(back->status, ReviewStatus::kRejected);
  EXPECT_EQ(back->reviewer_id, std::optional<int64_t>(owner.id));
  EXPECT_EQ(back->path, "");
  // The CHECK constraint keeps statuses honest.
  // (Out of the enum's range, it is stored as "unknown".)
  created.status = static_cast<ReviewStatus>(99);
  EXPECT_THROW(store_->write([&](StoreSession& s) { s.imports().update_review(created); }),
               std::exception);
}

// Approve and reject of one item race in different threads (or processes):
// the guard in the UPDATE lets exactly one decision write.
TEST_P(ImportsContract, ReviewDecisionWritesOnlyWhilePending) {
  ReviewItem item;
  item.path = "/data/import/review/Y";
  item.path_name = "Y";
  item = store_->write([&](StoreSession& s) { return s.imports().create_review(item); });
  ReviewItem approved = item;
  approved.status = ReviewStatus::kApproved;
  ReviewItem rejected = item;
  rejected.status = ReviewStatus::kRejected;
  rejected.path = "";
  EXPECT_TRUE(store_->write([&](StoreSession& s) { return s.imports().decide_review(approved); }));
  EXPECT_FALSE(store_->write([&](StoreSession& s) { return s.imports().decide_review(rejected); }));
  auto back = store_->read([&](StoreSession& s) { return s.imports().find_review(item.id); });
  EXPECT_EQ(back->status, ReviewStatus::kApproved);
  EXPECT_EQ(back->path, "/data/import/review/Y");
}

// Crash loop: a duplicate's review item was read, the album it duplicates
// was deleted, and the decision then wrote the stale duplicate_of back:
// "FOREIGN KEY constraint failed", approve and reject answered 500.
TEST_P(ImportsContract, ReviewDecisionAfterTheDuplicatedAlbumIsDeletedSucceeds) {
  Album original = make_album(make_artist("A").id, "X");
  ReviewItem item;
  item.path = "/data/import/review/X";
  item.path_name = "X";
  item.duplicate_of = original.id;
  item = store_->write([&](StoreSession& s) { return s.imports().create_review(item); });
  ASSERT_EQ(item.duplicate_of, original.id);
  store_->write([&](StoreSession& s) { s.library().delete_album(original.id); });

  ReviewItem rejected = item;  // as read before the delete
  rejected.status = ReviewStatus::kRejected;
  EXPECT_TRUE(store_->write([&](StoreSession& s) { return s.imports().decide_review(rejected); }));
  auto back = store_->read([&](StoreSession& s) { return s.imports().find_review(item.id); });
  EXPECT_EQ(back->status, ReviewStatus::kRejected);
  EXPECT_FALSE(back->duplicate_of.has_value());
}

BARBOSSA_STORE_CONTRACT(ImportsContract);

}  // namespace
}  // namespace barbossa::test
