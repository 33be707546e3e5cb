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

// Drops what `inside_uids` send to `outside_addrs` and what `outside_uids` send to `inside_addrs`,
// in both directions unless one side is empty. The rules are kept in <var>/<name>.nft. kInternal
// with nft's output when it refuses them.
Status CutOff(const Topology& t, const std::string& name, const std::vector<uid_t>& inside_uids,
              const std::vector<std::string>& inside_addrs, const std::vector<uid_t>& outside_uids,
              const std::vector<std::string>& outside_addrs, ProcessRunner& run = RealProcessRunner());

// Removes the topology's table, and with it every cut; true when there was one.
bool RemoveCuts(const Topology& t, ProcessRunner& run = RealProcessRunner());

}  // namespace techmoda::ctl
