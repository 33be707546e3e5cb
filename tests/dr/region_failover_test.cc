// Region failover, for real: two regions (a: three zones, b: two, a Patroni standby cluster of a) and
// a global etcd with a witness, under continuous orders through region b's API (its catalogd write
// to the active region's database). Planned failover and back: no acknowledged order lost. Region a
// killed, then `dr failover --force`: the loss is within what the RPO meter showed, and the time from
// the command to the first order acknowledged again is measured.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "common/http_client.h"
#include "common/pg.h"
#include "common/process.h"
#include "tests/ha/region_fixture.h"
#include "tests/ha/workload.h"

namespace techmoda::test {
namespace {

using Clock = std::chrono::steady_clock;

class TwoRegions : public TopologyFixture {
 public:
  // `dr_extra`: more keys of the dr section (", auto_failover_after_s: 8").
  explicit TwoRegions(const std::string& name, const std::string& dr_extra = "")
      : TopologyFixture(name, "dr-",
                        "regions:\n  - {name: a, id: 17, zones: [a1, a2, a3]}\n"
                        "  - {name: b, id: 18, zones: [b1, b2]}\n"
                        "patroni: {ttl: 20, loop_wait: 2, retry_timeout: 9}\n"
                        "dr: {witness_host: 127.0.250.17, lease_ttl_s: 5, active: a" +
                            dr_extra +
                            "}\n"
                            "backup: {schedule: false}\nmonitoring: {enabled: false}\n") {}
  const ctl::Region& region(const std::string& n) const { return *topology_.FindRegion(n); }
  std::string Conninfo(const std::string& n) const { return ctl::CatalogConninfo(topology_, region(n), secrets_); }
  unsigned short ApiPort() const { return static_cast<unsigned short>(topology_.ports.haproxy_api); }
  // The region the front door (on the witness's address) sends a client to, as that region's catalogd
  // says in /active-region; "" when the answer is not a 200 from an active region.
  std::string FrontDoorRegion() const {
    auto r =
        HttpCall(topology_.dr.witness_address, ApiPort(), "GET", "/active-region", "", {}, std::chrono::seconds(2));
    if (r.status != 200) return "";
    auto v = r.Json();
    return v.is_object() && v.as_object().contains("region") ? std::string(v.at("region").as_string()) : "";
  }
  // Seconds until the front door sends clients to `region` (-1: not within `timeout_s`).
  double FrontDoorReaches(const std::string& region, double timeout_s) const {
    auto t0 = std::chrono::steady_clock::now();
    bool ok = WaitFor([&] { return FrontDoorRegion() == region; },
                      std::chrono::milliseconds(static_cast<int>(timeout_s * 1000)));
    return ok ? std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() : -1;
  }
  // The RPO meter: bytes region `standby` is behind the active primary (-1: unknown).
  long long BehindBytes(const std::string& standby) const {
    auto st = DrStatus();
    if (!st.is_object()) return -1;
    for (const auto& r : st.at("regions").as_array())
      if (r.at("name").as_string() == standby) return r.at("lag_bytes").as_int64();
    return -1;
  }
  json::value DrStatus() const {
    std::string out;
    Ctl(Args({"dr", "status", "--json"}), &out);
    boost::system::error_code ec;
    auto v = json::parse(out, ec);
    return ec ? json::value() : v;
  }
};

std::vector<std::string> Column(const std::string& conninfo, const std::string& sql) {
  std::vector<std::string> out;
  auto c = pg::Connect(conninfo, std::chrono::seconds(10));
  if (!c.ok()) return out;
  auto r = (*c)->Exec(sql);
  if (auto* rows = std::get_if<pg::Rows>(&r))
    for (int i = 0; i < rows->size(); ++i) out.emplace_back(rows->Get(i, 0));
  return out;
}

// Seeds a small catalog with plenty of stock; returns (product ids, skus).
std::pair<std::vector<std::string>, std::vector<std::string>> Prepare(TwoRegions& dr) {
  std::string out;
  EXPECT_EQ(Ctl(dr.Args({"seed", "--products", "100"}), &out), 0) << out;
  auto skus = Column(dr.Conninfo("a"), "SELECT sku FROM inventory ORDER BY sku LIMIT 10");
  auto products = Column(dr.Conninfo("a"), "SELECT id FROM products WHERE status = 'active' ORDER BY id");
  for (const auto& sku : skus) {
    auto r = HttpCall(dr.region("a").address, dr.ApiPort(), "PUT", "/v1/inventory/" + sku, R"({"on_hand": 100000})",
                      {{"Authorization", "Bearer " + dr.secrets().admin_token}});
    EXPECT_EQ(r.status, 200) << r.body;
  }
  return {products, skus};
}

// The acknowledged orders of a history that `conninfo`'s database lacks.
std::vector<std::string> Missing(const std::vector<Op>& history, const std::string& conninfo) {
  auto ids = Column(conninfo, "SELECT id FROM orders");
  std::set<std::string> present(ids.begin(), ids.end());
  std::vector<std::string> missing;
  for (const auto& op : history)
    if (op.kind == Op::Kind::kOrder && op.status == 201 && !present.count(op.order_id)) missing.push_back(op.order_id);
  return missing;
}

// Seconds from `from_s` to the first order acknowledged after it (-1: none).
double FirstAckAfter(const std::vector<Op>& history, double from_s) {
  double best = -1;
  for (const auto& op : history)
    if (op.kind == Op::Kind::kOrder && op.status == 201 && op.start_s >= from_s && (best < 0 || op.end_s < best))
      best = op.end_s;
  return best < 0 ? -1 : best - from_s;
}

// "status x count" for the orders started after `from_s`, to say what clients saw when a check fails.
std::string StatusCounts(const std::vector<Op>& history, double from_s) {
  std::map<int, int> counts;
  for (const auto& op : history)
    if (op.kind == Op::Kind::kOrder && op.start_s >= from_s) ++counts[op.status];
  std::string out;
  for (auto [status, n] : counts) out += std::to_string(status) + " x" + std::to_string(n) + " ";
  return out.empty() ? "none" : out;
}

// What the kernel holds for a cut and who runs what, for a cut that did not isolate (seen twice in CI,
// never here): the topology's nftables tables and the owners of its etcd, Patroni and catalogd.
std::string CutDiagnostics(const std::string& table) {
  std::string text, out;
  for (const std::string& cmd :
       {"/usr/sbin/nft list table inet " + table, "/usr/sbin/nft list table inet " + table + "_origin",
        std::string("ps -eo uid,user:12,pid,args --sort=uid | grep -E 'etcd|patroni|catalogd' | grep -v grep | "
                    "cut -c1-160")}) {
    FILE* f = popen((cmd + " 2>&1").c_str(), "r");
    char buf[4096];
    out.clear();
    while (std::size_t n = fread(buf, 1, sizeof buf, f)) out.append(buf, n);
    pclose(f);
    text += "$ " + cmd + "\n" + out;
  }
  return text;
}

// True when something accepts a TCP connection at host:port.
bool Reachable(const std::string& host, unsigned short port) {
  return HttpCall(host, port, "GET", "/healthz", "", {}, std::chrono::milliseconds(500)).status != 0;
}

TEST(RegionFailover, PlannedAndBackLosesNothing) {
  if (geteuid() != 0) GTEST_SKIP() << "region drills run as root";
  TwoRegions dr("planned");
  ASSERT_TRUE(dr.Up(300));
  auto [products, skus] = Prepare(dr);
  EXPECT_GE(dr.FrontDoorReaches("a", 10), 0) << "the front door sends clients to the active region";
  Workload load({dr.region("b").address, dr.ApiPort(), dr.secrets().client_token, products, skus});
  load.Start();
  ASSERT_TRUE(load.WaitForOrders(50, std::chrono::seconds(60))) << "orders do not flow";
  std::string out;
  double t1 = load.Now();
  ASSERT_EQ(Ctl(dr.Args({"dr", "failover", "--to", "b"}), &out), 0) << out;
  std::printf("%s", out.c_str());
  EXPECT_NE(out.find("front door: clients go to region"), std::string::npos) << out;
  double door_b = dr.FrontDoorReaches("b", 5);
  EXPECT_GE(door_b, 0) << "the front door follows the failover to b";
  double back1 = FirstAckAfter(load.History(), t1);
  ASSERT_TRUE(load.WaitForOrders(50, std::chrono::seconds(60))) << "orders do not flow in b";
  double t2 = load.Now();
  ASSERT_EQ(Ctl(dr.Args({"dr", "failover", "--to", "a"}), &out), 0) << out;
  std::printf("%s", out.c_str());
  double door_a = dr.FrontDoorReaches("a", 5);
  EXPECT_GE(door_a, 0) << "the front door follows the failover back to a";
  std::printf("[planned] front door reached b %.1f s and a %.1f s after each command returned\n", door_b, door_a);
  EXPECT_TRUE(load.WaitForOrders(50, std::chrono::seconds(60))) << "orders do not flow in a again";
  load.Stop();
  auto history = load.History();
  auto f = Measure(history, t1);
  auto missing = Missing(history, dr.Conninfo("a"));
  std::printf(
      "[planned] orders %d, acknowledged %d, errors %d; lost %zu; write pause a->b %.1f s (first ack %.1f s after the "
      "command), b->a first ack %.1f s after the command\n",
      f.orders, f.orders_ok, f.order_errors, missing.size(), f.write_window_s, back1, FirstAckAfter(history, t2));
  EXPECT_TRUE(missing.empty()) << missing.size() << " acknowledged orders lost, first " << missing.front();
  EXPECT_GT(f.orders_ok, 100);
  // Both ways the other region ends as a standby that has everything.
  auto st = dr.DrStatus();
  ASSERT_TRUE(st.is_object());
  EXPECT_EQ(st.at("active_region").as_string(), "a");
}

TEST(RegionFailover, RegionLostForcedFailoverWithinRpo) {
  if (geteuid() != 0) GTEST_SKIP() << "region drills run as root";
  TwoRegions dr("forced");
  ASSERT_TRUE(dr.Up(300));
  auto [products, skus] = Prepare(dr);
  Workload load({dr.region("b").address, dr.ApiPort(), dr.secrets().client_token, products, skus});
  load.Start();
  ASSERT_TRUE(load.WaitForOrders(80, std::chrono::seconds(60))) << "orders do not flow";
  long long lag_bytes = dr.BehindBytes("b");  // the RPO meter just before the loss
  std::string out;
  double killed = load.Now();
  ASSERT_EQ(Ctl(dr.Args({"fault", "kill-region", "a"}), &out), 0) << out;
  ASSERT_TRUE(WaitFor([&] { return !Reachable(dr.region("a").address, dr.ApiPort()); }, std::chrono::seconds(10)))
      << "region a still answers after it was killed";
  double command = load.Now();
  auto t0 = Clock::now();
  ASSERT_EQ(Ctl(dr.Args({"dr", "failover", "--to", "b", "--force"}), &out), 0) << out;
  double command_s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("%s", out.c_str());
  // Writes resume in b, and the front door (on the witness's side, alive) sends clients there.
  ASSERT_TRUE(WaitFor([&] { return FirstAckAfter(load.History(), command) >= 0; }, std::chrono::seconds(30)));
  EXPECT_GE(dr.FrontDoorReaches("b", 5), 0) << "the front door sends clients to b after region a is lost";
  EXPECT_TRUE(load.WaitForOrders(30, std::chrono::seconds(30)));
  load.Stop();
  auto history = load.History();
  double rto = FirstAckAfter(history, command);
  auto missing = Missing(history, dr.Conninfo("b"));
  int acked_before = 0;
  for (const auto& op : history) acked_before += op.kind == Op::Kind::kOrder && op.status == 201 && op.end_s <= killed;
  std::printf(
      "[forced] RPO meter before the loss: %lld B behind; acknowledged orders lost: %zu of %d acknowledged before the "
      "kill; failover command %.1f s; RTO (command to first acknowledged order in b) %.1f s; from the loss %.1f s\n",
      lag_bytes, missing.size(), acked_before, command_s, rto, rto + (command - killed));
  EXPECT_GE(rto, 0);
  EXPECT_LT(rto, 10.0) << "forced failover target: under 10 s from the command";
  // Loss only within what the meter showed: with nothing behind, nothing may be lost.
  if (lag_bytes == 0) {
    EXPECT_TRUE(missing.empty()) << missing.size() << " lost while the meter showed 0 B behind";
  }
  EXPECT_LE(missing.size(), 50u) << "far more lost than an RPO under 1 s of writes allows";

  // Region a returns; failback rebuilds it as b's standby and makes it active again, losing nothing
  // b acknowledged.
  ASSERT_EQ(Ctl(dr.Args({"fault", "heal"}), &out), 0) << out;
  Workload after({dr.region("b").address, dr.ApiPort(), dr.secrets().client_token, products, skus});
  after.Start();
  auto f0 = Clock::now();
  ASSERT_EQ(Ctl(dr.Args({"dr", "failback", "--to", "a"}), &out), 0) << out;
  double failback_s = std::chrono::duration<double>(Clock::now() - f0).count();
  std::printf("%s", out.c_str());
  EXPECT_TRUE(after.WaitForOrders(20, std::chrono::seconds(30))) << "orders do not flow after the failback";
  after.Stop();
  auto later = after.History();
  later.insert(later.end(), history.begin(), history.end());
  auto lost_after_failback = Missing(later, dr.Conninfo("a"));
  auto fb = Measure(after.History(), 0);
  std::printf("[failback] %.1f s; orders acknowledged meanwhile %d; lost (of everything acknowledged) %zu\n",
              failback_s, fb.orders_ok, lost_after_failback.size());
  EXPECT_EQ(lost_after_failback.size(), missing.size()) << "failback lost acknowledged orders";
  EXPECT_EQ(dr.DrStatus().at("active_region").as_string(), "a");
}

TEST(RegionFailover, CutOffRegionStopsWritingBeforeTheOtherIsPromoted) {
  if (geteuid() != 0) GTEST_SKIP() << "region drills run as root";
  TwoRegions dr("cutoff");
  ASSERT_TRUE(dr.Up(300));
  auto [products, skus] = Prepare(dr);
  // Clients of each region: region a's keep reaching a during the cut.
  Workload in_a({dr.region("a").address, dr.ApiPort(), dr.secrets().client_token, products, skus});
  Workload in_b({dr.region("b").address, dr.ApiPort(), dr.secrets().client_token, products, skus});
  in_a.Start();
  in_b.Start();
  double skew = in_b.Now() - in_a.Now();  // b's clock minus a's, for comparing their histories
  ASSERT_TRUE(in_a.WaitForOrders(30, std::chrono::seconds(60)) && in_b.WaitForOrders(30, std::chrono::seconds(60)));
  std::string out;
  double cut = in_b.Now();
  ASSERT_EQ(Ctl(dr.Args({"fault", "partition-region", "a"}), &out), 0) << out;
  // Region a fences itself before the other is promoted: its clients' writes are refused (503), or at
  // least no longer acknowledged. The safety property is the second; the first is what clients should
  // see. Twice in CI region a's orders neither failed nor completed within 20 s of the cut (never
  // here): the test then says what it saw and what the kernel held, and goes on to judge safety.
  bool refused = WaitFor(
      [&] {
        for (const auto& op : in_a.History())
          if (op.kind == Op::Kind::kOrder && op.status == 503 && op.start_s + skew > cut) return true;
        return false;
      },
      std::chrono::seconds(20));
  if (!refused) {
    std::printf("[cutoff] region a refused no write within 20 s of the cut; its orders since: %s\n%s",
                StatusCounts(in_a.History(), cut - skew).c_str(), CutDiagnostics(dr.topology().NftTable()).c_str());
  }
  for (const auto& op : in_a.History())
    EXPECT_FALSE(op.kind == Op::Kind::kOrder && op.status == 201 && op.start_s + skew > cut + 3)
        << "region a acknowledged an order started " << op.start_s + skew - cut << " s after the cut";
  double command = in_b.Now();
  ASSERT_EQ(Ctl(dr.Args({"dr", "failover", "--to", "b", "--force"}), &out), 0) << out;
  std::printf("%s", out.c_str());
  ASSERT_TRUE(WaitFor([&] { return FirstAckAfter(in_b.History(), command) >= 0; }, std::chrono::seconds(30)));
  EXPECT_TRUE(in_b.WaitForOrders(30, std::chrono::seconds(30)));
  in_a.Stop();
  in_b.Stop();
  auto ha = in_a.History(), hb = in_b.History();
  // The last order region a's catalogd acknowledged, on b's clock, against the first b acknowledged
  // after the failover began (b's catalogd wrote to a's database before it).
  double last_a = -1;
  for (const auto& op : ha)
    if (op.kind == Op::Kind::kOrder && op.status == 201) last_a = std::max(last_a, op.end_s + skew);
  double first_b = command + FirstAckAfter(hb, command);
  auto lost = Missing(ha, dr.Conninfo("b"));
  int fenced = 0;
  for (const auto& op : ha) fenced += op.kind == Op::Kind::kOrder && op.status == 503 && op.start_s + skew > cut;
  std::printf(
      "[cutoff] region a's last acknowledged order %.2f s after the cut; region b's first after promotion %.2f s "
      "after the cut; a's clients refused %d orders after the cut; orders a acknowledged that b lacks: %zu\n",
      last_a - cut, first_b - cut, fenced, lost.size());
  EXPECT_LT(last_a, first_b) << "two regions acknowledged writes at the same time";
  // a stops within one renewal round of the cut (0.5 s period + 0.5 s timeout), long before its lease
  // (5 s) would lapse; what it acknowledged meanwhile is the loss this fault costs (the RPO).
  EXPECT_LT(last_a - cut, 2.0) << "a kept acknowledging after it could no longer renew";
  EXPECT_GT(fenced, 0) << "region a's clients should have been refused while it was cut off";
  for (const auto& op : ha) {
    bool lost_here = std::find(lost.begin(), lost.end(), op.order_id) != lost.end();
    if (op.kind == Op::Kind::kOrder && op.status == 201 && lost_here) {
      EXPECT_GT(op.end_s + skew, cut - 1.0) << "an order acknowledged well before the cut is missing in b";
    }
  }
}

TEST(RegionFailover, AutomaticFailoverThroughTheFrontDoor) {
  if (geteuid() != 0) GTEST_SKIP() << "region drills run as root";
  // The policy on: 8 s without a lease of the active region. Clients use the front door only.
  TwoRegions dr("auto", ", auto_failover_after_s: 8");
  ASSERT_TRUE(dr.Up(300));
  auto [products, skus] = Prepare(dr);
  ASSERT_GE(dr.FrontDoorReaches("a", 10), 0);
  Workload load({dr.topology().dr.witness_address, dr.ApiPort(), dr.secrets().client_token, products, skus});
  load.Start();
  ASSERT_TRUE(load.WaitForOrders(50, std::chrono::seconds(60))) << "orders do not flow";
  long long lag_bytes = dr.BehindBytes("b");
  std::string out;
  double killed = load.Now();
  ASSERT_EQ(Ctl(dr.Args({"fault", "kill-region", "a"}), &out), 0) << out;
  // Nobody runs a command: the region responder fails over, the front door follows.
  ASSERT_TRUE(WaitFor([&] { return FirstAckAfter(load.History(), killed + 1) >= 0; }, std::chrono::seconds(60)))
      << "no order acknowledged within 60 s of the loss";
  EXPECT_TRUE(load.WaitForOrders(30, std::chrono::seconds(30)));
  load.Stop();
  auto history = load.History();
  double rto = FirstAckAfter(history, killed + 1) + 1;
  auto missing = Missing(history, dr.Conninfo("b"));
  auto st = dr.DrStatus();
  std::printf(
      "[auto] RPO meter before the loss: %lld B behind; acknowledged orders lost: %zu; from the loss to the "
      "first acknowledged order through the front door: %.1f s (target 30 s)\n",
      lag_bytes, missing.size(), rto);
  EXPECT_EQ(st.at("active_region").as_string(), "b");
  EXPECT_LT(rto, 30.0);
  if (lag_bytes == 0) {
    EXPECT_TRUE(missing.empty()) << missing.size() << " acknowledged orders lost with nothing behind";
  }
  // The watcher says it failed over once the whole failover has returned, which waits for the front
  // door to follow: after clients already reach region b.
  std::string log;
  EXPECT_TRUE(WaitFor(
      [&] {
        log = ReadFile(dr.topology().var_dir + "/global/dr-responder.log").value_or("");
        return log.find("dr_watch.failed_over") != std::string::npos;
      },
      std::chrono::seconds(30)))
      << log;
}

}  // namespace
}  // namespace techmoda::test
