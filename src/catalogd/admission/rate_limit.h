// Per-client rate limits: one token bucket per client (its bearer token, or its address when it
// sends none), with a rate and burst set per role. Over the limit: 429 with Retry-After.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "catalogd/auth/auth.h"
#include "techmoda/metric_families.h"
#include "techmoda/mutex.h"
#include "techmoda/rate_limit.h"
#include "techmoda/status.h"

namespace techmoda::admission {

using techmoda::ParseRateLimit;
using techmoda::RateLimit;

// Thread-safe.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  // Indexed by Role: anonymous, client, admin.
  explicit RateLimiter(std::array<RateLimit, 3> per_role);

  // Takes one token from `client`'s bucket. nullopt: allowed; else the whole seconds to wait (>= 1).
  std::optional<int> Take(auth::Role role, std::string_view client, Clock::time_point now = Clock::now());

  std::uint64_t limited(auth::Role role) const { return limited_[static_cast<int>(role)].load(); }
  // Appends catalogd_rate_limited_total by role.
  void CollectMetrics(metrics::Families& out) const;

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
  };
  struct Shard {
    Mutex mu;
    std::unordered_map<std::string, Bucket> buckets GUARDED_BY(mu);
  };
  static constexpr int kShards = 16;
  static constexpr std::size_t kMaxBucketsPerShard = 20000;

  const std::array<RateLimit, 3> per_role_;
  std::array<Shard, kShards> shards_;
  std::array<std::atomic<std::uint64_t>, 3> limited_{};
};

}  // namespace techmoda::admission
