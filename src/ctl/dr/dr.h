// Region failover (docs/runbooks/region-loss.md): which region is active, how far behind the others
// are (the RPO meter), and moving the active region: planned (drain writes, wait until the target
// has everything, promote it, turn the old one into its standby: zero loss) or forced (the active
// region is gone: bump the epoch, wait until its leases lapse, promote).
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ctl/base/intents.h"
#include "ctl/base/progress.h"
#include "ctl/topology/topology.h"
#include "techmoda/active_region.h"
#include "techmoda/status.h"

namespace techmoda::ctl::dr {

// A region's database cluster: the active history's primary, a standby cluster of it, or none answers.
enum class RegionRole { kPrimary, kStandby, kDown };
// "primary", "standby", "down".
std::string_view RegionRoleName(RegionRole r);

struct RegionView {
  std::string name;
  RegionRole role = RegionRole::kDown;
  std::string leader;        // zone of the (standby) leader
  long long lsn = -1;        // primary: its WAL position; standby: what its leader has replayed
  long long lag_bytes = -1;  // standby: behind the active region's primary (the RPO meter, bytes)
  double lag_seconds = -1;   // standby: the primary's view of its replay lag (pg_stat_replication)
};

struct DrStatus {
  std::string active_region;
  EpochState state = EpochState::kActive;
  long long epoch = 0;
  std::string global_error;                         // why the global etcd could not be read
  std::vector<std::pair<std::string, int>> leases;  // "epoch/region" -> catalogd holding a lease
  std::vector<RegionView> regions;
  long long unarchived_bytes = -1;  // WAL of the active primary not yet in the backup repository
  double unarchived_seconds = -1;   // age of its last archived segment
  // The front door's routing: the regions its "active" backend sends clients to (its check of
  // /active-region passes), or empty; `front_door_error` when its stats socket does not answer.
  std::vector<std::string> front_door_to;
  std::string front_door_error;
};

DrStatus ReadDrStatus(const Topology& t);
// The RPO meter as Prometheus series (the canary serves them on /metrics for a topology of several
// regions): per standby region the bytes and seconds it is behind the active primary, the WAL not yet
// archived, the active epoch. An unknown figure (-1) is left out rather than reported as 0.
std::string RpoMetricsText(const DrStatus& s);
std::string FormatDrStatus(const DrStatus& s);
boost::json::value DrStatusJson(const DrStatus& s);

// Moves the active region to `to`. Without `force` the current active region must answer (planned:
// nothing acknowledged is lost); with it, the current region is presumed lost.
Status Failover(const Topology& t, const std::string& to, bool force, const Progress& progress);

// After a forced failover: rebuilds region `to` as a standby cluster of the active region, waits until
// it has caught up, then makes it active again by a planned failover.
Status Failback(const Topology& t, const std::string& to, const Progress& progress);

// The region responder's automatic failover (dr.auto_failover_after_s). It acts on what the global
// etcd's majority sees, so a watcher on a minority side (it cannot read) never acts.
struct WatchObservation {
  bool global_readable = false;
  std::string active_region;
  EpochState state = EpochState::kActive;
  std::map<std::string, int> leases;  // region -> live leases in the current epoch
  std::string in_progress;            // a long action of the watcher still running ("failover to b")
};
struct WatchDecision {
  std::string target;  // the region to fail over to; empty: nothing to do
  std::string reason;
};
// `silent_s`: for how long the active region has held no lease (the watcher counts).
WatchDecision DecideAutoFailover(const WatchObservation& o, double silent_s, int after_s);

// Carries out one intent through the one path that makes its change (ctl/intents, a layer above this
// one: the caller passes it in).
using IntentRunner = std::function<Status(const Intent& intent)>;

// The watcher (program dr-responder): observes every second, decides, fails over by force when the
// policy says so, and carries out the failovers and failbacks commands recorded with --async; every
// action an intent of the journal, carried out in the background by `carry_out`. One JSON log line per
// change of decision. Stops on SIGTERM/SIGINT or after `duration` when positive.
Status WatchRegions(const Topology& t, std::chrono::seconds duration, const IntentRunner& carry_out);

}  // namespace techmoda::ctl::dr
