// catalogctl seed against a real database, served by a real catalogd.
#include "common/process.h"
#include "tests/system/test_util.h"

#ifndef CATALOGCTL_BIN
#define CATALOGCTL_BIN "catalogctl"
#endif

namespace techmoda::test {
namespace {

int RunCtl(const std::vector<std::string>& args, const std::string& log) {
  SpawnOptions s;
  s.argv = {CATALOGCTL_BIN};
  s.argv.insert(s.argv.end(), args.begin(), args.end());
  s.log_path = log;
  auto rc = RunToCompletion(s, std::chrono::seconds(300));
  return rc.ok() ? *rc : -1;
}

TEST(Seed, LoadsADeterministicCatalogThatTheApiServes) {
  std::string db = CreateDatabase("seed");
  std::string log = MakeTestDir("seed") + "/ctl.log";
  ASSERT_EQ(RunCtl({"seed", "--products", "3000", "--seed", "7", "--database-url", db}, log), 0)
      << ReadFile(log).value_or("");
  EXPECT_EQ(QueryOne(db, "SELECT count(*) FROM products"), "3000");
  EXPECT_EQ(QueryOne(db, "SELECT count(*) > 6000 FROM inventory"), "t");
  EXPECT_EQ(QueryOne(db, "SELECT count(DISTINCT category) > 10 FROM products"), "t");
  EXPECT_EQ(QueryOne(db, "SELECT count(*) FROM inventory WHERE on_hand > 0") != "0", true);
  std::string first = QueryOne(db, "SELECT name || price_amount FROM products WHERE id = 'tm-0000001'");
  // A second run refuses to overwrite; --replace gives the same catalog for the same seed.
  EXPECT_NE(RunCtl({"seed", "--products", "10", "--database-url", db}, log), 0);
  EXPECT_NE(ReadFile(log).value_or("").find("--replace"), std::string::npos);
  ASSERT_EQ(RunCtl({"seed", "--products", "3000", "--seed", "7", "--replace", "--database-url", db}, log), 0);
  EXPECT_EQ(QueryOne(db, "SELECT name || price_amount FROM products WHERE id = 'tm-0000001'"), first);

  auto started = StartCatalogd(db);
  ASSERT_TRUE(started);
  Catalogd& c = *started;
  auto page = Get(c.port(), "/v1/products?category=men&limit=5");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.Json().at("items").as_array().size(), 5u);
  auto found = Get(c.port(), "/v1/products?q=linen&limit=3");
  EXPECT_EQ(found.Json().at("items").as_array().size(), 3u);
  auto p = Get(c.port(), "/v1/products/tm-0000001");
  ASSERT_EQ(p.status, 200);
  std::string sku(p.Json().at("variants").as_array().at(0).at("sku").as_string());
  EXPECT_EQ(Get(c.port(), "/v1/inventory/" + sku).status, 200);
}

}  // namespace
}  // namespace techmoda::test
