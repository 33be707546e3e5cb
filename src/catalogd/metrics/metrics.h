// Request metrics in the Prometheus text format. Lock-free to update; Render may run concurrently.
// (prometheus-cpp is not packaged in Debian 12, so the few series we need are kept here.)
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "catalogd/http/router.h"

namespace techmoda::metrics {

inline constexpr std::array<double, 14> kLatencyBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                           0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};

class Metrics {
 public:
  // Records one answered request: its route, HTTP status and seconds from read to written.
  void ObserveRequest(http::Route route, int status, double seconds);
  void AddInFlight(int delta) { in_flight_.fetch_add(delta, std::memory_order_relaxed); }
  std::int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  void CountShed() { shed_.fetch_add(1, std::memory_order_relaxed); }
  void CountConsistencyWait() { consistency_waits_.fetch_add(1, std::memory_order_relaxed); }

  // The whole exposition. `extra` appends gauges owned elsewhere (pool use, retries).
  std::string Render(const std::function<void(std::string&)>& extra) const;

 private:
  struct PerRoute {
    std::array<std::atomic<std::uint64_t>, 6> by_class{};  // index = status / 100
    std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size()> buckets{};
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::uint64_t> sum_micros{0};
  };
  std::array<PerRoute, http::kRouteCount> routes_{};
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<std::uint64_t> shed_{0};
  std::atomic<std::uint64_t> consistency_waits_{0};
};

}  // namespace techmoda::metrics
