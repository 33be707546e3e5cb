// Carrying out operator intents (base/intents.h): failover, failback, recover, switchover and scale
// each have one path that makes the change, whether a command or a controller carries the intent out.
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "ctl/base/intents.h"
#include "ctl/base/progress.h"
#include "ctl/topology/topology.h"
#include "techmoda/status.h"

namespace techmoda::ctl {

// What carrying out an intent printed, and the exit code a command gives for it (0; 4: a recovery
// with conflicts).
struct IntentResult {
  std::string output;
  int exit_code = 0;
};

// The topology's journal: <var>/<topology>/intents.
IntentLog Journal(const Topology& t);

// Carries out `intent` (claimed by the caller). kInvalidArgument for an action or arguments it does
// not know.
Result<IntentResult> CarryOut(const Topology& t, const Intent& intent, const Progress& progress);

// What a command does: records the intent; claims and carries it out, unless a controller claimed it
// first (then waits for that outcome); records the outcome.
Result<IntentResult> RecordAndCarryOut(const Topology& t, const std::string& action, boost::json::object args,
                                       const std::string& by, const Progress& progress);

}  // namespace techmoda::ctl
