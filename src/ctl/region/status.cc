#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <set>

#include "common/process.h"
#include "ctl/infra/health.h"
#include "ctl/infra/supervisor.h"
#include "ctl/region/region.h"

namespace json = boost::json;

namespace techmoda::ctl {

std::string_view MemberHealthName(MemberHealth h) {
  switch (h) {
    case MemberHealth::kHealthy:
      return "healthy";
    case MemberHealth::kUnhealthy:
      return "unhealthy";
    case MemberHealth::kDown:
      return "down";
  }
  return "down";
}

std::string_view NodeRoleName(NodeRole r) {
  switch (r) {
    case NodeRole::kLeader:
      return "leader";
    case NodeRole::kStandbyLeader:
      return "standby_leader";
    case NodeRole::kSyncStandby:
      return "sync_standby";
    case NodeRole::kReplica:
      return "replica";
    case NodeRole::kDown:
      return "down";
  }
  return "down";
}

NodeRole ParseNodeRole(std::string_view role) {
  if (role == "leader" || role == "master" || role == "primary") return NodeRole::kLeader;
  if (role == "standby_leader") return NodeRole::kStandbyLeader;
  if (role == "sync_standby") return NodeRole::kSyncStandby;
  return NodeRole::kReplica;
}

std::string_view NodeHealthName(NodeHealth h) {
  switch (h) {
    case NodeHealth::kOk:
      return "ok";
    case NodeHealth::kDegraded:
      return "degraded";
    case NodeHealth::kDown:
      return "down";
  }
  return "down";
}

namespace {

void ReadDetectors(const Topology& t, const Region& r, RegionStatus* rs) {
  rs->detectors_enabled = t.detector.enabled;
  if (!t.detector.enabled) return;
  std::vector<std::string> etcd;
  for (const auto& z : r.zones) etcd.push_back(z.address + ":" + std::to_string(t.ports.etcd_client));
  auto records = detector::ReadRecords(etcd, "/techmoda/" + t.name + "-" + r.name);
  if (!records.ok()) {
    rs->detectors_error = records.status().detail();
    return;
  }
  rs->detectors = *records;
  std::sort(rs->detectors.begin(), rs->detectors.end(),
            [](const detector::Record& a, const detector::Record& b) { return a.zone < b.zone; });
}

std::string FormatUnixMs(long long ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  char buf[32];
  std::strftime(buf, sizeof buf, "%H:%M:%S", std::gmtime(&secs));
  return std::string(buf) + "Z";
}

// "a2 sees a1 answer (longest gap 0.3 s)", "a3 SUSPECTS a1 for 1.2 s (postgres: ...)".
std::string DetectorLine(const detector::Record& d) {
  char gap[64];
  std::snprintf(gap, sizeof gap, "%.1f s", d.max_gap_ms / 1000.0);
  std::string line = d.zone + " ";
  if (d.leader.empty()) {
    line += "sees no leader";
  } else if (d.failing_ms == 0) {
    line += "sees " + d.leader + " answer (longest gap " + gap + ")";
  } else {
    char since[64];
    std::snprintf(since, sizeof since, "%.1f s", d.failing_ms / 1000.0);
    line += "SUSPECTS " + d.leader + " for " + since + " (" + d.failure + ")";
  }
  if (d.removed_at_ms) line += "; removed a dead leader's key at " + FormatUnixMs(d.removed_at_ms);
  return line;
}

}  // namespace

TopologyStatus ReadStatus(const Topology& t) {
  TopologyStatus out;
  out.name = t.name;
  out.supervisor_running = SupervisorRunning(t);
  auto programs = ProgramStates(t);
  auto state_of = [&](const std::string& p) {
    auto it = programs.find(p);
    return it == programs.end() ? std::string("ABSENT") : it->second.first;
  };
  std::string rules;
  RunCapture({"/usr/sbin/nft", "list", "table", "inet", t.NftTable()}, &rules);
  for (const auto& r : t.regions) {
    RegionStatus rs;
    rs.name = r.name;
    rs.address = r.address;
    rs.haproxy = state_of(HaproxyProgram(r));
    auto view = RegionClusterView(t, r);
    std::map<std::string, json::object> members;
    if (view.is_object())
      for (const auto& m : view.at("members").as_array())
        members[std::string(m.at("name").as_string())] = m.as_object();
    for (const auto& z : r.zones) {
      NodeStatus n;
      n.region = r.name;
      n.zone = z.name;
      n.address = z.address;
      n.patroni_process = state_of(PatroniProgram(z));
      bool answered = false;
      n.etcd = EtcdHealthy(t, z, &answered) ? MemberHealth::kHealthy
               : answered                   ? MemberHealth::kUnhealthy
                                            : MemberHealth::kDown;
      n.partitioned = rules.find("ip daddr " + z.address + " ") != std::string::npos ||
                      rules.find("ip daddr " + z.address + "\n") != std::string::npos;
      n.role = NodeRole::kDown;
      if (auto it = members.find(z.name); it != members.end()) {
        const auto& m = it->second;
        n.role = ParseNodeRole(m.at("role").as_string());
        n.state = std::string(m.at("state").as_string());
        if (m.contains("timeline") && m.at("timeline").is_int64())
          n.timeline = static_cast<int>(m.at("timeline").as_int64());
        if (m.contains("lag") && m.at("lag").is_int64()) n.lag_bytes = m.at("lag").as_int64();
      }
      for (int i = 1; i <= z.catalogd_instances; ++i) {
        CatalogdStatus c;
        c.instance = Topology::InstanceName(z, i);
        c.address = z.address + ":" + std::to_string(t.CatalogdPort(i));
        c.process = state_of(CatalogdProgram(z, i));
        c.ready = c.process == "RUNNING" && CatalogdReady(z, t.CatalogdPort(i));
        n.catalogds.push_back(c);
      }
      bool pg_ok = n.role != NodeRole::kDown && (n.state == "running" || n.state == "streaming");
      bool cd_ok = true;
      for (const auto& c : n.catalogds) cd_ok &= c.ready;
      bool etcd_ok = n.etcd == MemberHealth::kHealthy;
      n.health = !pg_ok && !etcd_ok                            ? NodeHealth::kDown
                 : pg_ok && cd_ok && etcd_ok && !n.partitioned ? NodeHealth::kOk
                                                               : NodeHealth::kDegraded;
      if (n.role == NodeRole::kLeader || n.role == NodeRole::kStandbyLeader) rs.leader = z.name;
      rs.standby |= n.role == NodeRole::kStandbyLeader;
      if (n.role == NodeRole::kSyncStandby) rs.sync_standby = z.name;
      if (n.health != NodeHealth::kOk)
        rs.problems.push_back("zone " + z.name + " is " + std::string(NodeHealthName(n.health)));
      rs.nodes.push_back(std::move(n));
    }
    ReadDetectors(t, r, &rs);
    if (rs.leader.empty()) rs.problems.push_back("no primary");
    if (rs.sync_standby.empty() && r.zones.size() > 1 && !rs.standby)
      rs.problems.push_back("no synchronous standby: writes wait");
    if (rs.haproxy != "RUNNING") rs.problems.push_back("HAProxy is " + rs.haproxy);
    rs.healthy = rs.problems.empty();
    out.regions.push_back(std::move(rs));
  }
  return out;
}

std::string FormatStatusTable(const TopologyStatus& s) {
  std::string out = "topology " + s.name + ": " +
                    (s.healthy() ? "healthy" : (s.supervisor_running ? "DEGRADED" : "DOWN (not running)")) + "\n";
  char line[512];
  std::snprintf(line, sizeof line, "%-7s %-6s %-11s %-10s %-13s %-16s %3s %10s  %-26s %-8s\n", "REGION", "ZONE",
                "ADDRESS", "ETCD", "ROLE", "STATE", "TL", "LAG", "CATALOGD", "HEALTH");
  out += line;
  for (const auto& r : s.regions) {
    for (const auto& n : r.nodes) {
      std::string cds;
      for (const auto& c : n.catalogds)
        cds += (cds.empty() ? "" : ",") + c.instance +
               (c.ready ? " ready" : " " + std::string(c.process == "RUNNING" ? "not-ready" : c.process));
      std::string lag =
          n.role == NodeRole::kLeader ? "-" : (n.lag_bytes < 0 ? "?" : std::to_string(n.lag_bytes) + " B");
      std::string health = std::string(NodeHealthName(n.health)) + (n.partitioned ? " (cut off)" : "");
      std::snprintf(line, sizeof line, "%-7s %-6s %-11s %-10s %-13s %-16s %3s %10s  %-26s %-8s\n", r.name.c_str(),
                    n.zone.c_str(), n.address.c_str(), std::string(MemberHealthName(n.etcd)).c_str(),
                    std::string(NodeRoleName(n.role)).c_str(), n.state.empty() ? "-" : n.state.c_str(),
                    n.timeline ? std::to_string(n.timeline).c_str() : "-", lag.c_str(), cds.c_str(), health.c_str());
      out += line;
    }
    if (r.standby)
      out += "region " + r.name + ": HAProxy " + r.address + " " + r.haproxy + "; STANDBY cluster, standby leader " +
             r.leader;
    else
      out += "region " + r.name + ": HAProxy " + r.address + " " + r.haproxy + "; primary " +
             (r.leader.empty() ? "NONE" : r.leader) + ", synchronous standby " +
             (r.sync_standby.empty() ? "NONE" : r.sync_standby);
    if (r.detectors_enabled) {
      std::string seen;
      for (const auto& d : r.detectors) seen += (seen.empty() ? "" : "; ") + DetectorLine(d);
      out += "\n  detectors: " + (!r.detectors_error.empty() ? "unreadable (" + r.detectors_error + ")"
                                  : seen.empty()             ? std::string("none reporting")
                                                             : seen);
    }
    for (const auto& p : r.problems) out += "\n  ! " + p;
    out += "\n";
  }
  return out;
}

namespace {
json::value DetectorsJson(const RegionStatus& r) {
  if (!r.detectors_enabled) return nullptr;
  json::array out;
  for (const auto& d : r.detectors) {
    boost::system::error_code ec;
    out.push_back(json::parse(detector::RecordJson(d), ec));
  }
  if (!r.detectors_error.empty()) return json::object{{"error", r.detectors_error}};
  return out;
}
}  // namespace

json::value StatusJson(const TopologyStatus& s) {
  json::array regions;
  for (const auto& r : s.regions) {
    json::array nodes;
    for (const auto& n : r.nodes) {
      json::array cds;
      for (const auto& c : n.catalogds)
        cds.push_back({{"instance", c.instance}, {"address", c.address}, {"process", c.process}, {"ready", c.ready}});
      nodes.push_back({{"zone", n.zone},
                       {"address", n.address},
                       {"etcd", MemberHealthName(n.etcd)},
                       {"role", NodeRoleName(n.role)},
                       {"state", n.state},
                       {"timeline", n.timeline},
                       {"lag_bytes", n.lag_bytes < 0 ? json::value(nullptr) : json::value(n.lag_bytes)},
                       {"patroni_process", n.patroni_process},
                       {"partitioned", n.partitioned},
                       {"catalogd", cds},
                       {"health", NodeHealthName(n.health)}});
    }
    json::array problems;
    for (const auto& p : r.problems) problems.push_back(json::string(p));
    regions.push_back({{"name", r.name},
                       {"haproxy", {{"address", r.address}, {"process", r.haproxy}}},
                       {"primary", r.leader.empty() ? json::value(nullptr) : json::value(r.leader)},
                       {"standby", r.standby},
                       {"sync_standby", r.sync_standby.empty() ? json::value(nullptr) : json::value(r.sync_standby)},
                       {"healthy", r.healthy},
                       {"problems", problems},
                       {"detectors", DetectorsJson(r)},
                       {"nodes", nodes}});
  }
  return {{"topology", s.name}, {"running", s.supervisor_running}, {"healthy", s.healthy()}, {"regions", regions}};
}

}  // namespace techmoda::ctl
