#include "ctl/monitoring/canary.h"
#include "techmoda/metric_families.h"

#include <signal.h>

#include <atomic>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <thread>

#include "common/http_client.h"
#include "common/json_util.h"
#include "common/log.h"
#include "ctl/base/http_server.h"
#include "ctl/base/loop.h"
#include "ctl/base/stop.h"
#include "ctl/dr/dr.h"
#include "ctl/topology/render.h"

namespace techmoda::ctl {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Creates the canary's product and keeps its stock far from zero. Idempotent; run at start and
// whenever an order finds no stock.
Status EnsureCanaryProduct(const Topology& t, const Region& r, const std::string& admin_token) {
  auto port = static_cast<unsigned short>(t.ports.haproxy_api);
  HttpHeaders auth{{"Authorization", "Bearer " + admin_token}};
  auto got =
      HttpCall(r.address, port, "GET", std::string("/v1/products/") + kCanaryProduct, "", {}, std::chrono::seconds(5));
  if (got.status == 404) {
    json::object p{{"id", kCanaryProduct},
                   {"name", "Canary (synthetic, not for sale)"},
                   {"description", "Ordered and cancelled by catalogctl canary to check the API end to end."},
                   {"category", "synthetic/canary"},
                   {"price", {{"amount", 100}, {"currency", "EUR"}}},
                   {"variants", json::array{json::object{{"sku", kCanarySku}}}}};
    auto made = HttpCall(r.address, port, "POST", "/v1/products", json::serialize(p), auth, std::chrono::seconds(10));
    if (made.status != 201 && made.status != 409)
      return Status::Unavailable("creating the canary's product: HTTP " + std::to_string(made.status) + " " +
                                 made.error + made.body);
  } else if (got.status != 200) {
    return Status::Unavailable("reading the canary's product: HTTP " + std::to_string(got.status) + " " + got.error);
  }
  auto stock =
      HttpCall(r.address, port, "GET", std::string("/v1/inventory/") + kCanarySku, "", {}, std::chrono::seconds(5));
  auto doc = stock.Json();
  if (stock.status == 200 && doc.is_object() && doc.as_object().contains("available") &&
      doc.at("available").to_number<std::int64_t>() > 1000)
    return Status::Ok();
  auto set = HttpCall(r.address, port, "POST", std::string("/v1/inventory/") + kCanarySku + "/adjust",
                      R"({"delta": 1000000})", auth, std::chrono::seconds(10));
  if (set.status != 200)
    return Status::Unavailable("topping up the canary's stock: HTTP " + std::to_string(set.status) + " " + set.error);
  return Status::Ok();
}

// The per-region series of the canary's /metrics.
struct RegionSeries {
  std::map<std::string, long> runs;  // result -> count
  long consecutive_failures = 0;
  double last_seconds = 0;
  double last_success_unix = 0;
  std::map<std::string, double> step_seconds;  // last duration of each step
  std::map<std::string, long> step_failures;
  std::array<long, 10> buckets{};  // run duration histogram
  double sum = 0;
  long count = 0;
};

constexpr std::array<double, 10> kRunBuckets = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

std::string MetricsText(const std::map<std::string, RegionSeries>& regions) {
  using prometheus::MetricType;
  metrics::Families out;
  auto& runs =
      metrics::AddFamily(out, "techmoda_canary_runs_total", "End-to-end canary runs by result.", MetricType::Counter);
  auto& consecutive = metrics::AddFamily(out, "techmoda_canary_consecutive_failures",
                                         "Failed runs in a row (0 after a success).", MetricType::Gauge);
  auto& last_success = metrics::AddFamily(out, "techmoda_canary_last_success_timestamp_seconds",
                                          "When the last run succeeded.", MetricType::Gauge);
  auto& step_seconds = metrics::AddFamily(out, "techmoda_canary_step_seconds", "Duration of each step of the last run.",
                                          MetricType::Gauge);
  auto& step_failures =
      metrics::AddFamily(out, "techmoda_canary_step_failures_total", "Failed steps, by step.", MetricType::Counter);
  auto& duration = metrics::AddFamily(out, "techmoda_canary_run_duration_seconds",
                                      "Duration of whole runs (all four steps).", MetricType::Histogram);
  const std::vector<double> bounds(kRunBuckets.begin(), kRunBuckets.end());
  for (const auto& [r, s] : regions) {
    for (const char* result : {"success", "failure"}) {
      auto it = s.runs.find(result);
      metrics::AddSample(runs, it == s.runs.end() ? 0 : it->second, {{"region", r}, {"result", result}});
    }
    metrics::AddSample(consecutive, s.consecutive_failures, {{"region", r}});
    metrics::AddSample(last_success, s.last_success_unix, {{"region", r}});
    for (const auto& [step, secs] : s.step_seconds)
      metrics::AddSample(step_seconds, secs, {{"region", r}, {"step", step}});
    for (const auto& [step, n] : s.step_failures)
      metrics::AddSample(step_failures, static_cast<double>(n), {{"region", r}, {"step", step}});
    std::vector<std::uint64_t> cumulative;
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < kRunBuckets.size(); ++i) cumulative.push_back(total += s.buckets[i]);
    metrics::AddHistogramSample(duration, bounds, cumulative, static_cast<std::uint64_t>(s.count), s.sum,
                                {{"region", r}});
  }
  return metrics::Text(out);
}

}  // namespace

CanaryRun RunCanaryOnce(const Topology& t, const Region& r, const std::string& client_token,
                        std::chrono::milliseconds timeout) {
  CanaryRun run;
  run.region = r.name;
  auto begun = Clock::now();
  auto port = static_cast<unsigned short>(t.ports.haproxy_api);
  HttpHeaders auth{{"Authorization", "Bearer " + client_token}, {"Request-Timeout", "2"}};
  auto step = [&](const std::string& name, const std::string& method, const std::string& target,
                  const std::string& body, const HttpHeaders& headers, int expect) -> std::optional<HttpResult> {
    auto at = Clock::now();
    auto res = HttpCall(r.address, port, method, target, body, headers, timeout);
    CanaryStep s{name, res.status == expect, Since(at), ""};
    if (!s.ok)
      s.detail = res.status == 0 ? "no answer: " + res.error
                                 : "HTTP " + std::to_string(res.status) + " (expected " + std::to_string(expect) + ")";
    run.steps.push_back(s);
    if (!s.ok) return std::nullopt;
    return res;
  };
  auto finish = [&] {
    run.seconds = Since(begun);
    return run;
  };
  if (!step("read_product", "GET", std::string("/v1/products/") + kCanaryProduct, "", {}, 200)) return finish();
  json::object order{{"customer_id", "canary"},
                     {"synthetic", true},
                     {"lines", json::array{json::object{{"sku", kCanarySku}, {"quantity", 1}}}}};
  HttpHeaders place = auth;
  place.emplace_back("Idempotency-Key", "canary-" + UniqueHex(12));
  auto placed = step("place_order", "POST", "/v1/orders", json::serialize(order), place, 201);
  if (!placed) return finish();
  auto doc = placed->Json();
  if (!doc.is_object() || !doc.as_object().contains("id")) {
    run.steps.back().ok = false;
    run.steps.back().detail = "the order has no id";
    return finish();
  }
  std::string id(doc.at("id").as_string());
  auto cancelled = step("cancel_order", "POST", "/v1/orders/" + id + "/cancel", "", auth, 200);
  if (!cancelled) return finish();
  HttpHeaders read = auth;
  read.emplace_back("X-Consistency-Token", cancelled->Header("x-consistency-token"));
  auto back = step("read_back", "GET", "/v1/orders/" + id, "", read, 200);
  if (!back) return finish();
  auto o = back->Json();
  if (!o.is_object() || !o.as_object().contains("status") || o.at("status") != "cancelled") {
    run.steps.back().ok = false;
    run.steps.back().detail = "read its own cancellation back as not cancelled";
    return finish();
  }
  run.ok = true;
  return finish();
}

Status RunCanary(const Topology& t, const CanaryOptions& options) {
  InstallStopHandlers();
  auto secrets = LoadOrCreateSecrets(t);
  if (!secrets.ok()) return secrets.status();
  auto interval =
      options.interval.count() > 0 ? options.interval : std::chrono::milliseconds(t.monitoring.canary_interval_ms);
  // A step may take at most the interval, and never more than 2 s: a slower answer is a failure.
  auto timeout = std::min<std::chrono::milliseconds>(interval, std::chrono::seconds(2));
  // What the regions' loops, the RPO loop and /metrics share.
  struct Shared {
    Mutex mu;
    std::map<std::string, RegionSeries> series GUARDED_BY(mu);
    std::string rpo GUARDED_BY(mu);  // the RPO meter's series (several regions), refreshed every 5 s
  } shared;
  {
    MutexLock lock(shared.mu);
    for (const auto& r : t.regions) shared.series[r.name];
  }
  SmallHttpServer server([&](const std::string&, const std::string& target, const std::string&) {
    MutexLock lock(shared.mu);
    if (target != "/metrics") return HttpReply{404, "text/plain; charset=utf-8", "see /metrics\n"};
    return HttpReply{200, "text/plain; version=0.0.4; charset=utf-8", MetricsText(shared.series) + shared.rpo};
  });
  if (!options.listen.empty())
    if (auto s = server.Start(options.listen); !s.ok()) return s;
  log::Info("canary.started", {{"topology", t.name}, {"interval_ms", static_cast<std::int64_t>(interval.count())}});
  std::vector<std::thread> threads;
  for (const auto& region : t.regions) {
    threads.emplace_back([&, r = &region] {
      bool product_ready = false;
      ControlLoop loop({"canary." + r->name, interval, options.duration, options.runs});
      loop.Run([&] {
        if (!product_ready) {
          auto s = EnsureCanaryProduct(t, *r, secrets->admin_token);
          product_ready = s.ok();
          if (!s.ok()) log::Warn("canary.setup_failed", {{"region", r->name}, {"detail", s.detail()}});
        }
        CanaryRun run = RunCanaryOnce(t, *r, secrets->canary_token, timeout);
        {
          MutexLock lock(shared.mu);
          auto& s = shared.series[r->name];
          bool recovered = run.ok && s.consecutive_failures > 0;
          ++s.runs[run.ok ? "success" : "failure"];
          s.consecutive_failures = run.ok ? 0 : s.consecutive_failures + 1;
          s.last_seconds = run.seconds;
          if (run.ok)
            s.last_success_unix =
                std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
          for (const auto& st : run.steps) {
            s.step_seconds[st.name] = st.seconds;
            if (!st.ok) ++s.step_failures[st.name];
          }
          std::size_t b = 0;
          while (b < kRunBuckets.size() && run.seconds > kRunBuckets[b]) ++b;
          if (b < kRunBuckets.size()) ++s.buckets[b];
          s.sum += run.seconds;
          ++s.count;
          if (!run.ok) {
            const auto& failed = run.steps.back();
            log::Warn("canary.failed", {{"region", r->name},
                                        {"step", failed.name},
                                        {"detail", failed.detail},
                                        {"consecutive", s.consecutive_failures},
                                        {"seconds", run.seconds}});
            // The product gone (a catalog replaced) or its stock used up: set it up again next time.
            if ((failed.name == "read_product" || failed.name == "place_order") && failed.detail.find("HTTP 4") == 0)
              product_ready = false;
          } else if (recovered) {
            log::Info("canary.recovered", {{"region", r->name}, {"seconds", run.seconds}});
          }
        }
      });
    });
  }
  if (t.MultiRegion() && options.runs == 0)
    threads.emplace_back([&] {
      ControlLoop loop({"canary.rpo", std::chrono::seconds(5), options.duration});
      loop.Run([&] {
        std::string text = dr::RpoMetricsText(dr::ReadDrStatus(t));
        MutexLock lock(shared.mu);
        shared.rpo = std::move(text);
      });
    });
  for (auto& th : threads) th.join();
  server.Stop();
  log::Info("canary.stopped", {{"topology", t.name}});
  return Status::Ok();
}

}  // namespace techmoda::ctl
