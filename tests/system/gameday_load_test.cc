// The game day's open-loop load against a real catalogd: operations start on schedule, every one is
// recorded, and the checker finds every promise kept on a healthy service.
#include <gtest/gtest.h>

#include "common/pg.h"
#include "ctl/gameday/checker.h"
#include "ctl/gameday/load.h"
#include "ctl/gameday/state.h"
#include "tests/system/harness.h"
#include "tests/system/test_util.h"

namespace techmoda::test {
namespace {

namespace gameday = ctl::gameday;

TEST(GamedayLoad, OpenLoopHistoryOnAHealthyServiceKeepsEveryPromise) {
  std::vector<std::string> products, skus;
  for (int i = 0; i < 4; ++i) {
    std::string id = Unique("gd-p");
    std::vector<std::string> s{id + "-m", id + "-l"};
    MakeProduct(id, s, 100000);
    products.push_back(id);
    skus.insert(skus.end(), s.begin(), s.end());
  }
  auto conn = pg::Connect(SharedDatabaseUrl(), std::chrono::seconds(10));
  ASSERT_TRUE(conn.ok()) << conn.status().detail();
  auto before = gameday::ReadDatabaseState(**conn, skus, kClientToken);
  ASSERT_TRUE(before.ok()) << before.status().detail();

  gameday::Load load;
  load.rate = 60;
  load.token_reads = 1;  // every order read carries its write's token
  gameday::OpenLoopLoad run({"127.0.0.1", Port(), kClientToken, products, skus, {"linen"}, 16}, load);
  run.Start();
  // Enough of every kind of operation to judge: 300 answered (about 5 s at 60/s).
  ASSERT_TRUE(WaitFor([&] { return run.Count().answered >= 300; }, std::chrono::seconds(30)));
  double elapsed = run.Now();
  run.Stop();
  auto history = run.History();
  auto after = gameday::ReadDatabaseState(**conn, skus, kClientToken);
  ASSERT_TRUE(after.ok()) << after.status().detail();

  // Open loop at 60/s: about 60 a second started (a Poisson count; far outside means a broken schedule).
  EXPECT_NEAR(static_cast<double>(history.size()), 60 * elapsed, 0.35 * 60 * elapsed + 20) << elapsed << " s";
  std::map<gameday::OpKind, int> kinds;
  int token_reads = 0;
  for (const auto& op : history) {
    ++kinds[op.kind];
    token_reads += !op.token_sent.empty();
    EXPECT_GE(op.end_s, op.start_s);
  }
  EXPECT_GT(kinds[gameday::OpKind::kPlaceOrder], 20);
  EXPECT_GT(kinds[gameday::OpKind::kCancelOrder], 0);
  EXPECT_GT(token_reads, 0);
  auto report = gameday::Check(history, *before, *after, {});
  std::printf("%s", gameday::FormatReport(report).c_str());
  EXPECT_TRUE(report.AllKept()) << gameday::FormatReport(report);
}

}  // namespace
}  // namespace techmoda::test
