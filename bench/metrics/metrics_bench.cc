// The cost of recording one request's metrics on catalogd's hot path (a counter by status class and a
// latency histogram), with prometheus-cpp's types against catalogd's lock-free ones, on one thread and
// on two at once (catalogd's two network threads). Run by hand: build/metrics_bench.
#include <benchmark/benchmark.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "catalogd/metrics/metrics.h"

namespace {

const prometheus::Histogram::BucketBoundaries kBounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,    0.25,  0.5,    1.0,   2.5,   5.0,  10.0};

struct PrometheusCpp {
  prometheus::Registry registry;
  prometheus::Counter& ok = prometheus::BuildCounter().Name("requests_total").Register(registry).Add({{"code", "2xx"}});
  prometheus::Histogram& latency =
      prometheus::BuildHistogram().Name("request_duration_seconds").Register(registry).Add({}, kBounds);
};

PrometheusCpp& Shared() {
  static PrometheusCpp p;
  return p;
}

techmoda::metrics::Metrics& Ours() {
  static techmoda::metrics::Metrics m({"unmatched", "GET /v1/products/{id}"});
  return m;
}

void PrometheusCppObserve(benchmark::State& state) {
  auto& p = Shared();
  double seconds = 0.0007;
  for (auto _ : state) {
    p.ok.Increment();
    p.latency.Observe(seconds);
  }
}
BENCHMARK(PrometheusCppObserve)->Threads(1)->Threads(2);

void CatalogdObserve(benchmark::State& state) {
  auto& m = Ours();
  double seconds = 0.0007;
  for (auto _ : state) m.ObserveRequest(1, 200, seconds);
}
BENCHMARK(CatalogdObserve)->Threads(1)->Threads(2);

}  // namespace

BENCHMARK_MAIN();
