// The checker against histories with planted violations: each must be caught, and a clean history
// must pass. Builders name the situation (shared/STYLE.md).
#include "ctl/gameday/checker.h"

#include <gtest/gtest.h>

namespace techmoda::ctl::gameday {
namespace {

Operation Placed(const std::string& id, const std::string& key, const std::string& sku, int q, double at,
                 const std::string& region = "a") {
  Operation op;
  op.kind = OpKind::kPlaceOrder;
  op.start_s = at;
  op.end_s = at + 0.01;
  op.status = 201;
  op.region = region;
  op.idempotency_key = key;
  op.order_id = id;
  op.lines = {{sku, q}};
  return op;
}

Operation Cancelled(const std::string& id, double at) {
  Operation op;
  op.kind = OpKind::kCancelOrder;
  op.start_s = at;
  op.end_s = at + 0.01;
  op.status = 200;
  op.region = "a";
  op.order_id = id;
  return op;
}

Operation TokenRead(const std::string& id, const std::string& expected, const std::string& observed, double at,
                    int status = 200) {
  Operation op;
  op.kind = OpKind::kReadOrder;
  op.start_s = at;
  op.end_s = at + 0.005;
  op.status = status;
  op.order_id = id;
  op.token_sent = "0/1A2B";
  op.expected_status = expected;
  op.observed_status = status == 200 ? observed : "";
  return op;
}

// Two skus with 10 units each before the run.
DatabaseState StockBefore() {
  DatabaseState s;
  s.stock["s1"] = {10, 0};
  s.stock["s2"] = {10, 0};
  return s;
}

// A run of three orders (o1 2×s1, o2 1×s2, o3 3×s1, o3 cancelled) and the database that should follow.
struct Run {
  std::vector<Operation> history;
  DatabaseState after;
};

Run CleanRun() {
  Run r;
  r.history = {Placed("o1", "k1", "s1", 2, 1), Placed("o2", "k2", "s2", 1, 2), Placed("o3", "k3", "s1", 3, 3),
               Cancelled("o3", 4), TokenRead("o3", "cancelled", "cancelled", 5)};
  r.after.orders = {
      {"o1", {"confirmed", {{"s1", 2}}}}, {"o2", {"confirmed", {{"s2", 1}}}}, {"o3", {"cancelled", {{"s1", 3}}}}};
  r.after.stock = {{"s1", {10, 2}}, {"s2", {10, 1}}};
  r.after.keys_orders = {{"k1", {"o1"}}, {"k2", {"o2"}}, {"k3", {"o3"}}};
  return r;
}

const Verdict& VerdictOf(const CheckReport& r, const std::string& promise) {
  for (const auto& v : r.verdicts)
    if (v.promise == promise) return v;
  throw std::runtime_error("no verdict " + promise);
}

TEST(Checker, ACleanRunKeepsEveryPromise) {
  auto run = CleanRun();
  auto report = Check(run.history, StockBefore(), run.after, {});
  EXPECT_TRUE(report.AllKept()) << FormatReport(report);
  EXPECT_EQ(VerdictOf(report, "acknowledged orders present").checked, 4);
  EXPECT_EQ(VerdictOf(report, "stock conserved per sku").checked, 2);
}

TEST(Checker, CatchesALostOrder) {
  auto run = CleanRun();
  run.after.orders.erase("o2");
  run.after.stock["s2"] = {10, 0};  // its reservation went with it
  auto report = Check(run.history, StockBefore(), run.after, {});
  const auto& v = VerdictOf(report, "acknowledged orders present");
  EXPECT_FALSE(v.kept);
  EXPECT_EQ(v.violations, 1);
  EXPECT_NE(v.examples.at(0).find("order o2 (key k2)"), std::string::npos) << v.examples.at(0);
}

TEST(Checker, ToleratesLossWithinTheRpoAfterARegionLossOnly) {
  auto run = CleanRun();
  run.after.orders.erase("o2");  // acknowledged at 2.01 s
  run.after.stock["s2"] = {10, 0};
  CheckOptions lost;
  lost.region_lost_at_s = 2.5;
  lost.rpo_s = 1.0;
  auto within = Check(run.history, StockBefore(), run.after, lost);
  EXPECT_TRUE(VerdictOf(within, "acknowledged orders present").kept);
  EXPECT_EQ(VerdictOf(within, "acknowledged orders present").tolerated, 1);
  lost.rpo_s = 0.2;  // o2 was acknowledged 0.49 s before the loss: outside a 0.2 s RPO
  EXPECT_FALSE(VerdictOf(Check(run.history, StockBefore(), run.after, lost), "acknowledged orders present").kept);
}

TEST(Checker, CatchesALostCancellation) {
  auto run = CleanRun();
  run.after.orders["o3"].status = "confirmed";
  run.after.stock["s1"] = {10, 5};
  auto report = Check(run.history, StockBefore(), run.after, {});
  EXPECT_FALSE(VerdictOf(report, "acknowledged orders present").kept);
}

TEST(Checker, CatchesADoubleOrder) {
  auto run = CleanRun();
  // The same key answered twice with different orders (a retry that was not idempotent).
  run.history.push_back(Placed("o4", "k1", "s1", 2, 6));
  run.after.orders["o4"] = {"confirmed", {{"s1", 2}}};
  run.after.stock["s1"] = {10, 4};
  auto report = Check(run.history, StockBefore(), run.after, {});
  const auto& v = VerdictOf(report, "one order per idempotency key");
  EXPECT_FALSE(v.kept);
  EXPECT_NE(v.examples.at(0).find("key k1 made 2 orders: o1, o4"), std::string::npos) << v.examples.at(0);
  // ... and the same seen only in the database (the second answer never reached the client).
  auto db_only = CleanRun();
  db_only.after.keys_orders["k2"].push_back("o9");
  EXPECT_FALSE(
      VerdictOf(Check(db_only.history, StockBefore(), db_only.after, {}), "one order per idempotency key").kept);
}

TEST(Checker, CatchesOversoldStock) {
  auto run = CleanRun();
  run.after.stock["s1"] = {10, 12};
  auto report = Check(run.history, StockBefore(), run.after, {});
  const auto& v = VerdictOf(report, "stock conserved per sku");
  EXPECT_FALSE(v.kept);
  EXPECT_NE(v.examples.at(0).find("s1: oversold"), std::string::npos) << v.examples.at(0);
}

TEST(Checker, CatchesStockThatDoesNotAddUp) {
  auto run = CleanRun();
  run.after.stock["s2"] = {10, 0};  // o2 holds one unit of s2, yet none is reserved
  auto report = Check(run.history, StockBefore(), run.after, {});
  const auto& v = VerdictOf(report, "stock conserved per sku");
  EXPECT_FALSE(v.kept);
  EXPECT_NE(v.examples.at(0).find("s2: 10 available at the start, orders hold 1, so 9 expected; 10 at the end"),
            std::string::npos)
      << v.examples.at(0);
}

TEST(Checker, CatchesAStaleRead) {
  auto run = CleanRun();
  run.history.push_back(TokenRead("o3", "cancelled", "confirmed", 7));
  run.history.push_back(TokenRead("o1", "confirmed", "", 8, 404));
  run.history.push_back(TokenRead("o1", "confirmed", "", 9, 503));  // unavailable, not stale
  auto report = Check(run.history, StockBefore(), run.after, {});
  const auto& v = VerdictOf(report, "token-bearing reads saw their writes");
  EXPECT_FALSE(v.kept);
  EXPECT_EQ(v.violations, 2);
  EXPECT_NE(v.examples.at(0).find("saw 'confirmed', its write left 'cancelled'"), std::string::npos);
}

TEST(Checker, CatchesAWriteAcknowledgedByAFencedRegion) {
  auto run = CleanRun();
  run.history.push_back(Placed("o5", "k5", "s2", 1, 20, "b"));
  run.after.orders["o5"] = {"confirmed", {{"s2", 1}}};
  run.after.stock["s2"] = {10, 2};
  run.after.keys_orders["k5"] = {"o5"};
  CheckOptions o;
  o.fenced = {{"b", 15, 30}};
  auto report = Check(run.history, StockBefore(), run.after, o);
  const auto& v = VerdictOf(report, "no write acknowledged by a fenced region");
  EXPECT_FALSE(v.kept);
  EXPECT_TRUE(VerdictOf(report, "stock conserved per sku").kept);
  o.fenced = {{"b", 25, 30}};  // fenced only later: fine
  EXPECT_TRUE(Check(run.history, StockBefore(), run.after, o).AllKept());
}

TEST(Checker, RecoveryIsTheLongestOutageAfterTheFaultNotTheFirstAnswer) {
  // Writes go on for a moment after the fault is injected, then stop for 10 s: the outage is 10 s.
  std::vector<Operation> h = {Placed("o1", "k1", "s1", 1, 49.9), Placed("o2", "k2", "s1", 1, 50.1),
                              Placed("o3", "k3", "s1", 1, 60.1), Placed("o4", "k4", "s1", 1, 60.3)};
  CheckOptions o;
  o.faults = {{"primary crashed", 50, "database"}};
  auto report = Check(h, {}, {}, o);
  EXPECT_NEAR(report.recoveries.at(0).write_outage_s, 10.0, 1e-9);
  EXPECT_NEAR(report.recoveries.at(0).writes_back_s, 10.11, 1e-9);
  EXPECT_EQ(report.recoveries.at(0).read_outage_s, -1);  // no read after the fault
}

TEST(Checker, EachFaultOwnsOnlyItsOwnOutage) {
  // A zone fault at 10 s costs 2 s of writes; a region loss at 40 s costs 13 s. The first fault's
  // window ends where the second begins, so the region's outage is not counted against the zone.
  std::vector<Operation> h;
  int n = 0;
  for (double t = 0; t < 80; t += 0.5) {
    bool zone_out = t > 10 && t<12, region_out = t> 40 && t < 53;
    if (zone_out || region_out) continue;
    h.push_back(Placed("o" + std::to_string(n), "k" + std::to_string(n), "s1", 1, t));
    ++n;
  }
  CheckOptions o;
  o.faults = {{"zone killed", 10, "zone"}, {"region lost", 40, "region"}};
  auto report = Check(h, {}, {}, o);
  ASSERT_EQ(report.recoveries.size(), 2u);
  EXPECT_NEAR(report.recoveries[0].write_outage_s, 2.0, 0.6);
  EXPECT_NEAR(report.recoveries[1].write_outage_s, 13.0, 0.6);
}

TEST(Checker, AvailabilityPerMinuteAndRecoveryAfterAFault) {
  std::vector<Operation> h;
  for (int i = 0; i < 100; ++i) {
    Operation read;
    read.start_s = i;  // minutes 0 and 1
    read.end_s = i + 0.01;
    read.status = (i >= 70 && i < 75) ? 503 : 200;  // five failures in minute 1
    h.push_back(read);
  }
  Operation write = Placed("o1", "k1", "s1", 1, 78);
  write.end_s = 79.5;
  h.push_back(write);
  CheckOptions o;
  o.faults = {{"zone a1 killed", 70, "zone"}};
  auto report = Check(h, {}, {}, o);
  ASSERT_EQ(report.availability.size(), 2u);
  EXPECT_DOUBLE_EQ(report.availability[0].Ratio(), 1.0);
  EXPECT_EQ(report.availability[1].requests, 41);
  EXPECT_EQ(report.availability[1].succeeded, 36);
  ASSERT_EQ(report.recoveries.size(), 1u);
  // Reads failed from 70 s to 74 s and answered again at 75.01 s; the one write landed at 79.5 s.
  EXPECT_NEAR(report.recoveries[0].read_outage_s, 5.01, 1e-9);
  EXPECT_NEAR(report.recoveries[0].reads_back_s, 5.01, 1e-9);
  EXPECT_NEAR(report.recoveries[0].write_outage_s, 9.5, 1e-9);
  EXPECT_NEAR(report.recoveries[0].writes_back_s, 9.5, 1e-9);
  auto json = ReportJson(report);
  EXPECT_EQ(json.at("recoveries").at(0).at("fault").as_string(), "zone a1 killed");
}

TEST(Checker, FailedRequestsAreGroupedByWhatTheyGotMostFirst) {
  std::vector<Operation> h;
  auto failed = [&](OpKind kind, int status, const std::string& problem, const std::string& by, double at) {
    Operation op;
    op.kind = kind;
    op.start_s = at;
    op.end_s = at + 1;
    op.status = status;
    op.problem = problem;
    op.served_by = by;
    h.push_back(op);
  };
  failed(OpKind::kPlaceOrder, 503, "/problems/region-fenced", "b/b1/b1-1", 12);
  failed(OpKind::kReadProduct, 0, "connection refused", "", 10);
  failed(OpKind::kPlaceOrder, 503, "/problems/region-fenced", "b/b1/b1-1", 11);
  failed(OpKind::kPlaceOrder, 409, "/problems/out-of-stock", "a/a1/a1-1", 13);  // an answer, not a failure
  auto report = Check(h, {}, {}, {});
  ASSERT_EQ(report.failures.size(), 2u);
  EXPECT_EQ(report.failures[0].kind, "place_order");
  EXPECT_EQ(report.failures[0].count, 2);
  EXPECT_DOUBLE_EQ(report.failures[0].first_s, 11);
  EXPECT_DOUBLE_EQ(report.failures[0].last_s, 12);
  EXPECT_EQ(report.failures[1].status, 0);
  EXPECT_EQ(report.failures[1].problem, "connection refused");
  auto text = FormatReport(report);
  EXPECT_NE(text.find("/problems/region-fenced"), std::string::npos) << text;
  EXPECT_EQ(ReportJson(report).at("failed_requests").as_array().size(), 2u);
}

}  // namespace
}  // namespace techmoda::ctl::gameday
