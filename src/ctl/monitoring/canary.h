// The canary (`catalogctl canary`): every few seconds, in every region, it does what a customer does
// end to end through the region's front (HAProxy): read a product, place an order marked synthetic,
// cancel it, and read it back with the cancellation's consistency token. Each run's outcome and
// latency are Prometheus series on its own /metrics (job canary), which the CanaryFailing alert
// watches. Synthetic orders are left out of business figures (catalogd_orders_created_total{kind}).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "ctl/topology/topology.h"
#include "techmoda/status.h"

namespace techmoda::ctl {

// The product the canary orders: category synthetic/canary, stock topped up by the canary itself.
inline constexpr const char* kCanaryProduct = "canary-synthetic";
inline constexpr const char* kCanarySku = "canary-synthetic-1";

struct CanaryStep {
  std::string name;  // read_product, place_order, cancel_order, read_back
  bool ok = false;
  double seconds = 0;
  std::string detail;  // why it failed
};

struct CanaryRun {
  std::string region;
  bool ok = false;
  double seconds = 0;
  std::vector<CanaryStep> steps;
};

struct CanaryOptions {
  std::string listen;                     // HOST:PORT of /metrics; empty: none
  std::chrono::milliseconds interval{0};  // 0: the topology's monitoring.canary_interval_ms
  std::chrono::seconds duration{0};       // 0: until SIGTERM
  int runs = 0;                           // stop after this many runs per region (0: no limit)
};

// One run against one region's front; `timeout` bounds each step.
CanaryRun RunCanaryOnce(const Topology& t, const Region& r, const std::string& client_token,
                        std::chrono::milliseconds timeout);

// Runs until stopped; prints one JSON line per failed run (and the first success after failures).
Status RunCanary(const Topology& t, const CanaryOptions& options);

}  // namespace techmoda::ctl
