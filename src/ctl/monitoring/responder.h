// The responder (`catalogctl responder`): Alertmanager's webhook receiver. Each alert names a
// runbook (its `runbook` label); the responder carries out the automated ones and records the rest:
//   restart-catalogd       start the instance's program again if supervisord has it stopped
//   restart-etcd           the same for the zone's etcd member (its data is kept)
//   restart-exporter       the same for the zone's PostgreSQL exporter
//   restart-postgres-node  remove orphaned PostgreSQL processes and restart the zone's Patroni
//   reinit-replica         re-clone a replica that cannot catch up (Patroni's /reinitialize)
//   tighten-shedding       halve each catalogd's maxconn in the region's HAProxy (restored on resolve)
//   region-failover        only where the topology's policy allows it (monitoring.auto_failover)
//   page-only              nothing automated: a person follows docs/monitoring.md
// One control loop (shared/STYLE.md): Observe (alerts received since the last iteration, supervisord's
// programs, Patroni's members) -> DecideResponse (pure, one decision and its reason per alert) ->
// Execute. Every action is idempotent (it checks the state first), rate-limited per runbook and
// target, logged as a JSON line with the alert that caused it, and has a dry-run mode.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ctl/topology/topology.h"
#include "techmoda/status.h"

namespace techmoda::ctl {

struct Alert {
  std::string name;    // alertname
  std::string status;  // "firing" or "resolved"
  std::string fingerprint;
  std::string runbook;  // label runbook
  std::string severity;
  std::string region, zone, instance;
  std::string summary;
  std::string starts_at;
};

// Parses Alertmanager's webhook body (version 4). Errors name what is missing.
Result<std::vector<Alert>> ParseAlertmanagerWebhook(std::string_view body);

enum class Response {
  kNothing,       // resolved, already fine, rate-limited, refused by policy: the reason says which
  kPage,          // no automation: recorded for a person
  kStartProgram,  // catalogd, etcd, an exporter: start the stopped supervisord program
  kRestartPostgresNode,
  kReinitReplica,
  kTightenShedding,
  kRelaxShedding,
  kRegionFailover,
};
std::string_view ResponseName(Response r);

struct ResponderPolicy {
  bool dry_run = false;
  bool auto_failover = false;
  int max_actions = 3;  // per runbook and target within `window`
  std::chrono::seconds window{600};
};

// What one iteration sees: the alerts received since the last one and the state they are about.
struct ResponderView {
  std::vector<Alert> alerts;
  std::map<std::string, std::string> programs;  // supervisord program -> state (empty: unreadable)
  std::map<std::string, std::string> roles;     // zone -> Patroni role ("leader", "replica", ...)
  int standby_regions = 0;                      // regions that could take over (none until DR)
};

// What the responder remembers between iterations: when it acted, per runbook and target.
struct ResponderMemory {
  std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> acted;  // "runbook/target"
  std::map<std::string, bool> tightened;                                           // region -> maxconn halved
};

struct ResponseDecision {
  Response response = Response::kNothing;
  std::string target;  // program, zone or region
  std::string reason;
};

// Pure: guards in priority order, every branch returns.
ResponseDecision DecideResponse(const Alert& a, const Topology& t, const ResponderView& v, const ResponderMemory& m,
                                const ResponderPolicy& p, std::chrono::steady_clock::time_point now);

struct ResponderOptions {
  std::string listen;  // HOST:PORT: POST /alerts (webhook), GET /actions (JSON), GET /metrics
  bool dry_run = false;
  std::chrono::seconds duration{0};  // 0: until SIGTERM
};

Status RunResponder(const Topology& t, const ResponderOptions& options);

}  // namespace techmoda::ctl
