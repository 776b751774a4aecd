// StoreSession contract: a write session is one transaction that commits
// only when asked; concurrent writers are serialized, not failed.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "store/store.h"
#include "unit/store/store_fixture.h"

namespace barbossa::test {
namespace {

class SessionsContract : public StoreContractTest {};

TEST_P(SessionsContract, UncommittedWriteSessionRollsBack) {
  {
    auto session = store_->open_session(true);
    session->users().create("ghost", "hash", false);
    EXPECT_TRUE(session->users().find_by_name("ghost"));
  }
  store_->read([](StoreSession& s) { EXPECT_FALSE(s.users().find_by_name("ghost")); });

  {
    auto session = store_->open_session(true);
    session->users().create("kept", "hash", false);
    session->commit();
    session->commit();  // a second commit changes nothing
  }
  store_->read([](StoreSession& s) { EXPECT_TRUE(s.users().find_by_name("kept")); });
}

TEST_P(SessionsContract, ExceptionEscapingWriteRollsBack) {
  EXPECT_THROW(store_->write([](StoreSession& s) {
    s.users().create("ghost", "hash", false);
    s.meta().put("k", "v");
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  store_->read([](StoreSession& s) {
    EXPECT_FALSE(s.users().find_by_name("ghost"));
    EXPECT_FALSE(s.meta().get("k"));
  });
  // The connection went back to the pool clean: the next write works.
  int64_t id =
      store_->write([](StoreSession& s) { return s.users().create("real", "h", false).id; });
  EXPECT_GT(id, 0);
}

TEST_P(SessionsContract, ReadSessionInsideWriteSeesCommittedState) {
  auto writer = store_->open_session(true);
  writer->users().create("pending", "hash", false);
  // A second lease from the same thread must not block, and WAL isolates it.
  store_->read([](StoreSession& s) { EXPECT_FALSE(s.users().find_by_name("pending")); });
  writer->commit();
  store_->read([](StoreSession& s) { EXPECT_TRUE(s.users().find_by_name("pending")); });
}

TEST_P(SessionsContract, WriterWaitsForLockHolderUnderBusyTimeout) {
  // Without the busy timeout the second BEGIN IMMEDIATE fails at once with
  // SQLITE_BUSY; with it, the second writer waits for the first to commit.
  std::atomic<bool> locked{false};
  std::thread holder([&] {
    auto session = store_->open_session(true);
    session->meta().put("holder", "1");
    locked = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    session->commit();
  });
  while (!locked) std::this_thread::yield();
  auto start = std::chrono::steady_clock::now();
  store_->write([](StoreSession& s) {
    // Serialized after the holder, so its write is visible.
    EXPECT_EQ(s.meta().get("holder"), "1");
    s.meta().put("waiter", "1");
  });
  auto waited = std::chrono::steady_clock::now() - start;
  holder.join();
  EXPECT_GE(waited, std::chrono::milliseconds(200));
  store_->read([](StoreSession& s) { EXPECT_EQ(s.meta().get("waiter"), "1"); });
}

TEST_P(SessionsContract, ConcurrentWritersBothSucceed) {
  constexpr int kPerThread = 50;
  std::atomic<int> failures{0};
  auto work = [&](int thread) {
    for (int i = 0; i < kPerThread; ++i) {
      try {
        store_->write([&](StoreSession& s) {
          // Read-modify-write: lost updates would show in the final count.
          auto current = s.meta().get("counter");
          int n = current ? std::stoi(*current) : 0;
          s.meta().put("counter", std::to_string(n + 1));
          s.users().create("t" + std::to_string(thread) + "-" + std::to_string(i), "h", false);
        });
      } catch (const std::exception&) {
        failures.fetch_add(1);
      }
    }
  };
  std::thread a(work, 0);
  std::thread b(work, 1);
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  store_->read([&](StoreSession& s) {
    EXPECT_EQ(s.meta().get("counter"), std::to_string(2 * kPerThread));
    EXPECT_EQ(s.users().count(), 2 * kPerThread);
  });
}

BARBOSSA_STORE_CONTRACT(SessionsContract);

}  // namespace
}  // namespace barbossa::test
