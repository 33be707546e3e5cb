// Undoing a bad deployment, for real: a region with its backup repository takes orders; a catalogd
// of another deployment rewrites the prices of 1,000 products while orders keep arriving and an editor
// (the good deployment) makes changes of their own; `catalogctl dr recover --to-time T
// --exclude-deploy D` brings the prices back and keeps every order and every good change.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <map>
#include <set>
#include <thread>

#include "common/http_client.h"
#include "common/pg.h"
#include "tests/ha/region_fixture.h"
#include "tests/ha/workload.h"

namespace techmoda::test {
namespace {

std::vector<std::vector<std::string>> Table(const std::string& conninfo, const std::string& sql) {
  std::vector<std::vector<std::string>> out;
  auto c = pg::Connect(conninfo, std::chrono::seconds(10));
  if (!c.ok()) return out;
  auto r = (*c)->Exec(sql);
  if (auto* rows = std::get_if<pg::Rows>(&r))
    for (int i = 0; i < rows->size(); ++i) {
      std::vector<std::string> row;
      for (int j = 0; j < rows->columns(); ++j) row.emplace_back(rows->Get(i, j));
      out.push_back(std::move(row));
    }
  return out;
}

TEST(Recover, BadDeploymentUndoneOrdersKept) {
  if (geteuid() != 0) GTEST_SKIP() << "recovery runs as root (pgBackRest and PostgreSQL as the zone's user)";
  Region region("recover", 19);
  ASSERT_TRUE(region.Up()) << "catalogctl up failed";
  std::string out;
  ASSERT_EQ(Ctl(region.Args({"seed", "--products", "1500"}), &out), 0) << out;
  const std::string db = region.Conninfo();
  const std::string admin = "Bearer " + region.secrets().admin_token;
  auto skus = Table(db, "SELECT sku FROM inventory ORDER BY sku LIMIT 12");
  std::vector<std::string> order_skus;
  for (const auto& s : skus) {
    order_skus.push_back(s[0]);
    auto r = HttpCall(region.ApiHost(), region.ApiPort(), "PUT", "/v1/inventory/" + s[0], R"({"on_hand": 100000})",
                      {{"Authorization", admin}});
    ASSERT_EQ(r.status, 200) << r.body;
  }
  // The 1,000 products the bad deployment will reprice, with their prices now; among them those of
  // the skus the customers order.
  auto before = Table(db,
                      "SELECT id, price_amount FROM products WHERE status = 'active' ORDER BY (id IN (SELECT "
                      "product_id FROM inventory ORDER BY sku LIMIT 12)) DESC, id LIMIT 1000");
  ASSERT_EQ(before.size(), 1000u);
  std::map<std::string, std::string> price_before;
  for (const auto& r : before) price_before[r[0]] = r[1];
  ASSERT_EQ(Ctl(region.Args({"backup", "run", "--type", "full"}), &out), 0) << out;

  std::vector<std::string> product_ids;
  for (const auto& [id, p] : price_before) product_ids.push_back(id);
  Workload load({region.ApiHost(), region.ApiPort(), region.secrets().client_token, product_ids, order_skus});
  load.Start();
  ASSERT_TRUE(load.WaitForOrders(30, std::chrono::seconds(60))) << "orders do not flow";
  std::string to_time = Table(db, "SELECT now()::text")[0][0];
  ASSERT_TRUE(load.WaitForOrders(5, std::chrono::seconds(30))) << "no order after T";

  // After T, the good deployment's own changes: stock received, an order cancelled.
  auto adjust = HttpCall(region.ApiHost(), region.ApiPort(), "POST", "/v1/inventory/" + order_skus[0] + "/adjust",
                         R"({"delta": 50})", {{"Authorization", admin}});
  ASSERT_EQ(adjust.status, 200) << adjust.body;
  std::string cancelled;
  for (const auto& op : load.History())
    if (op.kind == Op::Kind::kOrder && op.status == 201 && op.start_s > load.Now() - 0.4) cancelled = op.order_id;
  ASSERT_FALSE(cancelled.empty());
  auto cancel = HttpCall(region.ApiHost(), region.ApiPort(), "POST", "/v1/orders/" + cancelled + "/cancel", "",
                         {{"Authorization", "Bearer " + region.secrets().client_token}});
  ASSERT_EQ(cancel.status, 200) << cancel.body;

  // The bad deployment: another catalogd (deploy id bad-v2) on the same database sets every one of
  // the 1,000 prices to 1 cent.
  const std::string edited = product_ids[5];
  {
    Catalogd bad({db, "", {"--deploy-id", "bad-v2", "--read-copy", "false"}});
    ASSERT_TRUE(bad.Start());
    int rewritten = 0;
    for (const auto& id : product_ids) {
      auto got = HttpCall("127.0.0.1", bad.port(), "GET", "/v1/products/" + id, "", {});
      if (got.status != 200) continue;
      auto doc = got.Json();
      doc.as_object()["price"].as_object()["amount"] = 1;
      auto put = HttpCall("127.0.0.1", bad.port(), "PUT", "/v1/products/" + id, json::serialize(doc),
                          {{"Authorization", "Bearer " + kAdminToken}});
      rewritten += put.status == 200;
    }
    ASSERT_EQ(rewritten, 1000);
    bad.Stop();
  }
  // The editor, on the good deployment, changes the description of a repriced product: that change
  // carries the bad price in its before and after, and must not bring it back.
  auto got = HttpCall(region.ApiHost(), region.ApiPort(), "GET", "/v1/products/" + edited, "", {});
  ASSERT_EQ(got.status, 200);
  auto doc = got.Json();
  doc.as_object()["description"] = "Described again after the bad deployment";
  auto put = HttpCall(region.ApiHost(), region.ApiPort(), "PUT", "/v1/products/" + edited, json::serialize(doc),
                      {{"Authorization", admin}});
  ASSERT_EQ(put.status, 200) << put.body;
  ASSERT_TRUE(load.WaitForOrders(20, std::chrono::seconds(30)));

  // Recovery, with the orders still arriving.
  double t_cmd = load.Now();
  int rc = Ctl(region.Args({"dr", "recover", "--to-time", to_time, "--exclude-deploy", "bad-v2", "--json"}), &out);
  double t_done = load.Now();
  std::printf("%s\n", out.c_str());
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(load.WaitForOrders(50, std::chrono::seconds(60))) << "orders do not flow after the recovery";
  load.Stop();
  auto report = JsonOf(out);
  ASSERT_TRUE(report.is_object()) << out;

  // The prices are back, the good change is there.
  auto after = Table(db, "SELECT id, price_amount, coalesce(description, '') FROM products");
  int restored = 0, still_bad = 0;
  std::string description;
  for (const auto& r : after) {
    if (r[0] == edited) description = r[2];
    auto it = price_before.find(r[0]);
    if (it == price_before.end()) continue;
    restored += r[1] == it->second;
    still_bad += r[1] == "1";
  }
  EXPECT_EQ(restored, 1000);
  EXPECT_EQ(still_bad, 0);
  EXPECT_EQ(description, "Described again after the bad deployment");
  EXPECT_EQ(report.at("skipped").to_number<long long>(), 1000);
  EXPECT_EQ(report.at("conflicts").as_array().size(), 0u) << out;

  // Every acknowledged order is there; the cancelled one is cancelled; stock agrees with the orders.
  auto history = load.History();
  auto rows = Table(db, "SELECT id, status FROM orders");
  std::map<std::string, std::string> status;
  for (const auto& r : rows) status[r[0]] = r[1];
  int acknowledged = 0, lost = 0, after_switch = 0;
  for (const auto& op : history) {
    if (op.kind != Op::Kind::kOrder || op.status != 201) continue;
    ++acknowledged;
    if (!status.count(op.order_id)) {
      if (++lost <= 5)
        std::printf("lost %s: started %.2f s, ended %.2f s after the command (which took %.2f s)\n",
                    op.order_id.c_str(), op.start_s - t_cmd, op.end_s - t_cmd, t_done - t_cmd);
    }
    after_switch += op.start_s > t_done;
  }
  EXPECT_EQ(lost, 0) << lost << " of " << acknowledged << " acknowledged orders lost";
  EXPECT_GT(after_switch, 0) << "orders are taken again after the switch";
  EXPECT_EQ(status[cancelled], "cancelled");
  std::map<std::string, std::string> reserved, confirmed;
  for (const auto& r : Table(db, "SELECT sku, reserved::text FROM inventory WHERE reserved > 0")) reserved[r[0]] = r[1];
  for (const auto& r : Table(db,
                             "SELECT l->>'sku', sum((l->>'quantity')::bigint)::text FROM orders o, "
                             "jsonb_array_elements(o.lines) l WHERE o.status = 'confirmed' GROUP BY 1"))
    confirmed[r[0]] = r[1];
  EXPECT_EQ(reserved, confirmed) << "reserved stock per sku equals the units of its confirmed orders";
  EXPECT_EQ(Table(db, "SELECT on_hand FROM inventory WHERE sku = '" + order_skus[0] + "'")[0][0], "100050");

  // The API serves the recovered prices (its in-memory copy reloaded the new cluster).
  auto probe = product_ids[1];
  EXPECT_TRUE(WaitFor(
      [&] {
        auto r = HttpCall(region.ApiHost(), region.ApiPort(), "GET", "/v1/products/" + probe, "", {});
        return r.status == 200 &&
               std::to_string(r.Json().at("price").at("amount").to_number<long long>()) == price_before[probe];
      },
      std::chrono::seconds(30)));

  auto f = Measure(history, t_cmd);
  std::printf(
      "[recover] %d acknowledged orders, %d lost, %d after the switch; replayed %lld, skipped %lld, conflicts %zu; "
      "command %.1f s, writes refused %.1f s (longest gap without an acknowledged order %.1f s)\n",
      acknowledged, lost, after_switch, report.at("replayed").to_number<long long>(),
      report.at("skipped").to_number<long long>(), report.at("conflicts").as_array().size(), t_done - t_cmd,
      report.at("writes_refused_s").to_number<double>(), f.write_window_s);
}

}  // namespace
}  // namespace techmoda::test
