// Request metrics in the Prometheus text format. Lock-free to update; Render may run concurrently.
// (prometheus-cpp is not packaged in Debian 12, so the few series we need are kept here.)
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include <memory>
#include <vector>

namespace techmoda::metrics {

inline constexpr std::array<double, 14> kLatencyBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                           0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
// Commit-to-visible delay of the in-memory copy: finer at the low end, where the target (50 ms) is.
inline constexpr std::array<double, 14> kPropagationBuckets = {0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.02,
                                                               0.05,   0.1,   0.25,  0.5,   1.0,   2.5,  10.0};

// A Prometheus histogram of seconds with fixed bucket bounds. Lock-free.
class Histogram {
 public:
  explicit Histogram(const std::array<double, 14>& bounds) : bounds_(bounds) {}
  void Observe(double seconds);
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  // Appends the _bucket, _sum and _count lines of `name` with `labels` ("" or `route="..."`).
  void Render(const std::string& name, const std::string& labels, std::string& out) const;

 private:
  const std::array<double, 14>& bounds_;
  std::array<std::atomic<std::uint64_t>, 14> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micros_{0};
};

class Metrics {
 public:
  // `route_labels`: one label per route, indexed as ObserveRequest's `route` (http::RouteLabels()).
  explicit Metrics(std::vector<std::string> route_labels);

  // Records one answered request: its route's index, HTTP status and seconds from read to written.
  void ObserveRequest(std::size_t route, int status, double seconds);
  void AddInFlight(int delta) { in_flight_.fetch_add(delta, std::memory_order_relaxed); }
  std::int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  void CountConsistencyWait() { consistency_waits_.fetch_add(1, std::memory_order_relaxed); }
  void CountStaleRead() { stale_reads_.fetch_add(1, std::memory_order_relaxed); }
  void ObservePropagation(double seconds) { propagation_.Observe(seconds); }

  // The whole exposition. `extra` appends gauges owned elsewhere (pool use, retries).
  std::string Render(const std::function<void(std::string&)>& extra) const;

 private:
  struct PerRoute {
    std::array<std::atomic<std::uint64_t>, 6> by_class{};  // index = status / 100
    Histogram latency{kLatencyBuckets};
  };
  const std::vector<std::string> route_labels_;
  std::vector<std::unique_ptr<PerRoute>> routes_;  // fixed at construction: updates take no lock
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<std::uint64_t> consistency_waits_{0};
  std::atomic<std::uint64_t> stale_reads_{0};
  Histogram propagation_{kPropagationBuckets};
};

}  // namespace techmoda::metrics
