#include "ctl/base/intents.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "common/json_util.h"

namespace techmoda::ctl {
namespace {

std::string FreshDir() {
  auto dir = std::filesystem::temp_directory_path() / ("intents-" + RandomHex(6));
  std::filesystem::remove_all(dir);
  return dir.string();
}

TEST(IntentLog, RecordedClaimedOnceFinished) {
  IntentLog log(FreshDir());
  auto a = log.Record("failover", {{"to", "b"}, {"force", true}}, "catalogctl dr failover");
  ASSERT_TRUE(a.ok()) << a.status().detail();
  auto b = log.Record("switchover", {{"region", "a"}}, "catalogctl switchover");
  ASSERT_TRUE(b.ok());
  auto pending = log.Unclaimed();
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].action, "failover");  // oldest first
  EXPECT_EQ(pending[0].args.at("to").as_string(), "b");
  EXPECT_EQ(pending[0].by, "catalogctl dr failover");
  // Two claimants at once: exactly one wins.
  bool first = false, second = false;
  std::thread t1([&] { first = log.Claim(*a, "dr-responder"); });
  std::thread t2([&] { second = log.Claim(*a, "catalogctl"); });
  t1.join();
  t2.join();
  EXPECT_NE(first, second);
  EXPECT_EQ(log.Unclaimed().size(), 1u);
  EXPECT_FALSE(log.OutcomeOf(a->id).has_value()) << "claimed, not finished";
  log.Finish(*a, Status::Unavailable("region b has no primary"), "");
  auto outcome = log.OutcomeOf(a->id);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->detail(), "region b has no primary");
}

}  // namespace
}  // namespace techmoda::ctl
