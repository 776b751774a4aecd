// DownloadService over a real SQLite store and in-process bus: what reaches
// the queue (enqueue), what is published, and that a failing enqueue loses
// nothing. The HTTP side is in tests/integration/test_downloads_api.py.
#include "services/download_service.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.h"
#include "unit/temp_dir.h"

namespace barbossa {
namespace {

class DownloadServiceTest : public ::testing::Test {
 protected:
  DownloadServiceTest()
      : store_(open_store((dir_ / "db.sqlite").string())),
        bus_(make_memory_event_bus(100, {})),
        activity_(*store_, *bus_),
        service_(*store_, *bus_, activity_, [this](const Download& d) {
          queued_.push_back(d.id);
          if (fail_enqueue_) throw std::runtime_error("queue down");
        }) {
    store_->migrate();
    bus_->subscribe([this](const EventPtr& e) { events_.push_back(e->type); });
    User u = store_->write([](StoreSession& s) { return s.users().create("alice", "x", false); });
    alice_ = {u.id, "alice", false, 1};
  }

  int status_of(const std::function<void()>& f) {
    try {
      f();
    } catch (const ApiError& e) {
      return e.status();
    }
    return 0;
  }

  test::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<EventBus> bus_;
  ActivityService activity_;
  std::vector<int64_t> queued_;
  std::vector<std::string> events_;
  bool fail_enqueue_ = false;
  DownloadService service_;
  AuthUser alice_;
};

TEST_F(DownloadServiceTest, CreateAndRetryQueueTheDownloadAndPublish) {
  Download d = service_.create(alice_, {"https://example.org/a.zip", "auto", false});
  EXPECT_EQ(d.source, "http");
  EXPECT_EQ(queued_, std::vector<int64_t>{d.id});
  EXPECT_EQ(events_, (std::vector<std::string>{"download_queued", "activity"}));
  service_.cancel(alice_, d.id);
  Download again = service_.retry(alice_, d.id);
  EXPECT_EQ(again.status, DownloadStatus::kPending);
  EXPECT_EQ(queued_, (std::vector<int64_t>{d.id, d.id}));
  EXPECT_EQ(events_.back(), "download_queued");
}

TEST_F(DownloadServiceTest, RefusedRequestsWriteAndQueueNothing) {
  EXPECT_EQ(status_of([&] {
              service_.create(alice_, {"ftp://example.org/a", "auto", false});
            }),
            422);
  EXPECT_EQ(status_of([&] {
              service_.create(alice_, {"https://youtu.be/x", "auto", false});
            }),
            422);
  EXPECT_EQ(status_of([&] { service_.create(alice_, {"https://e.org/a", "nope", false}); }), 400);
  EXPECT_EQ(status_of([&] { service_.list(alice_, "done", Page{}); }), 400);
  EXPECT_TRUE(queued_.empty());
  EXPECT_TRUE(events_.empty());
  EXPECT_EQ(service_.list(alice_, "", Page{}).total, 0);
}

TEST_F(DownloadServiceTest, AFailingEnqueueKeepsThePendingDownload) {
  fail_enqueue_ = true;
  Download d = service_.create(alice_, {"https://example.org/a.zip", "http", false});
  EXPECT_EQ(service_.get(alice_, d.id).status, DownloadStatus::kPending);
  EXPECT_EQ(queued_.size(), 1u);
}

TEST_F(DownloadServiceTest, OthersGet404AdminsMayAct) {
  Download d = service_.create(alice_, {"https://example.org/a.zip", "http", false});
  AuthUser bob{alice_.id + 1, "bob", false, 1};
  AuthUser admin{alice_.id + 2, "root", true, 1};
  EXPECT_EQ(status_of([&] { service_.get(bob, d.id); }), 404);
  EXPECT_EQ(status_of([&] { service_.cancel(bob, d.id); }), 404);
  EXPECT_EQ(service_.list(bob, "", Page{}).total, 0);
  EXPECT_EQ(service_.list(admin, "", Page{}).total, 1);
  EXPECT_EQ(status_of([&] { service_.dismiss(admin, d.id); }), 409);
  EXPECT_EQ(service_.cancel(admin, d.id).status, DownloadStatus::kCancelled);
  EXPECT_EQ(status_of([&] { service_.cancel(alice_, d.id); }), 409);
  service_.dismiss(alice_, d.id);
  EXPECT_EQ(status_of([&] { service_.get(admin, d.id); }), 404);
}

}  // namespace
}  // namespace barbossa
