// Scenario files: the shipped ones parse; a wrong one is refused with every problem named.
#include "ctl/gameday/scenario.h"

#include "ctl/faults/drills.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

namespace techmoda::ctl::gameday {
namespace {

std::string ReadSource(const std::string& path) {
  std::ifstream in(std::string(TECHMODA_SOURCE_DIR) + "/" + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Scenario, TheShippedOnesParse) {
  for (const char* f : {"deploy/gameday/full.yaml", "deploy/gameday/short.yaml"}) {
    auto s = ParseScenario(ReadSource(f));
    ASSERT_TRUE(s.ok()) << f << ": " << s.status().detail();
    EXPECT_FALSE(s->timeline.empty()) << f;
    std::set<std::string> classes;
    for (const auto& st : s->timeline) classes.insert(st.FaultClass());
    for (const char* c : {"zone", "database", "region", "deploy"}) EXPECT_TRUE(classes.count(c)) << f << " lacks " << c;
  }
  auto shortest = ParseScenario(ReadSource("deploy/gameday/short.yaml"));
  EXPECT_LE(shortest->duration_s, 600) << "the CI scenario stays short";
}

TEST(Scenario, EveryProblemIsNamed) {
  auto s = ParseScenario(R"(
name: broken
duration_s: 100
load: {rate: 0, mix: {place_order: 0}, colour: blue}
timeline:
  - {at_s: 50, action: kill-zone}
  - {at_s: 20, action: explode}
  - {at_s: 30, action: recover}
  - {at_s: 40, action: surge, factor: 3}
)");
  ASSERT_FALSE(s.ok());
  const std::string d = s.status().detail();
  for (const char* want :
       {"load.rate: 0 is outside", "load: unknown key 'colour'", "load.mix: every weight is 0",
        "timeline[0].zone: required by kill-zone", "timeline[1].action: 'explode' is not one of",
        "timeline[1].at_s: steps must be in time order", "timeline[2]: recover without a bad-deploy before it",
        "timeline[3].for_s: required by surge"})
    EXPECT_NE(d.find(want), std::string::npos) << "missing: " << want << "\nin: " << d;
}

TEST(Scenario, DescribesSteps) {
  auto s = ParseScenario(
      "name: x\ntimeline:\n  - {at_s: 1, action: failover, to: b, force: true}\n"
      "  - {at_s: 2, action: surge, factor: 10, for_s: 60}\n");
  ASSERT_TRUE(s.ok()) << s.status().detail();
  EXPECT_EQ(s->timeline[0].Describe(), "failover to b (forced)");
  EXPECT_EQ(s->timeline[1].Describe(), "surge x10 for 60 s");
  EXPECT_EQ(s->timeline[0].FaultClass(), "");
}

TEST(Scenario, EveryDrillIsAStep) {
  // A drill added to the table is available to scenarios at once, with its target and recovery class.
  std::string text = "name: all\nduration_s: 1000\ntimeline:\n";
  int at = 1;
  for (const auto& d : Drills())
    text += "  - {at_s: " + std::to_string(at++) + ", action: " + std::string(d.name) + ", " +
            (d.target == DrillTarget::kZone ? "zone: primary" : "region: a") + (d.offset ? ", by_s: -30" : "") + "}\n";
  auto s = ParseScenario(text);
  ASSERT_TRUE(s.ok()) << s.status().detail();
  ASSERT_EQ(s->timeline.size(), Drills().size());

  for (std::size_t i = 0; i < Drills().size(); ++i) {
    EXPECT_EQ(s->timeline[i].FaultClass(), RecoveryClassName(Drills()[i].recovery)) << Drills()[i].name;
    EXPECT_EQ(s->timeline[i].Describe().rfind(std::string(Drills()[i].name), 0), 0u);
    if (Drills()[i].offset) {
      EXPECT_EQ(s->timeline[i].Describe(), std::string(Drills()[i].name) + " primary by -30 s");
    }
  }
}

TEST(Scenario, AClockSkewNeedsItsOffsetAndNothingElseTakesOne) {
  auto s = ParseScenario(
      "name: x\nduration_s: 100\ntimeline:\n  - {at_s: 1, action: skew-clock, zone: primary}\n"
      "  - {at_s: 2, action: kill-zone, zone: primary, by_s: 5}\n");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().detail().find("timeline[0].by_s: required by skew-clock"), std::string::npos);
  EXPECT_NE(s.status().detail().find("timeline[1].by_s: applies to skew-clock, not to kill-zone"), std::string::npos);
}

}  // namespace
}  // namespace techmoda::ctl::gameday
