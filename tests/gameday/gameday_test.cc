// The short game day, for real (as CI runs it): `catalogctl gameday --short` brings up the two-region
// topology, plays every class of fault under load and must keep every promise and meet every
// objective; then the report is opened in headless Chromium and its verdict table read.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <string>

#include "common/process.h"
#include "tests/ha/region_fixture.h"
#include "tests/system/harness.h"

namespace techmoda::test {
namespace {

TEST(Gameday, ShortScenarioKeepsEveryPromise) {
  if (geteuid() != 0) GTEST_SKIP() << "the game day runs as root (it brings a topology up and breaks it)";
  std::string dir = MakeTestDir("gameday");
  std::string out;
  // From the source tree: the scenario and the topology it names are relative paths.
  int rc = Ctl({"gameday", "--short", "--out", dir + "/report", "--var-dir", dir + "/var"}, &out);
  std::printf("%s", out.c_str());
  auto report = ReadFile(dir + "/report/report.json");
  ASSERT_TRUE(report.has_value()) << "no report.json";
  auto j = json::parse(*report);
  for (const auto& o : j.at("objectives").as_array())
    EXPECT_TRUE(o.at("met").as_bool()) << o.at("objective").as_string() << ": target " << o.at("target").as_string()
                                       << ", measured " << o.at("measured").as_string();
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(j.at("passed").as_bool());

  if (access("/usr/bin/chromium", X_OK) != 0) GTEST_SKIP() << "chromium is not installed (scripts/deps.sh)";
  auto dom = ChromiumDom("file://" + dir + "/report/report.html");
  EXPECT_NE(dom.find("id=\"verdict\""), std::string::npos) << dom.substr(0, 2000);
  EXPECT_NE(dom.find("PASSED"), std::string::npos);
  EXPECT_NE(dom.find("<table id=\"objectives\">"), std::string::npos);
  EXPECT_NE(dom.find("<table id=\"promises\">"), std::string::npos);
  EXPECT_EQ(dom.find(">missed<"), std::string::npos) << "an objective the JSON says was met shows as missed";
  EXPECT_EQ(dom.find(">broken<"), std::string::npos) << "a safety property shows as broken";
  EXPECT_NE(dom.find(">kept<"), std::string::npos) << "the verdicts per safety property are in the page";
  EXPECT_NE(dom.find("<svg"), std::string::npos) << "the plot is in the page";
}

}  // namespace
}  // namespace techmoda::test
