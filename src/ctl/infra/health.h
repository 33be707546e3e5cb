// Probes of a topology's members: Patroni's view of a region's cluster, an etcd member's health, a
// catalogd's readiness. Each is one short HTTP call per member (1.5 s at most).
#pragma once

#include <boost/json/value.hpp>
#include <string>

#include "common/http_client.h"
#include "ctl/topology/topology.h"

namespace techmoda::ctl {

// GET host:port target with catalogctl's probe timeout (1.5 s).
HttpResult GetJson(const std::string& host, int port, const std::string& target);

// Patroni's /cluster of a region as most of its members see it (null when none answers). A member
// cut off from etcd keeps showing its last view (itself as leader, say), so the view counts that the
// most members share: the one whose leader they agree on (on a tie, the view of a member that is
// itself the leader it names).
boost::json::value RegionClusterView(const Topology& t, const Region& r);

// The name of the member a cluster view (RegionClusterView) shows as the leader (a primary, not a
// standby leader); "" when there is none or the view is null.
std::string LeaderName(const boost::json::value& view);

// True when the zone's etcd member answers /health with "health": "true"; `answered` (optional)
// tells an unhealthy member from one that does not answer.
bool EtcdHealthy(const Topology& t, const Zone& z, bool* answered = nullptr);

// True when the catalogd on the zone's address and `port` answers /readyz with 200.
bool CatalogdReady(const Zone& z, int port);

}  // namespace techmoda::ctl
