#include "ctl/infra/nftables.h"

#include "ctl/infra/processes.h"

#include <fstream>
#include <sstream>

namespace techmoda::ctl {

namespace {
template <typename T>
std::string NftSet(const std::vector<T>& items) {
  std::string out;
  for (const auto& i : items) {
    std::ostringstream os;
    os << i;
    out += (out.empty() ? "" : ", ") + os.str();
  }
  return "{ " + out + " }";
}
}  // namespace

Status CutOff(const Topology& t, const std::string& name, const CutSides& sides, bool out, bool in,
              ProcessRunner& run) {
  std::string table = t.NftTable();
  std::string rules = "add table inet " + table + "\nadd chain inet " + table +
                      " zones { type filter hook output priority 0; policy accept; }\n";
  auto drop = [&](const std::vector<uid_t>& from, const std::vector<std::string>& to_addrs,
                  const std::vector<uid_t>& to_uids) {
    if (from.empty()) return;
    if (!to_addrs.empty())
      rules +=
          "add rule inet " + table + " zones meta skuid " + NftSet(from) + " ip daddr " + NftSet(to_addrs) + " drop\n";
    if (!to_uids.empty())
      rules += "add rule inet " + table + " zones meta skuid " + NftSet(from) + " ct direction reply ct mark " +
               NftSet(to_uids) + " drop\n";
  };
  if (out) drop(sides.inside_uids, sides.outside_addrs, sides.outside_uids);
  if (in) drop(sides.outside_uids, sides.inside_addrs, sides.inside_uids);
  std::string path = t.var_dir + "/" + name + ".nft";
  std::ofstream(path, std::ios::trunc) << rules;
  std::string output;
  if (run.Run({"/usr/sbin/nft", "-f", path}, &output) != 0) return Status::Internal("nft failed: " + output);
  return Status::Ok();
}

Status TagConnections(const Topology& t, ProcessRunner& run) {
  std::string table = t.NftTable() + "_origin";
  std::vector<std::string> users;
  for (const auto* z : t.AllZones()) users.push_back(z->os_user);
  for (const auto& m : t.GlobalEtcd()) users.push_back(m.os_user);
  // Priority -150: after conntrack (-200) has made the connection's entry, before any filter.
  std::string rules = "add table inet " + table + "\nadd chain inet " + table +
                      " origin { type filter hook output priority -150; policy accept; }\nflush chain inet " + table +
                      " origin\n";
  for (const auto& u : users)
    if (auto uid = UidOf(u))
      rules += "add rule inet " + table + " origin ct state new meta skuid " + std::to_string(*uid) + " ct mark set " +
               std::to_string(*uid) + "\n";
  std::string path = t.var_dir + "/connection-origin.nft";
  std::ofstream(path, std::ios::trunc) << rules;
  std::string output;
  if (run.Run({"/usr/sbin/nft", "-f", path}, &output) != 0) return Status::Internal("nft failed: " + output);
  return Status::Ok();
}

void RemoveConnectionTags(const Topology& t, ProcessRunner& run) {
  std::string output;
  run.Run({"/usr/sbin/nft", "delete", "table", "inet", t.NftTable() + "_origin"}, &output);
}

bool RemoveCuts(const Topology& t, ProcessRunner& run) {
  std::string out;
  return run.Run({"/usr/sbin/nft", "delete", "table", "inet", t.NftTable()}, &out) == 0;
}

}  // namespace techmoda::ctl
