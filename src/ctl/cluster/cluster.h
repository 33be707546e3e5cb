// Operations on a region's database cluster (Patroni and PostgreSQL in its zones): a planned
// switchover, restarting a node, and replacing the cluster's data (a region rebuilt as a standby of
// another after a failover; a region switched to recovered data). Each returns once the cluster runs.
#pragma once

#include <string>

#include "ctl/base/progress.h"
#include "ctl/topology/topology.h"
#include "techmoda/status.h"

namespace techmoda::ctl {

// Restarts a zone's Patroni (and so its PostgreSQL), first removing PostgreSQL processes left
// without their postmaster or Patroni (they would hold the old shared memory).
Status RestartDatabaseNode(const Topology& t, const Zone& z, std::string* report);

// Several regions: makes `region` a fresh standby cluster of `source` (its database nodes stopped,
// their data and Patroni state removed, bootstrapped again by cloning from the source's primary).
// For a region whose old primary left the active history (after a forced failover).
Status RebuildRegionAsStandby(const Topology& t, const std::string& region, const std::string& source,
                              const Progress& progress);

// Makes the stopped, cleanly shut down PostgreSQL data directory `data_dir` (the zone's user's, on its
// file system) region `region`'s database: every node stopped, zone `zone`'s old data moved to
// `keep_as`, the other zones' removed, the Patroni state cleared; Patroni then takes the data over on
// `zone` as the leader of a new cluster and the other zones clone it. Returns when all run.
Status ReplaceRegionCluster(const Topology& t, const std::string& region, const std::string& zone,
                            const std::string& data_dir, const std::string& keep_as, const Progress& progress);

// Planned switchover through Patroni's REST API; `candidate` may be empty (Patroni picks).
Status Switchover(const Topology& t, const std::string& region, const std::string& candidate, std::string* report);

}  // namespace techmoda::ctl
