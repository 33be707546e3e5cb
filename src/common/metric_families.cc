#include "techmoda/metric_families.h"

#include <prometheus/text_serializer.h>

#include <limits>

namespace techmoda::metrics {

namespace {
std::vector<prometheus::ClientMetric::Label> ToLabels(const Labels& labels) {
  std::vector<prometheus::ClientMetric::Label> out;
  out.reserve(labels.size());
  for (const auto& [name, value] : labels) out.push_back({name, value});
  return out;
}
}  // namespace

prometheus::MetricFamily& AddFamily(Families& out, std::string name, std::string help, prometheus::MetricType type) {
  out.push_back({std::move(name), std::move(help), type, {}});
  return out.back();
}

void AddSample(prometheus::MetricFamily& family, double value, const Labels& labels) {
  prometheus::ClientMetric m;
  m.label = ToLabels(labels);
  if (family.type == prometheus::MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  family.metric.push_back(std::move(m));
}

void AddCounter(Families& out, std::string name, std::string help, double value, const Labels& labels) {
  AddSample(AddFamily(out, std::move(name), std::move(help), prometheus::MetricType::Counter), value, labels);
}

void AddGauge(Families& out, std::string name, std::string help, double value, const Labels& labels) {
  AddSample(AddFamily(out, std::move(name), std::move(help), prometheus::MetricType::Gauge), value, labels);
}

void AddHistogramSample(prometheus::MetricFamily& family, const std::vector<double>& bounds,
                        const std::vector<std::uint64_t>& cumulative, std::uint64_t count, double sum,
                        const Labels& labels) {
  prometheus::ClientMetric m;
  m.label = ToLabels(labels);
  m.histogram.sample_count = count;
  m.histogram.sample_sum = sum;
  for (std::size_t i = 0; i < bounds.size() && i < cumulative.size(); ++i)
    m.histogram.bucket.push_back({cumulative[i], bounds[i]});
  m.histogram.bucket.push_back({count, std::numeric_limits<double>::infinity()});
  family.metric.push_back(std::move(m));
}

std::string Text(const Families& families) {
  return prometheus::TextSerializer().Serialize(
      std::vector<prometheus::MetricFamily>(families.begin(), families.end()));
}

}  // namespace techmoda::metrics
