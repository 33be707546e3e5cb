// Backups, for real: a region with its pgBackRest repository host, orders through the API, a full and
// a differential backup, `backup list`, `backup verify` restoring the newest into a scratch instance
// (every acknowledged order in it), and a damaged repository file caught loudly.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "common/http_client.h"
#include "common/pg.h"
#include "tests/ha/region_fixture.h"

namespace techmoda::test {
namespace {

namespace fs = std::filesystem;

// Places `n` orders of one unit of `sku`; returns how many were acknowledged (201).
int PlaceOrders(const Region& region, const std::string& sku, int n, const std::string& prefix) {
  int ok = 0;
  for (int i = 0; i < n; ++i) {
    std::string body =
        R"({"customer_id": "c-)" + std::to_string(i) + R"(", "lines": [{"sku": ")" + sku + R"(", "quantity": 1}]})";
    auto r = HttpCall(region.ApiHost(), region.ApiPort(), "POST", "/v1/orders", body,
                      {{"Authorization", "Bearer " + region.secrets().client_token},
                       {"Idempotency-Key", prefix + "-" + std::to_string(i)}});
    ok += r.status == 201;
  }
  return ok;
}

TEST(Backup, FullAndDiffVerifiedAndDamageCaught) {
  if (geteuid() != 0) GTEST_SKIP() << "backups run as root (pgBackRest as the repository's own user)";
  Region region("backup", 16, "backup: {schedule: false}\n");
  ASSERT_TRUE(region.Up()) << "catalogctl up failed";
  std::string out;
  ASSERT_EQ(Ctl(region.Args({"seed", "--products", "300"}), &out), 0) << out;
  auto conn = pg::Connect(region.Conninfo(), std::chrono::seconds(10));
  ASSERT_TRUE(conn.ok()) << conn.status().detail();
  auto skus = (*conn)->Exec("SELECT sku FROM inventory ORDER BY sku LIMIT 1");
  std::string sku(std::get<pg::Rows>(skus).Get(0, 0));
  conn->reset();
  auto put = HttpCall(region.ApiHost(), region.ApiPort(), "PUT", "/v1/inventory/" + sku, R"({"on_hand": 1000})",
                      {{"Authorization", "Bearer " + region.secrets().admin_token}});
  ASSERT_EQ(put.status, 200) << put.body;

  // A full backup, more orders, a differential.
  ASSERT_EQ(PlaceOrders(region, sku, 40, "before-full"), 40);
  ASSERT_EQ(Ctl(region.Args({"backup", "run", "--type", "full"}), &out), 0) << out;
  std::printf("%s", out.c_str());
  EXPECT_NE(out.find("new backup label"), std::string::npos) << "progress shows the label";
  EXPECT_NE(out.find("100% copied"), std::string::npos) << "progress shows the copy";
  ASSERT_EQ(PlaceOrders(region, sku, 25, "before-diff"), 25);
  ASSERT_EQ(Ctl(region.Args({"backup", "run", "--type", "diff"}), &out), 0) << out;
  ASSERT_EQ(PlaceOrders(region, sku, 10, "after-diff"), 10);

  ASSERT_EQ(Ctl(region.Args({"backup", "list", "--json"}), &out), 0) << out;
  auto list = JsonOf(out);
  ASSERT_TRUE(list.is_object()) << out;
  const auto& sets = list.at("backups").as_array();
  ASSERT_EQ(sets.size(), 2u) << out;
  EXPECT_EQ(sets[0].at("type").as_string(), "full");
  EXPECT_EQ(sets[1].at("type").as_string(), "diff");
  EXPECT_EQ(sets[1].at("prior"), sets[0].at("label"));
  std::string full_label(sets[0].at("label").as_string());

  // The newest (the differential, on top of the full) restores with every order acknowledged before it.
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(Ctl(region.Args({"backup", "verify", "--json"}), &out), 0) << out;
  double verify_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto verified = JsonOf(out);
  ASSERT_TRUE(verified.is_object()) << out;
  EXPECT_TRUE(verified.at("ok").as_bool()) << out;
  EXPECT_EQ(verified.at("rows").at("orders").to_number<long long>(), 65) << "40 before the full + 25 before the diff";
  EXPECT_EQ(verified.at("rows").at("products").to_number<long long>(), 300);
  std::printf("verify of the differential: %.1f s\n%s\n", verify_s, out.c_str());
  EXPECT_TRUE(fs::is_empty(region.topology().backup.dir + "/verify")) << "the scratch copy is removed";

  // Damage one file of the full backup (its largest bundle): verify must fail, naming it, for the full
  // and for the differential that builds on it.
  std::string bundle;
  std::uintmax_t biggest = 0;
  for (const auto& e :
       fs::recursive_directory_iterator(region.topology().backup.RepoPath() + "/backup/catalog/" + full_label))
    if (e.is_regular_file() && e.path().parent_path().filename() == "bundle" && e.file_size() > biggest) {
      biggest = e.file_size();
      bundle = e.path();
    }
  ASSERT_FALSE(bundle.empty());
  {
    std::fstream f(bundle, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(biggest / 2));
    f << "damaged by the backup drill, damaged by the backup drill";
  }
  for (const std::string& set : {full_label, std::string(sets[1].at("label").as_string())}) {
    int rc = Ctl(region.Args({"backup", "verify", "--set", set}), &out);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("FAILED"), std::string::npos) << out;
    EXPECT_NE(out.find("invalid checksum '" + full_label + "/pg_data/"), std::string::npos) << out;
    EXPECT_EQ(out.find("VERIFIED"), std::string::npos) << out;
  }
  std::printf("damaged %s: verify failed as it must:\n%s\n", bundle.c_str(), out.c_str());
}

}  // namespace
}  // namespace techmoda::test
