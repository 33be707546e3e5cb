// The autoscaler: adds and removes catalogd instances per zone, between the topology's minimum
// (`catalogd:`) and maximum (`catalogd_max:`), from measured load, and registers them in the
// region's HAProxy through its runtime API. One iteration per interval, in three steps:
//   ZoneView view = observer.Observe(zone);                       // one snapshot
//   ScaleDecision d = DecideScale(view, policy, memory, now);     // pure: one action and a reason
//   std::string outcome = actor.Execute(zone, d);                 // what was done, in words
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "ctl/topology/topology.h"
#include "techmoda/status.h"

namespace techmoda::ctl::autoscale {

using Clock = std::chrono::steady_clock;

// What one scrape of an instance's /metrics says, cumulative where Prometheus counts are.
struct InstanceMetrics {
  bool ok = false;
  double utilisation = 0;  // catalogd_utilisation
  double cpu_seconds = 0;  // process_cpu_seconds_total
  int io_threads = 1;
  std::map<double, double> buckets;  // le -> cumulative count over the API's routes (not health or metrics)
};
// Parses the Prometheus text of catalogd's /metrics.
InstanceMetrics ParseInstanceMetrics(const std::string& text);

// The p99 latency between two scrapes (the smallest bucket bound holding 99 % of the requests in
// between); -1 when fewer than `min_requests` were answered.
double P99Between(const InstanceMetrics& before, const InstanceMetrics& after, double min_requests = 20);

struct InstanceView {
  int n = 0;
  std::string name;          // "a1-2"
  bool running = false;      // supervisord's state is RUNNING
  bool ready = false;        // /readyz 200
  bool in_balancer = false;  // HAProxy's server is not in maintenance
  bool measured = false;     // the load figures below are from two scrapes
  double utilisation = 0;
  double cpu_per_thread = 0;  // CPU seconds per second, over its network threads
  double p99_s = -1;
  bool serving() const { return running && ready && in_balancer; }
};

struct ZoneView {
  std::string zone;
  int min = 1, max = 1;
  bool balancer_reachable = true;    // HAProxy's runtime API answered
  bool supervisor_reachable = true;  // supervisord listed its programs
  // HAProxy's view, read in one `show stat` even when the instances are too busy to answer quickly:
  // the busiest serving instance's sessions over its maxconn, and requests queued in the backend.
  double balancer_sessions_share = 0;
  int balancer_queue = 0;
  std::vector<InstanceView> instances;  // n = 1..max
  int Serving() const;
};

// The zone's load: the largest of its serving instances' mean utilisation, mean CPU per network
// thread, worst p99 over the target, and HAProxy's view (sessions over maxconn; 1 or more while
// requests queue). -1 when nothing was measured. `why` names the signal that decided.
double LoadOf(const ZoneView& v, const AutoscalePolicy& p, std::string* why);

// What the loop remembers between iterations: how long the load has been high or low, and when
// the zone last changed.
struct ScaleMemory {
  int high_streak = 0;
  int low_streak = 0;
  Clock::time_point last_up{};
  Clock::time_point last_down{};
  // Counts the load into the streaks (an unknown load, -1, ends both).
  void Remember(double load, const AutoscalePolicy& p);
};

enum class ScaleAction { kHold, kAdd, kEnable, kRemove };
std::string_view ActionLabel(ScaleAction a);

struct ScaleDecision {
  ScaleAction action = ScaleAction::kHold;
  int instance = 0;  // which n to add, enable or remove
  std::string reason;
};

// Guards in priority order; every branch returns. Pure.
ScaleDecision DecideScale(const ZoneView& v, const AutoscalePolicy& p, const ScaleMemory& m, double load,
                          Clock::time_point now);

struct LoopOptions {
  std::chrono::seconds duration{0};  // 0: until SIGINT/SIGTERM
  bool dry_run = false;              // decide and log, change nothing
  std::string metrics_listen;        // HOST:PORT for the autoscaler's own /metrics; empty: none
};

// Starts or stops a zone's instances so that exactly `count` (0..catalogd_max) serve, each started
// one registered in HAProxy and each stopped one drained first. `report` says what was done.
Status ScaleZone(const Topology& t, const std::string& zone, int count, std::string* report);

// Runs the loop over every zone of every region of `t` (which must be up). Decisions and actions
// are JSON log lines; a summary table goes to stderr every ten iterations.
Status RunAutoscaler(const Topology& t, const LoopOptions& options);

}  // namespace techmoda::ctl::autoscale
