// The detector's rule, case by case (docs/failure-detector.md), its record format, and the
// configuration `up` renders for it read back.
#include "ctl/detector/detector.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "ctl/topology/render.h"
#include "ctl/topology/topology.h"

namespace techmoda::ctl::detector {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kAfter{1500};

// A folder of the test's own (mkdtemp's template), removed when the test ends.
struct TempDir {
  explicit TempDir(const std::string& name) {
    std::string tmpl = (std::filesystem::temp_directory_path() / ("tm-" + name + "-XXXXXX")).string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp " + tmpl + " failed");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string path;
};

Record Failing(const std::string& zone, const std::string& leader, long long ms) {
  return {zone, leader, 7, ms, ms ? "postgres: no answer in time" : "", 300, 0};
}

View ThreeZones(std::vector<Record> records) {
  View v;
  v.leader = "a1";
  v.leader_index = 7;
  v.sync_standby = "a2";
  v.standby_ready = true;
  v.zones = 3;
  v.records = std::move(records);
  return v;
}

TEST(Detector, TwoOfThreeZonesFailingLongEnoughRemoveTheKey) {
  auto d = Decide(ThreeZones({Failing("a2", "a1", 1600), Failing("a3", "a1", 1550)}), "a2", kAfter);
  EXPECT_EQ(d.verdict, Verdict::kRemove) << d.reason;
  EXPECT_EQ(d.agreeing, 2);
  EXPECT_EQ(d.needed, 2);
}

TEST(Detector, OneZoneAloneIsNotAMajority) {
  // The detector's own zone may be the one cut off from the primary: it must not act alone.
  auto d = Decide(ThreeZones({Failing("a2", "a1", 5000), Failing("a3", "a1", 0)}), "a2", kAfter);
  EXPECT_EQ(d.verdict, Verdict::kNoMajority) << d.reason;
  EXPECT_EQ(d.agreeing, 1);
}

TEST(Detector, AFailureShorterThanTheWindowIsOnlySuspected) {
  // A 1 s pause of the primary: probes fail for about a second, then pass again.
  auto d = Decide(ThreeZones({Failing("a2", "a1", 1000), Failing("a3", "a1", 1200)}), "a2", kAfter);
  EXPECT_EQ(d.verdict, Verdict::kSuspect);
  d = Decide(ThreeZones({Failing("a2", "a1", 0), Failing("a3", "a1", 1600)}), "a2", kAfter);
  EXPECT_EQ(d.verdict, Verdict::kHealthy);
}

TEST(Detector, RecordsAboutAnotherLeaderDoNotCount) {
  auto d = Decide(ThreeZones({Failing("a2", "a1", 1600), Failing("a3", "a3", 4000)}), "a2", kAfter);
  EXPECT_EQ(d.verdict, Verdict::kNoMajority);
  EXPECT_EQ(d.agreeing, 1);
}

TEST(Detector, NothingHappensWithoutAReadySynchronousStandby) {
  auto v = ThreeZones({Failing("a2", "a1", 1600), Failing("a3", "a1", 1600)});
  v.standby_ready = false;
  v.standby_detail = "its Patroni: connection refused";
  EXPECT_EQ(Decide(v, "a3", kAfter).verdict, Verdict::kStandbyNotReady);
  v.standby_ready = true;
  v.sync_standby = "";
  EXPECT_EQ(Decide(v, "a3", kAfter).verdict, Verdict::kStandbyNotReady);
  v.sync_standby = "a1";  // the /sync key still names the leader itself
  EXPECT_EQ(Decide(v, "a3", kAfter).verdict, Verdict::kStandbyNotReady);
}

TEST(Detector, NoLeaderKeyMeansPatroniIsElecting) {
  auto v = ThreeZones({Failing("a2", "a1", 1600), Failing("a3", "a1", 1600)});
  v.leader = "";
  EXPECT_EQ(Decide(v, "a2", kAfter).verdict, Verdict::kNoLeader);
}

TEST(Detector, OnceRemovedItWaitsBeforeRemovingTheSameLeaderAgain) {
  auto v = ThreeZones({Failing("a2", "a1", 1600), Failing("a3", "a1", 1600)});
  v.cooling_down = true;
  EXPECT_EQ(Decide(v, "a2", kAfter).verdict, Verdict::kCoolingDown);
}

TEST(Detector, FiveZonesNeedThree) {
  View v = ThreeZones({Failing("a2", "a1", 1600), Failing("a3", "a1", 1600), Failing("a4", "a1", 0)});
  v.zones = 5;
  auto d = Decide(v, "a2", kAfter);
  EXPECT_EQ(d.verdict, Verdict::kNoMajority);
  EXPECT_EQ(d.needed, 3);
  v.records.push_back(Failing("a5", "a1", 1700));
  EXPECT_EQ(Decide(v, "a2", kAfter).verdict, Verdict::kRemove);
}

TEST(Detector, RecordsRoundTrip) {
  Record r{"a2", "a1", 42, 1234, "patroni: connection refused", 310, 1700000000000};
  auto back = ParseRecord(RecordJson(r));
  ASSERT_TRUE(back.ok()) << back.status().detail();
  EXPECT_EQ(back->zone, "a2");
  EXPECT_EQ(back->leader, "a1");
  EXPECT_EQ(back->leader_index, 42);
  EXPECT_EQ(back->failing_ms, 1234);
  EXPECT_EQ(back->failure, "patroni: connection refused");
  EXPECT_EQ(back->max_gap_ms, 310);
  EXPECT_EQ(back->removed_at_ms, 1700000000000);
  EXPECT_FALSE(ParseRecord("not json").ok());
  EXPECT_FALSE(ParseRecord(R"({"leader": "a1"})").ok());
}

TEST(Detector, ReadsTheConfigurationUpRendersForIt) {
  auto t = LoadTopology(std::string(TECHMODA_SOURCE_DIR) + "/deploy/local.yaml", "/var/lib/techmoda-detector-test");
  ASSERT_TRUE(t.ok()) << t.status().detail();
  Secrets s{"su-secret",      "repl-secret",          "rewind-secret",        "catalog-secret",
            "patroni-secret", "adm-token-0123456789", "cli-token-0123456789", "can-token-0123456789"};
  TempDir tmp("detector-config");
  const std::string& dir = tmp.path;
  int found = 0;
  for (const auto& f : Render(*t, s, RenderTarget::kLocal)) {
    if (std::filesystem::path(f.path).filename() != "detector.yaml") continue;
    std::string path = dir + "/" + std::to_string(found++) + ".yaml";
    std::ofstream(path) << f.content;
    auto c = LoadConfig(path);
    ASSERT_TRUE(c.ok()) << c.status().detail();
    EXPECT_EQ(c->cluster_path, "/techmoda/" + t->name + "-" + t->regions.front().name);
    EXPECT_EQ(c->members.size(), t->regions.front().zones.size());
    // Its own zone's etcd member first: a detector cut off with its zone reads nothing.
    const Zone* z = t->FindZone(c->zone);
    ASSERT_NE(z, nullptr);
    EXPECT_EQ(c->etcd.front(), z->address + ":" + std::to_string(t->ports.etcd_client));
    EXPECT_EQ(c->suspect_after, milliseconds(t->detector.suspect_after_ms));
    EXPECT_NE(c->probe_conninfo.find("password=su-secret"), std::string::npos);
    EXPECT_TRUE(c->act);
  }
  EXPECT_EQ(found, static_cast<int>(t->regions.front().zones.size()));
}

TEST(Detector, AConfigurationWithoutItsPartsIsRefused) {
  TempDir tmp("detector-bad");
  const std::string& dir = tmp.path;
  std::ofstream(dir + "/bad.yaml") << "zone: a1\nprobe_timeout_ms: 2000\nsuspect_after_ms: 1500\n";
  auto c = LoadConfig(dir + "/bad.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().detail().find("missing"), std::string::npos) << c.status().detail();
  EXPECT_FALSE(LoadConfig(dir + "/absent.yaml").ok());
}

}  // namespace
}  // namespace techmoda::ctl::detector

namespace techmoda::ctl::detector {
namespace {

TEST(DetectorAgent, TheZoneTheKeyNamesOrNoKeyTakesWrites) {
  EXPECT_EQ(AgentAnswer("z1", std::string("z1"), std::nullopt), "up");
  // No leader key: Patroni is electing one, and its own /primary check decides.
  EXPECT_EQ(AgentAnswer("z1", std::string(""), std::nullopt), "up");
}

TEST(DetectorAgent, AReplicaIsNeverFenced) {
  // Patroni's check already keeps a replica off the write port; a "down" could outlive the agent.
  EXPECT_EQ(AgentAnswer("z1", std::string("z2"), true), "up");
  EXPECT_EQ(AgentAnswer("z1", std::nullopt, true), "up");
}

TEST(DetectorAgent, APrimaryTheKeyDoesNotNameIsFenced) {
  // The bare word: HAProxy 2.6 ignores "down#why" and changes nothing.
  std::string why;
  EXPECT_EQ(AgentAnswer("z1", std::string("z2"), false, &why), "down");
  EXPECT_EQ(why, "the leader key names z2, and a primary runs here");
  // Cut off from etcd's majority: no fresh read, so it cannot know it still leads.
  EXPECT_EQ(AgentAnswer("z1", std::nullopt, false, &why), "down");
  EXPECT_EQ(why, "no quorum read of the leader key, and a primary runs here");
  EXPECT_EQ(AgentAnswer("z1", std::nullopt, std::nullopt, &why), "down");
  EXPECT_EQ(why, "no quorum read of the leader key, and this zone's PostgreSQL does not answer");
}

}  // namespace
}  // namespace techmoda::ctl::detector
