// Overload and fairness over HTTP: rate limits (429), admission control by priority (503 with
// Retry-After, listings refused before orders), deadlines on reads, and CDN cache headers.
#include <future>
#include <stdexcept>
#include <thread>

#include "common/pg.h"
#include "tests/system/test_util.h"

namespace techmoda::test {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t Ms(Clock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

TEST(Overload, AClientOverItsRateGets429WithRetryAfterAndOthersDoNot) {
  auto c = StartCatalogd(SharedDatabaseUrl(), {"--rate-limit-client", "5/5", "--rate-limit-anonymous", "10/10"});
  ASSERT_TRUE(c);
  const std::string target = "/v1/orders/" + Unique("none");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Get(c->port(), target, kClientToken).status, 404) << i;
  auto limited = Get(c->port(), target, kClientToken);
  ExpectProblem(limited, 429, "too-many-requests");
  int retry_after = std::stoi(limited.Header("retry-after"));
  EXPECT_GE(retry_after, 1);
  // Another token has its own bucket; health and metrics are never limited.
  EXPECT_EQ(Get(c->port(), target, kOtherClientToken).status, 404);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Get(c->port(), "/healthz").status, 200);
  // Anonymous clients are limited by address.
  int anonymous_ok = 0;
  for (int i = 0; i < 12; ++i) anonymous_ok += Get(c->port(), "/v1/products?limit=1").status == 200;
  EXPECT_LE(anonymous_ok, 11);  // 10 in the bucket, perhaps one refilled meanwhile
  EXPECT_EQ(Get(c->port(), "/v1/products?limit=1").status, 429);
  // The client is served again within the delay it named (and a little slack), not before a token is back.
  auto refused_at = std::chrono::steady_clock::now();
  int refused_while_waiting = 0;
  EXPECT_TRUE(WaitFor(
      [&] {
        int status = Get(c->port(), target, kClientToken).status;
        refused_while_waiting += status == 429;
        return status == 404;
      },
      std::chrono::seconds(retry_after) + std::chrono::milliseconds(500)));
  EXPECT_GE(std::chrono::steady_clock::now() - refused_at, std::chrono::milliseconds(100));
  // Every refusal is counted once: the first one and those seen while waiting.
  auto metrics = Get(c->port(), "/metrics").body;
  std::string want = "catalogd_rate_limited_total{role=\"client\"} " + std::to_string(1 + refused_while_waiting) + "\n";
  EXPECT_NE(metrics.find(want), std::string::npos) << want << metrics;
}

// Orders for one sku, held in the database by a row lock that this object takes, so that they keep
// their admission slots until Release. Start(n) sends n and returns once all n wait on the lock.
class BlockedOrders {
 public:
  BlockedOrders(unsigned short port, const std::string& sku) : port_(port), sku_(sku) {
    auto c = pg::Connect(SharedDatabaseUrl(), std::chrono::seconds(5));
    if (!c.ok()) throw std::runtime_error(c.status().detail());
    locker_ = std::move(*c);
    if (!std::holds_alternative<pg::Rows>(locker_->ExecScript("BEGIN")) ||
        !std::holds_alternative<pg::Rows>(
            locker_->Exec("SELECT on_hand FROM inventory WHERE sku = $1 FOR UPDATE", {sku_})))
      throw std::runtime_error("cannot lock the stock row of " + sku_);
  }
  HttpResult Order() const {
    return Send(port_, "POST", "/v1/orders", kClientToken, OrderBody("c-blocked", {{sku_, 1}}),
                {{"Idempotency-Key", Unique("blocked-key")}});
  }
  bool Start(int n) {
    for (int i = 0; i < n; ++i) held_.push_back(std::async(std::launch::async, [this] { return Order(); }));
    return WaitFor(
        [&] {
          return QueryOne(SharedDatabaseUrl(), "SELECT count(*) FROM pg_locks WHERE NOT granted") == std::to_string(n);
        },
        std::chrono::seconds(10));
  }
  // Lets the held orders through; returns their statuses.
  std::vector<int> Release() {
    locker_->ExecScript("ROLLBACK");
    std::vector<int> out;
    for (auto& f : held_) out.push_back(f.get().status);
    held_.clear();
    return out;
  }
  ~BlockedOrders() {
    if (!held_.empty()) Release();
  }

 private:
  unsigned short port_;
  std::string sku_;
  std::unique_ptr<pg::Connection> locker_;
  std::vector<std::future<HttpResult>> held_;
};

// With every slot of a small limit held by orders waiting on a row lock, a listing is refused at
// once while another order waits for a slot and is served when one frees.
TEST(Overload, ListingsAreShedBeforeOrdersAndRefusalsAreFast) {
  // The copy is off so that listings go to the database, under the limit, like orders.
  auto c = StartCatalogd(SharedDatabaseUrl(),
                         {"--read-copy", "false", "--admission-initial-limit", "4", "--admission-max-limit", "4",
                          "--rate-limit-client", "off", "--rate-limit-anonymous", "off"});
  ASSERT_TRUE(c);
  const std::string sku = Unique("shed-sku");
  MakeProduct(Unique("shed"), {sku}, 100);
  BlockedOrders blocked(c->port(), sku);
  ASSERT_TRUE(blocked.Start(4));

  // The limit is full: a listing is refused, and fast.
  auto t0 = Clock::now();
  auto list = Get(c->port(), "/v1/products?limit=5");
  auto list_ms = Ms(Clock::now() - t0);
  ExpectProblem(list, 503, "overloaded");
  EXPECT_EQ(list.Header("retry-after"), "1");
  EXPECT_LT(list_ms, 200) << "the refusal waited at most the listing queue's 20 ms";
  // A fifth order waits for a slot (up to 1 s) instead of being refused...
  auto fifth = std::async(std::launch::async, [&] { return blocked.Order(); });
  // It is waiting when admission counts it queued (catalogd_admission_queued).
  EXPECT_TRUE(WaitFor(
      [&] {
        auto m = Get(c->port(), "/metrics").body;
        return m.find("catalogd_admission_queued{priority=\"critical\"} 1") != std::string::npos;
      },
      std::chrono::seconds(1)));
  // ...and is served once the lock goes and the orders ahead finish.
  EXPECT_EQ(blocked.Release(), (std::vector<int>{201, 201, 201, 201}));
  EXPECT_EQ(fifth.get().status, 201);
  EXPECT_EQ(Get(c->port(), "/v1/products?limit=5").status, 200);

  auto metrics = Get(c->port(), "/metrics").body;
  EXPECT_NE(metrics.find("catalogd_shed_total{priority=\"sheddable\",reason=\"queue_timeout\"} 1"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("catalogd_shed_total{priority=\"critical\",reason=\"limit\"} 0"), std::string::npos);
  EXPECT_NE(metrics.find("catalogd_admission_limit 4"), std::string::npos);
}

// With every primary connection busy, a catalog read that must go to the database (no copy here)
// is answered by the replicas (in this test the same server under another pool), while an order
// read still waits for the primary.
TEST(Overload, CatalogReadsUseTheReplicasWhileThePrimaryIsBusy) {
  auto c = StartCatalogd(SharedDatabaseUrl(), {"--read-copy", "false", "--pool-size", "1", "--replica-database-url",
                                               SharedDatabaseUrl(), "--rate-limit-client", "off"});
  ASSERT_TRUE(c);
  const std::string id = Unique("replica"), sku = Unique("replica-sku");
  MakeProduct(id, {sku}, 10);
  auto locker = pg::Connect(SharedDatabaseUrl(), std::chrono::seconds(5));
  ASSERT_TRUE(locker.ok());
  ASSERT_TRUE(std::holds_alternative<pg::Rows>((*locker)->ExecScript("BEGIN")));
  ASSERT_TRUE(std::holds_alternative<pg::Rows>(
      (*locker)->Exec("SELECT on_hand FROM inventory WHERE sku = $1 FOR UPDATE", {sku})));
  // An order holds the only primary connection, waiting on the row lock.
  auto blocked = std::async(std::launch::async, [&] {
    return Send(c->port(), "POST", "/v1/orders", kClientToken, OrderBody("c-replica", {{sku, 1}}),
                {{"Idempotency-Key", Unique("replica-key")}});
  });
  ASSERT_TRUE(
      WaitFor([&] { return Get(c->port(), "/metrics").body.find("catalogd_db_pool_in_use 1") != std::string::npos; },
              std::chrono::seconds(10)));
  auto t0 = Clock::now();
  EXPECT_EQ(Get(c->port(), "/v1/products/" + id).status, 200);
  EXPECT_EQ(Get(c->port(), "/v1/inventory/" + sku).status, 200);
  EXPECT_LT(Ms(Clock::now() - t0), 2000);
  auto metrics = Get(c->port(), "/metrics").body;
  EXPECT_NE(metrics.find("catalogd_db_replica_reads_total 2"), std::string::npos) << metrics;
  ASSERT_TRUE(std::holds_alternative<pg::Rows>((*locker)->ExecScript("ROLLBACK")));
  EXPECT_EQ(blocked.get().status, 201);
}

// A read that reaches the database stops at its deadline there too: statement_timeout ends the
// query, and the client gets a 503 at about the time it said it would wait.
TEST(Overload, AReadsDeadlineIsItsStatementTimeout) {
  auto c = StartCatalogd(SharedDatabaseUrl(), {"--read-copy", "false", "--rate-limit-anonymous", "off"});
  ASSERT_TRUE(c);
  const std::string id = Unique("deadline");
  MakeProduct(id, {Unique("deadline-sku")}, 1);
  auto locker = pg::Connect(SharedDatabaseUrl(), std::chrono::seconds(5));
  ASSERT_TRUE(locker.ok());
  ASSERT_TRUE(
      std::holds_alternative<pg::Rows>((*locker)->ExecScript("BEGIN; LOCK TABLE products IN ACCESS EXCLUSIVE MODE")));
  auto t0 = Clock::now();
  auto r = Get(c->port(), "/v1/products/" + id, "", {{"Request-Timeout", "1"}});
  auto ms = Ms(Clock::now() - t0);
  ASSERT_TRUE(std::holds_alternative<pg::Rows>((*locker)->ExecScript("ROLLBACK")));
  ExpectProblem(r, 503);
  EXPECT_FALSE(r.Header("retry-after").empty());
  EXPECT_GE(ms, 900);
  EXPECT_LT(ms, 3000) << "the read waited past its deadline";
  EXPECT_EQ(Get(c->port(), "/v1/products/" + id).status, 200);
}

// The same full limit with admission control off: the listing is served, not refused.
TEST(Overload, WithAdmissionOffNothingIsShed) {
  auto c = StartCatalogd(SharedDatabaseUrl(),
                         {"--admission", "false", "--read-copy", "false", "--admission-initial-limit", "4",
                          "--admission-max-limit", "4", "--rate-limit-client", "off", "--rate-limit-anonymous", "off"});
  ASSERT_TRUE(c);
  const std::string sku = Unique("noshed-sku");
  MakeProduct(Unique("noshed"), {sku}, 100);
  BlockedOrders blocked(c->port(), sku);
  ASSERT_TRUE(blocked.Start(4));
  EXPECT_EQ(Get(c->port(), "/v1/products?limit=5").status, 200);
  EXPECT_EQ(blocked.Release(), (std::vector<int>{201, 201, 201, 201}));
  EXPECT_EQ(
      Get(c->port(), "/metrics").body.find("catalogd_shed_total{priority=\"sheddable\",reason=\"queue_timeout\"} 1"),
      std::string::npos);
}

TEST(Overload, ReadsCarryCacheHeadersForACdn) {
  const std::string id = Unique("cache"), sku = Unique("cache-sku");
  MakeProduct(id, {sku}, 3);
  auto product = Get(Port(), "/v1/products/" + id);
  ASSERT_EQ(product.status, 200);
  EXPECT_EQ(product.Header("cache-control"), "public, max-age=5, stale-while-revalidate=30, stale-if-error=86400");
  EXPECT_EQ(product.Header("vary"), "X-Consistency-Token");
  auto not_modified = Get(Port(), "/v1/products/" + id, "", {{"If-None-Match", product.Header("etag")}});
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_EQ(not_modified.Header("cache-control"), product.Header("cache-control"));
  EXPECT_EQ(Get(Port(), "/v1/products?limit=1").Header("cache-control"), product.Header("cache-control"));
  EXPECT_EQ(Get(Port(), "/v1/inventory/" + sku).Header("cache-control"),
            "public, max-age=1, stale-while-revalidate=30, stale-if-error=86400");
  auto o = Order(Unique("cache-key"), OrderBody("c-cache", {{sku, 1}}));
  ASSERT_EQ(o.status, 201) << o.body;
  auto read = Get(Port(), o.Header("location"), kClientToken);
  EXPECT_EQ(read.Header("cache-control"), "private, no-store");
  // Errors are not cacheable as successes.
  EXPECT_EQ(Get(Port(), "/v1/products/" + Unique("none")).Header("cache-control"), "");
}

TEST(Overload, EveryRequestHasADeadlineThatRequestTimeoutShortens) {
  ExpectProblem(Get(Port(), "/v1/products?limit=1", "", {{"Request-Timeout", "0"}}), 400, "invalid-request");
  ExpectProblem(Get(Port(), "/v1/products?limit=1", "", {{"Request-Timeout", "soon"}}), 400, "invalid-request");
  EXPECT_EQ(Get(Port(), "/v1/products?limit=1", "", {{"Request-Timeout", "2"}}).status, 200);
}

}  // namespace
}  // namespace techmoda::test
