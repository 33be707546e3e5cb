// Zone-failure drills on a real three-zone region (etcd, Patroni + PostgreSQL 15, HAProxy and
// catalogd under supervisord, brought up by `catalogctl up`), under continuous mixed load: each
// kills or cuts off part of the primary's zone, or switches over, and then rules on what clients saw
// and what the database holds.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "common/http_client.h"
#include "common/pg.h"
#include "ctl/gameday/checker.h"
#include "ctl/gameday/state.h"
#include "ctl/topology/render.h"
#include "ctl/topology/topology.h"
#include "tests/ha/region_fixture.h"
#include "tests/ha/workload.h"
#include "tests/system/harness.h"

namespace techmoda::test {
namespace {

namespace json = boost::json;
namespace gameday = ctl::gameday;

// What a drill expects of the failover.
enum class Expect {
  kFailover,    // the primary's zone is lost: another zone must take over, within the target
  kSameLeader,  // a pause shorter than the detectors' suspicion: no failover, no client error
  kEither,      // Patroni restarts PostgreSQL in place or fails over; either is right
  kWritesStop,  // the region's etcd has no majority: writes stop (safely), reads go on
};

struct Drill {
  std::string name;
  std::vector<std::string> fault;  // catalogctl fault ... / switchover ...
  Expect expect;
  // Why clients may see errors although writes went on for others (nullptr: they may not). Such
  // errors are printed with this reason and must all be 503 (retry with the key); anything else
  // fails the drill. Each is a known weakness, in docs/runbooks/zone-failure.md.
  const char* errors_reason = nullptr;
  // The load runs at least this long after the fault command returns: a fault whose harm comes
  // later (a clock stepped back stalls Patroni's loop, and its lock runs out ttl later) is measured.
  double observe_s = 0;
};

// One line of the suite's summary table.
struct Row {
  std::string drill, hit, primaries, window, target, errors, lost, reads, engine;
};

constexpr double kTargetS = 5;  // a new primary taking writes within 5 s of the fault (issue 18)
// TECHMODA_DETECTOR=off runs the drills on Patroni alone: the baseline bench/failover/run measures
// in the same run. The ceiling fails the test: a detector that did not act leaves ~ttl (20 s); without
// detectors, a second lock period.
bool DetectorsOff() {
  const char* v = std::getenv("TECHMODA_DETECTOR");
  return v && std::string(v) == "off";
}
constexpr int kRequestTimeoutS = 8;
double CeilingS() { return DetectorsOff() ? 30 : 15; }
constexpr int kRegionId = 7;

std::vector<std::string> Column(pg::Connection& c, const std::string& sql, const std::vector<pg::Param>& params = {}) {
  std::vector<std::string> out;
  auto r = c.Exec(sql, params);
  if (auto* rows = std::get_if<pg::Rows>(&r))
    for (int i = 0; i < rows->size(); ++i) out.emplace_back(rows->Get(i, 0));
  return out;
}

using Stock = std::map<std::string, std::pair<long long, long long>>;  // sku -> (on_hand, reserved)

Stock ReadStock(pg::Connection& c, const std::vector<std::string>& skus) {
  Stock s;
  for (const auto& sku : skus) {
    auto r = c.Exec("SELECT on_hand, reserved FROM inventory WHERE sku = $1", {sku});
    auto& rows = std::get<pg::Rows>(r);
    s[sku] = {rows.GetInt(0, 0), rows.GetInt(0, 1)};
  }
  return s;
}

// One region for every drill of the suite: bringing it up is a third of a drill's time, and a drill
// that leaves it unhealthy fails itself (each ends with heal and a healthy region).
class ZoneFailure : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) return;
    // The zones get a pg_wal filesystem of their own to fill and a wall clock to move.
    region_ = new Region("zones", kRegionId,
                         std::string("drills: {clock_skew: true, wal_disk_mb: 1024}\n") +
                             (DetectorsOff() ? "detector: {enabled: false}\n" : ""));
    if (!region_->Up()) return;
    std::string out;
    if (Ctl(region_->Args({"seed", "--products", "200"}), &out) != 0) return;
    auto conn = pg::Connect(region_->Conninfo(), std::chrono::seconds(10));
    if (!conn.ok()) return;
    skus_ = Column(**conn, "SELECT sku FROM inventory ORDER BY sku LIMIT 20");
    products_ = Column(**conn, "SELECT id FROM products WHERE status = 'active' ORDER BY id");
    // Stock that will not run out: every order must succeed unless the system fails it.
    for (const auto& sku : skus_) {
      auto r = HttpCall(region_->ApiHost(), region_->ApiPort(), "PUT", "/v1/inventory/" + sku, R"({"on_hand": 100000})",
                        {{"Authorization", "Bearer " + region_->secrets().admin_token}});
      if (r.status != 200) return;
    }
    ready_ = skus_.size() == 20;
  }
  static void TearDownTestSuite() {
    if (!rows_.empty()) {
      // Printed, and kept in ./zone-drills.txt (the build folder under ctest), which scripts/test.sh
      // shows at the end of the run.
      char line[512];
      std::string table = std::string("zone drills (") +
                          (DetectorsOff() ? "Patroni alone, no detectors" : "with the detectors") +
                          "; target: writes again within 5 s of the fault; orders with Request-Timeout: 8)\n";
      auto add = [&](const Row& r) {
        std::snprintf(line, sizeof line, "%-28s %-36s %-9s %-7s %-7s %-9s %-4s %-11s %s\n", r.drill.c_str(),
                      r.hit.c_str(), r.primaries.c_str(), r.window.c_str(), r.target.c_str(), r.errors.c_str(),
                      r.lost.c_str(), r.reads.c_str(), r.engine.c_str());
        table += line;
      };
      add({"DRILL", "HIT", "PRIMARY", "WINDOW", "TARGET", "ERRORS", "LOST", "READ FAILS", "PATRONI /primary"});
      for (const auto& r : rows_) add(r);
      std::printf("\n%s", table.c_str());
      std::ofstream("zone-drills.txt") << table;
    }
    delete region_;
    region_ = nullptr;
  }
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "zone drills run as root (one OS user per zone, nftables)";
    ASSERT_TRUE(ready_) << "the suite's region did not come up";
    ASSERT_TRUE(region_->WaitHealthy(std::chrono::seconds(120))) << "the region is not healthy before the drill";
  }
  void RunDrill(const Drill& d);

  static Region* region_;
  static bool ready_;
  static std::vector<std::string> skus_, products_;
  static std::vector<Row> rows_;
};

Region* ZoneFailure::region_ = nullptr;
bool ZoneFailure::ready_ = false;
std::vector<std::string> ZoneFailure::skus_, ZoneFailure::products_;
std::vector<Row> ZoneFailure::rows_;

std::string Fixed(double v, const char* unit = " s") {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%s", v, unit);
  return text;
}

// Every acknowledged order present and confirmed; stock conserved per sku against `before`; every
// catalogd's copy converged on the database; the game day's checker agrees. Returns the lost count.
long long Judge(const Region& region, const Drill& d, const std::vector<Op>& history, double fault_s,
                const std::vector<std::string>& skus, Stock& before, const gameday::DatabaseState& start) {
  auto conn = pg::Connect(region.Conninfo(), std::chrono::seconds(10));
  EXPECT_TRUE(conn.ok()) << conn.status().detail();
  if (!conn.ok()) return -1;
  std::vector<std::string> acked;
  for (const auto& op : history)
    if (op.kind == Op::Kind::kOrder && op.status == 201) acked.push_back(op.order_id);
  std::string ids = "{";
  for (std::size_t i = 0; i < acked.size(); ++i) ids += (i ? "," : "") + acked[i];
  ids += "}";
  auto present =
      Column(**conn, "SELECT count(*) FROM orders WHERE id = ANY($1::text[]) AND status = 'confirmed'", {ids});
  long long lost = static_cast<long long>(acked.size()) - std::stoll(present.at(0));
  std::map<std::string, long long> reserved_in_db;
  for (const auto& sku : skus) {
    // Orders placed during this drill: those the database holds that reserve this sku, minus those
    // that existed before it (the starting `reserved` counts them).
    auto r = (*conn)->Exec(
        "SELECT i.on_hand, i.reserved, coalesce((SELECT sum((l->>'quantity')::bigint) FROM orders o, "
        "jsonb_array_elements(o.lines) l WHERE o.status = 'confirmed' AND l->>'sku' = $1), 0) "
        "FROM inventory i WHERE i.sku = $1",
        {sku});
    auto& rows = std::get<pg::Rows>(r);
    long long on_hand = rows.GetInt(0, 0), reserved = rows.GetInt(0, 1), ordered = rows.GetInt(0, 2);
    reserved_in_db[sku] = reserved;
    EXPECT_TRUE(on_hand == before[sku].first && reserved == ordered)
        << sku << ": on_hand " << before[sku].first << " -> " << on_hand << ", reserved " << before[sku].second
        << " -> " << reserved << " but orders hold " << ordered;
  }
  // Every catalogd's in-memory copy converges on the database after the failover (nothing it
  // applied before the fault survives unless the new primary has it).
  for (const auto& z : region.Zones()) {
    std::string last;
    bool same = WaitFor(
        [&] {
          for (const auto& sku : skus) {
            auto r = HttpCall(z.address, region.CatalogdPort(), "GET", "/v1/inventory/" + sku);
            auto j = r.Json();
            if (r.status != 200 || !j.is_object() || j.at("reserved").as_int64() != reserved_in_db[sku]) {
              last = sku + ": " + std::to_string(r.status) + " " + r.body;
              return false;
            }
          }
          return true;
        },
        std::chrono::seconds(15));
    EXPECT_TRUE(same) << "zone " << z.name << "'s copy differs from the database: " << last;
  }
  // The game day's checker on the same history and database: the promises judged a second time, by
  // the code the game day and the disaster-recovery drills use.
  auto read = gameday::ReadDatabaseState(**conn, skus, region.secrets().client_token);
  EXPECT_TRUE(read.ok()) << read.status().detail();
  if (!read.ok()) return lost;
  std::vector<gameday::Operation> ops;
  for (const auto& op : history) {
    gameday::Operation g;
    g.kind = op.kind == Op::Kind::kOrder ? gameday::OpKind::kPlaceOrder : gameday::OpKind::kReadProduct;
    g.start_s = op.start_s;
    g.end_s = op.end_s;
    g.status = op.status;
    g.idempotency_key = op.key;
    g.order_id = op.order_id;
    if (!op.sku.empty()) g.lines = {{op.sku, op.quantity}};
    ops.push_back(std::move(g));
  }
  gameday::CheckOptions options;
  options.faults = {{d.name, fault_s, "zone"}};
  auto report = gameday::Check(ops, start, *read, options);
  EXPECT_TRUE(report.AllKept()) << gameday::FormatReport(report);
  return lost;
}

// Every member on one timeline once the region is healthy again: the old primary rewound or was
// re-cloned onto the new history, none kept a divergent one.
void ExpectOneTimeline(const Region& region) {
  std::string seen;
  bool one = WaitFor(
      [&] {
        std::set<long long> timelines;
        seen.clear();
        auto s = region.Status();
        if (!s.is_object()) return false;
        for (const auto& n : s.at("regions").at(0).at("nodes").as_array()) {
          long long tl = n.at("timeline").to_number<long long>();
          seen += std::string(n.at("zone").as_string()) + " " + std::to_string(tl) + "; ";
          timelines.insert(tl);
        }
        return timelines.size() == 1 && *timelines.begin() > 0;
      },
      std::chrono::seconds(30));
  EXPECT_TRUE(one) << "members not on one timeline after heal (0: not known yet): " << seen;
}

void ZoneFailure::RunDrill(const Drill& d) {
  Region& region = *region_;
  std::string out;
  // Orders never clean up, so each drill judges the stock against what it found at its start; the
  // orders it counts are all confirmed orders: reserved == sum of their lines holds throughout.
  Stock before;
  gameday::DatabaseState start;  // the orders, stock and keys the drill starts from, for the checker
  {
    auto conn = pg::Connect(region.Conninfo(), std::chrono::seconds(10));
    ASSERT_TRUE(conn.ok()) << conn.status().detail();
    before = ReadStock(**conn, skus_);
    auto read = gameday::ReadDatabaseState(**conn, skus_, region.secrets().client_token);
    ASSERT_TRUE(read.ok()) << read.status().detail();
    start = std::move(read).value();
  }
  std::string old_primary = region.Primary();
  ASSERT_FALSE(old_primary.empty());
  // Orders carry `Request-Timeout: 8`: the window must be waited out within a client's patience, not
  // within catalogd's default 30 s.
  WorkloadOptions o{region.ApiHost(), region.ApiPort(), region.secrets().client_token, products_, skus_};
  o.request_timeout_s = kRequestTimeoutS;
  Workload load(o);
  load.Start();
  ASSERT_TRUE(load.WaitForOrders(50, std::chrono::seconds(60))) << "orders do not flow before the fault";
  // The engine's own recovery, measured in the same run as what clients see: from the fault until a
  // Patroni answers /primary again (another zone's, or the same one after it stopped answering).
  std::atomic<bool> watching{true};
  double recovered_s = -1;
  std::thread watcher([&] {
    bool gap = false;
    while (watching && recovered_s < 0) {
      std::string p = region.PrimaryByHealthCheck();
      if (p.empty()) gap = true;
      if (!p.empty() && (p != old_primary || gap)) recovered_s = load.Now();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  double fault_s = load.Now();
  int fault_rc = Ctl(region.Args(d.fault), &out);
  if (fault_rc != 0) {
    watching = false;
    watcher.join();
  }
  ASSERT_EQ(fault_rc, 0) << out;
  const double fault_end_s = load.Now();
  // "zone z1 (leader)": what the fault's report says it hit, without the details that follow.
  std::string hit = out.substr(0, std::min(out.find(':'), out.find('\n')));
  if (auto detail = hit.find(" (127."); detail != std::string::npos) hit.resize(detail);
  std::printf("[%s] %.1f s: %s", d.name.c_str(), fault_s, out.c_str());
  if (d.expect == Expect::kWritesStop) {
    // No majority: writes must stop within Patroni's retry_timeout and ttl, reads go on. Then one
    // member comes back, a majority with it, and writes resume.
    std::this_thread::sleep_for(std::chrono::seconds(25));
    double heal_s = load.Now();
    int acked_late = 0;
    for (const auto& op : load.History())
      acked_late += op.kind == Op::Kind::kOrder && op.status == 201 && op.end_s > heal_s - 5;
    EXPECT_EQ(acked_late, 0) << "orders acknowledged 20-25 s after the etcd majority was lost";
    ASSERT_EQ(Ctl(region.Args({"fault", "heal"}), &out), 0) << out;
  }

  // Run until orders have flowed again for 5 s (or 75 s at most), then stop the load.
  WaitFor(
      [&] {
        auto h = load.History();
        double first_ok_after = -1;
        for (const auto& op : h)
          if (op.kind == Op::Kind::kOrder && op.status == 201 && op.start_s > fault_s + 1 &&
              (first_ok_after < 0 || op.end_s < first_ok_after))
            first_ok_after = op.end_s;
        return first_ok_after > 0 && load.Now() > first_ok_after + 5 && load.Now() > fault_end_s + d.observe_s;
      },
      std::chrono::seconds(75 + static_cast<int>(d.observe_s)));
  load.Stop();
  watching = false;
  watcher.join();
  auto history = load.History();
  std::string new_primary = region.Primary();

  // The fault ends; the old primary's zone must rejoin by itself (pg_rewind or re-clone).
  ASSERT_EQ(Ctl(region.Args({"fault", "heal"}), &out), 0) << out;
  bool healthy = region.WaitHealthy(std::chrono::seconds(150));
  if (!healthy) {
    Ctl(region.Args({"status"}), &out);
    std::printf("%s", out.c_str());
  }
  EXPECT_TRUE(healthy) << "the region did not become healthy again after heal";
  if (healthy) ExpectOneTimeline(region);

  auto figures = Measure(history, fault_s);
  long long lost = Judge(region, d, history, fault_s, skus_, before, start);
  std::printf(
      "[%s] primary %s -> %s; write window %.1f s; client-visible write errors %d of %d orders; lost %lld; "
      "read failures %d of %d; slowest order %.1f s; a Patroni answered /primary again %s\n",
      d.name.c_str(), old_primary.c_str(), new_primary.c_str(), figures.write_window_s, figures.order_errors,
      figures.orders, lost, figures.read_failures, figures.reads, figures.max_order_latency_s,
      recovered_s >= 0 ? Fixed(recovered_s - fault_s, " s after the fault").c_str() : "(never stopped answering)");
  for (const auto& e : figures.error_samples) std::printf("[%s]   e.g. %s\n", d.name.c_str(), e.c_str());
  ::testing::Test::RecordProperty("write_window_s", std::to_string(figures.write_window_s));
  bool must_fail_over = d.expect == Expect::kFailover;
  rows_.push_back({d.name, hit.substr(0, 36), old_primary + "->" + new_primary, Fixed(figures.write_window_s),
                   must_fail_over ? (figures.write_window_s <= kTargetS ? "met" : "MISSED") : "-",
                   std::to_string(figures.order_errors) + "/" + std::to_string(figures.orders), std::to_string(lost),
                   std::to_string(figures.read_failures) + "/" + std::to_string(figures.reads),
                   recovered_s >= 0 ? Fixed(recovered_s - fault_s) : "-"});

  EXPECT_EQ(lost, 0) << "acknowledged orders missing";
  EXPECT_EQ(figures.read_failures, 0) << "reads failed";
  EXPECT_GT(figures.orders_ok, 0);
  // Orders that waited out the window answer 201; one whose 8 s ran out while writes were stopped
  // answers 503 (its outcome settles with its key). So errors are judged against the window this run
  // measured: with writes back within kPatienceS, no order may have failed. A longer window (the
  // other replica rewinding before it confirms commits) is reported in the table, and judged by the
  // ceiling and by bench/failover/run's p50 and max.
  constexpr double kPatienceS = kRequestTimeoutS - 1;
  auto expect_no_errors_within_patience = [&] {
    if (d.errors_reason) {
      int not_unknown = 0;
      for (const auto& op : history) not_unknown += op.kind == Op::Kind::kOrder && op.status != 201 && op.status != 503;
      EXPECT_EQ(not_unknown, 0) << "orders failed with something other than 503";
      if (figures.order_errors > 0) std::printf("[%s] errors allowed: %s\n", d.name.c_str(), d.errors_reason);
    } else if (figures.write_window_s <= kPatienceS) {
      EXPECT_EQ(figures.order_errors, 0) << "write errors although writes were back within " << kPatienceS << " s";
    }
  };
  switch (d.expect) {
    case Expect::kFailover:
      EXPECT_NE(new_primary, old_primary) << "no failover happened";
      EXPECT_LE(figures.write_window_s, CeilingS()) << "write window past " << CeilingS() << " s";
      expect_no_errors_within_patience();
      break;
    case Expect::kSameLeader:
      EXPECT_EQ(new_primary, old_primary) << "a short pause caused a failover";
      EXPECT_EQ(figures.order_errors, 0) << "clients saw write errors with an 8 s Request-Timeout";
      break;
    case Expect::kEither:
      expect_no_errors_within_patience();
      break;
    case Expect::kWritesStop:
      break;  // refusals are right here; losing or inventing an order is not (checked above)
  }
}

// The reasons for the drills whose clients may see errors (see Drill::errors_reason).
constexpr const char* kCutReason =
    "a commit the old primary took before it was fenced waits for a standby that left; its outcome is unknown until "
    "a primary confirms it";
constexpr const char* kFreezeReason =
    "an order already inside the frozen zone's catalogd waits for the zone to resume, past its deadline";
constexpr const char* kClockReason =
    "Patroni 3.0.2 times its leadership and its loop by the wall clock: a step forward marks the primary down in "
    "HAProxy until its loop runs, and a step back stalls the loop for the step";

// The primary's zone, resolved when the fault is made: the drill aims at the role. The cuts come
// first, on the region as `up` left it: after a zone was killed and healed, a cut of the primary's
// zone was once measured at 2.0 s against 9.5 s on a fresh region (not understood yet; the
// closing note of issue 18 has it), so the suite does not let earlier drills flatter them.
TEST_F(ZoneFailure, PartitionPrimaryZone) {
  RunDrill({"partition-zone", {"fault", "partition-zone", "primary"}, Expect::kFailover, kCutReason});
}
TEST_F(ZoneFailure, PrimaryZoneCannotSend) {
  RunDrill({"partition-zone-out", {"fault", "partition-zone-out", "primary"}, Expect::kFailover, kCutReason});
}
TEST_F(ZoneFailure, PrimaryZoneCannotReceive) {
  RunDrill({"partition-zone-in", {"fault", "partition-zone-in", "primary"}, Expect::kFailover, kCutReason});
}
TEST_F(ZoneFailure, KillPrimaryZone) { RunDrill({"kill-zone", {"fault", "kill-zone", "primary"}, Expect::kFailover}); }
TEST_F(ZoneFailure, FreezePrimaryZone) {
  RunDrill({"stop-zone --for 15", {"fault", "stop-zone", "primary", "--for", "15"}, Expect::kFailover, kFreezeReason});
}
TEST_F(ZoneFailure, PrimaryPausedOneSecond) {
  RunDrill({"stop-postgres --for 1", {"fault", "stop-postgres", "primary", "--for", "1"}, Expect::kSameLeader});
}
TEST_F(ZoneFailure, PrimaryPausedThreeSeconds) {
  RunDrill({"stop-postgres --for 3", {"fault", "stop-postgres", "primary", "--for", "3"}, Expect::kEither});
}
TEST_F(ZoneFailure, PrimaryHungThirtySeconds) {
  RunDrill({"stop-postgres --for 30", {"fault", "stop-postgres", "primary", "--for", "30"}, Expect::kFailover});
}
TEST_F(ZoneFailure, PrimaryPatroniFrozen) {
  RunDrill({"stop-patroni --for 30", {"fault", "stop-patroni", "primary", "--for", "30"}, Expect::kEither});
}
TEST_F(ZoneFailure, CrashPrimaryPostgres) {
  RunDrill({"kill-postgres", {"fault", "kill-postgres", "primary"}, Expect::kEither});
}
TEST_F(ZoneFailure, PrimaryWalDiskFull) {
  RunDrill({"fill-wal-disk", {"fault", "fill-wal-disk", "primary"}, Expect::kFailover});
}
// The primary's clock runs 60 s ahead for 30 s and is then set right: a step forward, then a step
// back of more than Patroni's ttl (`catalogctl fault skew-clock primary --by -60` is that step alone).
TEST_F(ZoneFailure, PrimaryClockAheadThenSetRight) {
  RunDrill({"skew-clock --by 60 --for 30",
            {"fault", "skew-clock", "primary", "--by", "60", "--for", "30"},
            Expect::kEither,
            kClockReason,
            40});
}
TEST_F(ZoneFailure, PlannedSwitchover) { RunDrill({"switchover", {"switchover"}, Expect::kEither}); }
TEST_F(ZoneFailure, EtcdMajorityLost) {
  RunDrill({"kill-etcd-majority", {"fault", "kill-etcd-majority", "primary"}, Expect::kWritesStop});
}

// Not a CI test (bench/failover/run runs it; TECHMODA_SOAK_S, 600 by default): no fault, both cores
// kept busy by the workload and two spinning threads, and no failover may happen. The detectors'
// longest gap between two passing probes is their margin against suspect_after (1.5 s).
TEST(DetectorSoak, DISABLED_NoFailoverWhenBothCoresAreBusy) {
  if (geteuid() != 0) GTEST_SKIP() << "zone drills run as root";
  const char* env = std::getenv("TECHMODA_SOAK_S");
  const int seconds = env ? std::atoi(env) : 600;
  Region region("soak", 6);
  ASSERT_TRUE(region.Up());
  std::string out;
  ASSERT_EQ(Ctl(region.Args({"seed", "--products", "200"}), &out), 0) << out;
  auto conn = pg::Connect(region.Conninfo(), std::chrono::seconds(10));
  ASSERT_TRUE(conn.ok()) << conn.status().detail();
  auto skus = Column(**conn, "SELECT sku FROM inventory ORDER BY sku LIMIT 20");
  auto products = Column(**conn, "SELECT id FROM products WHERE status = 'active' ORDER BY id");
  for (const auto& sku : skus)
    ASSERT_EQ(HttpCall(region.ApiHost(), region.ApiPort(), "PUT", "/v1/inventory/" + sku, R"({"on_hand": 1000000})",
                       {{"Authorization", "Bearer " + region.secrets().admin_token}})
                  .status,
              200);
  conn->reset();
  const std::string primary = region.Primary();
  WorkloadOptions o{region.ApiHost(), region.ApiPort(), region.secrets().client_token, products, skus};
  o.readers = 6;
  o.writers = 6;
  o.read_pause = o.write_pause = std::chrono::milliseconds(0);
  Workload load(o);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  std::atomic<bool> spin{true};
  std::vector<std::thread> spinners;
  for (int i = 0; i < 2; ++i)
    spinners.emplace_back([&] {
      volatile unsigned long long x = 0;
      while (spin && std::chrono::steady_clock::now() < until) x = x + 1;
    });
  load.Start();
  std::map<std::string, long long> max_gap_ms;
  long long removals = 0;
  int samples = 0;
  std::set<std::string> primaries;
  while (std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::seconds(5));
    auto st = region.Status();
    if (!st.is_object()) continue;
    ++samples;
    const auto& r = st.at("regions").at(0);
    if (r.at("primary").is_string()) primaries.insert(std::string(r.at("primary").as_string()));
    if (r.at("detectors").is_array())
      for (const auto& d : r.at("detectors").as_array()) {
        auto zone = std::string(d.at("zone").as_string());
        max_gap_ms[zone] = std::max(max_gap_ms[zone], d.at("max_gap_ms").to_number<long long>());
        removals += d.at("removed_at_ms").to_number<long long>() > 0;
      }
    std::fprintf(stderr, "\rsoak %4.0f / %d s, orders %d", load.Now(), seconds, load.Acknowledged());
  }
  spin = false;
  for (auto& t : spinners) t.join();
  load.Stop();
  auto figures = Measure(load.History(), 0);
  std::printf("\n[soak] %d s, both cores busy: %d orders (%d errors), %d reads (%d failed); status sampled %d times\n",
              seconds, figures.orders, figures.order_errors, figures.reads, figures.read_failures, samples);
  for (const auto& [zone, gap] : max_gap_ms)
    std::printf("[soak] detector %s: longest gap between passing probes %.2f s (suspect after 1.5 s)\n", zone.c_str(),
                gap / 1000.0);
  std::printf("[soak] primaries seen: %zu; leader keys removed: %lld\n", primaries.size(), removals);
  EXPECT_EQ(primaries, std::set<std::string>{primary}) << "a failover happened with no fault";
  EXPECT_EQ(removals, 0) << "a detector removed a leader's key with no fault";
  EXPECT_EQ(figures.read_failures, 0);
  EXPECT_EQ(figures.order_errors, 0);
}

// With both standbys' PostgreSQL frozen, a commit cannot be confirmed: the primary stops waiting at the
// write's deadline and keeps it only locally. catalogd must not acknowledge it, and must not call it
// failed either: the same Idempotency-Key later learns what happened.
TEST(ZoneCommit, NotConfirmedByAStandbyIsNeverAcknowledged) {
  if (geteuid() != 0) GTEST_SKIP() << "zone drills run as root";
  Region region("unconfirmed", 5, "catalogd: {write_deadline_ms: 3000}\n");
  ASSERT_TRUE(region.Up());
  std::string out;
  ASSERT_EQ(Ctl(region.Args({"seed", "--products", "20"}), &out), 0) << out;
  auto conn = pg::Connect(region.Conninfo(), std::chrono::seconds(10));
  ASSERT_TRUE(conn.ok());
  auto sku = Column(**conn, "SELECT sku FROM inventory ORDER BY sku LIMIT 1").at(0);
  conn->reset();
  auto put = HttpCall(region.ApiHost(), region.ApiPort(), "PUT", "/v1/inventory/" + sku, R"({"on_hand": 10})",
                      {{"Authorization", "Bearer " + region.secrets().admin_token}});
  ASSERT_EQ(put.status, 200) << put.body;

  std::string primary = region.Primary();
  for (const char* z : {"z1", "z2", "z3"})
    if (z != primary) {
      ASSERT_EQ(Ctl(region.Args({"fault", "stop-postgres", z}), &out), 0) << out;
    }
  std::string body = R"({"customer_id": "c-1", "lines": [{"sku": ")" + sku + R"(", "quantity": 1}]})";
  HttpHeaders h{{"Authorization", "Bearer " + region.secrets().client_token}, {"Idempotency-Key", "unconfirmed-1"}};
  auto first = HttpCall(region.ApiHost(), region.ApiPort(), "POST", "/v1/orders", body, h);
  EXPECT_EQ(first.status, 503) << first.body;
  EXPECT_NE(first.body.find("outcome is unknown"), std::string::npos) << first.body;

  ASSERT_EQ(Ctl(region.Args({"fault", "heal"}), &out), 0) << out;
  HttpResult again;
  ASSERT_TRUE(WaitFor(
      [&] {
        again = HttpCall(region.ApiHost(), region.ApiPort(), "POST", "/v1/orders", body, h);
        return again.status == 201;
      },
      std::chrono::seconds(60)))
      << again.status << " " << again.body;
  conn = pg::Connect(region.Conninfo(), std::chrono::seconds(10));
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(Column(**conn, "SELECT count(*) FROM orders").at(0), "1") << "one key, one order";
  EXPECT_EQ(Column(**conn, "SELECT reserved FROM inventory WHERE sku = $1", {sku}).at(0), "1");
}

}  // namespace
}  // namespace techmoda::test
