#include "ctl/autoscale/autoscale.h"
#include "techmoda/metric_families.h"

#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/http_client.h"
#include "common/log.h"
#include "common/process.h"
#include "ctl/base/http_server.h"
#include "ctl/base/loop.h"
#include "ctl/base/stop.h"
#include "ctl/infra/haproxy_runtime.h"
#include "ctl/infra/health.h"
#include "ctl/infra/supervisor.h"
#include "ctl/topology/render.h"

namespace techmoda::ctl::autoscale {
namespace {

bool IsOperationsRoute(const std::string& labels) {
  return labels.find("/metrics") != std::string::npos || labels.find("/healthz") != std::string::npos ||
         labels.find("/readyz") != std::string::npos || labels.find("openapi") != std::string::npos;
}

}  // namespace

InstanceMetrics ParseInstanceMetrics(const std::string& text) {
  InstanceMetrics m;
  std::istringstream in(text);
  std::string line;
  bool saw_utilisation = false;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    std::string name = line.substr(0, space);
    double value = std::atof(line.c_str() + space + 1);
    if (name == "catalogd_utilisation") {
      m.utilisation = value;
      saw_utilisation = true;
    } else if (name == "process_cpu_seconds_total") {
      m.cpu_seconds = value;
    } else if (name == "catalogd_io_threads") {
      m.io_threads = std::max(1, static_cast<int>(value));
    } else if (name.rfind("catalogd_http_request_duration_seconds_bucket{", 0) == 0 && !IsOperationsRoute(name)) {
      auto le = name.find("le=\"");
      if (le == std::string::npos) continue;
      std::string bound = name.substr(le + 4, name.find('"', le + 4) - le - 4);
      double b = bound == "+Inf" ? INFINITY : std::atof(bound.c_str());
      m.buckets[b] += value;
    }
  }
  m.ok = saw_utilisation;
  return m;
}

double P99Between(const InstanceMetrics& before, const InstanceMetrics& after, double min_requests) {
  if (after.buckets.empty()) return -1;
  auto delta = [&](double le) {
    auto b = before.buckets.find(le);
    return after.buckets.at(le) - (b == before.buckets.end() ? 0 : b->second);
  };
  double total = delta(after.buckets.rbegin()->first);
  if (total < min_requests) return -1;
  for (const auto& [le, count] : after.buckets) {
    (void)count;
    if (delta(le) >= 0.99 * total) return std::isinf(le) ? 10.0 : le;
  }
  return -1;
}

int ZoneView::Serving() const {
  return static_cast<int>(std::count_if(instances.begin(), instances.end(), [](const auto& i) { return i.serving(); }));
}

double LoadOf(const ZoneView& v, const AutoscalePolicy& p, std::string* why) {
  double util = 0, cpu = 0, p99 = -1;
  int measured = 0;
  for (const auto& i : v.instances) {
    if (!i.serving() || !i.measured) continue;
    ++measured;
    util += i.utilisation;
    cpu += i.cpu_per_thread;
    p99 = std::max(p99, i.p99_s);
  }
  // Requests waiting in HAProxy mean every instance is full: at least 1, more the longer the queue.
  double balancer = std::max(v.balancer_sessions_share, v.balancer_queue > 0 ? 1.0 + v.balancer_queue / 64.0 : 0.0);
  if (measured == 0 && balancer == 0) {
    if (why) *why = "no serving instance measured yet";
    return -1;
  }
  if (measured > 0) {
    util /= measured;
    cpu /= measured;
  }
  double latency = p99 < 0 ? 0 : p99 / (p.target_p99_ms / 1000.0);
  double load = std::max({util, cpu, latency, balancer});
  if (why) {
    char buf[240];
    const char* signal = load == balancer && balancer > 0 ? "haproxy"
                         : load == latency && latency > 0 ? "p99"
                         : load == cpu                    ? "cpu"
                                                          : "utilisation";
    std::snprintf(buf, sizeof buf,
                  "load %.2f from %s (utilisation %.2f, cpu %.2f, p99 %.0f ms, haproxy sessions %.2f, queue %d)", load,
                  signal, util, cpu, p99 < 0 ? 0.0 : p99 * 1000, v.balancer_sessions_share, v.balancer_queue);
    *why = buf;
  }
  return load;
}

void ScaleMemory::Remember(double load, const AutoscalePolicy& p) {
  high_streak = load >= 0 && load > p.up_load ? high_streak + 1 : 0;
  low_streak = load >= 0 && load < p.down_load ? low_streak + 1 : 0;
}

std::string_view ActionLabel(ScaleAction a) {
  switch (a) {
    case ScaleAction::kHold:
      return "hold";
    case ScaleAction::kAdd:
      return "add";
    case ScaleAction::kEnable:
      return "enable";
    case ScaleAction::kRemove:
      return "remove";
  }
  return "hold";
}

ScaleDecision DecideScale(const ZoneView& v, const AutoscalePolicy& p, const ScaleMemory& m, double load,
                          Clock::time_point now) {
  auto since = [now](Clock::time_point t) { return std::chrono::duration<double>(now - t).count(); };
  auto first_idle = [&]() {
    for (const auto& i : v.instances)
      if (!i.running) return i.n;
    return 0;
  };
  if (!v.balancer_reachable) return {ScaleAction::kHold, 0, "HAProxy's runtime API does not answer: change nothing"};
  if (!v.supervisor_reachable) return {ScaleAction::kHold, 0, "supervisord does not answer: change nothing"};
  // An addition that started but was not registered (the previous iteration was cut short).
  for (const auto& i : v.instances)
    if (i.n > v.min && i.running && i.ready && !i.in_balancer)
      return {ScaleAction::kEnable, i.n, i.name + " is ready but not in HAProxy"};
  for (const auto& i : v.instances)
    if (i.running && !i.ready) return {ScaleAction::kHold, i.n, i.name + " is starting"};
  int serving = v.Serving();
  if (serving < v.min && first_idle() > 0)
    return {ScaleAction::kAdd, first_idle(),
            "below the minimum: " + std::to_string(serving) + " of " + std::to_string(v.min) + " serving"};
  if (load < 0) return {ScaleAction::kHold, 0, "load unknown (no serving instance measured twice yet)"};
  char figures[120];
  std::snprintf(figures, sizeof figures, "load %.2f, %d serving", load, serving);
  if (m.high_streak >= p.up_samples) {
    if (serving >= v.max || first_idle() == 0)
      return {ScaleAction::kHold, 0, std::string(figures) + ": high, but at the maximum"};
    if (since(m.last_up) < p.up_cooldown_s || since(m.last_down) < p.up_cooldown_s)
      return {ScaleAction::kHold, 0, std::string(figures) + ": high, cooling down after the last change"};
    return {ScaleAction::kAdd, first_idle(),
            std::string(figures) + ": above " + std::to_string(p.up_load).substr(0, 4) + " for " +
                std::to_string(m.high_streak) + " intervals"};
  }
  if (m.low_streak >= p.down_samples && serving > v.min) {
    if (since(m.last_up) < p.down_cooldown_s || since(m.last_down) < p.down_cooldown_s)
      return {ScaleAction::kHold, 0, std::string(figures) + ": low, cooling down after the last change"};
    // Hysteresis: the instances left must not be pushed over the line at once.
    double projected = load * serving / (serving - 1);
    if (projected >= p.up_load)
      return {ScaleAction::kHold, 0, std::string(figures) + ": low, but one fewer would be over the line"};
    int victim = 0;
    for (const auto& i : v.instances)
      if (i.n > v.min && i.serving()) victim = std::max(victim, i.n);
    if (victim == 0) return {ScaleAction::kHold, 0, std::string(figures) + ": low, only minimum instances serve"};
    return {ScaleAction::kRemove, victim,
            std::string(figures) + ": below " + std::to_string(p.down_load).substr(0, 4) + " for " +
                std::to_string(m.low_streak) + " intervals"};
  }
  return {ScaleAction::kHold, 0, std::string(figures) + ": within the band"};
}

namespace {

// Reads everything an iteration needs, once: supervisord's programs, HAProxy's servers, and each
// running instance's /metrics (compared with the previous scrape for rates).
class Observer {
 public:
  explicit Observer(const Topology& t) : t_(t) {}

  // The next observation asks supervisord again (after an action changed its programs).
  void Invalidate() { programs_at_ = {}; }

  std::vector<std::pair<const Region*, ZoneView>> ObserveAll() {
    auto now = Clock::now();
    // Asking supervisord means starting supervisorctl (Python): a tenth of a core at one call a
    // second, on a machine already saturated by the surge. Ask every 10 s, and in between check
    // that the processes it named are still there.
    if (now - programs_at_ > std::chrono::seconds(10)) {
      programs_ = ProgramStates(t_);
      programs_at_ = now;
    } else {
      for (auto& [name, state] : programs_)
        if (state.first == "RUNNING" && !IsProcessAlive(state.second)) {
          state.first = "EXITED";
          programs_at_ = {};
        }
    }
    const auto& programs = programs_;
    std::vector<std::pair<const Region*, ZoneView>> out;
    for (const auto& r : t_.regions) {
      auto stat = HaproxyCommand(r.dir + "/haproxy.sock", "show stat");
      auto servers = stat.ok() ? ParseShowStat(*stat, "catalogd") : std::map<std::string, BalancerServer>{};
      for (const auto& z : r.zones) {
        ZoneView v;
        v.zone = z.name;
        v.min = z.catalogd_instances;
        v.max = z.catalogd_max;
        v.balancer_reachable = stat.ok();
        if (auto b = servers.find("BACKEND"); b != servers.end()) v.balancer_queue = b->second.queued;
        v.supervisor_reachable = !programs.empty();
        for (int n = 1; n <= z.catalogd_max; ++n) {
          InstanceView i;
          i.n = n;
          i.name = Topology::InstanceName(z, n);
          auto p = programs.find(CatalogdProgram(z, n));
          i.running = p != programs.end() && p->second.first == "RUNNING";
          auto s = servers.find(i.name);
          i.in_balancer = s != servers.end() && !s->second.InMaintenance();
          if (i.in_balancer && i.running)
            v.balancer_sessions_share =
                std::max(v.balancer_sessions_share, s->second.sessions / static_cast<double>(kCatalogdMaxconn));
          if (i.running) {
            // Short: an instance too busy to answer must not stall the loop (HAProxy's view above
            // still counts).
            auto res = HttpCall(z.address, static_cast<unsigned short>(t_.CatalogdPort(n)), "GET", "/metrics", "", {},
                                std::chrono::milliseconds(400));
            i.ready = res.status == 200 && CatalogdReady(z, t_.CatalogdPort(n));
            InstanceMetrics m = res.status == 200 ? ParseInstanceMetrics(res.body) : InstanceMetrics{};
            auto prev = last_.find(i.name);
            if (m.ok && prev != last_.end() && prev->second.second.ok) {
              double secs = std::chrono::duration<double>(now - prev->second.first).count();
              // A starting instance loads its copy of the catalog: its first seconds are not load.
              auto since = serving_since_.try_emplace(i.name, now).first->second;
              i.measured = secs > 0 && now - since >= std::chrono::seconds(5);
              i.utilisation = m.utilisation;
              i.cpu_per_thread = secs > 0 ? (m.cpu_seconds - prev->second.second.cpu_seconds) / secs / m.io_threads : 0;
              i.p99_s = P99Between(prev->second.second, m);
            }
            if (m.ok) last_[i.name] = {now, m};
          } else {
            last_.erase(i.name);
            serving_since_.erase(i.name);
          }
          v.instances.push_back(i);
        }
        out.emplace_back(&r, std::move(v));
      }
    }
    return out;
  }

 private:
  const Topology& t_;
  std::map<std::string, std::pair<Clock::time_point, InstanceMetrics>> last_;
  std::map<std::string, Clock::time_point> serving_since_;         // first seen running with metrics
  std::map<std::string, std::pair<std::string, pid_t>> programs_;  // supervisord's, as of programs_at_
  Clock::time_point programs_at_{};
};

// Carries out one decision and says what it did.
class Actor {
 public:
  Actor(const Topology& t, bool dry_run) : t_(t), dry_run_(dry_run) {}

  Result<std::string> Execute(const Region& r, const Zone& z, const ScaleDecision& d) {
    if (d.action == ScaleAction::kHold) return std::string("nothing");
    std::string name = Topology::InstanceName(z, d.instance);
    if (dry_run_) return "dry run: would " + std::string(ActionLabel(d.action)) + " " + name;
    std::string sock = r.dir + "/haproxy.sock";
    std::string server = "catalogd/" + name;
    if (d.action == ScaleAction::kAdd) {
      if (auto s = StartPrograms(t_, {CatalogdProgram(z, d.instance)}); !s.ok()) return s;
      auto deadline = Clock::now() + std::chrono::seconds(30);
      while (!CatalogdReady(z, t_.CatalogdPort(d.instance))) {
        if (Clock::now() > deadline) return Status::Unavailable(name + " did not become ready within 30 s");
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    if (d.action == ScaleAction::kAdd || d.action == ScaleAction::kEnable) {
      auto res = HaproxyCommand(sock, "set server " + server + " state ready");
      if (!res.ok()) return res.status();
      // A server leaving maintenance is checked at once; it takes traffic when the check passes.
      return "started " + name + " and enabled it in HAProxy";
    }
    // Remove: stop new requests, let the ones in flight finish, then stop the process (which also
    // drains on SIGTERM).
    auto res = HaproxyCommand(sock, "set server " + server + " state drain");
    if (!res.ok()) return res.status();
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
      auto stat = HaproxyCommand(sock, "show stat");
      if (!stat.ok()) break;
      auto servers = ParseShowStat(*stat, "catalogd");
      auto it = servers.find(name);
      if (it == servers.end() || it->second.sessions == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    res = HaproxyCommand(sock, "set server " + server + " state maint");
    if (!res.ok()) return res.status();
    if (auto s = StopPrograms(t_, {CatalogdProgram(z, d.instance)}); !s.ok()) return s;
    return "drained " + name + " in HAProxy and stopped it";
  }

 private:
  const Topology& t_;
  bool dry_run_;
};

struct ZoneCounters {
  int serving = 0;
  double load = -1;
  std::map<std::string, long> decisions;  // action -> count of changes made
};

std::string MetricsText(const std::map<std::string, ZoneCounters>& zones) {
  metrics::Families out;
  auto& instances = metrics::AddFamily(out, "techmoda_autoscale_instances", "catalogd instances serving, by zone.",
                                       prometheus::MetricType::Gauge);
  auto& load = metrics::AddFamily(out, "techmoda_autoscale_load",
                                  "The zone's load as the autoscaler measured it (1 = at capacity).",
                                  prometheus::MetricType::Gauge);
  auto& actions = metrics::AddFamily(out, "techmoda_autoscale_actions_total", "Changes made, by zone and action.",
                                     prometheus::MetricType::Counter);
  for (const auto& [z, c] : zones) {
    metrics::AddSample(instances, c.serving, {{"zone", z}});
    if (c.load >= 0) metrics::AddSample(load, c.load, {{"zone", z}});
    for (const auto& [a, n] : c.decisions)
      metrics::AddSample(actions, static_cast<double>(n), {{"zone", z}, {"action", a}});
  }
  return metrics::Text(out);
}

}  // namespace

Status ScaleZone(const Topology& t, const std::string& zone, int count, std::string* report) {
  const Zone* z = t.FindZone(zone);
  if (!z) return Status::NotFound("no zone " + zone + " in " + t.file);
  if (count < 0 || count > z->catalogd_max)
    return Status::Invalid("zone " + zone + " may run 0 to " + std::to_string(z->catalogd_max) +
                           " catalogd instances (catalogd_max in the topology)");
  const Region* region = t.FindRegion(z->region);
  Observer observer(t);
  Actor actor(t, false);
  for (auto& [r, view] : observer.ObserveAll()) {
    if (view.zone != zone) continue;
    if (!view.supervisor_reachable || !view.balancer_reachable)
      return Status::Unavailable("supervisord or HAProxy does not answer; is the topology up?");
    for (const auto& i : view.instances) {
      bool want = i.n <= count;
      ScaleDecision d{ScaleAction::kHold, i.n, "catalogctl scale"};
      if (want && !i.running) d.action = ScaleAction::kAdd;
      if (want && i.running && !i.in_balancer) d.action = ScaleAction::kEnable;
      if (!want && i.running) d.action = ScaleAction::kRemove;
      if (d.action == ScaleAction::kHold) continue;
      auto outcome = actor.Execute(*region, *z, d);
      if (!outcome.ok()) return outcome.status();
      *report += *outcome + "\n";
    }
  }
  *report += "zone " + zone + ": " + std::to_string(count) + " instance(s) serving";
  return Status::Ok();
}

Status RunAutoscaler(const Topology& t, const LoopOptions& options) {
  InstallStopHandlers();
  MetricsPage metrics;
  SmallHttpServer server(
      [&](const std::string&, const std::string& target, const std::string&) { return metrics.Reply(target); });
  if (!options.metrics_listen.empty())
    if (auto s = server.Start(options.metrics_listen); !s.ok()) return s;
  Observer observer(t);
  Actor actor(t, options.dry_run);
  std::map<std::string, ScaleMemory> memory;
  std::map<std::string, ZoneCounters> counters;
  log::Info("autoscale.policy", {{"topology", t.name}, {"dry_run", options.dry_run}});
  ControlLoop loop({"autoscale", std::chrono::milliseconds(t.autoscale.interval_ms), options.duration});
  return loop.Run([&] {
    auto begun = Clock::now();
    long iteration = loop.iteration();
    std::string table;
    for (auto& [region, view] : observer.ObserveAll()) {
      const Zone* zone = t.FindZone(view.zone);
      std::string why;
      double load = LoadOf(view, t.autoscale, &why);
      ScaleMemory& m = memory[view.zone];
      m.Remember(load, t.autoscale);
      ScaleDecision d = DecideScale(view, t.autoscale, m, load, begun);
      ZoneCounters& c = counters[view.zone];
      c.load = load;
      if (d.action != ScaleAction::kHold && !StopRequested()) {
        auto outcome = actor.Execute(*region, *zone, d);
        bool ok = outcome.ok();
        log::Write(ok ? log::Level::kInfo : log::Level::kWarn, "autoscale.action",
                   {{"zone", view.zone},
                    {"action", std::string(ActionLabel(d.action))},
                    {"instance", Topology::InstanceName(*zone, d.instance)},
                    {"reason", d.reason},
                    {"signals", why},
                    {"outcome", ok ? *outcome : outcome.status().detail()}});
        observer.Invalidate();
        if (ok && !options.dry_run) {
          ++c.decisions[std::string(ActionLabel(d.action))];
          if (d.action == ScaleAction::kRemove)
            m.last_down = Clock::now();
          else
            m.last_up = Clock::now();
          m.high_streak = m.low_streak = 0;
        }
      } else if (iteration % 10 == 0) {
        log::Info("autoscale.hold", {{"zone", view.zone}, {"reason", d.reason}, {"signals", why}});
      }
      c.serving = view.Serving() + (d.action == ScaleAction::kAdd || d.action == ScaleAction::kEnable ? 1 : 0) -
                  (d.action == ScaleAction::kRemove ? 1 : 0);
      char row[200];
      std::snprintf(row, sizeof row, "  %-8s %2d/%-2d serving (min %d)  load %5.2f  %s\n", view.zone.c_str(), c.serving,
                    view.max, view.min, load, d.reason.c_str());
      table += row;
    }
    metrics.Set(MetricsText(counters));
    if (iteration % 10 == 0) std::fprintf(stderr, "autoscale: zone     instances          load\n%s", table.c_str());
  });
}

}  // namespace techmoda::ctl::autoscale
