// nftables rules that cut parts of a topology off from each other, in one table of the topology's own
// (Topology::NftTable) so that `fault heal` and `down` remove exactly them.
//
// Loopback traffic all leaves from 127.0.0.1, so addresses alone cannot tell zones apart: the rules
// match the sending socket's owner (each zone's processes run as the zone's user) and the address
// it sends to. HAProxy and clients run as other users and still reach everything.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "ctl/topology/topology.h"
#include "techmoda/process_runner.h"
#include "techmoda/status.h"

namespace techmoda::ctl {

// Two sides of a cut: OS users (zones, global etcd members) and the addresses they listen on.
struct CutSides {
  std::vector<uid_t> inside_uids, outside_uids;
  std::vector<std::string> inside_addrs, outside_addrs;
};

// Drops what the inside sends to the outside (`out`) and what the outside sends to the inside
// (`in`): packets to the other side's addresses, and replies on connections the other side opened
// (their source on loopback is 127.0.0.1, so only the connection's origin, which TagConnections
// keeps in its conntrack mark, tells them apart). The rules are kept in <var>/<name>.nft. kInternal
// with nft's output when it refuses them.
Status CutOff(const Topology& t, const std::string& name, const CutSides& sides, bool out, bool in,
              ProcessRunner& run = RealProcessRunner());

// Marks every new connection a zone's process (or a global etcd member's) opens with its OS user's
// uid (the conntrack mark), in a table of its own (<NftTable>_origin) that `up` makes before any
// process starts and `down` removes: a one-way cut needs to know who opened a connection.
Status TagConnections(const Topology& t, ProcessRunner& run = RealProcessRunner());
void RemoveConnectionTags(const Topology& t, ProcessRunner& run = RealProcessRunner());

// Removes the topology's table, and with it every cut; true when there was one.
bool RemoveCuts(const Topology& t, ProcessRunner& run = RealProcessRunner());

}  // namespace techmoda::ctl
