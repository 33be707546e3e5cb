// The RPO meter's Prometheus series: what a standby region lacks and what is not archived yet.
#include <gtest/gtest.h>

#include "ctl/dr/dr.h"

namespace techmoda::ctl::dr {
namespace {

TEST(RpoMetricsText, StandbyLagArchiveAndEpoch) {
  DrStatus s;
  s.active_region = "a";
  s.state = EpochState::kActive;
  s.epoch = 3;
  s.regions = {{"a", RegionRole::kPrimary, "a1", 1000, -1, -1}, {"b", RegionRole::kStandby, "b1", 900, 100, 0.25}};
  s.unarchived_bytes = 4096;
  s.unarchived_seconds = 1.5;
  auto text = RpoMetricsText(s);
  EXPECT_NE(text.find("techmoda_dr_standby_behind_bytes{region=\"b\"} 100\n"), std::string::npos) << text;
  EXPECT_NE(text.find("techmoda_dr_standby_behind_seconds{region=\"b\"} 0.25\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("{region=\"a\"} 1000"), std::string::npos) << "the active region is behind nobody";
  EXPECT_NE(text.find("techmoda_dr_unarchived_bytes 4096\n"), std::string::npos) << text;
  EXPECT_NE(text.find("techmoda_dr_unarchived_seconds 1.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("techmoda_dr_active_epoch{region=\"a\",state=\"active\"} 3\n"), std::string::npos) << text;
}

TEST(RpoMetricsText, UnknownFiguresAreLeftOutNotZero) {
  DrStatus s;  // the global etcd and the regions did not answer
  s.regions = {{"b", RegionRole::kDown, "", -1, -1, -1}};
  auto text = RpoMetricsText(s);
  EXPECT_EQ(text.find("techmoda_dr_standby_behind_bytes{"), std::string::npos) << text;
  EXPECT_EQ(text.find("\ntechmoda_dr_unarchived_bytes "), std::string::npos) << text;
  EXPECT_EQ(text.find("techmoda_dr_active_epoch{"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE techmoda_dr_unarchived_bytes gauge"), std::string::npos) << text;
}

WatchObservation Seen(std::map<std::string, int> leases, EpochState state = EpochState::kActive) {
  WatchObservation o;
  o.global_readable = true;
  o.active_region = "a";
  o.state = state;
  o.leases = std::move(leases);
  return o;
}

TEST(DecideAutoFailover, NothingWhileTheActiveRegionHoldsLeases) {
  EXPECT_EQ(DecideAutoFailover(Seen({{"a", 3}, {"b", 2}}), 0, 10).target, "");
  EXPECT_EQ(DecideAutoFailover(Seen({{"a", 1}, {"b", 2}}), 100, 10).target, "") << "silence is the watcher's count";
}

TEST(DecideAutoFailover, WaitsTheSetTimeThenFailsOverToTheRegionThatCanServe) {
  auto o = Seen({{"b", 2}, {"c", 1}});
  auto early = DecideAutoFailover(o, 9.5, 10);
  EXPECT_EQ(early.target, "");
  EXPECT_NE(early.reason.find("no lease for 9.5 s"), std::string::npos) << early.reason;
  EXPECT_EQ(DecideAutoFailover(o, 10, 10).target, "b");
}

TEST(DecideAutoFailover, NeverWhenOffUnreadableDuringAFailoverOrWithNowhereToGo) {
  EXPECT_EQ(DecideAutoFailover(Seen({{"b", 2}}), 60, 0).target, "") << "the policy is off by default";
  auto unread = Seen({{"b", 2}});
  unread.global_readable = false;
  EXPECT_EQ(DecideAutoFailover(unread, 60, 10).target, "") << "a watcher on the minority side never acts";
  EXPECT_EQ(DecideAutoFailover(Seen({{"b", 2}}, EpochState::kPromoting), 60, 10).target, "");
  auto nowhere = DecideAutoFailover(Seen({}), 60, 10);
  EXPECT_EQ(nowhere.target, "");
  EXPECT_NE(nowhere.reason.find("no other region"), std::string::npos);
}

}  // namespace
}  // namespace techmoda::ctl::dr
