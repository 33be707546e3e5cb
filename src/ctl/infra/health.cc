#include "ctl/infra/health.h"

#include <boost/json.hpp>
#include <chrono>
#include <map>

namespace json = boost::json;

namespace techmoda::ctl {

HttpResult GetJson(const std::string& host, int port, const std::string& target) {
  return HttpCall(host, static_cast<unsigned short>(port), "GET", target, "", {}, std::chrono::milliseconds(1500));
}

bool EtcdHealthy(const Topology& t, const Zone& z, bool* answered) {
  auto r = GetJson(z.address, t.ports.etcd_client, "/health");
  if (answered) *answered = r.status != 0;
  auto j = r.Json();
  return r.status == 200 && j.is_object() && j.as_object().contains("health") && j.at("health") == "true";
}

bool CatalogdReady(const Zone& z, int port) { return GetJson(z.address, port, "/readyz").status == 200; }

json::value RegionClusterView(const Topology& t, const Region& r) {
  std::map<std::string, int> votes;  // leader name -> members naming it
  std::map<std::string, json::value> view_of;
  std::string self_leader;
  for (const auto& z : r.zones) {
    auto res = GetJson(z.address, t.ports.patroni, "/cluster");
    if (res.status != 200) continue;
    auto j = res.Json();
    if (!j.is_object() || !j.as_object().contains("members")) continue;
    std::string leader;
    for (const auto& m : j.at("members").as_array())
      if (m.at("role") == "leader" || m.at("role") == "standby_leader") leader = std::string(m.at("name").as_string());
    ++votes[leader];
    if (leader == z.name) self_leader = leader;
    if (!view_of.count(leader) || leader == z.name) view_of[leader] = j;
  }
  std::string best;
  int best_votes = 0;
  for (const auto& [leader, n] : votes)
    if (n > best_votes || (n == best_votes && leader == self_leader)) {
      best = leader;
      best_votes = n;
    }
  return best_votes ? view_of[best] : json::value();
}

std::string LeaderName(const json::value& view) {
  if (!view.is_object() || !view.as_object().contains("members")) return "";
  for (const auto& m : view.at("members").as_array())
    if (m.at("role") == "leader") return std::string(m.at("name").as_string());
  return "";
}

}  // namespace techmoda::ctl
