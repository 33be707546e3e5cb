// catalogctl gameday: the disaster plan rehearsed under load, judged and reported.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>

#include "common/process.h"
#include "ctl/cli/cli.h"
#include "ctl/gameday/run.h"

namespace techmoda::ctl::cli {

namespace {
struct GamedayOptions {
  std::string scenario, out;
  bool short_run = false, keep_up = false;
};

// The objectives beside the mandate, columns as wide as their longest cell.
void PrintObjectives(const gameday::GamedayReport& report) {
  int wn = 9, wt = 6, wm = 8;
  for (const auto& o : report.objectives) {
    wn = std::max(wn, static_cast<int>(o.name.size()));
    wt = std::max(wt, static_cast<int>(o.target.size()));
    wm = std::max(wm, static_cast<int>(o.measured.size()));
  }
  std::printf("%-*s  %-*s  %-*s  %s\n", wn, "OBJECTIVE", wt, "TARGET", wm, "MEASURED", "VERDICT");
  for (const auto& o : report.objectives)
    std::printf("%-*s  %-*s  %-*s  %s\n", wn, o.name.c_str(), wt, o.target.c_str(), wm, o.measured.c_str(),
                o.met ? "met" : "MISSED");
}

int RunGamedayCommand(GamedayOptions o, const std::string& var_root) {
  std::string file = !o.scenario.empty() ? o.scenario
                     : o.short_run       ? "deploy/gameday/short.yaml"
                                         : "deploy/gameday/full.yaml";
  auto text = ReadFile(file);
  if (!text) return Fail("gameday", Status::Invalid("cannot read the scenario " + file));
  auto scenario = gameday::ParseScenario(*text);
  if (!scenario.ok()) return Fail("gameday", scenario.status());
  auto t = LoadTopology(scenario->topology, var_root);
  if (!t.ok()) return Fail("gameday", t.status());
  if (o.out.empty()) {
    char stamp[32];
    std::time_t now = std::time(nullptr);
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", std::gmtime(&now));
    o.out = var_root + "/gameday/" + scenario->name + "-" + stamp;
  }
  o.out = std::filesystem::absolute(o.out).string();
  auto report = gameday::RunGameday(*scenario, *t, o.out, o.keep_up, PrintProgress);
  if (!report.ok()) return Fail("gameday", report.status());
  std::cout << gameday::FormatReport(report->check) << "\n";
  PrintObjectives(*report);
  std::printf("\ngame day %s: %s\nreport: %s/report.html (and report.json)\n", scenario->name.c_str(),
              report->Passed() ? "PASSED" : "FAILED", o.out.c_str());
  return report->Passed() ? 0 : 1;
}
}  // namespace

void RegisterGameday(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<GamedayOptions>();
  auto* cmd = app.add_subcommand(
      "gameday",
      "rehearse the disaster plan under load: faults, failover, recovery; checks every promise, writes a report");
  cmd->add_option("--scenario", o->scenario, "the scenario file (default deploy/gameday/full.yaml)");
  cmd->add_flag("--short", o->short_run, "the short scenario (deploy/gameday/short.yaml), as CI runs it");
  cmd->add_option("--out", o->out, "where the report goes (default var/gameday/<scenario>-<time>)");
  cmd->add_flag("--keep-up", o->keep_up, "leave the topology up afterwards, for inspection");
  cmd->add_option("--var-dir", ctx.var_root, "where topologies keep their state")->capture_default_str();
  cmd->callback([o, &ctx] { ctx.exit_code = RunGamedayCommand(*o, ctx.var_root); });
}

}  // namespace techmoda::ctl::cli
