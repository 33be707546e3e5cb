#include "ctl/monitoring/runbooks.h"

#include "common/http_client.h"
#include "ctl/cluster/cluster.h"
#include "ctl/infra/haproxy_runtime.h"
#include "ctl/infra/supervisor.h"

namespace techmoda::ctl {

using Verdict = ResponseDecision::Verdict;

std::string_view ResponseDecision::Action() const {
  switch (verdict) {
    case Verdict::kNothing:
      return "nothing";
    case Verdict::kPage:
      return "page";
    case Verdict::kAct:
      return runbook->action;
    case Verdict::kUndo:
      return runbook->undo;
  }
  return "nothing";
}

namespace {

ResponseDecision Nothing(const std::string& target, std::string reason) {
  return {Verdict::kNothing, nullptr, target, std::move(reason)};
}

std::string StateOf(const ResponderView& v, const std::string& program) {
  auto it = v.programs.find(program);
  return it == v.programs.end() ? std::string() : it->second;
}

// --- restart-catalogd, restart-etcd, restart-exporter: start a supervisord program that died ---

std::string CatalogdProgramOf(const Alert& a, const Topology&) {
  return a.instance.empty() ? "" : "catalogd-" + a.instance;
}

std::string EtcdProgramOf(const Alert& a, const Topology& t) {
  const Zone* z = t.FindZone(a.zone);
  return z ? EtcdProgram(*z) : "";
}

std::string ExporterProgramOf(const Alert& a, const Topology& t) {
  if (a.instance == "monitoring") return "node-exporter";  // the monitoring host's own
  const Zone* z = t.FindZone(a.zone);
  return z ? PostgresExporterProgram(*z) : "";
}

ResponseDecision DecideStartProgram(const Alert& a, const std::string& target, const Topology&, const ResponderView& v,
                                    const ResponderMemory&, const ResponderPolicy&) {
  std::string state = StateOf(v, target);
  if (state.empty()) return Nothing(target, "no program " + target + " in this topology");
  if (state == "RUNNING" || state == "STARTING")
    return Nothing(target, target + " is " + state + ": not restarted (unreachable, not dead?)");
  if (state == "STOPPED") return Nothing(target, target + " was stopped on purpose: not restarted");
  return {Verdict::kAct, FindRunbook(a.runbook), target, target + " is " + state};
}

Result<std::string> StartProgram(const ActionContext& c, const std::string& target, bool) {
  if (auto st = StartPrograms(c.topology, {target}); !st.ok()) return st;
  return "started " + target;
}

// --- restart-postgres-node: a node whose Patroni died ---

std::string ZoneOf(const Alert& a, const Topology&) { return a.zone; }

ResponseDecision DecideRestartNode(const Alert& a, const std::string& target, const Topology& t, const ResponderView& v,
                                   const ResponderMemory&, const ResponderPolicy&) {
  const Zone* z = t.FindZone(target);
  if (!z) return Nothing(target, "no zone " + target + " in this topology");
  std::string state = StateOf(v, PatroniProgram(*z));
  if (state == "RUNNING" || state == "STARTING")
    return Nothing(target, "Patroni of " + target + " is " + state + ": it restarts PostgreSQL itself");
  if (state == "STOPPED") return Nothing(target, "Patroni of " + target + " was stopped on purpose: not restarted");
  return {Verdict::kAct, FindRunbook(a.runbook), target,
          "Patroni of " + target + " is " + (state.empty() ? "?" : state)};
}

Result<std::string> RestartNode(const ActionContext& c, const std::string& target, bool) {
  std::string report;
  if (auto st = RestartDatabaseNode(c.topology, *c.topology.FindZone(target), &report); !st.ok()) return st;
  return "zone " + target + ": " + report;
}

// --- reinit-replica: a replica that cannot catch up is cloned again ---

ResponseDecision DecideReinit(const Alert& a, const std::string& target, const Topology&, const ResponderView& v,
                              const ResponderMemory&, const ResponderPolicy&) {
  auto it = v.roles.find(target);
  if (it == v.roles.end()) return Nothing(target, "zone " + target + " is not a member now");
  if (it->second == NodeRole::kLeader) return Nothing(target, target + " is the primary: never re-cloned");
  return {Verdict::kAct, FindRunbook(a.runbook), target,
          target + " is a " + std::string(NodeRoleName(it->second)) + " that does not catch up"};
}

Result<std::string> Reinit(const ActionContext& c, const std::string& target, bool) {
  const Zone* z = c.topology.FindZone(target);
  auto res = HttpCall(z->address, static_cast<unsigned short>(c.topology.ports.patroni), "POST", "/reinitialize",
                      R"({"force": true})", {{"Authorization", PatroniBasicAuth(c.secrets)}}, std::chrono::seconds(10));
  if (res.status != 200)
    return Status::Unavailable("Patroni /reinitialize on " + target + ": HTTP " + std::to_string(res.status) + " " +
                               res.error + res.body);
  return "re-cloning " + target + " from the primary (Patroni reinitialize)";
}

// --- tighten-shedding: halve each catalogd's maxconn in the region's HAProxy, restored on resolve ---

std::string RegionOf(const Alert& a, const Topology&) { return a.region; }

ResponseDecision DecideTighten(const Alert& a, const std::string& target, const Topology& t, const ResponderView&,
                               const ResponderMemory& m, const ResponderPolicy&) {
  if (auto it = m.tightened.find(target); it != m.tightened.end() && it->second)
    return Nothing(target, "shedding already tightened in region " + target);
  if (!t.catalogd.admission) return Nothing(target, "admission control is off in this topology");
  return {Verdict::kAct, FindRunbook(a.runbook), target, "halve each catalogd's maxconn in region " + target};
}

Result<std::string> SetShedding(const ActionContext& c, const std::string& target, bool undo) {
  const Region* r = c.topology.FindRegion(target);
  if (!r) return Status::Invalid("no region " + target);
  int maxconn = undo ? kCatalogdMaxconn : kCatalogdMaxconn / 2;
  int changed = 0;
  for (const auto& z : r->zones)
    for (int n = 1; n <= z.catalogd_max; ++n) {
      auto out =
          HaproxyCommand(r->dir + "/haproxy.sock",
                         "set maxconn server catalogd/" + Topology::InstanceName(z, n) + " " + std::to_string(maxconn));
      if (!out.ok()) return out.status();
      ++changed;
    }
  return "maxconn " + std::to_string(maxconn) + " on " + std::to_string(changed) + " catalogd server(s) of " + target;
}

// --- region-failover: where the policy allows it ---

ResponseDecision DecideRegionFailover(const Alert& a, const std::string& target, const Topology&,
                                      const ResponderView& v, const ResponderMemory&, const ResponderPolicy& p) {
  if (!p.auto_failover)
    return {Verdict::kPage, nullptr, target, "policy: monitoring.auto_failover is off; a person decides (page)"};
  if (v.standby_regions == 0)
    return {Verdict::kPage, nullptr, target, "no standby region to fail over to in this topology: page"};
  return {Verdict::kAct, FindRunbook(a.runbook), target,
          "region " + target + " unreachable and the policy allows failover"};
}

Result<std::string> RegionFailover(const ActionContext&, const std::string&, bool) {
  return Status::Unavailable("region failover is not available in this build; page");
}

}  // namespace

const std::vector<Runbook>& Runbooks() {
  static const std::vector<Runbook> kRunbooks = {
      {"restart-catalogd", "start-program", "", true, &CatalogdProgramOf, &DecideStartProgram, &StartProgram},
      {"restart-etcd", "start-program", "", true, &EtcdProgramOf, &DecideStartProgram, &StartProgram},
      {"restart-exporter", "start-program", "", true, &ExporterProgramOf, &DecideStartProgram, &StartProgram},
      {"restart-postgres-node", "restart-postgres-node", "", true, &ZoneOf, &DecideRestartNode, &RestartNode},
      {"reinit-replica", "reinit-replica", "", true, &ZoneOf, &DecideReinit, &Reinit},
      {"tighten-shedding", "tighten-shedding", "relax-shedding", false, &RegionOf, &DecideTighten, &SetShedding},
      {"region-failover", "region-failover", "", false, &RegionOf, &DecideRegionFailover, &RegionFailover},
  };
  return kRunbooks;
}

const Runbook* FindRunbook(std::string_view name) {
  for (const auto& r : Runbooks())
    if (r.name == name) return &r;
  return nullptr;
}

}  // namespace techmoda::ctl
