// The in-memory copy: it converges after every kind of feed interruption, keeps answering (marked
// stale) with no database, never goes backwards, and token-bearing reads see their writes on any
// instance. Real PostgreSQL, real catalogd processes.
#include <algorithm>
#include <thread>

#include "tests/system/test_util.h"

namespace techmoda::test {
namespace {

using namespace std::chrono_literals;

// What the database holds, and what a catalogd answers, in the same compact form.
std::string DatabaseState(const std::string& db) {
  return QueryOne(db,
                  "SELECT coalesce(string_agg(id || ':' || version || ':' || name, ',' ORDER BY id), '') FROM "
                  "products WHERE status = 'active'") +
         "|" +
         QueryOne(db,
                  "SELECT coalesce(string_agg(sku || ':' || on_hand || ':' || reserved, ',' ORDER BY sku), '') FROM "
                  "inventory");
}

std::string ServedState(unsigned short port, const std::vector<std::string>& skus) {
  std::string products, stock;
  std::string cursor;
  do {
    auto r = Get(port, "/v1/products?limit=100" + (cursor.empty() ? "" : "&cursor=" + cursor));
    if (r.status != 200) return "error " + std::to_string(r.status);
    auto page = r.Json().as_object();
    for (const auto& p : page.at("items").as_array()) {
      if (!products.empty()) products += ',';
      products += std::string(p.at("id").as_string()) + ":" + std::to_string(p.at("version").as_int64()) + ":" +
                  std::string(p.at("name").as_string());
    }
    cursor = page.at("next_cursor").is_null() ? "" : std::string(page.at("next_cursor").as_string());
  } while (!cursor.empty());
  for (const auto& sku : skus) {
    auto r = Get(port, "/v1/inventory/" + sku);
    if (r.status == 404) continue;
    if (r.status != 200) return "error " + std::to_string(r.status);
    auto o = r.Json().as_object();
    if (!stock.empty()) stock += ',';
    stock += sku + ":" + std::to_string(o.at("on_hand").as_int64()) + ":" + std::to_string(o.at("reserved").as_int64());
  }
  return products + "|" + stock;
}

std::int64_t MetricValue(unsigned short port, const std::string& series) {
  auto body = Get(port, "/metrics").body;
  auto at = body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return static_cast<std::int64_t>(std::stod(body.substr(at + series.size() + 2)));
}

TEST(Copy, ConvergesAfterFeedInterruptions) {
  OwnDatabase own("copyfeed");
  ASSERT_TRUE(own.Start());
  Catalogd& c = *own.catalogd;
  std::string db = own.pg.conninfo();
  std::vector<std::string> skus;
  for (int i = 0; i < 12; ++i) {
    std::string id = "cf-" + std::to_string(i);
    skus.push_back(id + "-a");
    ASSERT_EQ(Send(c.port(), "POST", "/v1/products", kAdminToken, boost::json::serialize(ProductBody(id, {id + "-a"})))
                  .status,
              201);
  }
  skus.push_back("cf-new-a");
  std::sort(skus.begin(), skus.end());  // byte order, as the database sorts them
  ASSERT_EQ(DatabaseState(db), ServedState(c.port(), skus));

  // Each round interrupts the feed, changes rows behind catalogd's back (plain SQL) while the feed
  // is down or reconnecting, then demands that the copy converge to exactly the database.
  for (int round = 0; round < 4; ++round) {
    std::string r = std::to_string(round);
    switch (round) {
      case 0:  // the replication connection is killed
      case 2:
        QueryOne(db,
                 "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = "
                 "'catalogd-copy'");
        break;
      case 1:  // PostgreSQL restarts
      case 3:
        own.pg.Stop();
        ASSERT_TRUE(own.pg.Start().ok());
        break;
    }
    QueryOne(db, "UPDATE products SET name = 'round " + r +
                     "', version = version + 1, updated_at = now() WHERE id IN ('cf-1', 'cf-" +
                     std::to_string(2 + round) + "')");
    QueryOne(db, "UPDATE inventory SET on_hand = on_hand + 3, version = version + 1 WHERE sku = 'cf-5-a'");
    if (round == 2) {  // a row removed and one added while the feed was away
      QueryOne(db, "DELETE FROM inventory WHERE sku = 'cf-11-a'");
      QueryOne(db, "UPDATE products SET status = 'archived', version = version + 1 WHERE id = 'cf-11'");
      QueryOne(db,
               "INSERT INTO products (id, name, category, price_amount, currency, variants, status) VALUES ('cf-new', "
               "'New arrival', 'men/shirts', 100, 'EUR', '[{\"sku\": \"cf-new-a\"}]', 'active')");
      QueryOne(db, "INSERT INTO inventory (sku, product_id, on_hand) VALUES ('cf-new-a', 'cf-new', 9)");
    }
    // A write through the API during the interruption (it retries until the database answers).
    auto w = Send(c.port(), "POST", "/v1/inventory/cf-0-a/adjust", kAdminToken, R"({"delta": 1})");
    EXPECT_EQ(w.status, 200) << w.body;
    std::string want = DatabaseState(db), got;
    EXPECT_TRUE(WaitFor([&] { return (got = ServedState(c.port(), skus)) == want; }, 15s))
        << "round " << round << "\nwant " << want << "\n got " << got;
  }
  EXPECT_GE(MetricValue(c.port(), "catalogd_copy_sessions_total"), 5);  // the first load and one per round
  EXPECT_GT(MetricValue(c.port(), "catalogd_copy_propagation_seconds_count"), 0);
  EXPECT_EQ(Get(c.port(), "/readyz").status, 200);
}

TEST(Copy, AnswersStaleReadsWithoutADatabaseAndSaysWhy) {
  OwnDatabase own("copystale");
  ASSERT_TRUE(own.Start());
  Catalogd& c = *own.catalogd;
  ASSERT_EQ(Send(c.port(), "POST", "/v1/products", kAdminToken, boost::json::serialize(ProductBody("st-1", {"st-1-a"})))
                .status,
            201);
  auto fresh = Get(c.port(), "/v1/products/st-1");
  EXPECT_EQ(fresh.status, 200);
  EXPECT_EQ(fresh.Header("warning"), "");
  // Past the 5 s freshness bound, reads are marked stale. The bound counts from the last word from
  // the database, which comes before the stop; the age the answer names is the exact check.
  auto stopped = std::chrono::steady_clock::now();
  own.pg.Stop();
  EXPECT_TRUE(WaitFor([&] { return Get(c.port(), "/v1/products/st-1").Header("warning") == "110 - \"stale\""; },
                      std::chrono::seconds(10)));
  EXPECT_GE(std::chrono::steady_clock::now() - stopped, 4000ms) << "marked stale long before the bound";
  for (std::string path : {"/v1/products/st-1", "/v1/products?category=men", "/v1/inventory/st-1-a"}) {
    auto r = Get(c.port(), path);
    EXPECT_EQ(r.status, 200) << path << " " << r.body;
    EXPECT_EQ(r.Header("warning"), "110 - \"stale\"") << path;
    ASSERT_FALSE(r.Header("x-data-age-ms").empty()) << path;
    EXPECT_GE(std::stoll(r.Header("x-data-age-ms")), 5000) << path;
  }
  auto ready = Get(c.port(), "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("stale"), std::string::npos) << ready.body;
  EXPECT_GE(MetricValue(c.port(), "catalogd_stale_reads_total"), 3);
  ASSERT_TRUE(own.pg.Start().ok());
  EXPECT_TRUE(WaitFor([&] { return Get(c.port(), "/readyz").status == 200; }, 15s));
  EXPECT_EQ(Get(c.port(), "/v1/products/st-1").Header("warning"), "");
}

// B applies every transaction 300 ms late. A client that wrote through A and reads through B with
// the token must see its write every time; without the token it sees the old value (so the wait is
// what makes the difference, not luck).
TEST(Copy, TokenBearingReadsSeeTheirWritesOnAnotherInstance) {
  std::string db = CreateDatabase("copytokens");
  auto started_a = StartCatalogd(db), started_b = StartCatalogd(db, {"--copy-lag-ms", "300"});
  ASSERT_TRUE(started_a && started_b);
  Catalogd &a = *started_a, &b = *started_b;
  ASSERT_EQ(Send(a.port(), "POST", "/v1/products", kAdminToken, boost::json::serialize(ProductBody("tk-1", {"tk-1-a"})))
                .status,
            201);
  int stale_without_token = 0;
  for (int i = 1; i <= 40; ++i) {
    auto w = Send(a.port(), "PUT", "/v1/inventory/tk-1-a", kAdminToken, "{\"on_hand\": " + std::to_string(i) + "}");
    ASSERT_EQ(w.status, 200) << w.body;
    std::string token = w.Header("x-consistency-token");
    ASSERT_FALSE(token.empty());
    auto plain = Get(b.port(), "/v1/inventory/tk-1-a");
    if (plain.status == 200 && plain.Json().at("on_hand").as_int64() != i) ++stale_without_token;
    auto r = Get(b.port(), "/v1/inventory/tk-1-a", "", {{"X-Consistency-Token", token}});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Json().at("on_hand").as_int64(), i) << "write " << i << " not seen with its token";
    // The same for a product replaced on A, read on B.
    auto body = ProductBody("tk-1", {"tk-1-a"});
    body["name"] = "Name " + std::to_string(i);
    auto p = Send(a.port(), "PUT", "/v1/products/tk-1", kAdminToken, boost::json::serialize(body));
    ASSERT_EQ(p.status, 200) << p.body;
    auto pr = Get(b.port(), "/v1/products/tk-1", "", {{"X-Consistency-Token", p.Header("x-consistency-token")}});
    ASSERT_EQ(pr.status, 200);
    EXPECT_EQ(pr.Json().at("name").as_string(), "Name " + std::to_string(i));
  }
  EXPECT_GT(stale_without_token, 20);
  // A token from a future no commit has reached: 503 with Retry-After after the 2 s wait.
  auto start = std::chrono::steady_clock::now();
  auto r = Get(b.port(), "/v1/products/tk-1", "", {{"X-Consistency-Token", "FFFFFFFF/0"}});
  ExpectProblem(r, 503);
  EXPECT_EQ(r.Header("retry-after"), "1");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1900ms);
  ExpectProblem(Get(b.port(), "/v1/products/tk-1", "", {{"X-Consistency-Token", "not-a-token"}}), 400);
}

// A snapshot assembles each answer from the row's text; it must be the database path's answer byte
// for byte, escapes included.
TEST(Copy, SnapshotAnswersAreTheDatabaseAnswersByteForByte) {
  std::string db = CreateDatabase("copybytes");
  auto started_first = StartCatalogd(db);
  ASSERT_TRUE(started_first);
  Catalogd& first = *started_first;
  auto body = ProductBody("by-1", {"by-1-a", "by-1-b"});
  body["name"] = "Crème \"brûlée\" \\ tee \u0001\t/";
  body["description"] = "Line one\nline two, 100% linen";
  body["attributes"] = {{"fit", "slim"}, {"quote\"d", "va\\lue"}, {"é", "ü"}};
  auto created = Send(first.port(), "POST", "/v1/products", kAdminToken, boost::json::serialize(body));
  ASSERT_EQ(created.status, 201) << created.body;
  auto started_second = StartCatalogd(db);  // loads a snapshot that already holds the product
  ASSERT_TRUE(started_second);
  Catalogd& second = *started_second;
  EXPECT_EQ(Get(second.port(), "/v1/products/by-1").body, created.body);
  EXPECT_EQ(Get(first.port(), "/v1/products/by-1").body, created.body);  // the stream's path
}

}  // namespace
}  // namespace techmoda::test
