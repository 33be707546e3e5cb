#include "catalogd/fence/active_region.h"

#include <boost/json.hpp>

#include "common/log.h"

namespace json = boost::json;

namespace techmoda::fence {

namespace {
using Clock = std::chrono::steady_clock;
// A renewal counts from when it was sent, and the instance stops writing this long before its
// lease could lapse at etcd: clocks on two machines run at slightly different rates.
constexpr auto kSafetyMargin = std::chrono::milliseconds(1000);
}  // namespace

ActiveRegion::ActiveRegion(ActiveRegionOptions o)
    : o_(std::move(o)), client_(o_.endpoints, std::chrono::milliseconds(std::max(200, o_.lease_ttl_s * 1000 / 10))) {}

ActiveRegion::~ActiveRegion() { Stop(); }

void ActiveRegion::Start(std::chrono::milliseconds first_view) {
  thread_ = std::thread([this] { Loop(); });
  MutexLock lock(mu_);
  cv_.WaitFor(mu_, first_view, [this] {
    mu_.AssertHeld();
    return have_view_;
  });
}

void ActiveRegion::Stop() {
  if (stop_.exchange(true)) return;
  cv_.NotifyAll();
  if (thread_.joinable()) thread_.join();
  // Leave the epoch at once rather than when the lease lapses (a planned stop).
  if (lease_) client_.Revoke(lease_);
}

Clock::time_point ActiveRegion::LeaseValidUntil() const {
  return renewed_at_ + std::chrono::seconds(o_.lease_ttl_s) - kSafetyMargin;
}

std::chrono::milliseconds ActiveRegion::Period() const {
  return std::chrono::milliseconds(std::max(200, o_.lease_ttl_s * 1000 / 10));
}

bool ActiveRegion::Fresh() const {
  // A healthy instance renews every period in a few milliseconds. A round that fails, however long it
  // takes to fail (each unreachable member costs a timeout), must not extend the time a cut-off
  // instance keeps acknowledging: the view counts only if renewed within a period, a call's timeout
  // and a little slack.
  return Clock::now() - renewed_at_ < 2 * Period() + std::chrono::milliseconds(200);
}

bool ActiveRegion::LeaseAlive() const {
  MutexLock lock(mu_);
  return have_view_ && !unreachable_ && Fresh() && Clock::now() < LeaseValidUntil();
}

Active ActiveRegion::active() const {
  MutexLock lock(mu_);
  return active_;
}

Status ActiveRegion::BeginWrite() {
  {
    MutexLock lock(mu_);
    std::string why;
    if (!have_view_)
      why = "this instance does not know yet which region is active (the global etcd has not answered)";
    else if (unreachable_ || !Fresh() || Clock::now() >= LeaseValidUntil())
      why = "this instance cannot renew its lease on epoch " + std::to_string(active_.epoch) +
            ": the global etcd's majority does not answer, so it takes no writes (region fenced)";
    else if (active_.state != EpochState::kActive)
      why = "a planned region failover is under way (epoch " + std::to_string(active_.epoch) + ", region " +
            active_.region + " " + std::string(EpochStateName(active_.state)) + "); writes resume in a few seconds";
    if (!why.empty()) {
      ++fenced_;
      return Status::Unavailable(why);
    }
  }
  ++in_flight_;
  return Status::Ok();
}

Status ActiveRegion::EndWrite() {
  --in_flight_;
  if (LeaseAlive()) return Status::Ok();
  ++unacknowledged_;
  return Status::Unavailable("this instance's lease lapsed while the write was under way; its outcome is unknown");
}

void ActiveRegion::Loop() {
  auto period = Period();
  while (!stop_) {
    auto started = Clock::now();
    Round();
    MutexLock lock(mu_);
    cv_.WaitUntil(mu_, started + period, [this] { return stop_.load(); });
  }
}

void ActiveRegion::Round() {
  // Any failed round fences at once: a region that cannot reach the majority stops acknowledging
  // within one round (period + timeout), not only when its lease lapses; the next good round lifts it.
  bool ok = false;
  struct Mark {
    ActiveRegion* self;
    bool* ok;
    ~Mark() {
      MutexLock lock(self->mu_);
      self->unreachable_ = !*ok;
    }
  } mark{this, &ok};
  auto sent = Clock::now();
  if (lease_) {
    auto ttl = client_.KeepAlive(lease_);
    if (!ttl.ok() || *ttl <= 0) {
      if (!ttl.ok()) {
        ++renew_failures_;
        log::Warn("fence.renew_failed", {{"error", ttl.status().detail()}});
        return;  // try again next round; the lease may still be alive at etcd
      }
      log::Warn("fence.lease_expired", {{"lease", lease_}});
      lease_ = 0;
      registered_epoch_ = -1;
    }
  }
  if (!lease_) {
    sent = Clock::now();
    auto id = client_.Grant(o_.lease_ttl_s);
    if (!id.ok()) {
      ++renew_failures_;
      log::Warn("fence.grant_failed", {{"error", id.status().detail()}});
      return;
    }
    lease_ = *id;
  }
  auto kv = client_.Get(o_.prefix + "/active");
  if (!kv.ok() || !kv->has_value()) {
    if (!kv.ok()) ++renew_failures_;
    log::Warn("fence.no_active_region", {{"error", kv.ok() ? "the key is absent" : kv.status().detail()}});
    return;
  }
  auto a = ParseActiveRegionRecord((*kv)->value);
  if (!a.ok()) {
    log::Error("fence.bad_active_region", {{"error", a.status().detail()}});
    return;
  }
  a->mod_revision = (*kv)->mod_revision;
  // Join the epoch once no write of ours started under the previous one is still running (a planned
  // failover waits for every instance to join before it reads the primary's last position).
  if (a->epoch != registered_epoch_ && in_flight_.load() == 0) {
    std::string value = json::serialize(json::object{{"region", o_.region}, {"zone", o_.zone}});
    if (client_.Put(o_.prefix + "/leases/" + std::to_string(a->epoch) + "/" + o_.instance, value, lease_).ok()) {
      if (registered_epoch_ >= 0)
        client_.Delete(o_.prefix + "/leases/" + std::to_string(registered_epoch_) + "/" + o_.instance);
      registered_epoch_ = a->epoch;
    }
  }
  bool changed;
  {
    MutexLock lock(mu_);
    changed = !have_view_ || active_.region != a->region;
    if (active_.epoch != a->epoch || active_.state != a->state)
      log::Info("fence.epoch", {{"region", a->region}, {"epoch", a->epoch}, {"state", EpochStateName(a->state)}});
    active_ = *a;
    renewed_at_ = sent;
    have_view_ = true;
  }
  ok = true;
  cv_.NotifyAll();
  if (changed && o_.on_change) o_.on_change(*a);
}

void ActiveRegion::CollectMetrics(metrics::Families& out) const {
  Active a = active();
  metrics::AddGauge(out, "catalogd_fence_lease_alive", "1 while this instance holds its lease on the active epoch.",
                    LeaseAlive() ? 1 : 0);
  metrics::AddGauge(out, "catalogd_active_epoch", "The epoch of the active region as last read from the global etcd.",
                    static_cast<double>(a.epoch),
                    {{"region", a.region}, {"state", std::string(EpochStateName(a.state))}});
  metrics::AddCounter(out, "catalogd_writes_fenced_total",
                      "Writes refused because the lease lapsed or a failover was under way.",
                      static_cast<double>(fenced_.load()));
  metrics::AddCounter(out, "catalogd_writes_unacknowledged_total",
                      "Writes whose lease lapsed while they ran (answered 503).",
                      static_cast<double>(unacknowledged_.load()));
  metrics::AddCounter(out, "catalogd_fence_renew_failures_total",
                      "Lease renewals or reads of the active region that failed.",
                      static_cast<double>(renew_failures_.load()));
}

}  // namespace techmoda::fence
