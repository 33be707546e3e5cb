#include "catalogd/metrics/metrics.h"

namespace techmoda::metrics {

namespace {
const prometheus::Histogram::BucketBoundaries kLatencyBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                              0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
// Commit-to-visible delay of the in-memory copy: finer at the low end, where the target (50 ms) is.
const prometheus::Histogram::BucketBoundaries kPropagationBuckets{0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.02,
                                                                  0.05,   0.1,   0.25,  0.5,   1.0,   2.5,  10.0};
}  // namespace

Metrics::Metrics(std::vector<std::string> route_labels)
    : requests_(prometheus::BuildCounter()
                    .Name("catalogd_http_requests_total")
                    .Help("Requests answered, by route and status class.")
                    .Register(registry_)),
      latency_(prometheus::BuildHistogram()
                   .Name("catalogd_http_request_duration_seconds")
                   .Help("Time from request read to response written.")
                   .Register(registry_)),
      in_flight_(prometheus::BuildGauge()
                     .Name("catalogd_http_in_flight")
                     .Help("Requests being handled now.")
                     .Register(registry_)
                     .Add({})),
      consistency_waits_(prometheus::BuildCounter()
                             .Name("catalogd_consistency_waits_total")
                             .Help("Reads that carried a consistency token.")
                             .Register(registry_)
                             .Add({})),
      stale_reads_(prometheus::BuildCounter()
                       .Name("catalogd_stale_reads_total")
                       .Help("Reads answered from data older than the freshness bound.")
                       .Register(registry_)
                       .Add({})),
      propagation_(prometheus::BuildHistogram()
                       .Name("catalogd_copy_propagation_seconds")
                       .Help("From a transaction's commit on the primary to its being visible in this instance's copy.")
                       .Register(registry_)
                       .Add({}, kPropagationBuckets)),
      route_labels_(std::move(route_labels)) {
  for (std::size_t i = 0; i < route_labels_.size(); ++i) routes_.push_back(std::make_unique<PerRoute>());
}

void Metrics::ObserveRequest(std::size_t route, int status, double seconds) {
  if (route >= routes_.size()) return;
  PerRoute& r = *routes_[route];
  int cls = status / 100;
  if (cls < 1 || cls > 5) cls = 5;
  prometheus::Counter* counter = r.by_class[cls].load(std::memory_order_acquire);
  prometheus::Histogram* latency = r.latency.load(std::memory_order_acquire);
  if (!counter || !latency) {
    // The first request of this route (and class): add its series, once.
    MutexLock lock(add_mu_);
    if (!r.by_class[cls].load())
      r.by_class[cls].store(&requests_.Add({{"route", route_labels_[route]}, {"code", std::to_string(cls) + "xx"}}));
    if (!r.latency.load()) r.latency.store(&latency_.Add({{"route", route_labels_[route]}}, kLatencyBuckets));
    counter = r.by_class[cls].load();
    latency = r.latency.load();
  }
  counter->Increment();
  latency->Observe(seconds);
}

std::string Metrics::Render(const std::function<void(Families&)>& extra) const {
  auto collected = registry_.Collect();
  Families families(collected.begin(), collected.end());
  if (extra) extra(families);
  return Text(families);
}

}  // namespace techmoda::metrics
