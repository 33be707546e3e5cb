// Which region is active, and whether this instance may acknowledge writes: a lease in the global
// etcd (A, B and a witness) on the epoch in which a region is active. An instance writes only while
// its lease is alive, so a region cut off from the global etcd's majority stops acknowledging writes
// by itself, before the majority lets the lease lapse and another region is promoted
// (docs/runbooks/region-loss.md). Every instance, in any region, writes to the active region's
// database; when the active region changes, `on_change` retargets the pools and the copy's feed.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/etcd_client.h"
#include "techmoda/active_region.h"
#include "techmoda/metric_families.h"
#include "techmoda/mutex.h"
#include "techmoda/status.h"

namespace techmoda::fence {

using Active = ActiveRegionRecord;

struct ActiveRegionOptions {
  std::vector<std::string> endpoints;  // the global etcd's members, host:port
  std::string prefix;                  // "/techmoda/<topology>"
  std::string region, zone, instance;  // this instance
  int lease_ttl_s = 5;
  // Called on the watcher's thread when the active region changes (and once at the start).
  std::function<void(const Active&)> on_change;
};

class ActiveRegion {
 public:
  explicit ActiveRegion(ActiveRegionOptions o);
  ~ActiveRegion();
  // Waits up to `first_view` for the first view of the active region (so writes are not refused
  // at start), then keeps it fresh on its own thread.
  void Start(std::chrono::milliseconds first_view);
  void Stop();

  // Before a write: Ok when the lease is alive, the epoch known and its state active. Counts the
  // write as in flight until EndWrite.
  Status BeginWrite();
  // After it: Ok when the lease was still alive when the write finished (its outcome may be
  // acknowledged); otherwise the caller answers that the outcome is unknown.
  Status EndWrite();

  Active active() const;
  bool LeaseAlive() const;
  void CollectMetrics(metrics::Families& out) const;

 private:
  void Loop();
  void Round();
  std::chrono::steady_clock::time_point LeaseValidUntil() const REQUIRES(mu_);
  std::chrono::milliseconds Period() const;
  bool Fresh() const REQUIRES(mu_);

  ActiveRegionOptions o_;
  etcd::Client client_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  mutable Mutex mu_;
  CondVar cv_;
  Active active_ GUARDED_BY(mu_);
  long long lease_ = 0;                                                 // the watcher's thread only
  long long registered_epoch_ = -1;                                     // the watcher's thread only
  std::chrono::steady_clock::time_point renewed_at_ GUARDED_BY(mu_){};  // start of the last good renewal
  bool have_view_ GUARDED_BY(mu_) = false;
  bool unreachable_ GUARDED_BY(mu_) = false;  // the last round failed
  std::atomic<int> in_flight_{0};
  std::atomic<std::uint64_t> fenced_{0}, unacknowledged_{0}, renew_failures_{0};
};

}  // namespace techmoda::fence
