// The embedded default, graceful stop, and several catalogd migrating one database at once.
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <thread>

#include "common/migrate.h"
#include "common/process.h"
#include "tests/system/test_util.h"

namespace techmoda::test {
namespace {

pid_t PostmasterPid(const std::string& data_dir) {
  auto pidfile = ReadFile(data_dir + "/pg/data/postmaster.pid");
  return pidfile ? static_cast<pid_t>(std::stol(*pidfile)) : -1;
}

TEST(Embedded, StartsPrivatePostgresWithChecksumsAndStopsIt) {
  CatalogdOptions o;
  o.data_dir = MakeTestDir("embedded");
  o.with_tokens = false;  // no tokens configured: they are generated into <data-dir>/tokens.yaml
  Catalogd c(o);
  ASSERT_TRUE(c.Start());
  struct stat st {};
  ASSERT_EQ(stat((c.data_dir() + "/tokens.yaml").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(QueryOne(EmbeddedConninfo(c.data_dir()), "SHOW data_checksums"), "on");
  EXPECT_EQ(QueryOne(EmbeddedConninfo(c.data_dir()), "SELECT max(version) FROM schema_migrations"),
            std::to_string(LatestMigrationVersion()));
  auto tokens = ReadFile(c.data_dir() + "/tokens.yaml").value_or("");
  auto at = tokens.find("token: adm-");
  ASSERT_NE(at, std::string::npos);
  std::string admin = tokens.substr(at + 7, tokens.find('\n', at) - at - 7);
  auto r = Send(c.port(), "POST", "/v1/products", admin, boost::json::serialize(ProductBody("emb-1", {"emb-1-a"})));
  EXPECT_EQ(r.status, 201) << r.body;
  pid_t pm = PostmasterPid(c.data_dir());
  ASSERT_GT(pm, 0);
  EXPECT_TRUE(IsProcessAlive(pm));
  EXPECT_EQ(c.Stop(), 0);
  EXPECT_TRUE(WaitFor([&] { return !IsProcessAlive(pm); }, std::chrono::seconds(10)));

  // Data survives a restart on the same folder.
  Catalogd again(o);
  ASSERT_TRUE(again.Start());
  EXPECT_EQ(Get(again.port(), "/v1/products/emb-1").status, 200);
  pm = PostmasterPid(again.data_dir());
  // If catalogd dies without a chance to clean up, its PostgreSQL still stops by itself.
  kill(again.pid(), SIGKILL);
  again.Stop();
  EXPECT_TRUE(WaitFor([&] { return !IsProcessAlive(pm); }, std::chrono::seconds(30)));
}

TEST(Embedded, GracefulStopFinishesInFlightRequests) {
  CatalogdOptions o;
  o.database_url = CreateDatabase("drain");
  Catalogd c(o);
  ASSERT_TRUE(c.Start());
  // A read that waits on an unreachable consistency token is in flight for about 2 s.
  HttpResult slow;
  std::thread t([&] { slow = Get(c.port(), "/v1/products", "", {{"X-Consistency-Token", "FFFFFFFF/0"}}); });
  ASSERT_TRUE(WaitFor(
      [&] {
        auto m = Get(c.port(), "/metrics").body;
        return m.find("catalogd_http_in_flight 2") != std::string::npos;  // the slow read and this scrape
      },
      std::chrono::seconds(5)));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(c.Stop(), 0);
  t.join();
  EXPECT_EQ(slow.status, 503) << slow.error;  // answered (its own timeout), not cut off
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// A catalogd on a PostgreSQL of its own, which the test may stop and start again. The catalogd is
// declared last, so it stops first.

TEST(Embedded, WritesWaitForTheDatabaseWithinTheirDeadline) {
  OwnDatabase own("outage");
  ASSERT_TRUE(own.Start());
  EmbeddedPostgres& pg = own.pg;
  Catalogd& c = *own.catalogd;
  ASSERT_EQ(
      Send(c.port(), "POST", "/v1/products", kAdminToken, boost::json::serialize(ProductBody("out-1", {"out-1-a"})))
          .status,
      201);
  pg.Stop();
  // With the database gone, a write waits until its deadline (here Request-Timeout: 2), then 503.
  auto start = std::chrono::steady_clock::now();
  auto r = Send(c.port(), "POST", "/v1/inventory/out-1-a/adjust", kAdminToken, R"({"delta": 1})",
                {{"Request-Timeout", "2"}});
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ExpectProblem(r, 503);
  EXPECT_EQ(r.Header("retry-after"), "1");
  EXPECT_GE(secs, 1.0);
  EXPECT_LT(secs, 5.0);
  // Reads go on from the in-memory copy (static stability); issue-3's copy tests cover staleness.
  auto read = Get(c.port(), "/v1/products/out-1");
  EXPECT_EQ(read.status, 200) << read.body;
  // A write sent during the outage completes once the database is back, within its deadline.
  HttpResult waiting;
  std::thread t([&] {
    waiting = Send(c.port(), "POST", "/v1/inventory/out-1-a/adjust", kAdminToken, R"({"delta": 5})",
                   {{"Idempotency-Key", "during-outage"}});
  });
  ASSERT_TRUE(
      WaitFor([&] { return Get(c.port(), "/metrics").body.find("catalogd_http_in_flight 2") != std::string::npos; },
              std::chrono::seconds(5)));
  ASSERT_TRUE(pg.Start().ok());
  t.join();
  EXPECT_EQ(waiting.status, 200) << waiting.body;
  // The 503'd write did not apply (read with the write's token: the copy may still be resyncing).
  auto stock =
      Get(c.port(), "/v1/inventory/out-1-a", "", {{"X-Consistency-Token", waiting.Header("x-consistency-token")}});
  ASSERT_EQ(stock.status, 200) << stock.body;
  EXPECT_EQ(stock.Json().at("on_hand").as_int64(), 5);
  EXPECT_EQ(Get(c.port(), "/readyz").status, 200);
  EXPECT_EQ(c.Stop(), 0);
}

// The connection dies inside COMMIT (a deferred trigger makes PostgreSQL terminate its own backend,
// once): the commit did not happen, catalogd must learn that from the change log, not guess, and
// apply the write exactly once on a new connection.
TEST(Embedded, ConnectionLostDuringCommitIsSettledNotGuessed) {
  std::string db = CreateDatabase("commitloss");
  auto started = StartCatalogd(db);
  ASSERT_TRUE(started);
  Catalogd& c = *started;
  ASSERT_EQ(Send(c.port(), "POST", "/v1/products", kAdminToken, boost::json::serialize(ProductBody("cl-1", {"cl-1-a"})))
                .status,
            201);
  std::string setup = QueryOne(db, R"(
    CREATE SEQUENCE fault_once;
    CREATE FUNCTION die_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.action = 'adjust_stock' AND nextval('fault_once') = 1 THEN
        PERFORM pg_terminate_backend(pg_backend_pid());
      END IF;
      RETURN NULL;
    END $$;
    CREATE CONSTRAINT TRIGGER die_at_commit AFTER INSERT ON change_log DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW EXECUTE FUNCTION die_at_commit();
    SELECT 'ready')");
  ASSERT_EQ(QueryOne(db, "SELECT count(*) FROM pg_trigger WHERE tgname = 'die_at_commit'"), "1") << setup;
  auto r = Send(c.port(), "POST", "/v1/inventory/cl-1-a/adjust", kAdminToken, R"({"delta": 7})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Get(c.port(), "/v1/inventory/cl-1-a").Json().at("on_hand").as_int64(), 7);  // applied once
  EXPECT_EQ(QueryOne(db, "SELECT nextval('fault_once')"), "3");  // the trigger ran twice: the fault, then the retry
  EXPECT_EQ(QueryOne(db, "SELECT count(*) FROM change_log WHERE action = 'adjust_stock'"), "1");
  auto log = ReadFile(c.log_path()).value_or("");
  EXPECT_NE(log.find("store.commit_outcome_settled"), std::string::npos);
  EXPECT_NE(log.find("\"committed\":false"), std::string::npos);
}

TEST(Embedded, AfterADatabaseRestartStalePooledConnectionsCostAtMostOneFailure) {
  OwnDatabase own("restart");
  ASSERT_TRUE(own.Start());
  EmbeddedPostgres& pg = own.pg;
  Catalogd& c = *own.catalogd;
  // Open several pooled connections: concurrent reads each hold one.
  std::vector<std::thread> warm;
  for (int i = 0; i < 8; ++i)
    warm.emplace_back([&] { Get(c.port(), "/v1/products", "", {{"X-Consistency-Token", "0/1"}}); });
  for (auto& t : warm) t.join();
  pg.Stop();
  ASSERT_TRUE(pg.Start().ok());
  int failures = 0;
  for (int i = 0; i < 10 && Get(c.port(), "/v1/products").status != 200; ++i) ++failures;
  EXPECT_LE(failures, 1);
  EXPECT_EQ(Get(c.port(), "/v1/products").status, 200);
}

TEST(Embedded, ThreeInstancesMigrateOneDatabaseAtOnce) {
  std::string db = CreateDatabase("migrate3");
  std::vector<std::unique_ptr<Catalogd>> all;
  for (int i = 0; i < 3; ++i) {
    CatalogdOptions o;
    o.database_url = db;
    all.push_back(std::make_unique<Catalogd>(o));
  }
  for (auto& c : all) ASSERT_TRUE(c->Launch());  // all three race to migrate
  for (auto& c : all) EXPECT_TRUE(c->WaitUntilUp(std::chrono::seconds(60)));
  std::string n = std::to_string(LatestMigrationVersion());
  EXPECT_EQ(QueryOne(db, "SELECT count(*) || '/' || max(version) FROM schema_migrations"), n + "/" + n);
  for (auto& c : all) EXPECT_EQ(Get(c->port(), "/readyz").status, 200);
}

TEST(Embedded, RefusesAnUnreadableConfig) {
  CatalogdOptions o;
  o.extra_args = {"--config", "/nonexistent/catalogd.yaml"};
  Catalogd c(o);
  EXPECT_FALSE(c.Start(std::chrono::seconds(5)));
  auto log = ReadFile(c.log_path()).value_or("");
  EXPECT_NE(log.find("/nonexistent/catalogd.yaml"), std::string::npos) << log;
}

}  // namespace
}  // namespace techmoda::test
