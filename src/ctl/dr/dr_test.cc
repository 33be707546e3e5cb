// The RPO meter's Prometheus series: what a standby region lacks and what is not archived yet.
#include <gtest/gtest.h>

#include "ctl/dr/dr.h"

namespace techmoda::ctl::dr {
namespace {

TEST(RpoMetricsText, StandbyLagArchiveAndEpoch) {
  DrStatus s;
  s.active_region = "a";
  s.state = "active";
  s.epoch = 3;
  s.regions = {{"a", "primary", "a1", 1000, -1, -1}, {"b", "standby", "b1", 900, 100, 0.25}};
  s.unarchived_bytes = 4096;
  s.unarchived_seconds = 1.5;
  auto text = RpoMetricsText(s);
  EXPECT_NE(text.find("techmoda_dr_standby_behind_bytes{region=\"b\"} 100\n"), std::string::npos) << text;
  EXPECT_NE(text.find("techmoda_dr_standby_behind_seconds{region=\"b\"} 0.250\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("{region=\"a\"} 1000"), std::string::npos) << "the active region is behind nobody";
  EXPECT_NE(text.find("techmoda_dr_unarchived_bytes 4096\n"), std::string::npos) << text;
  EXPECT_NE(text.find("techmoda_dr_unarchived_seconds 1.500\n"), std::string::npos) << text;
  EXPECT_NE(text.find("techmoda_dr_active_epoch{region=\"a\",state=\"active\"} 3\n"), std::string::npos) << text;
}

TEST(RpoMetricsText, UnknownFiguresAreLeftOutNotZero) {
  DrStatus s;  // the global etcd and the regions did not answer
  s.regions = {{"b", "down", "", -1, -1, -1}};
  auto text = RpoMetricsText(s);
  EXPECT_EQ(text.find("techmoda_dr_standby_behind_bytes{"), std::string::npos) << text;
  EXPECT_EQ(text.find("\ntechmoda_dr_unarchived_bytes "), std::string::npos) << text;
  EXPECT_EQ(text.find("techmoda_dr_active_epoch{"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE techmoda_dr_unarchived_bytes gauge"), std::string::npos) << text;
}

}  // namespace
}  // namespace techmoda::ctl::dr
