// The autoscaler on a real region: under load it starts a second catalogd in a zone and HAProxy
// sends it traffic; when the load goes, it drains it out of HAProxy and stops it, and no request
// fails on the way.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "common/process.h"
#include "ctl/infra/haproxy_runtime.h"
#include "ctl/region/region.h"
#include "tests/ha/region_fixture.h"

namespace techmoda::test {
namespace {

using Clock = std::chrono::steady_clock;

std::string ServerStatus(const Region& region, const std::string& server) {
  auto stat = ctl::HaproxyCommand(region.topology().regions[0].dir + "/haproxy.sock", "show stat");
  if (!stat.ok()) return "";
  auto servers = ctl::ParseShowStat(*stat, "catalogd");
  auto it = servers.find(server);
  return it == servers.end() ? "" : it->second.status;
}

TEST(Autoscale, AddsAnInstanceUnderLoadAndDrainsItAwayWhenTheLoadGoes) {
  if (geteuid() != 0) GTEST_SKIP() << "a region runs as root (one OS user per zone)";
  // Thresholds low enough that eight test threads are "load", and high enough that an idle zone is
  // "no load" in the sanitizer build too (idle there: 0.05-0.06).
  Region region("autoscale", 4,
                "autoscale: {interval_ms: 500, up_load: 0.15, up_samples: 2, down_load: 0.09, down_samples: 6, "
                "up_cooldown_s: 0, down_cooldown_s: 3, target_p99_ms: 5000}\n",
                "[{name: z1, catalogd: 1, catalogd_max: 2}, {name: z2, catalogd: 1}]");
  ASSERT_TRUE(region.Up()) << "catalogctl up failed";
  std::string out;
  ASSERT_EQ(Ctl(region.Args({"seed", "--products", "300"}), &out), 0) << out;
  EXPECT_EQ(ServerStatus(region, "z1-2"), "MAINT") << "an instance above the minimum starts in maintenance";

  std::string metrics_listen = "127.0.0.1:" + std::to_string(19000 + getpid() % 1000);
  SpawnOptions so;
  so.argv = region.Args({CATALOGCTL_BIN, "autoscale", "--duration", "300", "--metrics-listen", metrics_listen});
  so.log_path = region.dir() + "/autoscale.log";
  auto pid = Spawn(so);
  ASSERT_TRUE(pid.ok()) << pid.status().detail();

  // Load: readers through HAProxy, heavy (listings) while `heavy`, a trickle otherwise.
  std::atomic<bool> running{true}, heavy{false};
  std::atomic<long> ok{0}, failed{0}, shed{0}, served_by_new{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 8; ++i)
    readers.emplace_back([&, i] {
      while (running) {
        bool h = heavy.load();
        if (!h && i > 0) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          continue;
        }
        auto r = HttpCall(region.ApiHost(), region.ApiPort(), "GET",
                          h ? "/v1/products?limit=100" : "/v1/products?limit=1", "", {}, std::chrono::seconds(10));
        // A 503 "overloaded" is admission control at work on this small machine, not a failure.
        bool overloaded = r.status == 503 && r.body.find("/problems/overloaded") != std::string::npos;
        (r.status == 200 ? ok : overloaded ? shed : failed)++;
        if (r.status != 200 && !overloaded)
          std::fprintf(stderr, "[autoscale] failed: %d %s %s\n", r.status, r.error.c_str(), r.body.c_str());
        if (r.status == 200 && r.Header("x-served-by").find("/z1-2") != std::string::npos) served_by_new++;
        if (!h) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });

  // Idle: nothing is added while the autoscaler watches a trickle (an observation window, not a wait
  // for something to happen: four of its 1 s iterations).
  long idle_from = ok.load();
  WaitFor([&] { return false; }, std::chrono::seconds(4));
  EXPECT_GT(ok.load(), idle_from) << "the trickle of reads stopped";
  EXPECT_EQ(ServerStatus(region, "z1-2"), "MAINT");

  auto load_start = Clock::now();
  heavy = true;
  bool added = WaitFor([&] { return ServerStatus(region, "z1-2").rfind("UP", 0) == 0; }, std::chrono::seconds(60));
  double scale_up_s = std::chrono::duration<double>(Clock::now() - load_start).count();
  EXPECT_TRUE(added) << ReadFile(region.dir() + "/autoscale.log").value_or("");
  std::printf("[autoscale] load on at 0 s; z1-2 serving in HAProxy after %.1f s\n", scale_up_s);
  EXPECT_TRUE(WaitFor([&] { return served_by_new.load() > 10; }, std::chrono::seconds(20)))
      << "HAProxy sent the new instance no traffic";

  heavy = false;
  auto calm_start = Clock::now();
  bool removed = WaitFor([&] { return ServerStatus(region, "z1-2") == "MAINT"; }, std::chrono::seconds(90));
  std::printf("[autoscale] load off; z1-2 drained and stopped after %.1f s\n",
              std::chrono::duration<double>(Clock::now() - calm_start).count());
  EXPECT_TRUE(removed) << ReadFile(region.dir() + "/autoscale.log").value_or("");
  long answered = ok.load();  // requests go on after the removal
  EXPECT_TRUE(WaitFor([&] { return ok.load() >= answered + 20; }, std::chrono::seconds(20)));
  running = false;
  for (auto& t : readers) t.join();
  EXPECT_EQ(failed.load(), 0) << "of " << ok.load() << " requests";
  std::printf("[autoscale] %ld answered, %ld shed (503 overloaded), %ld failed, %ld served by z1-2\n", ok.load(),
              shed.load(), failed.load(), served_by_new.load());

  auto colon = metrics_listen.rfind(':');
  auto m = HttpCall(metrics_listen.substr(0, colon),
                    static_cast<unsigned short>(std::stoi(metrics_listen.substr(colon + 1))), "GET", "/metrics");
  EXPECT_NE(m.body.find("techmoda_autoscale_actions_total{zone=\"z1\",action=\"add\"} 1"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("techmoda_autoscale_actions_total{zone=\"z1\",action=\"remove\"} 1"), std::string::npos)
      << m.body;
  auto log = ReadFile(region.dir() + "/autoscale.log").value_or("");
  EXPECT_NE(log.find("\"event\":\"autoscale.action\""), std::string::npos) << log;
  EXPECT_TRUE(StopChild(*pid, SIGTERM, std::chrono::seconds(10)));
}

}  // namespace
}  // namespace techmoda::test
