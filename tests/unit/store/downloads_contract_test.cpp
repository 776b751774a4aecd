// DownloadRepository contract: new rows are pending, lists hide dismissed
// rows and filter by owner and status, a transition writes only from the
// states it names, and only finished rows can be dismissed.

#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "store/store.h"
#include "unit/store/store_fixture.h"

namespace barbossa::test {
namespace {

class DownloadsContract : public StoreContractTest {
 protected:
  Download create(int64_t user_id, const std::string& url = "https://example.org/a.zip") {
    return store_->write(
        [&](StoreSession& s) { return s.downloads().create(user_id, "http", url); });
  }
  std::optional<Download> move(int64_t id, std::vector<DownloadStatus> from, DownloadStatus to) {
    return store_->write([&](StoreSession& s) { return s.downloads().transition(id, from, to); });
  }
  PageResult<Download> list(std::optional<DownloadStatus> status, std::optional<int64_t> user) {
    return store_->read([&](StoreSession& s) {
      return s.downloads().list(status, user, Page{50, 0});
    });
  }
};

TEST_P(DownloadsContract, ANewDownloadIsPendingWithNothingDone) {
  User u = make_user("alice");
  Download d = create(u.id);
  EXPECT_GT(d.id, 0);
  EXPECT_EQ(d.user_id, u.id);
  EXPECT_EQ(d.source, "http");
  EXPECT_EQ(d.url, "https://example.org/a.zip");
  EXPECT_EQ(d.status, DownloadStatus::kPending);
  EXPECT_EQ(d.progress, 0);
  EXPECT_EQ(d.bytes_done, 0);
  EXPECT_FALSE(d.bytes_total);
  EXPECT_FALSE(d.eta_seconds);
  EXPECT_FALSE(d.album_id);
  EXPECT_FALSE(d.review_id);
  EXPECT_FALSE(d.dismissed);
  EXPECT_TRUE(d.error.empty());
  EXPECT_TRUE(is_iso8601_ms_utc(d.created_at)) << d.created_at;
  EXPECT_TRUE(is_iso8601_ms_utc(d.updated_at)) << d.updated_at;
  auto found = store_->read([&](StoreSession& s) { return s.downloads().find(d.id); });
  ASSERT_TRUE(found);
  EXPECT_EQ(found->url, d.url);
  EXPECT_FALSE(store_->read([&](StoreSession& s) { return s.downloads().find(d.id + 100); }));
}

TEST_P(DownloadsContract, ListsAreNewestFirstAndFilterByOwnerAndStatus) {
  User a = make_user("alice");
  User b = make_user("bob");
  Download a1 = create(a.id);
  Download b1 = create(b.id);
  Download a2 = create(a.id);
  ASSERT_TRUE(move(a2.id, {DownloadStatus::kPending}, DownloadStatus::kCancelled));
  auto all = list(std::nullopt, std::nullopt);
  ASSERT_EQ(all.total, 3);
  EXPECT_EQ(all.items[0].id, a2.id);
  EXPECT_EQ(all.items[2].id, a1.id);
  auto alices = list(std::nullopt, a.id);
  EXPECT_EQ(alices.total, 2);
  auto pending = list(DownloadStatus::kPending, std::nullopt);
  ASSERT_EQ(pending.total, 2);
  EXPECT_EQ(pending.items[0].id, b1.id);
  auto alices_pending = list(DownloadStatus::kPending, a.id);
  ASSERT_EQ(alices_pending.total, 1);
  EXPECT_EQ(alices_pending.items[0].id, a1.id);
  auto page = store_->read([&](StoreSession& s) {
    return s.downloads().list(std::nullopt, std::nullopt, Page{1, 1});
  });
  EXPECT_EQ(page.total, 3);  // every match, not the page
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].id, b1.id);
}

TEST_P(DownloadsContract, ATransitionWritesOnlyFromTheStatesItNames) {
  User u = make_user("alice");
  Download d = create(u.id);
  EXPECT_FALSE(move(d.id, {DownloadStatus::kFailed}, DownloadStatus::kPending));
  auto cancelled = move(d.id, {DownloadStatus::kPending, DownloadStatus::kDownloading},
                        DownloadStatus::kCancelled);
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->status, DownloadStatus::kCancelled);
  // Of two racing cancels, the second writes nothing.
  EXPECT_FALSE(move(d.id, {DownloadStatus::kPending}, DownloadStatus::kCancelled));
  EXPECT_FALSE(move(d.id + 100, {DownloadStatus::kCancelled}, DownloadStatus::kPending));
  EXPECT_FALSE(move(d.id, {}, DownloadStatus::kPending));
  auto again =
      move(d.id, {DownloadStatus::kFailed, DownloadStatus::kCancelled}, DownloadStatus::kPending);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, DownloadStatus::kPending);
  EXPECT_TRUE(again->error.empty());
}

TEST_P(DownloadsContract, OnlyFinishedRowsAreDismissedAndThenHiddenFromLists) {
  User u = make_user("alice");
  Download d = create(u.id);
  auto dismiss = [&](int64_t id) {
    return store_->write([&](StoreSession& s) { return s.downloads().dismiss(id); });
  };
  EXPECT_FALSE(dismiss(d.id));  // pending
  ASSERT_TRUE(move(d.id, {DownloadStatus::kPending}, DownloadStatus::kFailed));
  EXPECT_TRUE(dismiss(d.id));
  EXPECT_FALSE(dismiss(d.id));  // once
  EXPECT_FALSE(dismiss(d.id + 100));
  EXPECT_EQ(list(std::nullopt, std::nullopt).total, 0);
  auto found = store_->read([&](StoreSession& s) { return s.downloads().find(d.id); });
  ASSERT_TRUE(found);
  EXPECT_TRUE(found->dismissed);
}

TEST_P(DownloadsContract, RemovingTheUserRemovesTheirDownloads) {
  User u = make_user("alice");
  User keep = make_user("bob");
  Download d = create(u.id);
  create(keep.id);
  store_->write([&](StoreSession& s) { EXPECT_TRUE(s.users().remove(u.id)); });
  EXPECT_FALSE(store_->read([&](StoreSession& s) { return s.downloads().find(d.id); }));
  EXPECT_EQ(list(std::nullopt, std::nullopt).total, 1);
}

BARBOSSA_STORE_CONTRACT(DownloadsContract);

}  // namespace
}  // namespace barbossa::test
