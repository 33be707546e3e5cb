#include "catalogd/admission/rate_limit.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>

namespace techmoda::admission {
RateLimiter::RateLimiter(std::array<RateLimit, 3> per_role) : per_role_(per_role) {}

std::optional<int> RateLimiter::Take(auth::Role role, std::string_view client, Clock::time_point now) {
  const RateLimit& limit = per_role_[static_cast<int>(role)];
  if (limit.per_second <= 0) return std::nullopt;
  Shard& shard = shards_[std::hash<std::string_view>{}(client) % kShards];
  MutexLock lock(shard.mu);
  auto it = shard.buckets.find(std::string(client));
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= kMaxBucketsPerShard) {
      // Forget clients whose buckets have refilled: they are indistinguishable from new ones.
      for (auto b = shard.buckets.begin(); b != shard.buckets.end();) {
        double age = std::chrono::duration<double>(now - b->second.updated).count();
        b = b->second.tokens + age * limit.per_second >= limit.burst ? shard.buckets.erase(b) : std::next(b);
      }
    }
    it = shard.buckets.emplace(std::string(client), Bucket{limit.burst, now}).first;
  }
  Bucket& b = it->second;
  double elapsed = std::chrono::duration<double>(now - b.updated).count();
  if (elapsed > 0) {
    b.tokens = std::min(limit.burst, b.tokens + elapsed * limit.per_second);
    b.updated = now;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return std::nullopt;
  }
  limited_[static_cast<int>(role)].fetch_add(1, std::memory_order_relaxed);
  return std::max(1, static_cast<int>(std::ceil((1 - b.tokens) / limit.per_second)));
}

void RateLimiter::CollectMetrics(metrics::Families& out) const {
  auto& f = metrics::AddFamily(out, "catalogd_rate_limited_total",
                               "Requests refused with 429 because the client was over its rate, by role.",
                               prometheus::MetricType::Counter);
  const char* roles[] = {"anonymous", "client", "admin"};
  for (int i = 0; i < 3; ++i)
    metrics::AddSample(f, static_cast<double>(limited_[i].load(std::memory_order_relaxed)), {{"role", roles[i]}});
}

}  // namespace techmoda::admission
