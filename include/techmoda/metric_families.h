// Prometheus series, with one writer: every /metrics of the project (catalogd's, the autoscaler's, the
// canary's, the responder's) builds prometheus-cpp metric families and has prometheus-cpp's text
// serializer write them. Sources append their families; nobody writes the exposition format by hand.
#pragma once

#include <prometheus/metric_family.h>

#include <deque>
#include <string>
#include <utility>
#include <vector>

namespace techmoda::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;
// A deque: a family added stays where it is while more are added after it.
using Families = std::deque<prometheus::MetricFamily>;

// Appends a family of `type` and returns it, to add samples to.
prometheus::MetricFamily& AddFamily(Families& out, std::string name, std::string help, prometheus::MetricType type);

// One sample of a counter or gauge family (by the family's type).
void AddSample(prometheus::MetricFamily& family, double value, const Labels& labels = {});

// A family with one sample: the common case of a process-wide figure.
void AddCounter(Families& out, std::string name, std::string help, double value, const Labels& labels = {});
void AddGauge(Families& out, std::string name, std::string help, double value, const Labels& labels = {});

// One histogram sample: `bounds` and the count of observations at or under each (cumulative), the
// total count and sum; the +Inf bucket is the total.
void AddHistogramSample(prometheus::MetricFamily& family, const std::vector<double>& bounds,
                        const std::vector<std::uint64_t>& cumulative, std::uint64_t count, double sum,
                        const Labels& labels = {});

// The exposition text (version 0.0.4) of `families`.
std::string Text(const Families& families);

}  // namespace techmoda::metrics
