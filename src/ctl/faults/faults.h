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

Status FaultKillZone(const Topology& t, const std::string& zone, std::string* report);
Status FaultStopZone(const Topology& t, const std::string& zone, std::string* report);
Status FaultPartitionZone(const Topology& t, const std::string& zone, std::string* report);
// Freezes a zone's PostgreSQL alone (a hung disk, say): its Patroni, etcd and catalogd go on.
Status FaultStopPostgres(const Topology& t, const std::string& zone, std::string* report);
Status FaultKillPostgres(const Topology& t, const std::string& zone, std::string* report);
// Several regions: kill every process of a region (zones, HAProxy, its global etcd member), or cut
// it off from the other regions and the witness while its clients still reach it.
Status FaultKillRegion(const Topology& t, const std::string& region, std::string* report);
Status FaultPartitionRegion(const Topology& t, const std::string& region, std::string* report);
// Makes a region's WAL archiving fail (archive_command finds STALLED in the archive folder); `region`
// empty: the first.
Status FaultStallArchive(const Topology& t, const std::string& region, std::string* report);
// Removes every partition, resumes stopped processes and starts the killed ones, lets archiving go on.
Status FaultHeal(const Topology& t, std::string* report);

}  // namespace techmoda::ctl
