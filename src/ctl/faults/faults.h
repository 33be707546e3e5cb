// The faults the drills inject into a running topology on this machine: processes killed or
// stopped by zone (every process of the zone's OS user), zones and regions cut off (nftables), WAL
// archiving stalled; and the heal that undoes them all.
#pragma once

#include <string>

#include "ctl/topology/topology.h"
#include "techmoda/status.h"

namespace techmoda::ctl {

// The zone a drill names: a zone's name, or "primary" (or empty): the zone of the current leader of
// the first region that has one, resolved now.
Result<const Zone*> ResolveZone(const Topology& t, const std::string& zone);

// What a fault is aimed at, as asked for: a zone or region name, or "primary"; and, for a pause
// (SIGSTOP), how long before it resumes by itself (0: until `fault heal`).
struct FaultArgs {
  std::string target;
  double seconds = 0;
  double by_s = 0;  // skew-clock: how far the zone's wall clock moves (negative: back)
};

Status FaultKillZone(const Topology& t, const FaultArgs& args, std::string* report);
Status FaultStopZone(const Topology& t, const FaultArgs& args, std::string* report);
Status FaultPartitionZone(const Topology& t, const FaultArgs& args, std::string* report);
// One way only: the zone cannot send to the other zones of its region (Out), or they cannot send to
// it (In). Clients and the HAProxies (other users) still reach it.
Status FaultPartitionZoneOut(const Topology& t, const FaultArgs& args, std::string* report);
Status FaultPartitionZoneIn(const Topology& t, const FaultArgs& args, std::string* report);
// Freezes a zone's Patroni alone: PostgreSQL goes on serving, nobody renews the lock.
Status FaultStopPatroni(const Topology& t, const FaultArgs& args, std::string* report);
// Kills the etcd members of the zone and of as many others of its region as leave a minority.
Status FaultKillEtcdMajority(const Topology& t, const FaultArgs& args, std::string* report);
// Freezes a zone's PostgreSQL alone (a hung disk, say): its Patroni, etcd and catalogd go on.
Status FaultStopPostgres(const Topology& t, const FaultArgs& args, std::string* report);
Status FaultKillPostgres(const Topology& t, const FaultArgs& args, std::string* report);
// Moves the wall clock of a zone's Patroni, PostgreSQL, detector and catalogd by args.by_s (needs
// drills.clock_skew); back to the real one after args.seconds, or at heal.
Status FaultSkewClock(const Topology& t, const FaultArgs& args, std::string* report);
// Fills the filesystem under the zone's pg_wal (needs drills.wal_disk_mb), then has its PostgreSQL
// switch WAL segments until it needs a new one and cannot write it. Heal removes the ballast.
Status FaultFillWalDisk(const Topology& t, const FaultArgs& args, std::string* report);
// Several regions: kill every process of a region (zones, HAProxy, its global etcd member), or cut
// it off from the other regions and the witness while its clients still reach it.
Status FaultKillRegion(const Topology& t, const FaultArgs& args, std::string* report);
Status FaultPartitionRegion(const Topology& t, const FaultArgs& args, std::string* report);
// Makes a region's WAL archiving fail (archive_command finds STALLED in the archive folder); `region`
// empty: the first.
Status FaultStallArchive(const Topology& t, const FaultArgs& args, std::string* report);
// Removes every partition, resumes stopped processes and starts the killed ones, lets archiving go on,
// empties the filled pg_wal filesystems and sets the zones' clocks right.
Status FaultHeal(const Topology& t, std::string* report);

}  // namespace techmoda::ctl
