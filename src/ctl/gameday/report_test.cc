// The game day's report: series from a history, objectives measured against the mandate, the HTML
// tables, and gnuplot's drawing.
#include "ctl/gameday/report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace techmoda::ctl::gameday {
namespace {

namespace json = boost::json;

Operation Op(double start, double end, int status, OpKind kind = OpKind::kReadProduct) {
  Operation op;
  op.kind = kind;
  op.start_s = start;
  op.end_s = end;
  op.status = status;
  return op;
}

TEST(Bucketize, RatesAndPercentilesPerBucket) {
  std::vector<Operation> h;
  for (int i = 0; i < 10; ++i) h.push_back(Op(0.1 * i, 0.1 * i + 0.010, 200));  // 10 ok in [0, 5), 10 ms each
  h.push_back(Op(6, 6.5, 503));                                                 // an error in [5, 10)
  h.push_back(Op(7, 7.002, 404));                                               // an answer, not an error
  auto s = Bucketize(h, 5);
  ASSERT_EQ(s.t.size(), 2u);
  EXPECT_DOUBLE_EQ(s.ok_per_s[0], 2.0);
  EXPECT_DOUBLE_EQ(s.errors_per_s[0], 0.0);
  EXPECT_NEAR(s.p50_ms[0], 10, 0.01);
  EXPECT_DOUBLE_EQ(s.errors_per_s[1], 0.2);
  EXPECT_DOUBLE_EQ(s.ok_per_s[1], 0.2);
  EXPECT_NEAR(s.p99_ms[1], 500, 0.01);
}

TEST(MeasureObjectives, EachAgainstItsMandate) {
  Scenario sc;
  sc.duration_s = 200;
  sc.objectives.availability = 0.99;
  sc.objectives.rto_s = {{"zone", 30}, {"region", 30}};
  sc.timeline.push_back({});
  sc.timeline.back().action = "surge";
  sc.timeline.back().at_s = 0;
  sc.timeline.back().for_s = 10;
  sc.timeline.back().factor = 10;
  CheckReport r;
  r.availability = {{0, 1000, 999}, {1, 1000, 950}};  // the second minute misses 99 %
  r.verdicts = {{"acknowledged orders present", true, 100, 0, 2, {}}};
  Recovery zone;
  zone.fault = {"zone a2 killed", 60, "zone"};
  zone.write_outage_s = 12.5;
  r.recoveries = {zone};
  std::vector<Operation> h{Op(1, 1.01, 200), Op(2, 2.01, 503)};
  auto objectives = MeasureObjectives(sc, r, h);
  std::map<std::string, Objective> by;
  for (const auto& o : objectives) by[o.name] = o;
  EXPECT_FALSE(by["availability (whole run)"].met) << "1,949 of 2,000 is 97.45 %";
  EXPECT_EQ(by["availability (whole run)"].measured, "97.45 % of 2000 requests");
  EXPECT_EQ(by["availability (worst minute: minute 1)"].measured, "95.00 %");
  EXPECT_TRUE(by["availability (worst minute: minute 1)"].met) << "shown, not judged";
  // 51 of 2,000 failed over a 200 s scenario: 5.1 s of a full outage, within the month's 259 s.
  EXPECT_EQ(by["downtime (failed requests as seconds of a full outage)"].measured, "5.1 s (51 failed)");
  EXPECT_TRUE(by["downtime (failed requests as seconds of a full outage)"].met);
  EXPECT_TRUE(by["RPO (acknowledged orders lost)"].met) << "2 orders lost within the RPO are tolerated";
  EXPECT_TRUE(by["RTO zone"].met);
  EXPECT_EQ(by["RTO zone"].measured, "12.5 s");
  EXPECT_EQ(by["RTO region"].measured, "not exercised");
  EXPECT_EQ(by["RTO region"].mandate, "< 30 min (aim 60 s)") << "the business mandate beside the game day's target";
  EXPECT_EQ(by["RTO zone"].target, "30 s");
  EXPECT_FALSE(by["surge x10 (availability while it ran)"].met) << by["surge x10 (availability while it ran)"].measured;
}

TEST(ReportHtml, TablesAndVerdict) {
  GamedayReport r;
  r.scenario.name = "short";
  r.objectives = {{"RTO zone", MandateOf("zone"), "30 s", "41.0 s", false}};
  r.check.verdicts = {{"stock conserved per sku", true, 10, 0, 0, {}}};
  auto html = ReportHtml(r, "<svg></svg>");
  EXPECT_NE(html.find("<table id=\"objectives\">"), std::string::npos);
  EXPECT_NE(html.find("<table id=\"promises\">"), std::string::npos);
  EXPECT_NE(html.find("FAILED"), std::string::npos);
  EXPECT_NE(html.find("<td>41.0 s</td><td class=\"missed\">missed</td>"), std::string::npos) << html;
  EXPECT_FALSE(r.Passed());
}

TEST(ReportHtml, AFailedStepFailsTheGameDay) {
  GamedayReport r;
  r.scenario.name = "short";
  r.objectives = {{"RTO zone", MandateOf("zone"), "30 s", "1.0 s", true}};
  EXPECT_TRUE(r.Passed());
  r.failed_steps = {"failover to b (FAILED: region b unreachable)"};
  EXPECT_FALSE(r.Passed()) << "a drill whose failover did not run proves nothing";
  EXPECT_NE(ReportHtml(r, "").find("FAILED: 1 step(s) of the timeline failed"), std::string::npos);
  EXPECT_EQ(ReportJson(r).at("failed_steps").as_array().size(), 1u);
}

TEST(HistoryJsonLines, OneObjectPerOperation) {
  std::vector<Operation> h{Op(1, 1.5, 200), Op(2, 2.5, 503)};
  h[1].kind = OpKind::kPlaceOrder;
  h[1].idempotency_key = "k-1";
  auto text = HistoryJsonLines(h);
  auto nl = text.find('\n');
  ASSERT_NE(nl, std::string::npos);
  auto first = json::parse(text.substr(0, nl)), second = json::parse(text.substr(nl + 1));
  EXPECT_EQ(first.at("kind").as_string(), "read_product");
  EXPECT_EQ(first.at("status").as_int64(), 200);
  EXPECT_EQ(second.at("kind").as_string(), "place_order");
  EXPECT_EQ(second.at("idempotency_key").as_string(), "k-1");
  EXPECT_EQ(second.at("status").as_int64(), 503);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
}

TEST(Plot, GnuplotDrawsTheSeriesWithTheFaults) {
  if (access("/usr/bin/gnuplot", X_OK) != 0) GTEST_SKIP() << "gnuplot-nox is not installed (scripts/deps.sh)";
  auto dir = std::filesystem::temp_directory_path() / ("tm-plot-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::vector<Operation> h;
  for (int i = 0; i < 200; ++i) h.push_back(Op(i * 0.5, i * 0.5 + 0.02, i % 20 ? 200 : 503));
  auto st = Plot(Bucketize(h, 5), {{"zone a2 killed", 40, "zone"}}, dir.string(), (dir / "plot.svg").string());
  ASSERT_TRUE(st.ok()) << st.detail();
  std::ifstream in(dir / "plot.svg");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_NE(ss.str().find("<svg"), std::string::npos);
  EXPECT_NE(ss.str().find("zone a2 killed"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace techmoda::ctl::gameday
