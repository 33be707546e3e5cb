#include "catalogd/metrics/metrics.h"

#include <gtest/gtest.h>

namespace techmoda::metrics {
namespace {

TEST(Metrics, RendersCountersAndCumulativeHistogram) {
  Metrics m({"unmatched", "GET /v1/products/{id}"});
  m.ObserveRequest(1, 200, 0.0007);
  m.ObserveRequest(1, 404, 0.02);
  m.ObserveRequest(1, 503, 3.0);
  std::string text = m.Render([](Families& out) { AddGauge(out, "extra_gauge", "An extra.", 1); });
  EXPECT_NE(text.find("catalogd_http_requests_total{code=\"2xx\",route=\"GET /v1/products/{id}\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("{code=\"4xx\",route=\"GET /v1/products/{id}\"} 1"), std::string::npos);
  EXPECT_NE(text.find("{code=\"5xx\",route=\"GET /v1/products/{id}\"} 1"), std::string::npos);
  EXPECT_NE(text.find("le=\"0.001\"} 1"), std::string::npos);
  EXPECT_NE(text.find("le=\"0.025\"} 2"), std::string::npos);
  EXPECT_NE(text.find("le=\"+Inf\"} 3"), std::string::npos);
  EXPECT_NE(text.find("extra_gauge 1"), std::string::npos);
  EXPECT_EQ(text.find("POST /v1/orders"), std::string::npos);  // no series for routes never used
}

}  // namespace
}  // namespace techmoda::metrics
