// The journal of operator intents: a command records what it wants done ("fail over to b, forced"),
// and whoever carries it out (the command itself, or a controller that claims it first: the region
// watcher) claims it, carries it out through the one path that makes that change, and records the
// outcome. The journal is the audit trail of every failover, failback, recovery, switchover and scale.
//
// On one machine it is a folder (<var>/<topology>/intents): <id>.json is recorded, renamed to
// <id>.claimed by the one that wins the claim (rename is atomic), and <id>.done holds the outcome.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "techmoda/status.h"

namespace techmoda::ctl {

struct Intent {
  std::string id;      // time-ordered: "20261203T111500.123456789Z-1a2b3c"
  std::string action;  // "failover", "failback", "recover", "switchover", "scale"
  boost::json::object args;
  std::string by;  // who recorded it ("catalogctl dr failover", "dr-responder")
  std::string recorded_at;
};

// Thread-safe: every step is a file operation; processes share the folder.
class IntentLog {
 public:
  explicit IntentLog(std::string dir) : dir_(std::move(dir)) {}

  Result<Intent> Record(const std::string& action, boost::json::object args, const std::string& by);
  // Takes `intent` to carry out; false when another took it first.
  bool Claim(const Intent& intent, const std::string& who);
  // Records how it ended.
  void Finish(const Intent& intent, const Status& outcome, const std::string& detail);
  // Recorded and not yet claimed, oldest first.
  std::vector<Intent> Unclaimed() const;
  // The outcome of a finished intent; nullopt while it is not finished.
  std::optional<Status> OutcomeOf(const std::string& id) const;

 private:
  std::string dir_;
};

}  // namespace techmoda::ctl
