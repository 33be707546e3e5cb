// An adaptive concurrency limit that follows measured latency: the gradient algorithm of Netflix's
// concurrency-limits (Gradient2). While requests take no longer than usual the limit grows by a
// small queue allowance; when they take longer, it shrinks in proportion.
#pragma once

#include <cstdint>

namespace techmoda::admission {

struct GradientOptions {
  double initial_limit = 32;
  double min_limit = 4;
  double max_limit = 512;
  // How much of each new estimate the limit takes (0..1]; the rest is the old limit.
  double smoothing = 0.2;
  // How much slower than the long-term average a request may be before the limit shrinks.
  double rtt_tolerance = 1.5;
  // The long-term average forgets over about this many samples.
  int long_window = 600;
};

// Not thread-safe: the caller serialises OnSample (Admission holds its lock).
class GradientLimit {
 public:
  explicit GradientLimit(GradientOptions options = {});

  // One finished request: `rtt_seconds` from admission to answer, `in_flight` the requests in
  // progress when it finished (itself included). Returns the new limit.
  double OnSample(double rtt_seconds, int in_flight);

  double limit() const { return limit_; }

 private:
  GradientOptions options_;
  double limit_;
  double long_rtt_ = 0;  // exponential average over about long_window samples
  std::int64_t samples_ = 0;
};

}  // namespace techmoda::admission
