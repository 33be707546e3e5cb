// The responder (`catalogctl responder`): Alertmanager's webhook receiver. Each alert names a
// runbook (its `runbook` label); the responder carries out the automated ones (the table in
// runbooks.h: restart a dead program or database node, re-clone a replica, tighten shedding, region
// failover where the policy allows it) and records the rest (page-only: a person follows
// docs/monitoring.md).
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

#include "ctl/monitoring/runbooks.h"
#include "ctl/topology/topology.h"
#include "techmoda/status.h"

namespace techmoda::ctl {

// Parses Alertmanager's webhook body (version 4). Errors name what is missing.
Result<std::vector<Alert>> ParseAlertmanagerWebhook(std::string_view body);

// Pure: the guards every runbook shares, in priority order (resolved; no runbook; no target; rate
// limit; state unreadable), then the runbook's own decision (runbooks.h). Every branch returns.
ResponseDecision DecideResponse(const Alert& a, const Topology& t, const ResponderView& v, const ResponderMemory& m,
                                const ResponderPolicy& p, std::chrono::steady_clock::time_point now);

struct ResponderOptions {
  std::string listen;  // HOST:PORT: POST /alerts (webhook), GET /actions (JSON), GET /metrics
  bool dry_run = false;
  std::chrono::seconds duration{0};  // 0: until SIGTERM
};

Status RunResponder(const Topology& t, const ResponderOptions& options);

}  // namespace techmoda::ctl
