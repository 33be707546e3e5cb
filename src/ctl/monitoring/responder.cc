#include "ctl/monitoring/responder.h"

#include <signal.h>

#include <atomic>
#include <boost/json.hpp>
#include <fstream>
#include <mutex>
#include <thread>

#include "common/http_client.h"
#include "common/log.h"
#include "ctl/base/http_server.h"
#include "ctl/base/stop.h"
#include "ctl/cluster/cluster.h"
#include "ctl/infra/haproxy_runtime.h"
#include "ctl/infra/supervisor.h"
#include "ctl/region/region.h"
#include "ctl/topology/render.h"

namespace techmoda::ctl {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

std::string Label(const json::object& labels, const char* key) {
  auto* v = labels.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : "";
}

}  // namespace

std::string_view ResponseName(Response r) {
  switch (r) {
    case Response::kNothing:
      return "nothing";
    case Response::kPage:
      return "page";
    case Response::kStartProgram:
      return "start-program";
    case Response::kRestartPostgresNode:
      return "restart-postgres-node";
    case Response::kReinitReplica:
      return "reinit-replica";
    case Response::kTightenShedding:
      return "tighten-shedding";
    case Response::kRelaxShedding:
      return "relax-shedding";
    case Response::kRegionFailover:
      return "region-failover";
  }
  return "?";
}

Result<std::vector<Alert>> ParseAlertmanagerWebhook(std::string_view body) {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec) return Status::Invalid("the body is not JSON: " + ec.message());
  if (!doc.is_object() || !doc.as_object().contains("alerts") || !doc.at("alerts").is_array())
    return Status::Invalid("the body has no \"alerts\" list (Alertmanager webhook version 4)");
  std::vector<Alert> out;
  for (const auto& a : doc.at("alerts").as_array()) {
    if (!a.is_object() || !a.as_object().contains("labels") || !a.at("labels").is_object())
      return Status::Invalid("an alert without labels");
    const auto& o = a.as_object();
    const auto& labels = o.at("labels").as_object();
    Alert al;
    al.name = Label(labels, "alertname");
    if (al.name.empty()) return Status::Invalid("an alert without alertname");
    al.status = Label(o, "status");
    al.fingerprint = Label(o, "fingerprint");
    al.starts_at = Label(o, "startsAt");
    al.runbook = Label(labels, "runbook");
    al.severity = Label(labels, "severity");
    al.region = Label(labels, "region");
    al.zone = Label(labels, "zone");
    al.instance = Label(labels, "instance");
    if (auto* ann = o.if_contains("annotations"); ann && ann->is_object())
      al.summary = Label(ann->as_object(), "summary");
    out.push_back(std::move(al));
  }
  return out;
}

ResponseDecision DecideResponse(const Alert& a, const Topology& t, const ResponderView& v, const ResponderMemory& m,
                                const ResponderPolicy& p, Clock::time_point now) {
  // 1. A resolved alert: undo what was temporary, nothing else.
  if (a.status == "resolved") {
    if (a.runbook == "tighten-shedding" && m.tightened.count(a.region) && m.tightened.at(a.region))
      return {Response::kRelaxShedding, a.region, "resolved: restore each catalogd's maxconn"};
    return {Response::kNothing, "", "resolved"};
  }
  // 2. No automation for this alert.
  if (a.runbook.empty() || a.runbook == "page-only") return {Response::kPage, "", "no automated runbook: page"};
  // 3. The target of the runbook, and whether it is ours.
  std::string target;
  const Zone* zone = t.FindZone(a.zone);
  if (a.runbook == "restart-catalogd") {
    target = a.instance.empty() ? "" : "catalogd-" + a.instance;
  } else if (a.runbook == "restart-etcd" || a.runbook == "restart-exporter") {
    if (a.instance == "monitoring")
      target = "node-exporter";  // the monitoring host's own
    else if (zone)
      target = a.runbook == "restart-etcd" ? EtcdProgram(*zone) : PostgresExporterProgram(*zone);
  } else if (a.runbook == "restart-postgres-node" || a.runbook == "reinit-replica") {
    target = a.zone;
  } else if (a.runbook == "tighten-shedding" || a.runbook == "region-failover") {
    target = a.region;
  } else {
    return {Response::kPage, "", "unknown runbook '" + a.runbook + "': page"};
  }
  if (target.empty())
    return {Response::kPage, "", "the alert does not name what runbook " + a.runbook + " acts on: page"};
  // 4. Rate limit per runbook and target: a repair that keeps failing must not loop.
  if (auto it = m.acted.find(a.runbook + "/" + target); it != m.acted.end()) {
    long recent = 0;
    for (auto at : it->second) recent += now - at < p.window;
    if (recent >= p.max_actions)
      return {Response::kNothing, target,
              "rate-limited: " + std::to_string(recent) + " actions on " + target + " within " +
                  std::to_string(p.window.count()) + " s; page"};
  }
  // 5. The runbooks, each checking the state first (idempotent).
  auto state_of = [&](const std::string& program) {
    auto it = v.programs.find(program);
    return it == v.programs.end() ? std::string() : it->second;
  };
  if (v.programs.empty() && a.runbook != "tighten-shedding" && a.runbook != "region-failover")
    return {Response::kNothing, target, "supervisord's programs cannot be read: doing nothing unsafe"};
  if (a.runbook == "restart-catalogd" || a.runbook == "restart-etcd" || a.runbook == "restart-exporter") {
    std::string state = state_of(target);
    if (state.empty()) return {Response::kNothing, target, "no program " + target + " in this topology"};
    if (state == "RUNNING" || state == "STARTING")
      return {Response::kNothing, target, target + " is " + state + ": not restarted (unreachable, not dead?)"};
    if (state == "STOPPED") return {Response::kNothing, target, target + " was stopped on purpose: not restarted"};
    return {Response::kStartProgram, target, target + " is " + state};
  }
  if (a.runbook == "restart-postgres-node") {
    const Zone* z = t.FindZone(target);
    if (!z) return {Response::kNothing, target, "no zone " + target + " in this topology"};
    std::string state = state_of(PatroniProgram(*z));
    if (state == "RUNNING" || state == "STARTING")
      return {Response::kNothing, target, "Patroni of " + target + " is " + state + ": it restarts PostgreSQL itself"};
    if (state == "STOPPED")
      return {Response::kNothing, target, "Patroni of " + target + " was stopped on purpose: not restarted"};
    return {Response::kRestartPostgresNode, target, "Patroni of " + target + " is " + (state.empty() ? "?" : state)};
  }
  if (a.runbook == "reinit-replica") {
    auto it = v.roles.find(target);
    if (it == v.roles.end()) return {Response::kNothing, target, "zone " + target + " is not a member now"};
    if (it->second == "leader") return {Response::kNothing, target, target + " is the primary: never re-cloned"};
    return {Response::kReinitReplica, target, target + " is a " + it->second + " that does not catch up"};
  }
  if (a.runbook == "tighten-shedding") {
    if (m.tightened.count(target) && m.tightened.at(target))
      return {Response::kNothing, target, "shedding already tightened in region " + target};
    if (!t.catalogd.admission) return {Response::kNothing, target, "admission control is off in this topology"};
    return {Response::kTightenShedding, target, "halve each catalogd's maxconn in region " + target};
  }
  // region-failover
  if (!p.auto_failover)
    return {Response::kPage, target, "policy: monitoring.auto_failover is off; a person decides (page)"};
  if (v.standby_regions == 0)
    return {Response::kPage, target, "no standby region to fail over to in this topology: page"};
  return {Response::kRegionFailover, target, "region " + target + " unreachable and the policy allows failover"};
}

namespace {

struct ActionRecord {
  std::string time;  // RFC 3339
  Alert alert;
  ResponseDecision decision;
  std::string outcome;  // "done: ...", "failed: ...", "dry-run", "skipped"
};

std::string NowRfc3339() {
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json::object RecordJson(const ActionRecord& r) {
  return {{"time", r.time},
          {"alert", r.alert.name},
          {"status", r.alert.status},
          {"fingerprint", r.alert.fingerprint},
          {"region", r.alert.region},
          {"zone", r.alert.zone},
          {"instance", r.alert.instance},
          {"summary", r.alert.summary},
          {"runbook", r.alert.runbook},
          {"action", ResponseName(r.decision.response)},
          {"target", r.decision.target},
          {"reason", r.decision.reason},
          {"outcome", r.outcome}};
}

class Actor {
 public:
  Actor(const Topology& t, const Secrets& s, bool dry_run) : t_(t), s_(s), dry_run_(dry_run) {}

  // Returns what was done, in words; an error says what failed.
  Result<std::string> Execute(const ResponseDecision& d) {
    if (dry_run_) return std::string("dry-run: would ") + std::string(ResponseName(d.response)) + " " + d.target;
    switch (d.response) {
      case Response::kStartProgram: {
        if (auto st = StartPrograms(t_, {d.target}); !st.ok()) return st;
        return "started " + d.target;
      }
      case Response::kRestartPostgresNode: {
        std::string report;
        if (auto st = RestartDatabaseNode(t_, *t_.FindZone(d.target), &report); !st.ok()) return st;
        return "zone " + d.target + ": " + report;
      }
      case Response::kReinitReplica: {
        const Zone* z = t_.FindZone(d.target);
        auto res = HttpCall(z->address, static_cast<unsigned short>(t_.ports.patroni), "POST", "/reinitialize",
                            R"({"force": true})", {{"Authorization", PatroniBasicAuth(s_)}}, std::chrono::seconds(10));
        if (res.status != 200)
          return Status::Unavailable("Patroni /reinitialize on " + d.target + ": HTTP " + std::to_string(res.status) +
                                     " " + res.error + res.body);
        return "re-cloning " + d.target + " from the primary (Patroni reinitialize)";
      }
      case Response::kTightenShedding:
      case Response::kRelaxShedding: {
        const Region* r = t_.FindRegion(d.target);
        if (!r) return Status::Invalid("no region " + d.target);
        int maxconn = d.response == Response::kTightenShedding ? kCatalogdMaxconn / 2 : kCatalogdMaxconn;
        int changed = 0;
        for (const auto& z : r->zones)
          for (int n = 1; n <= z.catalogd_max; ++n) {
            auto out =
                HaproxyCommand(r->dir + "/haproxy.sock", "set maxconn server catalogd/" + Topology::InstanceName(z, n) +
                                                             " " + std::to_string(maxconn));
            if (!out.ok()) return out.status();
            ++changed;
          }
        return "maxconn " + std::to_string(maxconn) + " on " + std::to_string(changed) + " catalogd server(s) of " +
               d.target;
      }
      case Response::kRegionFailover:
        return Status::Unavailable("region failover is not available in this build; page");
      case Response::kNothing:
      case Response::kPage:
        break;
    }
    return std::string("nothing to do");
  }

 private:
  const Topology& t_;
  const Secrets& s_;
  bool dry_run_;
};

}  // namespace

Status RunResponder(const Topology& t, const ResponderOptions& options) {
  InstallStopHandlers();
  auto secrets = LoadOrCreateSecrets(t);
  if (!secrets.ok()) return secrets.status();
  ResponderPolicy policy{options.dry_run || t.monitoring.responder_dry_run, t.monitoring.auto_failover,
                         t.monitoring.responder_max_actions, std::chrono::seconds(t.monitoring.responder_window_s)};
  std::mutex mu;
  std::vector<Alert> inbox;            // guarded by mu: received, not yet decided
  std::deque<json::object> recent;     // guarded by mu: the last 200 records, newest last
  std::map<std::string, long> counts;  // guarded by mu: "action/outcome" -> count
  long received = 0;                   // guarded by mu
  // A dry run keeps its own journal: the real responder's (and the status page) stay true.
  std::string journal =
      t.monitoring.dir + (policy.dry_run && !t.monitoring.responder_dry_run ? "/responder-actions.dry-run.jsonl"
                                                                            : "/responder-actions.jsonl");
  {
    // The records of earlier runs, so that the status page shows them after a restart.
    std::ifstream in(journal);
    std::string line;
    while (std::getline(in, line)) {
      boost::system::error_code ec;
      auto v = json::parse(line, ec);
      if (!ec && v.is_object()) recent.push_back(v.as_object());
      if (recent.size() > 200) recent.pop_front();
    }
  }
  SmallHttpServer server([&](const std::string& method, const std::string& target, const std::string& body) {
    if (target == "/alerts" && method == "POST") {
      auto alerts = ParseAlertmanagerWebhook(body);
      if (!alerts.ok()) return HttpReply{400, "text/plain; charset=utf-8", alerts.status().detail() + "\n"};
      std::lock_guard<std::mutex> lock(mu);
      received += static_cast<long>(alerts->size());
      inbox.insert(inbox.end(), alerts->begin(), alerts->end());
      return HttpReply{200, "application/json", R"({"status":"accepted"})"};
    }
    std::lock_guard<std::mutex> lock(mu);
    if (target == "/actions") {
      json::array a;
      for (auto it = recent.rbegin(); it != recent.rend(); ++it) a.push_back(*it);
      return HttpReply{200, "application/json",
                       json::serialize(json::object{{"dry_run", policy.dry_run}, {"actions", a}})};
    }
    if (target == "/metrics") {
      std::string out =
          "# HELP techmoda_responder_alerts_received_total Alert notifications received from Alertmanager.\n"
          "# TYPE techmoda_responder_alerts_received_total counter\ntechmoda_responder_alerts_received_total " +
          std::to_string(received) +
          "\n# HELP techmoda_responder_actions_total Decisions by action and outcome.\n"
          "# TYPE techmoda_responder_actions_total counter\n";
      for (const auto& [key, n] : counts) {
        auto slash = key.find('/');
        out += "techmoda_responder_actions_total{action=\"" + key.substr(0, slash) + "\",outcome=\"" +
               key.substr(slash + 1) + "\"} " + std::to_string(n) + "\n";
      }
      out +=
          "# HELP techmoda_responder_dry_run 1 when the responder only says what it would do.\n"
          "# TYPE techmoda_responder_dry_run gauge\ntechmoda_responder_dry_run " +
          std::string(policy.dry_run ? "1" : "0") + "\n";
      return HttpReply{200, "text/plain; version=0.0.4; charset=utf-8", out};
    }
    if (method != "GET") return HttpReply{405, "text/plain; charset=utf-8", "POST only to /alerts\n"};
    return HttpReply{404, "text/plain; charset=utf-8", "POST /alerts (Alertmanager), GET /actions, GET /metrics\n"};
  });
  if (auto s = server.Start(options.listen); !s.ok()) return s;
  log::Info("responder.started", {{"topology", t.name}, {"dry_run", policy.dry_run}, {"listen", options.listen}});
  Actor actor(t, *secrets, policy.dry_run);
  ResponderMemory memory;
  // Alertmanager repeats a firing alert every minute: the same decision about it again is counted
  // and logged, but recorded (journal, status page) only when something changed.
  std::map<std::string, std::string> last_decision;  // fingerprint -> status + reason
  auto started = Clock::now();
  while (!StopRequested()) {
    if (options.duration.count() > 0 && Clock::now() - started >= options.duration) break;
    // Observe: the alerts received since the last iteration, and the state they are about.
    ResponderView view;
    {
      std::lock_guard<std::mutex> lock(mu);
      view.alerts.swap(inbox);
    }
    if (view.alerts.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    for (const auto& [name, st] : ProgramStates(t)) view.programs[name] = st.first;
    for (const auto& rs : ReadStatus(t).regions)
      for (const auto& n : rs.nodes) view.roles[n.zone] = n.role;
    view.standby_regions = 0;  // a standby region arrives with disaster recovery (docs/monitoring.md)
    for (const auto& alert : view.alerts) {
      // Decide, then act: one decision per alert.
      auto now = Clock::now();
      ResponseDecision d = DecideResponse(alert, t, view, memory, policy, now);
      ActionRecord rec{NowRfc3339(), alert, d, ""};
      bool acts = d.response != Response::kNothing && d.response != Response::kPage;
      if (acts) {
        auto out = actor.Execute(d);
        rec.outcome = out.ok() ? (policy.dry_run ? *out : "done: " + *out) : "failed: " + out.status().detail();
        memory.acted[alert.runbook + "/" + d.target].push_back(now);
        if (!policy.dry_run && out.ok()) {
          if (d.response == Response::kTightenShedding) memory.tightened[d.target] = true;
          if (d.response == Response::kRelaxShedding) memory.tightened[d.target] = false;
          // Another notification of the same alert within this batch finds the new state.
          if (d.response == Response::kStartProgram) view.programs[d.target] = "STARTING";
          if (d.response == Response::kRestartPostgresNode)
            view.programs[PatroniProgram(*t.FindZone(d.target))] = "STARTING";
        }
      } else {
        rec.outcome = d.response == Response::kPage ? "page" : "skipped";
      }
      std::string outcome_class = !acts                               ? rec.outcome
                                  : policy.dry_run                    ? "dry_run"
                                  : rec.outcome.rfind("done", 0) == 0 ? "done"
                                                                      : "failed";
      json::object j = RecordJson(rec);
      bool repeat = !acts && last_decision[alert.fingerprint] == alert.status + d.reason;
      last_decision[alert.fingerprint] = alert.status + d.reason;
      log::Write(rec.outcome.rfind("failed", 0) == 0 ? log::Level::kError : log::Level::kInfo, "responder.decision", j);
      std::lock_guard<std::mutex> lock(mu);
      ++counts[std::string(ResponseName(d.response)) + "/" + outcome_class];
      if (repeat) continue;
      recent.push_back(j);
      if (recent.size() > 200) recent.pop_front();
      std::ofstream(journal, std::ios::app) << json::serialize(j) << "\n";
    }
  }
  server.Stop();
  log::Info("responder.stopped", {{"topology", t.name}});
  return Status::Ok();
}

}  // namespace techmoda::ctl
