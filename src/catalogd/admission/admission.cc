#include "catalogd/admission/admission.h"

#include <algorithm>
#include <random>
#include <vector>

namespace techmoda::admission {

std::string_view PriorityLabel(Priority p) {
  switch (p) {
    case Priority::kCritical:
      return "critical";
    case Priority::kNormal:
      return "normal";
    case Priority::kSheddable:
      return "sheddable";
  }
  return "normal";
}

Admission::Admission(AdmissionOptions options) : options_(options), limit_(options.limit) {}

bool Admission::HasSlot(Priority p) const { return in_flight_ < options_.share[static_cast<int>(p)] * limit_.limit(); }

bool Admission::MoreImportantWaiting(Priority p) const {
  for (int i = 0; i <= static_cast<int>(p); ++i)
    if (!queues_[i].empty()) return true;
  return false;
}

void Admission::Acquire(Priority p, Clock::time_point deadline, Grant grant, Clock::time_point now) {
  int cls = static_cast<int>(p);
  enum { kStart, kRefuse, kWait } outcome;
  {
    MutexLock lock(mu_);
    if (!options_.enabled || (HasSlot(p) && !MoreImportantWaiting(p))) {
      ++in_flight_;
      outcome = kStart;
    } else if (static_cast<int>(queues_[cls].size()) < options_.queue_capacity[cls] &&
               options_.queue_timeout[cls].count() > 0 && deadline > now) {
      queues_[cls].push_back(Waiter{std::move(grant), std::min(deadline, now + options_.queue_timeout[cls])});
      outcome = kWait;
    } else {
      outcome = kRefuse;
    }
  }
  if (outcome == kStart) return grant(true);
  if (outcome == kRefuse) {
    shed_full_[cls].fetch_add(1, std::memory_order_relaxed);
    grant(false);
  }
}

void Admission::Finish(double rtt_seconds, bool sample) {
  std::vector<Grant> granted;
  {
    MutexLock lock(mu_);
    if (sample) limit_.OnSample(rtt_seconds, in_flight_);
    --in_flight_;
    // Hand freed slots to waiters, the most important class first.
    for (int cls = 0; cls < kPriorityCount; ++cls) {
      while (!queues_[cls].empty() && HasSlot(static_cast<Priority>(cls))) {
        granted.push_back(std::move(queues_[cls].front().grant));
        queues_[cls].pop_front();
        ++in_flight_;
      }
    }
  }
  for (auto& g : granted) g(true);
}

void Admission::ExpireWaiters(Clock::time_point now) {
  std::vector<Grant> refused;
  {
    MutexLock lock(mu_);
    for (int cls = 0; cls < kPriorityCount; ++cls) {
      auto& q = queues_[cls];
      // Waiters of one class expire roughly in arrival order, but a short client deadline may
      // end one early, so look at all of them.
      for (auto it = q.begin(); it != q.end();) {
        if (it->expires <= now) {
          refused.push_back(std::move(it->grant));
          it = q.erase(it);
          shed_timeout_[cls].fetch_add(1, std::memory_order_relaxed);
        } else {
          ++it;
        }
      }
    }
  }
  for (auto& g : refused) g(false);
}

bool Admission::AdmitNow(Priority p, double draw) {
  // Only listings and searches: refusing a single read from memory costs nearly what serving it
  // does (measured: it only moved the queue), while a listing costs many times its refusal.
  if (!options_.enabled || p != Priority::kSheddable) return true;
  double shed_probability = shed_level_.load(std::memory_order_relaxed);
  if (draw >= shed_probability) return true;
  shed_delay_[static_cast<int>(p)].fetch_add(1, std::memory_order_relaxed);
  return false;
}

bool Admission::AdmitNow(Priority p) {
  thread_local std::minstd_rand rng{std::random_device{}()};
  return AdmitNow(p, std::uniform_real_distribution<double>(0.0, 1.0)(rng));
}

namespace {
// Raises `slot` to `value` if it is larger (lock-free).
void RaiseTo(std::atomic<double>& slot, double value) {
  double seen = slot.load(std::memory_order_relaxed);
  while (value > seen && !slot.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}
}  // namespace

void Admission::ObserveNetworkDelay(double seconds) { RaiseTo(worst_delay_, seconds); }

void Admission::ObserveNetworkBusy(double fraction) { RaiseTo(busiest_, std::clamp(fraction, 0.0, 1.0)); }

void Admission::AdjustShedding() {
  double busiest = busiest_.exchange(0, std::memory_order_relaxed);
  double average = busy_average_.load(std::memory_order_relaxed);
  busy_average_.store(average + 0.05 * (busiest - average), std::memory_order_relaxed);  // ~1 s at 50 ms
  double worst = worst_delay_.exchange(0, std::memory_order_relaxed);
  last_worst_delay_.store(worst, std::memory_order_relaxed);
  double target = std::chrono::duration<double>(options_.target_delay).count();
  double level = shed_level_.load(std::memory_order_relaxed);
  // Raise quickly, in proportion to the overshoot, and lower slowly: shedding that stops too soon
  // lets the backlog build again. Between half the target and the target, hold.
  // Only a delay that lasts two periods (100 ms) counts: a thread descheduled once by a busy machine
  // is not overload, and refusing for it would fail requests that had capacity.
  over_target_streak_ = worst > target ? over_target_streak_ + 1 : 0;
  if (over_target_streak_ >= 2)
    level += std::min(0.25, 0.05 * worst / target);
  else if (worst < target / 2)
    level -= 0.02;
  shed_level_.store(std::clamp(level, 0.0, 1.0), std::memory_order_relaxed);
}

AdmissionSnapshot Admission::Snapshot() const {
  AdmissionSnapshot s;
  {
    MutexLock lock(mu_);
    s.limit = limit_.limit();
    s.in_flight = in_flight_;
    for (int i = 0; i < kPriorityCount; ++i) s.queued[i] = static_cast<int>(queues_[i].size());
  }
  for (int i = 0; i < kPriorityCount; ++i) {
    s.shed_full[i] = shed_full_[i].load(std::memory_order_relaxed);
    s.shed_timeout[i] = shed_timeout_[i].load(std::memory_order_relaxed);
    s.shed_delay[i] = shed_delay_[i].load(std::memory_order_relaxed);
  }
  s.shed_level = shed_level_.load(std::memory_order_relaxed);
  s.network_delay_s = last_worst_delay_.load(std::memory_order_relaxed);
  s.network_busy = busy_average_.load(std::memory_order_relaxed);
  s.utilisation = std::max(s.limit > 0 ? s.in_flight / s.limit : 0.0, s.network_busy);
  // Shedding counts as load in proportion: a moment's shedding of a few listings is not a reason to
  // scale, sustained shedding of most of them is.
  s.utilisation = std::max(s.utilisation, s.shed_level);
  return s;
}

void Admission::CollectMetrics(metrics::Families& out) const {
  using metrics::AddGauge;
  AdmissionSnapshot s = Snapshot();
  AddGauge(out, "catalogd_admission_limit", "Adaptive concurrency limit of database-bound requests.", s.limit);
  AddGauge(out, "catalogd_admission_in_flight", "Database-bound requests running under the limit.", s.in_flight);
  auto& queued = metrics::AddFamily(out, "catalogd_admission_queued", "Requests waiting for a slot, by priority.",
                                    prometheus::MetricType::Gauge);
  auto& shed = metrics::AddFamily(out, "catalogd_shed_total",
                                  "Requests refused by admission control (503), by priority and reason.",
                                  prometheus::MetricType::Counter);
  for (int i = 0; i < kPriorityCount; ++i) {
    std::string p(PriorityLabel(static_cast<Priority>(i)));
    metrics::AddSample(queued, s.queued[i], {{"priority", p}});
    metrics::AddSample(shed, static_cast<double>(s.shed_full[i]), {{"priority", p}, {"reason", "limit"}});
    metrics::AddSample(shed, static_cast<double>(s.shed_timeout[i]), {{"priority", p}, {"reason", "queue_timeout"}});
    metrics::AddSample(shed, static_cast<double>(s.shed_delay[i]), {{"priority", p}, {"reason", "network_delay"}});
  }
  AddGauge(out, "catalogd_shed_level", "Share of listings and searches refused for network-thread delay (0..1).",
           s.shed_level);
  AddGauge(out, "catalogd_network_delay_seconds", "Worst lateness of a network thread in the last 50 ms.",
           s.network_delay_s);
  AddGauge(out, "catalogd_network_busy", "Working share of the busiest network thread, averaged over about 1 s.",
           s.network_busy);
  AddGauge(out, "catalogd_utilisation", "Load against capacity (1 = at the limit); the autoscaler's signal.",
           s.utilisation);
}

}  // namespace techmoda::admission
