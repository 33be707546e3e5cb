#include "catalogd/metrics/metrics.h"

#include <cstdio>

namespace techmoda::metrics {

void Metrics::ObserveRequest(http::Route route, int status, double seconds) {
  PerRoute& r = routes_[static_cast<int>(route)];
  int cls = status / 100;
  if (cls < 1 || cls > 5) cls = 5;
  r.by_class[cls].fetch_add(1, std::memory_order_relaxed);
  for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i)
    if (seconds <= kLatencyBuckets[i]) r.buckets[i].fetch_add(1, std::memory_order_relaxed);
  r.count.fetch_add(1, std::memory_order_relaxed);
  r.sum_micros.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

std::string Metrics::Render(const std::function<void(std::string&)>& extra) const {
  std::string out;
  char buf[256];
  out += "# HELP catalogd_http_requests_total Requests answered, by route and status class.\n";
  out += "# TYPE catalogd_http_requests_total counter\n";
  for (int i = 0; i < http::kRouteCount; ++i) {
    std::string label(http::RouteLabel(static_cast<http::Route>(i)));
    for (int cls = 1; cls <= 5; ++cls) {
      auto n = routes_[i].by_class[cls].load(std::memory_order_relaxed);
      if (n == 0) continue;
      std::snprintf(buf, sizeof buf, "catalogd_http_requests_total{route=\"%s\",code=\"%dxx\"} %llu\n", label.c_str(),
                    cls, static_cast<unsigned long long>(n));
      out += buf;
    }
  }
  out += "# HELP catalogd_http_request_duration_seconds Time from request read to response written.\n";
  out += "# TYPE catalogd_http_request_duration_seconds histogram\n";
  for (int i = 0; i < http::kRouteCount; ++i) {
    auto count = routes_[i].count.load(std::memory_order_relaxed);
    if (count == 0) continue;
    std::string label(http::RouteLabel(static_cast<http::Route>(i)));
    for (std::size_t b = 0; b < kLatencyBuckets.size(); ++b) {
      std::snprintf(buf, sizeof buf, "catalogd_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                    label.c_str(), kLatencyBuckets[b],
                    static_cast<unsigned long long>(routes_[i].buckets[b].load(std::memory_order_relaxed)));
      out += buf;
    }
    std::snprintf(buf, sizeof buf, "catalogd_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                  label.c_str(), static_cast<unsigned long long>(count));
    out += buf;
    std::snprintf(buf, sizeof buf, "catalogd_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", label.c_str(),
                  routes_[i].sum_micros.load(std::memory_order_relaxed) / 1e6);
    out += buf;
    std::snprintf(buf, sizeof buf, "catalogd_http_request_duration_seconds_count{route=\"%s\"} %llu\n", label.c_str(),
                  static_cast<unsigned long long>(count));
    out += buf;
  }
  std::snprintf(buf, sizeof buf,
                "# HELP catalogd_http_in_flight Requests being handled now.\n# TYPE catalogd_http_in_flight gauge\n"
                "catalogd_http_in_flight %lld\n",
                static_cast<long long>(in_flight_.load(std::memory_order_relaxed)));
  out += buf;
  std::snprintf(buf, sizeof buf,
                "# HELP catalogd_shed_total Requests refused by admission control (503).\n"
                "# TYPE catalogd_shed_total counter\ncatalogd_shed_total %llu\n",
                static_cast<unsigned long long>(shed_.load(std::memory_order_relaxed)));
  out += buf;
  std::snprintf(buf, sizeof buf,
                "# HELP catalogd_consistency_waits_total Reads that carried a consistency token.\n"
                "# TYPE catalogd_consistency_waits_total counter\ncatalogd_consistency_waits_total %llu\n",
                static_cast<unsigned long long>(consistency_waits_.load(std::memory_order_relaxed)));
  out += buf;
  if (extra) extra(out);
  return out;
}

}  // namespace techmoda::metrics
