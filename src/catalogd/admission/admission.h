// Admission control: which requests start now, which wait a little, and which are refused at once
// (503 with Retry-After), by priority class. Two signals, because catalogd has two kinds of work:
// - requests that wait on the database run on the worker pool under an adaptive concurrency limit
//   (GradientLimit), with a bounded queue per class that the most important class leaves first;
// - reads answered from memory run on the network threads, where the signal is how late those
//   threads are (the queueing delay a new request meets). Above the target delay, listings and
//   searches are shed, in a share that follows the delay; single reads and orders never by this
//   signal (in a region, HAProxy's priority queue bounds them: docs/runbooks/surge.md).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "catalogd/admission/limiter.h"
#include "techmoda/metric_families.h"
#include "techmoda/mutex.h"

namespace techmoda::admission {

// The order in which work is kept under overload: orders first, listings last.
enum class Priority { kCritical = 0, kNormal = 1, kSheddable = 2 };
inline constexpr int kPriorityCount = 3;
std::string_view PriorityLabel(Priority p);

// (A request's class is its route's: the route table in catalogd/http/routes.cc.)

struct AdmissionOptions {
  bool enabled = true;
  GradientOptions limit;
  // A class may start a request only while fewer than share × limit database-bound requests run,
  // so the last part of the limit is kept for orders.
  std::array<double, kPriorityCount> share{1.0, 0.8, 0.5};
  // How many requests of each class may wait for a slot, and for how long at most (never past the
  // request's own deadline). Beyond either, the answer is 503 at once.
  std::array<int, kPriorityCount> queue_capacity{256, 64, 16};
  std::array<std::chrono::milliseconds, kPriorityCount> queue_timeout{
      std::chrono::milliseconds(1000), std::chrono::milliseconds(100), std::chrono::milliseconds(20)};
  // Network threads: the queueing delay above which reads from memory start to be shed.
  std::chrono::milliseconds target_delay{10};
};

// Counts of refusals, by class and reason, and the controller's state; for /metrics and the autoscaler.
struct AdmissionSnapshot {
  double limit = 0;
  int in_flight = 0;  // database-bound requests running
  std::array<int, kPriorityCount> queued{};
  std::array<std::uint64_t, kPriorityCount> shed_full{};     // no slot and no room to wait
  std::array<std::uint64_t, kPriorityCount> shed_timeout{};  // waited, got no slot in time
  std::array<std::uint64_t, kPriorityCount> shed_delay{};    // network threads too late
  double shed_level = 0;       // share of listings refused for network-thread delay (0..1)
  double network_delay_s = 0;  // the worst probe of the last adjustment period
  double network_busy = 0;     // busiest network thread's working share, averaged over about 1 s
  // max(in_flight / limit, network_busy, shed_level): the autoscaler's signal.
  double utilisation = 0;
};

// Thread-safe.
class Admission {
 public:
  using Clock = std::chrono::steady_clock;
  // Called exactly once, from whichever thread decides: true when the request may start (the caller
  // must then call Finish when it is done), false when it is refused.
  using Grant = std::function<void(bool admitted)>;

  explicit Admission(AdmissionOptions options = {});

  // Database-bound work: grants at once when the class has a slot and no request of the same or a
  // more important class is waiting; else queues (bounded in count and time); else refuses.
  void Acquire(Priority p, Clock::time_point deadline, Grant grant, Clock::time_point now = Clock::now());
  // A granted request finished after `rtt_seconds`; the slot goes to the most important waiter.
  // `sample` false: its time measured an outage, not the load (it waited for a database to come
  // back, as writes do through a failover), so it does not teach the limit: shrinking the limit
  // then would refuse orders that would have waited and succeeded.
  void Finish(double rtt_seconds, bool sample = true);
  // Refuses waiters whose time is up. Call every few milliseconds.
  void ExpireWaiters(Clock::time_point now = Clock::now());

  // Work answered on a network thread: true to serve it, false to shed it now. `draw` in [0, 1)
  // decides the probabilistic part (tests pass it; the server uses a fast random number).
  bool AdmitNow(Priority p, double draw);
  bool AdmitNow(Priority p);
  // One measurement of how late a network thread ran a timer (any thread).
  void ObserveNetworkDelay(double seconds);
  // The share of the last period a network thread spent working (0..1; any thread).
  void ObserveNetworkBusy(double fraction);
  // Compares the worst delay since the last call with the target and moves the shed level. Call
  // every 50 ms.
  void AdjustShedding();

  // Counts a request refused by the server's hard in-flight cap (before any of the above).
  void CountRefusedAtCap(Priority p) { shed_full_[static_cast<int>(p)].fetch_add(1, std::memory_order_relaxed); }

  AdmissionSnapshot Snapshot() const;
  // Appends the admission series to a Prometheus text exposition.
  void CollectMetrics(metrics::Families& out) const;

 private:
  struct Waiter {
    Grant grant;
    Clock::time_point expires;
  };
  bool HasSlot(Priority p) const REQUIRES(mu_);
  bool MoreImportantWaiting(Priority p) const REQUIRES(mu_);

  const AdmissionOptions options_;
  mutable Mutex mu_;
  GradientLimit limit_ GUARDED_BY(mu_);
  int in_flight_ GUARDED_BY(mu_) = 0;
  std::array<std::deque<Waiter>, kPriorityCount> queues_ GUARDED_BY(mu_);
  std::array<std::atomic<std::uint64_t>, kPriorityCount> shed_full_{};
  std::array<std::atomic<std::uint64_t>, kPriorityCount> shed_timeout_{};
  std::array<std::atomic<std::uint64_t>, kPriorityCount> shed_delay_{};
  std::atomic<double> shed_level_{0};
  std::atomic<double> worst_delay_{0};       // since the last AdjustShedding
  std::atomic<double> last_worst_delay_{0};  // of the last period, for metrics
  std::atomic<double> busiest_{0};           // since the last AdjustShedding
  std::atomic<double> busy_average_{0};
  int over_target_streak_ = 0;  // periods in a row above the target; only AdjustShedding's caller
};

}  // namespace techmoda::admission
