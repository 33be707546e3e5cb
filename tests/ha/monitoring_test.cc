// The monitoring drill on a real region with everything `catalogctl up` starts for it: Prometheus,
// Alertmanager, the exporters, the canary, the responder and the status page. First a healthy run
// under load must raise no alert at all; then each injected fault must fire its alert within its
// window and, where a runbook is automated, the responder must repair it:
//   kill a catalogd            -> CatalogdDown        -> the responder starts it again
//   kill a replica's node      -> PostgresNodeDown    -> the responder restarts its Patroni
//   stall WAL archiving        -> WalArchivingFailing -> (a person's runbook) resolves when healed
//   freeze the primary         -> CanaryFailing       -> resolves when it runs again
// The status page is opened in headless Chromium (healthy, then after the faults) and screenshotted.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <set>
#include <thread>

#include "common/http_client.h"
#include "common/pg.h"
#include "ctl/infra/health.h"
#include "ctl/region/region.h"
#include "ctl/topology/render.h"
#include "tests/ha/region_fixture.h"
#include "tests/ha/workload.h"
#include "tests/system/harness.h"

namespace techmoda::test {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Firing alerts from Prometheus: "name zone" (zone may be empty).
std::set<std::string> Firing(const ctl::Topology& t) {
  auto res = HttpCall(t.monitoring.address, static_cast<unsigned short>(t.monitoring.prometheus_port), "GET",
                      "/api/v1/alerts", "", {}, std::chrono::seconds(3));
  std::set<std::string> out;
  auto doc = res.Json();
  if (res.status != 200 || !doc.is_object()) return out;
  for (const auto& a : doc.at("data").at("alerts").as_array()) {
    if (a.at("state") != "firing") continue;
    const auto& l = a.at("labels").as_object();
    std::string zone = l.contains("zone") ? std::string(l.at("zone").as_string()) : "";
    out.insert(std::string(l.at("alertname").as_string()) + " " + zone);
  }
  return out;
}

bool IsFiring(const ctl::Topology& t, const std::string& name, const std::string& zone = "") {
  for (const auto& f : Firing(t))
    if (f.rfind(name + " ", 0) == 0 && (zone.empty() || f == name + " " + zone)) return true;
  return false;
}

// Seconds until `name` fires (for `zone`), or -1 after `limit`.
double SecondsUntilFiring(const ctl::Topology& t, const std::string& name, const std::string& zone,
                          Clock::time_point since, std::chrono::seconds limit) {
  bool ok = WaitFor([&] { return IsFiring(t, name, zone); }, limit);
  return ok ? Since(since) : -1;
}

std::string Supervisor(const Region& r, const std::string& args) {
  std::string out;
  FILE* f = popen(("supervisorctl -c " + r.topology().SupervisorConf() + " " + args + " 2>&1").c_str(), "r");
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  pclose(f);
  return out;
}

// What the responder did: its /actions, newest first.
json::array Actions(const ctl::Topology& t) {
  auto res = HttpCall(t.monitoring.address, static_cast<unsigned short>(t.monitoring.responder_port), "GET", "/actions",
                      "", {}, std::chrono::seconds(3));
  auto doc = res.Json();
  return doc.is_object() ? doc.at("actions").as_array() : json::array();
}

bool ResponderDid(const ctl::Topology& t, const std::string& action, const std::string& target) {
  for (const auto& a : Actions(t))
    if (a.at("action").as_string() == action && a.at("target").as_string() == target &&
        std::string(a.at("outcome").as_string()).rfind("done", 0) == 0)
      return true;
  return false;
}

// The status page as a browser sees it after its script ran (headless Chromium), and a screenshot.
std::string BrowserDom(const std::string& url, const std::string& screenshot) {
  std::string flags =
      " --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars "
      "--virtual-time-budget=5000 ";
  std::system(
      ("chromium" + flags + "--window-size=1400,1200 --screenshot=" + screenshot + " " + url + " >/dev/null 2>&1")
          .c_str());
  return ChromiumDom(url, "--hide-scrollbars --virtual-time-budget=5000");
}

TEST(Monitoring, QuietWhenHealthyThenAlertsAndRepairs) {
  if (geteuid() != 0) GTEST_SKIP() << "drills run as root (one OS user per zone)";
  if (access("/usr/bin/prometheus", X_OK) != 0 || access("/usr/bin/chromium", X_OK) != 0)
    FAIL() << "Prometheus or Chromium is missing: run scripts/deps.sh";
  Region region("monitor", 10, "monitoring: {scrape_interval_s: 1, canary_interval_ms: 1000}\n");
  ASSERT_TRUE(region.Up()) << "catalogctl up failed";
  const auto& t = region.topology();
  std::string status_url = "http://" + t.monitoring.address + ":" + std::to_string(t.monitoring.status_port) + "/";

  // Products with stock that does not run out, for a mixed load of reads and orders.
  std::vector<std::string> products, skus;
  for (int i = 0; i < 10; ++i) {
    std::string id = "mon-" + std::to_string(i);
    json::object p{{"id", id},
                   {"name", "Monitored shirt " + std::to_string(i)},
                   {"category", "men/shirts"},
                   {"price", {{"amount", 2990}, {"currency", "EUR"}}},
                   {"variants", json::array{json::object{{"sku", id + "-M"}}}}};
    HttpHeaders admin{{"Authorization", "Bearer " + region.secrets().admin_token}};
    auto made = HttpCall(region.ApiHost(), region.ApiPort(), "POST", "/v1/products", json::serialize(p), admin);
    ASSERT_EQ(made.status, 201) << made.body << made.error;
    auto stock = HttpCall(region.ApiHost(), region.ApiPort(), "PUT", "/v1/inventory/" + id + "-M",
                          R"({"on_hand": 1000000})", admin);
    ASSERT_EQ(stock.status, 200) << stock.body;
    products.push_back(id);
    skus.push_back(id + "-M");
  }

  // 1. A healthy run under load raises no alert at all (pending is allowed: it is not an alert).
  int healthy_s = 180;
  if (const char* s = std::getenv("TECHMODA_MONITOR_HEALTHY_S")) healthy_s = std::atoi(s);
  {
    WorkloadOptions o{region.ApiHost(), region.ApiPort(), region.secrets().client_token, products, skus};
    o.readers = 2;
    o.writers = 2;
    Workload load(o);
    load.Start();
    std::set<std::string> seen;
    auto begun = Clock::now();
    while (Since(begun) < healthy_s) {
      for (const auto& f : Firing(t)) seen.insert(f);
      std::this_thread::sleep_for(std::chrono::seconds(2));
    }
    load.Stop();
    auto figures = Measure(load.History(), 0);
    std::printf("healthy run: %d s, %d reads (%d failed), %d orders (%d ok); alerts fired: %zu\n", healthy_s,
                figures.reads, figures.read_failures, figures.orders, figures.orders_ok, seen.size());
    for (const auto& s : seen) ADD_FAILURE() << "alert fired during the healthy run: " << s;
    EXPECT_GT(figures.reads, 1000);
    EXPECT_EQ(figures.read_failures, 0);
    EXPECT_EQ(figures.orders_ok, figures.orders);
  }
  auto canary = HttpCall(t.monitoring.address, static_cast<unsigned short>(t.monitoring.canary_port), "GET", "/metrics",
                         "", {}, std::chrono::seconds(3))
                    .body;
  EXPECT_NE(canary.find("techmoda_canary_runs_total{region=\"r\",result=\"failure\"} 0"), std::string::npos) << canary;
  EXPECT_EQ(canary.find("techmoda_canary_runs_total{region=\"r\",result=\"success\"} 0\n"), std::string::npos);
  // Synthetic orders are counted apart from customers'.
  auto metrics = HttpCall(t.regions[0].zones[0].address, region.CatalogdPort(), "GET", "/metrics").body;
  EXPECT_NE(metrics.find("catalogd_orders_created_total{kind=\"synthetic\"}"), std::string::npos);

  std::string dom = BrowserDom(status_url, region.dir() + "/status-healthy.png");
  EXPECT_NE(dom.find("id=\"overall\" class=\"pill ok\">healthy<"), std::string::npos) << dom;
  EXPECT_NE(dom.find("no alert is firing"), std::string::npos) << dom;
  EXPECT_NE(dom.find("error budget left (30 d)"), std::string::npos);
  EXPECT_NE(dom.find("RPO exposure:"), std::string::npos);
  for (const auto& z : t.regions[0].zones) EXPECT_NE(dom.find(">" + z.address + "<"), std::string::npos) << z.name;

  struct Row {
    std::string fault, alert;
    double fired_s = -1, repaired_s = -1;
  };
  std::vector<Row> rows;

  // 2. A catalogd killed: CatalogdDown, then the responder starts it again.
  {
    std::string pid = Supervisor(region, "pid catalogd-z2-1");
    ASSERT_GT(std::atoi(pid.c_str()), 1) << pid;
    auto at = Clock::now();
    kill(std::atoi(pid.c_str()), SIGKILL);
    Row r{"kill catalogd z2-1", "CatalogdDown"};
    r.fired_s = SecondsUntilFiring(t, "CatalogdDown", "z2", at, std::chrono::seconds(45));
    EXPECT_GT(r.fired_s, 0) << "CatalogdDown did not fire";
    bool repaired = WaitFor(
        [&] {
          return ResponderDid(t, "start-program", "catalogd-z2-1") &&
                 ctl::CatalogdReady(t.regions[0].zones[1], region.CatalogdPort());
        },
        std::chrono::seconds(60));
    r.repaired_s = repaired ? Since(at) : -1;
    EXPECT_TRUE(repaired) << "the responder did not start catalogd-z2-1 again";
    rows.push_back(r);
  }

  // 3. A replica's database node killed (Patroni and PostgreSQL): PostgresNodeDown, then a restart.
  {
    std::string replica;
    ASSERT_TRUE(WaitFor(
        [&] {
          auto s = region.Status();
          if (!s.is_object()) return false;
          for (const auto& n : s.at("regions").at(0).at("nodes").as_array())
            if (n.at("role") == "replica" || n.at("role") == "sync_standby")
              replica = std::string(n.at("zone").as_string());
          return !replica.empty();
        },
        std::chrono::seconds(30)));
    const ctl::Zone* z = t.FindZone(replica);
    auto at = Clock::now();
    std::system(
        ("pkill -9 -u " + z->os_user + " -f /usr/bin/patroni; pkill -9 -u " + z->os_user + " -x postgres").c_str());
    Row r{"kill replica node " + replica, "PostgresNodeDown"};
    r.fired_s = SecondsUntilFiring(t, "PostgresNodeDown", replica, at, std::chrono::seconds(45));
    EXPECT_GT(r.fired_s, 0) << "PostgresNodeDown did not fire";
    bool repaired = WaitFor(
        [&] {
          if (!ResponderDid(t, "restart-postgres-node", replica)) return false;
          auto s = region.Status();
          if (!s.is_object()) return false;
          for (const auto& n : s.at("regions").at(0).at("nodes").as_array())
            if (n.at("zone").as_string() == replica)
              return (n.at("state") == "running" || n.at("state") == "streaming") && n.at("role") != "down";
          return false;
        },
        std::chrono::seconds(90));
    r.repaired_s = repaired ? Since(at) : -1;
    EXPECT_TRUE(repaired) << "the responder did not bring " << replica << " back";
    rows.push_back(r);
  }

  // 4. WAL archiving stalled: WalArchivingFailing; healed, it resolves.
  {
    std::string out;
    ASSERT_EQ(Ctl(region.Args({"fault", "stall-archive"}), &out), 0) << out;
    auto at = Clock::now();
    std::string super = ctl::SuperuserConninfo(t, t.regions[0], *ctl::LoadOrCreateSecrets(t));
    Row r{"stall WAL archiving", "WalArchivingFailing"};
    // Make WAL to archive: a segment switch every few seconds.
    auto switched = Clock::time_point{};
    bool fired = WaitFor(
        [&] {
          if (Since(switched) > 3) {
            if (auto c = pg::Connect(super, std::chrono::seconds(3)); c.ok()) (*c)->Exec("SELECT pg_switch_wal()");
            switched = Clock::now();
          }
          return IsFiring(t, "WalArchivingFailing");
        },
        std::chrono::seconds(90));
    r.fired_s = fired ? Since(at) : -1;
    EXPECT_TRUE(fired) << "WalArchivingFailing did not fire";
    ASSERT_EQ(Ctl(region.Args({"fault", "heal"}), &out), 0) << out;
    auto healed = Clock::now();
    bool resolved = WaitFor([&] { return !IsFiring(t, "WalArchivingFailing"); }, std::chrono::seconds(120));
    r.repaired_s = resolved ? Since(healed) : -1;
    EXPECT_TRUE(resolved) << "WalArchivingFailing still fires after the archive was healed";
    rows.push_back(r);
  }

  // 5. The primary's PostgreSQL frozen for 12 s: the canary's orders fail, CanaryFailing fires (and
  // the failure detectors fail over after about 2 s: docs/failure-detector.md).
  {
    std::string out;
    ASSERT_EQ(Ctl(region.Args({"fault", "stop-postgres", "primary"}), &out), 0) << out;
    auto at = Clock::now();
    Row r{"freeze primary 12 s", "CanaryFailing"};
    r.fired_s = SecondsUntilFiring(t, "CanaryFailing", "", at, std::chrono::seconds(12));
    while (Since(at) < 12) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_EQ(Ctl(region.Args({"fault", "heal"}), &out), 0) << out;
    EXPECT_GT(r.fired_s, 0) << "CanaryFailing did not fire while the primary was frozen";
    auto healed = Clock::now();
    bool resolved = WaitFor([&] { return !IsFiring(t, "CanaryFailing"); }, std::chrono::seconds(60));
    r.repaired_s = resolved ? Since(healed) : -1;
    EXPECT_TRUE(resolved);
    rows.push_back(r);
  }

  // 6. The two runbooks no fault here triggers on its own, driven through the responder's webhook as
  // Alertmanager would: tighten shedding (HAProxy's maxconn halved, restored on resolve) and re-clone
  // a replica (Patroni's /reinitialize; the replica streams again).
  auto post = [&](const std::string& name, const std::string& runbook, const std::string& zone,
                  const std::string& status) {
    json::object alert{{"status", status},
                       {"labels",
                        {{"alertname", name},
                         {"runbook", runbook},
                         {"severity", "page"},
                         {"region", "r"},
                         {"zone", zone},
                         {"instance", zone}}},
                       {"annotations", {{"summary", "injected by the drill"}}},
                       {"startsAt", "2026-11-26T00:00:00Z"},
                       {"fingerprint", "drill-" + name}};
    return HttpCall(t.monitoring.address, static_cast<unsigned short>(t.monitoring.responder_port), "POST", "/alerts",
                    json::serialize(json::object{{"alerts", json::array{alert}}}))
        .status;
  };
  auto maxconn = [&](const std::string& server) {
    auto csv = HttpCall(t.regions[0].address, static_cast<unsigned short>(t.ports.haproxy_stats), "GET", "/stats;csv",
                        "", {}, std::chrono::seconds(3))
                   .body;
    auto at = csv.find("\ncatalogd," + server + ",");
    if (at == std::string::npos) return -1;
    std::string line = csv.substr(at + 1, csv.find('\n', at + 1) - at - 1);
    std::size_t field = 0, pos = 0;
    while (field < 6 && pos != std::string::npos) pos = line.find(',', pos) + 1, ++field;  // slim is the 7th
    return std::atoi(line.c_str() + pos);
  };
  {
    ASSERT_EQ(maxconn("z1-1"), ctl::kCatalogdMaxconn);
    ASSERT_EQ(post("CatalogdOverloaded", "tighten-shedding", "z1", "firing"), 200);
    EXPECT_TRUE(WaitFor([&] { return maxconn("z1-1") == ctl::kCatalogdMaxconn / 2; }, std::chrono::seconds(10)))
        << "maxconn " << maxconn("z1-1");
    ASSERT_EQ(post("CatalogdOverloaded", "tighten-shedding", "z1", "resolved"), 200);
    EXPECT_TRUE(WaitFor([&] { return maxconn("z1-1") == ctl::kCatalogdMaxconn; }, std::chrono::seconds(10)))
        << "maxconn " << maxconn("z1-1");
  }
  {
    // The freeze above made the failure detectors hand the lock to the synchronous standby; the old
    // primary rejoins as a replica once it runs again (after its rewind).
    std::string replica;
    WaitFor(
        [&] {
          auto s = region.Status();
          if (!s.is_object()) return false;
          for (const auto& n : s.at("regions").at(0).at("nodes").as_array())
            if (n.at("role") == "replica" && n.at("state") == "running")
              replica = std::string(n.at("zone").as_string());
          return !replica.empty();
        },
        std::chrono::seconds(120));
    ASSERT_FALSE(replica.empty()) << "no asynchronous replica to re-clone";
    // A re-cloned replica runs a new postmaster: its start time (Patroni's /patroni) changes.
    const ctl::Zone* z = t.FindZone(replica);
    auto member = [&] {
      return HttpCall(z->address, static_cast<unsigned short>(t.ports.patroni), "GET", "/patroni", "", {},
                      std::chrono::seconds(2))
          .Json();
    };
    auto started = [](const json::value& m) {
      return m.is_object() && m.as_object().contains("postmaster_start_time")
                 ? std::string(m.at("postmaster_start_time").as_string())
                 : std::string();
    };
    // The replica was just found running; its REST API may still be between answers (seen once:
    // no postmaster_start_time in the first answer). Asked until it says, for up to 10 s.
    std::string before_start;
    WaitFor([&] { return !(before_start = started(member())).empty(); }, std::chrono::seconds(10));
    ASSERT_FALSE(before_start.empty()) << "the replica's Patroni gave no postmaster_start_time in 10 s";
    auto at = Clock::now();
    ASSERT_EQ(post("ReplicaBroken", "reinit-replica", replica, "firing"), 200);
    Row r{"re-clone replica " + replica, "ReplicaBroken (sent)"};
    r.fired_s = 0;
    bool recloned = WaitFor(
        [&] {
          auto m = member();
          std::string now = started(m);
          return ResponderDid(t, "reinit-replica", replica) && !now.empty() && now != before_start &&
                 (m.at("state") == "running" || m.at("state") == "streaming");
        },
        std::chrono::seconds(90));
    r.repaired_s = recloned ? Since(at) : -1;
    EXPECT_TRUE(recloned) << "the replica was not re-cloned";
    rows.push_back(r);
    EXPECT_TRUE(region.WaitHealthy(std::chrono::seconds(60)));
  }

  std::printf("\n%-26s %-20s %10s %12s\n", "FAULT", "ALERT", "FIRED (s)", "REPAIRED (s)");
  for (const auto& r : rows)
    std::printf("%-26s %-20s %10.1f %12.1f\n", r.fault.c_str(), r.alert.c_str(), r.fired_s, r.repaired_s);

  // The status page shows the responder's repairs.
  dom = BrowserDom(status_url, region.dir() + "/status-after-faults.png");
  EXPECT_NE(dom.find("start-program"), std::string::npos) << dom;
  EXPECT_NE(dom.find("restart-postgres-node"), std::string::npos) << dom;
  // The test's folder goes when it ends; the screenshots stay in the working folder (the build tree).
  for (const char* name : {"status-healthy.png", "status-after-faults.png"}) {
    std::ifstream in(region.dir() + "/" + name, std::ios::binary);
    std::ofstream out(std::string("monitoring-") + name, std::ios::binary);
    out << in.rdbuf();
  }
  std::printf("screenshots: monitoring-status-healthy.png, monitoring-status-after-faults.png (working folder)\n");
}

}  // namespace
}  // namespace techmoda::test
