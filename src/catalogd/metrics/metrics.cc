#include "catalogd/metrics/metrics.h"

#include <cstdio>

namespace techmoda::metrics {

Metrics::Metrics(std::vector<std::string> route_labels) : route_labels_(std::move(route_labels)) {
  for (std::size_t i = 0; i < route_labels_.size(); ++i) routes_.push_back(std::make_unique<PerRoute>());
}

void Metrics::ObserveRequest(std::size_t route, int status, double seconds) {
  if (route >= routes_.size()) return;
  PerRoute& r = *routes_[route];
  int cls = status / 100;
  if (cls < 1 || cls > 5) cls = 5;
  r.by_class[cls].fetch_add(1, std::memory_order_relaxed);
  r.latency.Observe(seconds);
}

void Histogram::Observe(double seconds) {
  // One bucket per observation (the first bound it fits under); Render makes them cumulative.
  std::size_t i = 0;
  while (i < bounds_.size() && seconds > bounds_[i]) ++i;
  if (i < bounds_.size()) buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void Histogram::Render(const std::string& name, const std::string& labels, std::string& out) const {
  char buf[320];
  std::string sep = labels.empty() ? "" : ",";
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < bounds_.size(); ++b) {
    cumulative += buckets_[b].load(std::memory_order_relaxed);
    std::snprintf(buf, sizeof buf, "%s_bucket{%s%sle=\"%g\"} %llu\n", name.c_str(), labels.c_str(), sep.c_str(),
                  bounds_[b], static_cast<unsigned long long>(cumulative));
    out += buf;
  }
  auto count = static_cast<unsigned long long>(count_.load(std::memory_order_relaxed));
  std::string braces = labels.empty() ? "" : "{" + labels + "}";
  std::snprintf(buf, sizeof buf, "%s_bucket{%s%sle=\"+Inf\"} %llu\n%s_sum%s %.6f\n%s_count%s %llu\n", name.c_str(),
                labels.c_str(), sep.c_str(), count, name.c_str(), braces.c_str(),
                sum_micros_.load(std::memory_order_relaxed) / 1e6, name.c_str(), braces.c_str(), count);
  out += buf;
}

std::string Metrics::Render(const std::function<void(std::string&)>& extra) const {
  std::string out;
  char buf[256];
  out += "# HELP catalogd_http_requests_total Requests answered, by route and status class.\n";
  out += "# TYPE catalogd_http_requests_total counter\n";
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const std::string& label = route_labels_[i];
    for (int cls = 1; cls <= 5; ++cls) {
      auto n = routes_[i]->by_class[cls].load(std::memory_order_relaxed);
      if (n == 0) continue;
      std::snprintf(buf, sizeof buf, "catalogd_http_requests_total{route=\"%s\",code=\"%dxx\"} %llu\n", label.c_str(),
                    cls, static_cast<unsigned long long>(n));
      out += buf;
    }
  }
  out += "# HELP catalogd_http_request_duration_seconds Time from request read to response written.\n";
  out += "# TYPE catalogd_http_request_duration_seconds histogram\n";
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    if (routes_[i]->latency.count() == 0) continue;
    routes_[i]->latency.Render("catalogd_http_request_duration_seconds", "route=\"" + route_labels_[i] + "\"", out);
  }
  std::snprintf(buf, sizeof buf,
                "# HELP catalogd_http_in_flight Requests being handled now.\n# TYPE catalogd_http_in_flight gauge\n"
                "catalogd_http_in_flight %lld\n",
                static_cast<long long>(in_flight_.load(std::memory_order_relaxed)));
  out += buf;
  std::snprintf(buf, sizeof buf,
                "# HELP catalogd_consistency_waits_total Reads that carried a consistency token.\n"
                "# TYPE catalogd_consistency_waits_total counter\ncatalogd_consistency_waits_total %llu\n",
                static_cast<unsigned long long>(consistency_waits_.load(std::memory_order_relaxed)));
  out += buf;
  std::snprintf(buf, sizeof buf,
                "# HELP catalogd_stale_reads_total Reads answered from data older than the freshness bound.\n"
                "# TYPE catalogd_stale_reads_total counter\ncatalogd_stale_reads_total %llu\n",
                static_cast<unsigned long long>(stale_reads_.load(std::memory_order_relaxed)));
  out += buf;
  out +=
      "# HELP catalogd_copy_propagation_seconds From a transaction's commit on the primary to its being visible in "
      "this instance's copy.\n# TYPE catalogd_copy_propagation_seconds histogram\n";
  propagation_.Render("catalogd_copy_propagation_seconds", "", out);
  if (extra) extra(out);
  return out;
}

}  // namespace techmoda::metrics
