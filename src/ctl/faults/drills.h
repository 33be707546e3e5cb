// The fault drills: one row per fault a drill, `catalogctl fault` or a game-day step can make. Adding
// a drill is a row here and its inject function in faults.cc (and the tests that go with it).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ctl/faults/faults.h"
#include "ctl/topology/topology.h"
#include "techmoda/status.h"

namespace techmoda::ctl {

// What a drill aims at, named when it is asked for and resolved when the fault is made.
enum class DrillTarget {
  kZone,    // a zone's name, or "primary": the zone that holds the primary now (the default)
  kRegion,  // a region's name (default: the first)
};

// The recovery a fault is judged by (the game day's RTO classes); kNone: not judged by one (a fault
// for the monitoring to see, such as WAL archiving stalled).
enum class RecoveryClass { kNone, kZone, kDatabase, kRegion, kDeploy };

// "zone", "database", "region", "deploy"; "" for kNone.
std::string_view RecoveryClassName(RecoveryClass c);

struct Drill {
  std::string_view name;  // the word in `catalogctl fault` and in scenario steps ("kill-zone")
  DrillTarget target;
  RecoveryClass recovery;
  std::string_view what;  // one line for the help and the report
  // Makes the fault on its target (a zone or region name, or "primary"); `report` says what was
  // hit, by name and role. Undone, with every other fault, by FaultHeal.
  Status (*inject)(const Topology& t, const FaultArgs& args, std::string* report);
  bool timed = false;   // takes --for SECONDS (a pause that resumes by itself)
  bool offset = false;  // takes --by SECONDS (how far a clock moves)
};

// Every drill, in the order the help lists them.
const std::vector<Drill>& Drills();
// The drill called `name`; nullptr when there is none.
const Drill* FindDrill(std::string_view name);
// "kill-zone, stop-zone, ...": the names, for help texts and errors.
std::string DrillNames();

}  // namespace techmoda::ctl
