// `catalogctl gameday`: brings up the scenario's topology, seeds it, takes a backup, runs the
// open-loop load through the front door while it plays the timeline of faults, then has the checker
// rule on every promise and writes the report (report.html, report.json, plot.svg).
#pragma once

#include <string>

#include "ctl/base/progress.h"
#include "ctl/gameday/report.h"
#include "ctl/gameday/scenario.h"
#include "ctl/topology/topology.h"
#include "techmoda/status.h"

namespace techmoda::ctl::gameday {

// Runs `s` on `t` (brought up here; left up for inspection when `keep_up`), writing the report into
// `out_dir`. Needs root. A step that fails is recorded in the timeline and the run goes on: the
// report says what it cost.
Result<GamedayReport> RunGameday(const Scenario& s, const Topology& t, const std::string& out_dir, bool keep_up,
                                 const Progress& progress);

}  // namespace techmoda::ctl::gameday
