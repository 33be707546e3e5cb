#include "catalogd/admission/limiter.h"

#include <algorithm>
#include <cmath>

namespace techmoda::admission {

GradientLimit::GradientLimit(GradientOptions options) : options_(options), limit_(options.initial_limit) {
  limit_ = std::clamp(limit_, options_.min_limit, options_.max_limit);
}

double GradientLimit::OnSample(double rtt_seconds, int in_flight) {
  if (rtt_seconds <= 0) rtt_seconds = 1e-6;
  ++samples_;
  // A warm-up average over the first samples, then an exponential one.
  double n = std::min<double>(static_cast<double>(samples_), options_.long_window);
  long_rtt_ = samples_ == 1 ? rtt_seconds : long_rtt_ + (rtt_seconds - long_rtt_) / n;
  // After a long slow period the average would keep the limit down for a long time once latency
  // recovers; let it fall quickly towards the present instead.
  if (long_rtt_ / rtt_seconds > 2) long_rtt_ *= 0.95;
  // Too little traffic to tell whether the limit is right: a limit that is not reached is not
  // evidence, and growing it without load would leave it far above capacity when load arrives.
  if (in_flight < limit_ / 2) return limit_;
  double gradient = std::clamp(options_.rtt_tolerance * long_rtt_ / rtt_seconds, 0.5, 1.0);
  double queue_allowance = std::sqrt(limit_);
  double estimate = limit_ * gradient + queue_allowance;
  limit_ = limit_ * (1 - options_.smoothing) + estimate * options_.smoothing;
  limit_ = std::clamp(limit_, options_.min_limit, options_.max_limit);
  return limit_;
}

}  // namespace techmoda::admission
