#include "catalogd/store/pg_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "common/pg.h"

namespace techmoda {
namespace {

using Clock = std::chrono::steady_clock;

// No database listens on loopback port 1: every connection is refused at once, as while a primary
// is down or restarting.
std::unique_ptr<PgStore> StoreWithNoDatabase() {
  return std::make_unique<PgStore>(std::make_unique<pg::Pool>("host=127.0.0.1 port=1 dbname=x connect_timeout=1", 2),
                                   nullptr);
}

TEST(PgStore, AnOrderReadWaitsForADatabaseAndTheWaitHookRunsOnce) {
  auto store = StoreWithNoDatabase();
  int hooks = 0;
  SetDatabaseWaitHook([&] { ++hooks; });
  const auto start = Clock::now();
  auto order = store->GetOrder("o-1", start + std::chrono::milliseconds(700));
  const auto waited = Clock::now() - start;
  SetDatabaseWaitHook(nullptr);
  ASSERT_FALSE(order.ok());
  EXPECT_EQ(order.status().code(), Code::kUnavailable);
  // It tried again until its deadline rather than failing at the first refused connection...
  EXPECT_GE(waited, std::chrono::milliseconds(400));
  EXPECT_LT(waited, std::chrono::milliseconds(1500));
  // ...and told the server once, when it began to wait (the server gives the admission slot back).
  EXPECT_EQ(hooks, 1);
}

TEST(PgStore, AnOrderReadDoesNotWaitPastItsDeadline) {
  auto store = StoreWithNoDatabase();
  const auto start = Clock::now();
  auto order = store->GetOrder("o-1", start + std::chrono::milliseconds(30));
  EXPECT_FALSE(order.ok());
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(500));
}

}  // namespace
}  // namespace techmoda
