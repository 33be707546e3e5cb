// A game-day scenario (a YAML file an operator can write): the open-loop load, the timeline of
// faults and repairs, and the objectives the report measures against. `catalogctl gameday
// --scenario FILE` plays it; deploy/gameday/*.yaml are the full and the short one.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "techmoda/status.h"

namespace techmoda::ctl::gameday {

// What an operation of the load is, with its weight in the mix.
struct LoadMix {
  int read_product = 50, list = 15, search = 5, place_order = 20, cancel_order = 5, read_order = 5;
  int Total() const { return read_product + list + search + place_order + cancel_order + read_order; }
};

struct Load {
  double rate = 40;  // operations per second at 1x, started on schedule whatever the answers (open loop)
  LoadMix mix;
  double token_reads = 0.5;  // share of order reads that carry the consistency token of the write they follow
  int customers = 200;
  int products = 2000;  // the catalog seeded before the run
};

// One step of the timeline. `action` is a drill's name (ctl/faults/drills.h) or one of kRepairActions;
// the other fields are its arguments.
struct Step {
  double at_s = 0;
  std::string action;
  std::string zone, region, to;  // a drill's target: zone ("primary" allowed) or region; failover's region
  bool force = false;            // failover
  double factor = 1, for_s = 0;  // surge; for_s also a pause's or a skew's length
  double by_s = 0;               // skew-clock: how far the clock moves
  int products = 0;              // bad-deploy: how many prices it rewrites
  std::string Describe() const;
  // The RTO class a fault belongs to ("" for repairs and surges, which are not faults with a recovery).
  std::string FaultClass() const;
};

// The steps that are not fault drills; every drill of ctl/faults/drills.h is a step too.
inline const std::vector<std::string> kRepairActions = {"surge",   "failover", "bad-deploy",
                                                        "recover", "heal",     "failback"};

struct Objectives {
  double availability = 0.999;  // of all requests over the run
  double rpo_s = 1;             // acknowledged writes a region loss may cost
  std::map<std::string, double> rto_s = {{"zone", 30}, {"database", 30}, {"region", 30}, {"deploy", 120}};
};

struct Scenario {
  std::string name;
  std::string topology = "deploy/local-2region.yaml";
  double duration_s = 600;
  Load load;
  std::vector<Step> timeline;  // by at_s
  Objectives objectives;
};

// Parses and checks a scenario; the error lists every problem, each named by its path
// ("timeline[3].zone: ...").
Result<Scenario> ParseScenario(const std::string& yaml_text);

}  // namespace techmoda::ctl::gameday
