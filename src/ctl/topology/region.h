// The topology's lifecycle on this machine: bring it up under supervisord, read its status, take
// it down, and inject the faults the drills need (signals and nftables rules).
#pragma once

#include <sys/types.h>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "techmoda/status.h"
#include "ctl/topology/render.h"
#include "ctl/topology/topology.h"

namespace techmoda::ctl {

// Progress lines for long operations ("etcd: 3/3 healthy  2.1 s").
using Progress = std::function<void(const std::string&)>;

// Seconds since `t0`, and a duration as progress lines show it ("2.1 s").
inline double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
inline std::string FormatSeconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

struct CatalogdStatus {
  std::string instance;
  std::string address;  // host:port
  std::string process;  // supervisord's state
  bool ready = false;
};

struct NodeStatus {
  std::string region, zone, address;
  std::string etcd;             // "healthy", "unhealthy", "down"
  std::string role;             // "leader", "sync_standby", "replica", "down" (Patroni's view)
  std::string state;            // Patroni's member state ("running", "streaming", "stopped", ...)
  int timeline = 0;             // 0: unknown
  long long lag_bytes = -1;     // -1: unknown (or the leader)
  std::string patroni_process;  // supervisord's state of Patroni
  bool partitioned = false;     // nftables rules cut it off
  std::vector<CatalogdStatus> catalogds;
  std::string health;  // "ok", "degraded", "down"
};

struct RegionStatus {
  std::string name, address;
  std::string leader;  // zone name, empty if none
  std::string sync_standby;
  bool standby = false;  // a standby cluster of another region (its leader is a standby leader)
  std::string haproxy;   // supervisord's state
  bool healthy = false;
  std::vector<std::string> problems;
  std::vector<NodeStatus> nodes;
};

struct TopologyStatus {
  std::string name;
  bool supervisor_running = false;
  std::vector<RegionStatus> regions;
  bool healthy() const;
};

// Renders, starts and waits until every region is healthy (or `timeout` passes).
Status Up(const Topology& t, std::chrono::seconds timeout, const Progress& progress);
// Stops every process (supervisord last) and removes the fault rules; --purge also removes data.
Status Down(const Topology& t, bool purge, const Progress& progress);
TopologyStatus ReadStatus(const Topology& t);
std::string FormatStatusTable(const TopologyStatus& s);
boost::json::value StatusJson(const TopologyStatus& s);
// Writes the rendered files for real hosts into `out_dir`.
Status RenderSystemd(const Topology& t, const std::string& out_dir, std::vector<std::string>* written);
// Writes the local files (what `up` runs); `written` lists them.
Status RenderLocal(const Topology& t, std::vector<std::string>* written);

// Faults. `zone` may be "primary": the zone of the current leader of the (first) region.
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

// Restarts a zone's Patroni (and so its PostgreSQL), first removing PostgreSQL processes left
// without their postmaster or Patroni (they would hold the old shared memory).
Status RestartDatabaseNode(const Topology& t, const Zone& z, std::string* report);

// Patroni's /cluster of a region as most of its members see it (null when none answers).
boost::json::value RegionClusterView(const Topology& t, const Region& r);

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

// supervisord's programs: name -> (state, pid) from `supervisorctl status`; empty when
// supervisord is not running.
std::map<std::string, std::pair<std::string, pid_t>> ProgramStates(const Topology& t);
// Starts or stops programs by name; an error names the program and supervisord's answer.
Status StartPrograms(const Topology& t, const std::vector<std::string>& names);
Status StopPrograms(const Topology& t, const std::vector<std::string>& names);
// True when the catalogd on the zone's address and `port` answers /readyz with 200.
bool CatalogdReady(const Zone& z, int port);

// Paths of the log files of a zone/program selection (empty: all).
std::vector<std::string> LogFiles(const Topology& t, const std::string& zone, const std::string& program);

}  // namespace techmoda::ctl
