#include "ctl/monitoring/responder.h"
#include "techmoda/metric_families.h"

#include <signal.h>

#include <atomic>
#include <boost/json.hpp>
#include <fstream>
#include <mutex>
#include <thread>

#include "common/http_client.h"
#include "common/log.h"
#include "ctl/base/http_server.h"
#include "ctl/base/loop.h"
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
  using Verdict = ResponseDecision::Verdict;
  const Runbook* rb = FindRunbook(a.runbook);
  // 1. A resolved alert: undo what was temporary, nothing else.
  if (a.status == "resolved") {
    if (rb && !rb->undo.empty() && m.tightened.count(a.region) && m.tightened.at(a.region))
      return {Verdict::kUndo, rb, a.region, "resolved: restore each catalogd's maxconn"};
    return {Verdict::kNothing, nullptr, "", "resolved"};
  }
  // 2. No automation for this alert.
  if (a.runbook.empty() || a.runbook == "page-only") return {Verdict::kPage, nullptr, "", "no automated runbook: page"};
  if (!rb) return {Verdict::kPage, nullptr, "", "unknown runbook '" + a.runbook + "': page"};
  // 3. The target of the runbook, as the alert names it.
  std::string target = rb->target_of(a, t);
  if (target.empty())
    return {Verdict::kPage, nullptr, "", "the alert does not name what runbook " + a.runbook + " acts on: page"};
  // 4. Rate limit per runbook and target: a repair that keeps failing must not loop.
  if (auto it = m.acted.find(a.runbook + "/" + target); it != m.acted.end()) {
    long recent = 0;
    for (auto at : it->second) recent += now - at < p.window;
    if (recent >= p.max_actions)
      return {Verdict::kNothing, nullptr, target,
              "rate-limited: " + std::to_string(recent) + " actions on " + target + " within " +
                  std::to_string(p.window.count()) + " s; page"};
  }
  // 5. The state cannot be read: do nothing unsafe.
  if (v.programs.empty() && rb->needs_programs)
    return {Verdict::kNothing, nullptr, target, "supervisord's programs cannot be read: doing nothing unsafe"};
  // 6. The runbook's own decision, which checks the state first (idempotent).
  return rb->decide(a, target, t, v, m, p);
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
          {"action", r.decision.Action()},
          {"target", r.decision.target},
          {"reason", r.decision.reason},
          {"outcome", r.outcome}};
}

// Carries out a decision through its runbook's row, or says what it would do in a dry run.
Result<std::string> Execute(const ResponseDecision& d, const ActionContext& c, bool dry_run) {
  if (dry_run) return "dry-run: would " + std::string(d.Action()) + " " + d.target;
  return d.runbook->act(c, d.target, d.verdict == ResponseDecision::Verdict::kUndo);
}

}  // namespace

namespace {

// The responder: Alertmanager's webhook fills an inbox; a control loop observes the alerts and the
// state they are about, decides (DecideResponse) and acts (Execute) once per alert, and records each
// decision in a journal, a ring for the status page, and counters.
class Responder {
 public:
  Responder(const Topology& t, const Secrets& secrets, ResponderPolicy policy)
      : t_(t),
        policy_(policy),
        actions_{t, secrets},
        // A dry run keeps its own journal: the real responder's (and the status page) stay true.
        journal_(t.monitoring.dir + (policy.dry_run && !t.monitoring.responder_dry_run
                                         ? "/responder-actions.dry-run.jsonl"
                                         : "/responder-actions.jsonl")) {
    LoadJournal();
  }

  HttpReply Serve(const std::string& method, const std::string& target, const std::string& body) {
    if (target == "/alerts" && method == "POST") {
      auto alerts = ParseAlertmanagerWebhook(body);
      if (!alerts.ok()) return HttpReply{400, "text/plain; charset=utf-8", alerts.status().detail() + "\n"};
      MutexLock lock(mu_);
      received_ += static_cast<long>(alerts->size());
      inbox_.insert(inbox_.end(), alerts->begin(), alerts->end());
      return HttpReply{200, "application/json", R"({"status":"accepted"})"};
    }
    if (target == "/actions") {
      MutexLock lock(mu_);
      json::array a;
      for (auto it = recent_.rbegin(); it != recent_.rend(); ++it) a.push_back(*it);
      return HttpReply{200, "application/json",
                       json::serialize(json::object{{"dry_run", policy_.dry_run}, {"actions", a}})};
    }
    if (target == "/metrics") return HttpReply{200, "text/plain; version=0.0.4; charset=utf-8", MetricsText()};
    if (method != "GET") return HttpReply{405, "text/plain; charset=utf-8", "POST only to /alerts\n"};
    return HttpReply{404, "text/plain; charset=utf-8", "POST /alerts (Alertmanager), GET /actions, GET /metrics\n"};
  }

  // One iteration: the alerts received since the last, and the state they are about; then one
  // decision per alert.
  void Step() {
    ResponderView view;
    {
      MutexLock lock(mu_);
      view.alerts.swap(inbox_);
    }
    if (view.alerts.empty()) return;
    for (const auto& [name, st] : ProgramStates(t_)) view.programs[name] = st.first;
    for (const auto& rs : ReadStatus(t_).regions)
      for (const auto& n : rs.nodes) view.roles[n.zone] = n.role;
    view.standby_regions = 0;  // a standby region arrives with disaster recovery (docs/monitoring.md)
    for (const auto& alert : view.alerts) Respond(alert, view);
  }

 private:
  // The records of earlier runs, so that the status page shows them after a restart.
  void LoadJournal() {
    MutexLock lock(mu_);
    std::ifstream in(journal_);
    std::string line;
    while (std::getline(in, line)) {
      boost::system::error_code ec;
      auto v = json::parse(line, ec);
      if (!ec && v.is_object()) recent_.push_back(v.as_object());
      if (recent_.size() > kRecent) recent_.pop_front();
    }
  }

  std::string MetricsText() {
    MutexLock lock(mu_);
    metrics::Families out;
    metrics::AddCounter(out, "techmoda_responder_alerts_received_total",
                        "Alert notifications received from Alertmanager.", static_cast<double>(received_));
    auto& actions = metrics::AddFamily(out, "techmoda_responder_actions_total", "Decisions by action and outcome.",
                                       prometheus::MetricType::Counter);
    for (const auto& [key, n] : counts_) {
      auto slash = key.find('/');
      metrics::AddSample(actions, static_cast<double>(n),
                         {{"action", key.substr(0, slash)}, {"outcome", key.substr(slash + 1)}});
    }
    metrics::AddGauge(out, "techmoda_responder_dry_run", "1 when the responder only says what it would do.",
                      policy_.dry_run ? 1 : 0);
    return metrics::Text(out);
  }

  // Decide, then act, then record.
  void Respond(const Alert& alert, ResponderView& view) {
    auto now = Clock::now();
    ResponseDecision d = DecideResponse(alert, t_, view, memory_, policy_, now);
    ActionRecord rec{NowRfc3339(), alert, d, ""};
    const bool acts = d.Acts();
    if (acts) {
      auto out = Execute(d, actions_, policy_.dry_run);
      rec.outcome = out.ok() ? (policy_.dry_run ? *out : "done: " + *out) : "failed: " + out.status().detail();
      memory_.acted[alert.runbook + "/" + d.target].push_back(now);
      if (!policy_.dry_run && out.ok()) {
        // What a runbook does for a while (shedding tightened) is undone when its alert resolves.
        if (!d.runbook->undo.empty()) memory_.tightened[d.target] = d.verdict == ResponseDecision::Verdict::kAct;
        // Another notification of the same alert within this batch finds the new state.
        if (d.runbook->action == "start-program") view.programs[d.target] = "STARTING";
        if (d.runbook->name == "restart-postgres-node")
          view.programs[PatroniProgram(*t_.FindZone(d.target))] = "STARTING";
      }
    } else {
      rec.outcome = d.verdict == ResponseDecision::Verdict::kPage ? "page" : "skipped";
    }
    std::string outcome_class = !acts                               ? rec.outcome
                                : policy_.dry_run                   ? "dry_run"
                                : rec.outcome.rfind("done", 0) == 0 ? "done"
                                                                    : "failed";
    json::object j = RecordJson(rec);
    // Alertmanager repeats a firing alert every minute: the same decision about it again is counted
    // and logged, but recorded (journal, status page) only when something changed.
    bool repeat = !acts && last_decision_[alert.fingerprint] == alert.status + d.reason;
    last_decision_[alert.fingerprint] = alert.status + d.reason;
    log::Write(rec.outcome.rfind("failed", 0) == 0 ? log::Level::kError : log::Level::kInfo, "responder.decision", j);
    MutexLock lock(mu_);
    ++counts_[std::string(d.Action()) + "/" + outcome_class];
    if (repeat) return;
    recent_.push_back(j);
    if (recent_.size() > kRecent) recent_.pop_front();
    std::ofstream(journal_, std::ios::app) << json::serialize(j) << "\n";
  }

  static constexpr std::size_t kRecent = 200;
  const Topology& t_;
  const ResponderPolicy policy_;
  const ActionContext actions_;
  const std::string journal_;
  // The loop's own.
  ResponderMemory memory_;
  std::map<std::string, std::string> last_decision_;  // fingerprint -> status + reason
  // What the webhook's threads and the loop share.
  Mutex mu_;
  std::vector<Alert> inbox_ GUARDED_BY(mu_);            // received, not yet decided
  std::deque<json::object> recent_ GUARDED_BY(mu_);     // the last kRecent records, newest last
  std::map<std::string, long> counts_ GUARDED_BY(mu_);  // "action/outcome" -> count
  long received_ GUARDED_BY(mu_) = 0;
};

}  // namespace

Status RunResponder(const Topology& t, const ResponderOptions& options) {
  InstallStopHandlers();
  auto secrets = LoadOrCreateSecrets(t);
  if (!secrets.ok()) return secrets.status();
  ResponderPolicy policy{options.dry_run || t.monitoring.responder_dry_run, t.monitoring.auto_failover,
                         t.monitoring.responder_max_actions, std::chrono::seconds(t.monitoring.responder_window_s)};
  Responder responder(t, *secrets, policy);
  SmallHttpServer server([&](const std::string& method, const std::string& target, const std::string& body) {
    return responder.Serve(method, target, body);
  });
  if (auto s = server.Start(options.listen); !s.ok()) return s;
  log::Info("responder.started", {{"topology", t.name}, {"dry_run", policy.dry_run}, {"listen", options.listen}});
  ControlLoop loop({"responder", std::chrono::milliseconds(200), options.duration});
  loop.Run([&] { responder.Step(); });
  server.Stop();
  log::Info("responder.stopped", {{"topology", t.name}});
  return Status::Ok();
}

}  // namespace techmoda::ctl
