#include "ctl/autoscale/autoscale.h"
#include "ctl/infra/haproxy_runtime.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace techmoda::ctl::autoscale {
namespace {

// A zone with `serving` instances serving out of `max` (minimum `min`), each at the given load.
ZoneView ZoneServing(int serving, int min, int max, double utilisation = 0.5, double cpu = 0.5) {
  ZoneView v;
  v.zone = "a1";
  v.min = min;
  v.max = max;
  for (int n = 1; n <= max; ++n) {
    InstanceView i;
    i.n = n;
    i.name = "a1-" + std::to_string(n);
    i.running = i.ready = i.in_balancer = n <= serving;
    i.measured = n <= serving;
    i.utilisation = utilisation;
    i.cpu_per_thread = cpu;
    v.instances.push_back(i);
  }
  return v;
}

AutoscalePolicy Policy() {
  AutoscalePolicy p;
  p.up_load = 0.75;
  p.down_load = 0.3;
  p.up_samples = 2;
  p.down_samples = 3;
  p.up_cooldown_s = 5;
  p.down_cooldown_s = 60;
  return p;
}

ScaleMemory Streaks(double load, int times, const AutoscalePolicy& p) {
  ScaleMemory m;
  for (int i = 0; i < times; ++i) m.Remember(load, p);
  return m;
}

const Clock::time_point kNow = Clock::time_point() + std::chrono::hours(1);

TEST(DecideScale, AddsAnInstanceWhenTheLoadStaysHigh) {
  auto p = Policy();
  auto v = ZoneServing(1, 1, 3, 0.9);
  auto d = DecideScale(v, p, Streaks(0.9, 2, p), LoadOf(v, p, nullptr), kNow);
  EXPECT_EQ(d.action, ScaleAction::kAdd) << d.reason;
  EXPECT_EQ(d.instance, 2);
  // One high sample is not enough.
  EXPECT_EQ(DecideScale(v, p, Streaks(0.9, 1, p), 0.9, kNow).action, ScaleAction::kHold);
}

TEST(DecideScale, HoldsAtTheMaximumAndWhileCoolingDown) {
  auto p = Policy();
  auto full = ZoneServing(3, 1, 3, 0.95);
  auto d = DecideScale(full, p, Streaks(0.95, 5, p), 0.95, kNow);
  EXPECT_EQ(d.action, ScaleAction::kHold);
  EXPECT_NE(d.reason.find("maximum"), std::string::npos) << d.reason;
  auto m = Streaks(0.95, 5, p);
  m.last_up = kNow - std::chrono::seconds(2);
  d = DecideScale(ZoneServing(2, 1, 3, 0.95), p, m, 0.95, kNow);
  EXPECT_EQ(d.action, ScaleAction::kHold);
  EXPECT_NE(d.reason.find("cooling"), std::string::npos) << d.reason;
}

TEST(DecideScale, RemovesTheHighestExtraWhenTheLoadStaysLowAfterTheCooldown) {
  auto p = Policy();
  auto v = ZoneServing(3, 1, 3, 0.1, 0.1);
  auto m = Streaks(0.1, 3, p);
  auto d = DecideScale(v, p, m, 0.1, kNow);
  EXPECT_EQ(d.action, ScaleAction::kRemove) << d.reason;
  EXPECT_EQ(d.instance, 3);
  m.last_up = kNow - std::chrono::seconds(30);  // added 30 s ago: too soon
  EXPECT_EQ(DecideScale(v, p, m, 0.1, kNow).action, ScaleAction::kHold);
}

TEST(DecideScale, NeverRemovesBelowTheMinimumNorIntoOverload) {
  auto p = Policy();
  EXPECT_EQ(DecideScale(ZoneServing(1, 1, 3, 0.1), p, Streaks(0.1, 10, p), 0.1, kNow).action, ScaleAction::kHold);
  // 2 serving at 0.29 each: one alone would carry 0.58 — fine; at 0.29 with a band of 0.3..0.5, not.
  auto narrow = p;
  narrow.up_load = 0.5;
  auto d = DecideScale(ZoneServing(2, 1, 3, 0.29), narrow, Streaks(0.29, 10, narrow), 0.29, kNow);
  EXPECT_EQ(d.action, ScaleAction::kHold);
  EXPECT_NE(d.reason.find("one fewer"), std::string::npos) << d.reason;
}

TEST(DecideScale, RepairsTheMinimumFinishesAnAdditionAndWaitsForStarters) {
  auto p = Policy();
  auto v = ZoneServing(0, 1, 2);
  EXPECT_EQ(DecideScale(v, p, {}, -1, kNow).action, ScaleAction::kAdd);
  auto ready = ZoneServing(1, 1, 2);
  ready.instances[1].running = ready.instances[1].ready = true;  // started, not in HAProxy
  EXPECT_EQ(DecideScale(ready, p, {}, 0.5, kNow).action, ScaleAction::kEnable);
  auto starting = ZoneServing(1, 1, 2);
  starting.instances[1].running = true;
  EXPECT_EQ(DecideScale(starting, p, Streaks(0.9, 5, p), 0.9, kNow).action, ScaleAction::kHold);
  auto blind = ZoneServing(1, 1, 2);
  blind.balancer_reachable = false;
  EXPECT_EQ(DecideScale(blind, p, Streaks(0.9, 5, p), 0.9, kNow).action, ScaleAction::kHold);
  // supervisord silent: every instance looks stopped, yet nothing may be started.
  auto unknown = ZoneServing(0, 1, 2);
  unknown.supervisor_reachable = false;
  EXPECT_EQ(DecideScale(unknown, p, {}, -1, kNow).action, ScaleAction::kHold);
}

TEST(LoadOf, TakesTheLargestSignal) {
  auto p = Policy();
  auto v = ZoneServing(2, 1, 2, 0.2, 0.6);
  v.instances[0].p99_s = 0.150;  // 1.5 × the 100 ms target
  std::string why;
  EXPECT_DOUBLE_EQ(LoadOf(v, p, &why), 1.5);
  EXPECT_NE(why.find("p99"), std::string::npos) << why;
  v.instances[0].p99_s = -1;
  EXPECT_DOUBLE_EQ(LoadOf(v, p, &why), 0.6);
  EXPECT_EQ(LoadOf(ZoneServing(0, 1, 2), p, &why), -1);
  // HAProxy queueing requests: full, whatever the instances (too busy to answer) report.
  auto queued = ZoneServing(1, 1, 2, 0.1, 0.1);
  queued.instances[0].measured = false;
  queued.balancer_queue = 32;
  EXPECT_DOUBLE_EQ(LoadOf(queued, p, &why), 1.5);
  EXPECT_NE(why.find("haproxy"), std::string::npos) << why;
}

TEST(ParseInstanceMetrics, ReadsUtilisationCpuAndLatencyOfTheApiRoutes) {
  std::string text =
      "# HELP x\ncatalogd_utilisation 0.42\nprocess_cpu_seconds_total 12.5\ncatalogd_io_threads 2\n"
      "catalogd_http_request_duration_seconds_bucket{route=\"GET /v1/products/{id}\",le=\"0.001\"} 90\n"
      "catalogd_http_request_duration_seconds_bucket{route=\"GET /v1/products/{id}\",le=\"0.01\"} 99\n"
      "catalogd_http_request_duration_seconds_bucket{route=\"GET /v1/products/{id}\",le=\"+Inf\"} 100\n"
      "catalogd_http_request_duration_seconds_bucket{route=\"GET /metrics\",le=\"0.001\"} 5000\n";
  auto m = ParseInstanceMetrics(text);
  EXPECT_TRUE(m.ok);
  EXPECT_DOUBLE_EQ(m.utilisation, 0.42);
  EXPECT_DOUBLE_EQ(m.cpu_seconds, 12.5);
  EXPECT_EQ(m.io_threads, 2);
  EXPECT_DOUBLE_EQ(m.buckets.at(0.001), 90);  // /metrics is not counted
  InstanceMetrics before;
  EXPECT_DOUBLE_EQ(P99Between(before, m), 0.01);
  EXPECT_EQ(P99Between(m, m), -1);  // no requests in between
}

TEST(ParseShowStat, ReadsStatusAndSessionsOfOneBackend) {
  std::string csv =
      "# pxname,svname,qcur,qmax,scur,smax,slim,stot,status\n"
      "api,FRONTEND,,,3,5,4000,10,OPEN\n"
      "catalogd,a1-1,0,0,2,4,,100,UP\n"
      "catalogd,a1-2,0,0,0,0,,0,MAINT\n"
      "catalogd,BACKEND,0,0,2,4,,100,UP\n";
  auto s = ParseShowStat(csv, "catalogd");
  ASSERT_EQ(s.size(), 3u);  // the two servers and the backend's own row (its queue)
  EXPECT_EQ(s.at("a1-1").sessions, 2);
  EXPECT_FALSE(s.at("a1-1").InMaintenance());
  EXPECT_TRUE(s.at("a1-2").InMaintenance());
  EXPECT_EQ(s.at("BACKEND").queued, 0);
}

// deploy/kubernetes scales on the metric catalogd exports, with the local autoscaler's shape:
// quick up, slow down.
TEST(KubernetesAutoscaler, ScalesOnCatalogdUtilisationLikeTheLocalOne) {
  auto docs = YAML::LoadAllFromFile(std::string(TECHMODA_SOURCE_DIR) + "/deploy/kubernetes/catalogd.yaml");
  const YAML::Node* hpa = nullptr;
  for (const auto& d : docs)
    if (d["kind"].as<std::string>() == "HorizontalPodAutoscaler") hpa = &d;
  ASSERT_NE(hpa, nullptr);
  const auto& spec = (*hpa)["spec"];
  EXPECT_EQ(spec["metrics"][0]["pods"]["metric"]["name"].as<std::string>(), "catalogd_utilisation");
  EXPECT_EQ(spec["metrics"][0]["pods"]["target"]["averageValue"].as<std::string>(), "750m");
  EXPECT_EQ(spec["behavior"]["scaleUp"]["stabilizationWindowSeconds"].as<int>(), 0);
  EXPECT_EQ(spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"].as<int>(), AutoscalePolicy{}.down_cooldown_s);
  EXPECT_LT(spec["minReplicas"].as<int>(), spec["maxReplicas"].as<int>());
  auto rules = YAML::LoadFile(std::string(TECHMODA_SOURCE_DIR) + "/deploy/kubernetes/prometheus-adapter-rules.yaml");
  EXPECT_EQ(rules["rules"][0]["name"]["as"].as<std::string>(), "catalogd_utilisation");
}

}  // namespace
}  // namespace techmoda::ctl::autoscale
