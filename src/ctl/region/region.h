// A topology's lifecycle on this machine: render it, bring it up under supervisord and wait until
// healthy, read its status, take it down.
#pragma once

#include <sys/types.h>

#include <boost/json/value.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "ctl/base/progress.h"
#include "ctl/detector/detector.h"
#include "ctl/topology/render.h"
#include "ctl/topology/topology.h"
#include "techmoda/status.h"

namespace techmoda::ctl {

// How an etcd member answered its /health.
enum class MemberHealth { kHealthy, kUnhealthy, kDown };
// A database node's role in its region's cluster, as Patroni names it; kDown: no member answers for it.
enum class NodeRole { kLeader, kStandbyLeader, kSyncStandby, kReplica, kDown };
// A zone at a glance: everything answers (kOk), something does not (kDegraded), its database and etcd
// are gone (kDown).
enum class NodeHealth { kOk, kDegraded, kDown };

// "healthy", "unhealthy", "down".
std::string_view MemberHealthName(MemberHealth h);
// Patroni's words: "leader", "standby_leader", "sync_standby", "replica"; "down".
std::string_view NodeRoleName(NodeRole r);
// Patroni's role word (an unknown one is a replica: it streams, and may not be promoted by us).
NodeRole ParseNodeRole(std::string_view patroni_role);
// "ok", "degraded", "down".
std::string_view NodeHealthName(NodeHealth h);

struct CatalogdStatus {
  std::string instance;
  std::string address;  // host:port
  std::string process;  // supervisord's state
  bool ready = false;
};

struct NodeStatus {
  std::string region, zone, address;
  MemberHealth etcd = MemberHealth::kDown;
  NodeRole role = NodeRole::kDown;  // Patroni's view
  std::string state;                // Patroni's member state ("running", "streaming", "stopped", ...): its words
  int timeline = 0;                 // 0: unknown
  long long lag_bytes = -1;         // -1: unknown (or the leader)
  std::string patroni_process;      // supervisord's state of Patroni
  bool partitioned = false;         // nftables rules cut it off
  std::vector<CatalogdStatus> catalogds;
  NodeHealth health = NodeHealth::kDown;
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
  // The failure detectors' view (docs/failure-detector.md): each zone's record, fresh ones only.
  bool detectors_enabled = false;
  std::vector<detector::Record> detectors;
  std::string detectors_error;  // when the region's etcd could not be read
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
// Creates the zone users and folders (each zone's own, mode 0700) and writes every rendered file of
// the topology as it is now (a cluster operation re-renders with another region active).
Status Prepare(const Topology& t, const Secrets& s);

// Paths of the log files of a zone/program selection (empty: all).
std::vector<std::string> LogFiles(const Topology& t, const std::string& zone, const std::string& program);

}  // namespace techmoda::ctl
