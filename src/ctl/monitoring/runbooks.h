// The automated runbooks: one row per value of an alert's `runbook` label (deploy/prometheus/
// catalog-rules.yml). The responder's decision and its actions both read the row, so adding a runbook
// is a row here, its decide and act functions in runbooks.cc, an alert rule naming it, and tests.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ctl/region/region.h"
#include "ctl/topology/render.h"
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
  std::map<std::string, NodeRole> roles;        // zone -> its database node's role
  int standby_regions = 0;                      // regions that could take over (none until DR)
};

// What the responder remembers between iterations: when it acted, per runbook and target.
struct ResponderMemory {
  std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> acted;  // "runbook/target"
  std::map<std::string, bool> tightened;                                           // region -> maxconn halved
};

struct Runbook;

// One decision about one alert.
struct ResponseDecision {
  enum class Verdict {
    kNothing,  // resolved, already fine, rate-limited, refused by policy: the reason says which
    kPage,     // no automation: recorded for a person
    kAct,      // carry out the runbook's action on `target`
    kUndo,     // the alert resolved: undo what the runbook did for a while (tighten-shedding)
  };
  Verdict verdict = Verdict::kNothing;
  const Runbook* runbook = nullptr;  // set for kAct and kUndo
  std::string target;                // program, zone or region
  std::string reason;
  // "nothing", "page", or the runbook's action or undo name ("start-program", "relax-shedding").
  std::string_view Action() const;
  bool Acts() const { return verdict == Verdict::kAct || verdict == Verdict::kUndo; }
};

// What an action may use.
struct ActionContext {
  const Topology& topology;
  const Secrets& secrets;
};

struct Runbook {
  std::string_view name;    // the alert's label
  std::string_view action;  // what it does, in the journal ("start-program")
  std::string_view undo;    // what resolving the alert undoes; empty: nothing
  // Whether deciding needs supervisord's programs (a view without them makes it do nothing).
  bool needs_programs;
  // The program, zone or region the alert names for this runbook; empty when it names none.
  std::string (*target_of)(const Alert& a, const Topology& t);
  // Pure: checks the state first (idempotent) and returns kAct, or kNothing/kPage with the reason.
  ResponseDecision (*decide)(const Alert& a, const std::string& target, const Topology& t, const ResponderView& v,
                             const ResponderMemory& m, const ResponderPolicy& p);
  // Carries out kAct (undo: false) or kUndo (true) on `target`; what was done, in words.
  Result<std::string> (*act)(const ActionContext& c, const std::string& target, bool undo);
};

// Every automated runbook; "page-only" and an alert without a runbook are not rows (they page).
const std::vector<Runbook>& Runbooks();
const Runbook* FindRunbook(std::string_view name);

}  // namespace techmoda::ctl
