#include "ctl/infra/nftables.h"

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

Status CutOff(const Topology& t, const std::string& name, const std::vector<uid_t>& inside_uids,
              const std::vector<std::string>& inside_addrs, const std::vector<uid_t>& outside_uids,
              const std::vector<std::string>& outside_addrs, ProcessRunner& run) {
  std::string table = t.NftTable();
  std::string rules = "add table inet " + table + "\nadd chain inet " + table +
                      " zones { type filter hook output priority 0; policy accept; }\n";
  if (!inside_uids.empty() && !outside_addrs.empty())
    rules += "add rule inet " + table + " zones meta skuid " + NftSet(inside_uids) + " ip daddr " +
             NftSet(outside_addrs) + " drop\n";
  if (!outside_uids.empty() && !inside_addrs.empty())
    rules += "add rule inet " + table + " zones meta skuid " + NftSet(outside_uids) + " ip daddr " +
             NftSet(inside_addrs) + " drop\n";
  std::string path = t.var_dir + "/" + name + ".nft";
  std::ofstream(path, std::ios::trunc) << rules;
  std::string out;
  if (run.Run({"/usr/sbin/nft", "-f", path}, &out) != 0) return Status::Internal("nft failed: " + out);
  return Status::Ok();
}

bool RemoveCuts(const Topology& t, ProcessRunner& run) {
  std::string out;
  return run.Run({"/usr/sbin/nft", "delete", "table", "inet", t.NftTable()}, &out) == 0;
}

}  // namespace techmoda::ctl
