// The responder's pure parts: Alertmanager's webhook body, and the one decision per alert, on
// snapshots made by named builders (shared/STYLE.md).
#include "ctl/monitoring/responder.h"

#include <gtest/gtest.h>

#include <set>

#include "ctl/topology/render.h"

namespace techmoda::ctl {
namespace {

using Clock = std::chrono::steady_clock;

Topology OneRegion() {
  auto t = ParseTopology(
      "name: t\nregions:\n  - name: a\n    id: 9\n    zones: [a1, a2, a3]\nmonitoring: {auto_failover: false}\n",
      "t.yaml", "/tmp/var");
  EXPECT_TRUE(t.ok()) << t.status().detail();
  return *t;
}

Alert Firing(const std::string& name, const std::string& runbook, const std::string& zone = "",
             const std::string& instance = "") {
  return {name, "firing", "fp-" + name + zone + instance, runbook, "page", "a", zone, instance, "", ""};
}

// Every program of the region running, a1 the primary.
ResponderView HealthyRegion(const Topology& t) {
  ResponderView v;
  for (const auto& z : t.regions[0].zones) {
    v.programs[EtcdProgram(z)] = "RUNNING";
    v.programs[PatroniProgram(z)] = "RUNNING";
    v.programs[CatalogdProgram(z, 1)] = "RUNNING";
    v.programs[PostgresExporterProgram(z)] = "RUNNING";
    v.roles[z.name] = z.name == "a1" ? NodeRole::kLeader : NodeRole::kReplica;
  }
  return v;
}

ResponderView RegionWithStopped(const Topology& t, const std::string& program) {
  auto v = HealthyRegion(t);
  v.programs[program] = "EXITED";
  return v;
}

TEST(Webhook, ParsesAlertmanagersBody) {
  auto alerts = ParseAlertmanagerWebhook(R"({"version":"4","status":"firing","receiver":"responder","alerts":[
    {"status":"firing","labels":{"alertname":"CatalogdDown","runbook":"restart-catalogd","severity":"page",
     "region":"a","zone":"a2","instance":"a2-1"},"annotations":{"summary":"catalogd a2-1 is down"},
     "startsAt":"2026-11-26T10:00:00Z","fingerprint":"abc"}]})");
  ASSERT_TRUE(alerts.ok()) << alerts.status().detail();
  ASSERT_EQ(alerts->size(), 1u);
  const Alert& a = alerts->front();
  EXPECT_EQ(a.name, "CatalogdDown");
  EXPECT_EQ(a.status, "firing");
  EXPECT_EQ(a.runbook, "restart-catalogd");
  EXPECT_EQ(a.instance, "a2-1");
  EXPECT_EQ(a.summary, "catalogd a2-1 is down");
  EXPECT_EQ(a.fingerprint, "abc");
}

TEST(Webhook, RefusesWhatIsNotAlertmanagers) {
  EXPECT_FALSE(ParseAlertmanagerWebhook("not json").ok());
  EXPECT_FALSE(ParseAlertmanagerWebhook(R"({"alerts": 3})").ok());
  EXPECT_FALSE(ParseAlertmanagerWebhook(R"({"alerts": [{"labels": {}}]})").ok());
}

TEST(DecideResponse, StartsAStoppedCatalogd) {
  auto t = OneRegion();
  auto d = DecideResponse(Firing("CatalogdDown", "restart-catalogd", "a2", "a2-1"), t,
                          RegionWithStopped(t, "catalogd-a2-1"), {}, {}, Clock::now());
  EXPECT_EQ(d.Action(), "start-program");
  EXPECT_EQ(d.target, "catalogd-a2-1");
  EXPECT_EQ(d.reason, "catalogd-a2-1 is EXITED");
}

TEST(DecideResponse, LeavesARunningCatalogdAlone) {
  // Prometheus cannot reach it (a partition), but it runs: restarting it would not help.
  auto t = OneRegion();
  auto d = DecideResponse(Firing("CatalogdDown", "restart-catalogd", "a2", "a2-1"), t, HealthyRegion(t), {}, {},
                          Clock::now());
  EXPECT_EQ(d.Action(), "nothing");
  EXPECT_NE(d.reason.find("is RUNNING"), std::string::npos) << d.reason;
}

TEST(DecideResponse, LeavesWhatAnOperatorStoppedAlone) {
  // `supervisorctl stop` or `catalogctl scale` stopped it (STOPPED); a crash leaves EXITED.
  auto t = OneRegion();
  auto v = HealthyRegion(t);
  v.programs["catalogd-a2-1"] = "STOPPED";
  v.programs["patroni-a3"] = "STOPPED";
  auto cd = DecideResponse(Firing("CatalogdDown", "restart-catalogd", "a2", "a2-1"), t, v, {}, {}, Clock::now());
  EXPECT_EQ(cd.Action(), "nothing");
  EXPECT_NE(cd.reason.find("stopped on purpose"), std::string::npos) << cd.reason;
  auto pg = DecideResponse(Firing("PostgresNodeDown", "restart-postgres-node", "a3"), t, v, {}, {}, Clock::now());
  EXPECT_EQ(pg.Action(), "nothing");
}

TEST(DecideResponse, RestartsADeadDatabaseNodeOnly) {
  auto t = OneRegion();
  auto dead = DecideResponse(Firing("PostgresNodeDown", "restart-postgres-node", "a3"), t,
                             RegionWithStopped(t, "patroni-a3"), {}, {}, Clock::now());
  EXPECT_EQ(dead.Action(), "restart-postgres-node");
  EXPECT_EQ(dead.target, "a3");
  auto alive = DecideResponse(Firing("PostgresNodeDown", "restart-postgres-node", "a3"), t, HealthyRegion(t), {}, {},
                              Clock::now());
  EXPECT_EQ(alive.Action(), "nothing");
  EXPECT_NE(alive.reason.find("restarts PostgreSQL itself"), std::string::npos) << alive.reason;
}

TEST(DecideResponse, StartsAStoppedEtcdMemberAndExporter) {
  auto t = OneRegion();
  auto etcd = DecideResponse(Firing("EtcdMemberDown", "restart-etcd", "a1", "a1"), t, RegionWithStopped(t, "etcd-a1"),
                             {}, {}, Clock::now());
  EXPECT_EQ(etcd.Action(), "start-program");
  EXPECT_EQ(etcd.target, "etcd-a1");
  auto exporter = DecideResponse(Firing("ExporterDown", "restart-exporter", "a2", "a2"), t,
                                 RegionWithStopped(t, "postgres-exporter-a2"), {}, {}, Clock::now());
  EXPECT_EQ(exporter.Action(), "start-program");
  EXPECT_EQ(exporter.target, "postgres-exporter-a2");
}

TEST(DecideResponse, NeverReclonesThePrimary) {
  auto t = OneRegion();
  auto primary =
      DecideResponse(Firing("ReplicaBroken", "reinit-replica", "a1"), t, HealthyRegion(t), {}, {}, Clock::now());
  EXPECT_EQ(primary.Action(), "nothing");
  auto replica =
      DecideResponse(Firing("ReplicaBroken", "reinit-replica", "a2"), t, HealthyRegion(t), {}, {}, Clock::now());
  EXPECT_EQ(replica.Action(), "reinit-replica");
  EXPECT_EQ(replica.target, "a2");
}

TEST(DecideResponse, RateLimitsARepairThatKeepsFailing) {
  auto t = OneRegion();
  ResponderMemory m;
  auto now = Clock::now();
  for (int i = 0; i < 3; ++i) m.acted["restart-catalogd/catalogd-a2-1"].push_back(now - std::chrono::seconds(60 * i));
  ResponderPolicy p;  // 3 per 600 s
  auto d = DecideResponse(Firing("CatalogdDown", "restart-catalogd", "a2", "a2-1"), t,
                          RegionWithStopped(t, "catalogd-a2-1"), m, p, now);
  EXPECT_EQ(d.Action(), "nothing");
  EXPECT_NE(d.reason.find("rate-limited"), std::string::npos) << d.reason;
  // Ten minutes later the window has room again.
  auto later = DecideResponse(Firing("CatalogdDown", "restart-catalogd", "a2", "a2-1"), t,
                              RegionWithStopped(t, "catalogd-a2-1"), m, p, now + std::chrono::seconds(601));
  EXPECT_EQ(later.Action(), "start-program");
}

TEST(DecideResponse, DoesNothingUnsafeWhenSupervisordCannotBeRead) {
  auto t = OneRegion();
  auto d = DecideResponse(Firing("CatalogdDown", "restart-catalogd", "a2", "a2-1"), t, ResponderView{}, {}, {},
                          Clock::now());
  EXPECT_EQ(d.Action(), "nothing");
  EXPECT_NE(d.reason.find("cannot be read"), std::string::npos) << d.reason;
}

TEST(DecideResponse, TightensSheddingOnceAndRelaxesWhenResolved) {
  auto t = OneRegion();
  ResponderMemory m;
  auto d =
      DecideResponse(Firing("CatalogdOverloaded", "tighten-shedding", "a1"), t, HealthyRegion(t), m, {}, Clock::now());
  EXPECT_EQ(d.Action(), "tighten-shedding");
  EXPECT_EQ(d.target, "a");
  m.tightened["a"] = true;
  auto again =
      DecideResponse(Firing("CatalogdOverloaded", "tighten-shedding", "a1"), t, HealthyRegion(t), m, {}, Clock::now());
  EXPECT_EQ(again.Action(), "nothing");
  Alert resolved = Firing("CatalogdOverloaded", "tighten-shedding", "a1");
  resolved.status = "resolved";
  auto relax = DecideResponse(resolved, t, HealthyRegion(t), m, {}, Clock::now());
  EXPECT_EQ(relax.Action(), "relax-shedding");
}

TEST(DecideResponse, FailsOverARegionOnlyWherePolicyAllows) {
  auto t = OneRegion();
  auto off = DecideResponse(Firing("RegionUnreachable", "region-failover"), t, HealthyRegion(t), {}, {}, Clock::now());
  EXPECT_EQ(off.Action(), "page");
  EXPECT_NE(off.reason.find("auto_failover is off"), std::string::npos) << off.reason;
  ResponderPolicy on;
  on.auto_failover = true;
  auto no_standby =
      DecideResponse(Firing("RegionUnreachable", "region-failover"), t, HealthyRegion(t), {}, on, Clock::now());
  EXPECT_EQ(no_standby.Action(), "page");
  auto v = HealthyRegion(t);
  v.standby_regions = 1;
  auto allowed = DecideResponse(Firing("RegionUnreachable", "region-failover"), t, v, {}, on, Clock::now());
  EXPECT_EQ(allowed.Action(), "region-failover");
}

TEST(DecideResponse, PagesWhatHasNoAutomation) {
  auto t = OneRegion();
  EXPECT_EQ(DecideResponse(Firing("WalArchivingFailing", "page-only", "a1"), t, HealthyRegion(t), {}, {}, Clock::now())
                .Action(),
            "page");
  EXPECT_EQ(DecideResponse(Firing("Whatever", "no-such-runbook"), t, HealthyRegion(t), {}, {}, Clock::now()).Action(),
            "page");
}

// Every runbook an alert rule names is one the responder knows (or page-only).
TEST(Rules, NameOnlyKnownRunbooks) {
  std::string rules(EmbeddedFile("catalog-rules.yml"));
  ASSERT_FALSE(rules.empty());
  const std::set<std::string> known = {"page-only",    "restart-catalogd", "restart-postgres-node", "reinit-replica",
                                       "restart-etcd", "restart-exporter", "tighten-shedding",      "region-failover"};
  std::size_t at = 0;
  int seen = 0;
  while ((at = rules.find("runbook: ", at)) != std::string::npos) {
    at += 9;
    std::string name = rules.substr(at, rules.find_first_of("}\n", at) - at);
    EXPECT_TRUE(known.count(name)) << name;
    ++seen;
  }
  EXPECT_GT(seen, 20);
}

}  // namespace
}  // namespace techmoda::ctl
