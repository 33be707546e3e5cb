// catalogctl autoscale | scale: catalogd instances per zone, by measured load or by hand.
#include <cstdio>
#include <memory>

#include "common/log.h"
#include "ctl/autoscale/autoscale.h"
#include "ctl/cli/cli.h"
#include "ctl/intents/intents.h"

namespace techmoda::ctl::cli {

void RegisterAutoscale(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<autoscale::LoopOptions>();
  auto duration = std::make_shared<int>(0);
  auto* cmd = app.add_subcommand(
      "autoscale",
      "add and remove catalogd instances per zone from measured load (between each zone's catalogd and "
      "catalogd_max), registering them in HAProxy; runs beside an `up` topology until stopped");
  AddTopologyOptions(cmd, ctx);
  cmd->add_option("--duration", *duration, "stop after this many seconds (0: run until SIGTERM)")
      ->check(CLI::Range(0, 86400 * 365))
      ->capture_default_str();
  cmd->add_flag("--dry-run", o->dry_run, "decide and log, change nothing");
  cmd->add_option("--metrics-listen", o->metrics_listen,
                  "HOST:PORT to serve the autoscaler's own /metrics (instances, load, actions)");
  cmd->callback([o, duration, &ctx] {
    auto t = LoadTopologyFor("autoscale", ctx);
    if (!t.ok()) return;
    o->duration = std::chrono::seconds(*duration);
    log::Init(log::Level::kInfo, {{"service", "autoscaler"}, {"topology", t->name}});
    if (auto s = autoscale::RunAutoscaler(*t, *o); !s.ok()) ctx.exit_code = Fail("autoscale", s);
  });
}

void RegisterScale(CLI::App& app, Context& ctx) {
  struct Options {
    std::string zone;
    int count = 1;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("scale", "start or stop a zone's catalogd instances now (draining in HAProxy first)");
  AddTopologyOptions(cmd, ctx);
  cmd->add_option("--zone", o->zone, "the zone")->required();
  cmd->add_option("--instances", o->count, "how many should serve (0 .. the zone's catalogd_max)")->required();
  cmd->callback([o, &ctx] {
    auto t = LoadTopologyFor("scale", ctx);
    if (!t.ok()) return;
    auto r =
        RecordAndCarryOut(*t, "scale", {{"zone", o->zone}, {"instances", o->count}}, "catalogctl scale", PrintProgress);
    if (!r.ok()) return void(ctx.exit_code = Fail("scale", r.status()));
    std::printf("%s", r->output.c_str());
  });
}

}  // namespace techmoda::ctl::cli
