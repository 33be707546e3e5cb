// catalogctl fault | switchover: the drills' faults and the planned switchover.
#include <cstdio>
#include <memory>

#include "ctl/cli/cli.h"
#include "ctl/faults/drills.h"
#include "ctl/faults/faults.h"
#include "ctl/intents/intents.h"

namespace techmoda::ctl::cli {

void RegisterFault(CLI::App& app, Context& ctx) {
  struct Options {
    std::string kind, target;
    double seconds = 0, by = 0;
  };
  auto o = std::make_shared<Options>();
  std::vector<std::string> kinds{"heal"};
  std::string help;
  for (const auto& d : Drills()) {
    kinds.emplace_back(d.name);
    help += "\n  " + std::string(d.name) + ": " + std::string(d.what);
  }
  auto* cmd = app.add_subcommand("fault", "inject a fault for a drill (undo with `fault heal`)");
  AddTopologyOptions(cmd, ctx);
  cmd->add_option("kind", o->kind, "the drill, or heal (undo every fault):" + help + "\n  heal: undo every fault")
      ->required()
      ->check(CLI::IsMember(kinds));
  cmd->add_option("zone", o->target,
                  "for a zone's drill the zone, or a role resolved now: 'primary' (default), 'sync-standby' or "
                  "'replica' (an asynchronous one); "
                  "for a region's drill the region (default: the first)");
  cmd->add_option("--for", o->seconds,
                  "a pause (stop-zone, stop-postgres, stop-patroni) or a clock skew: undo it after this many "
                  "seconds (the command waits); 0: until heal")
      ->check(CLI::Range(0.0, 3600.0));
  cmd->add_option("--by", o->by, "skew-clock: seconds the zone's wall clock moves (negative: back)")
      ->check(CLI::Range(-86400.0 * 365, 86400.0 * 365));
  cmd->callback([o, &ctx] {
    auto t = LoadTopologyFor("fault", ctx);
    if (!t.ok()) return;
    std::string report;
    const Drill* drill = FindDrill(o->kind);
    if (drill && o->seconds > 0 && !drill->timed)
      return void(ctx.exit_code = Fail("fault", Status::Invalid("--for applies to a pause, not to " + o->kind)));
    if (drill && o->by != 0 && !drill->offset)
      return void(ctx.exit_code = Fail("fault", Status::Invalid("--by applies to skew-clock, not to " + o->kind)));
    Status s = o->kind == "heal" ? FaultHeal(*t, &report) : drill->inject(*t, {o->target, o->seconds, o->by}, &report);
    if (!s.ok()) return void(ctx.exit_code = Fail("fault", s));
    std::printf("%s\n", report.c_str());
  });
}

void RegisterSwitchover(CLI::App& app, Context& ctx) {
  struct Options {
    std::string region, candidate;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("switchover", "planned switchover of a region's primary (Patroni)");
  AddTopologyOptions(cmd, ctx);
  cmd->add_option("--region", o->region, "the region (default: the first)");
  cmd->add_option("--to", o->candidate, "the zone to promote (default: Patroni's choice, the synchronous standby)");
  cmd->callback([o, &ctx] {
    auto t = LoadTopologyFor("switchover", ctx);
    if (!t.ok()) return;
    auto r = RecordAndCarryOut(*t, "switchover", {{"region", o->region}, {"candidate", o->candidate}},
                               "catalogctl switchover", PrintProgress);
    if (!r.ok()) return void(ctx.exit_code = Fail("switchover", r.status()));
    std::printf("%s", r->output.c_str());
  });
}

}  // namespace techmoda::ctl::cli
