// catalogd's request metrics, kept in prometheus-cpp's types (as cheap on the hot path as the
// lock-free ones they replaced: bench/metrics/metrics_bench.cc) and written by its serializer with
// every other source's families (include/techmoda/metric_families.h). Thread-safe.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "techmoda/metric_families.h"
#include "techmoda/mutex.h"

namespace techmoda::metrics {

class Metrics {
 public:
  // `route_labels`: one label per route, indexed as ObserveRequest's `route` (http::RouteLabels()).
  explicit Metrics(std::vector<std::string> route_labels);

  // Records one answered request: its route's index, HTTP status and seconds from read to written. A
  // route's series appear once it is first used.
  void ObserveRequest(std::size_t route, int status, double seconds);
  void AddInFlight(int delta) { in_flight_.Increment(delta); }
  std::int64_t in_flight() const { return static_cast<std::int64_t>(in_flight_.Value()); }
  void CountConsistencyWait() { consistency_waits_.Increment(); }
  void CountStaleRead() { stale_reads_.Increment(); }
  void ObservePropagation(double seconds) { propagation_.Observe(seconds); }

  // The whole exposition: these series, then those `extra` appends (pool use, admission, ...).
  std::string Render(const std::function<void(Families&)>& extra) const;

 private:
  struct PerRoute {
    std::array<std::atomic<prometheus::Counter*>, 6> by_class{};  // index = status / 100; set once
    std::atomic<prometheus::Histogram*> latency{nullptr};         // set once
  };

  prometheus::Registry registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Gauge& in_flight_;
  prometheus::Counter& consistency_waits_;
  prometheus::Counter& stale_reads_;
  prometheus::Histogram& propagation_;
  const std::vector<std::string> route_labels_;
  std::vector<std::unique_ptr<PerRoute>> routes_;  // fixed at construction
  Mutex add_mu_;                                   // adds a route's series the first time
};

}  // namespace techmoda::metrics
