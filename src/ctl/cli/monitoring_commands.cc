// catalogctl canary | responder: end-to-end checks and the automated runbooks.
#include <chrono>
#include <cstdio>
#include <memory>

#include "common/log.h"
#include "ctl/cli/cli.h"
#include "ctl/monitoring/canary.h"
#include "ctl/monitoring/responder.h"
#include "ctl/topology/render.h"

namespace techmoda::ctl::cli {

namespace {
// By hand: a few runs per region and a table; 1 if any failed.
int CanaryTable(const Topology& t, int runs) {
  auto secrets = LoadOrCreateSecrets(t);
  if (!secrets.ok()) return Fail("canary", secrets.status());
  bool all_ok = true;
  std::printf("%-8s %-4s %-8s  %s\n", "REGION", "RUN", "RESULT", "STEPS (ms)");
  for (const auto& r : t.regions)
    for (int n = 1; n <= runs; ++n) {
      auto run = RunCanaryOnce(t, r, secrets->canary_token, std::chrono::seconds(2));
      std::string steps;
      for (const auto& st : run.steps)
        steps += st.name + " " + std::to_string(static_cast<int>(st.seconds * 1000)) +
                 (st.ok ? "" : " FAILED: " + st.detail) + "  ";
      std::printf("%-8s %-4d %-8s  %s\n", r.name.c_str(), n, run.ok ? "ok" : "FAILED", steps.c_str());
      all_ok &= run.ok;
    }
  return all_ok ? 0 : 1;
}
}  // namespace

void RegisterCanary(CLI::App& app, Context& ctx) {
  struct Options {
    std::string listen;
    int interval_ms = 0, duration = 0, runs = 0;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "canary", "check every region end to end (read, order, cancel, read back) every few seconds; export the results");
  AddTopologyOptions(cmd, ctx);
  cmd->add_option("--listen", o->listen, "HOST:PORT to serve /metrics (the rendered topology sets it)");
  cmd->add_option("--interval-ms", o->interval_ms, "between runs (default: monitoring.canary_interval_ms)");
  cmd->add_option("--duration", o->duration, "stop after this many seconds (0: until SIGTERM)");
  cmd->add_option("--runs", o->runs, "run this many times per region, print a table and exit (1 if any failed)");
  cmd->callback([o, &ctx] {
    auto t = LoadTopologyFor("canary", ctx);
    if (!t.ok()) return;
    log::Init(log::Level::kInfo, {{"service", "canary"}, {"topology", t->name}});
    if (o->runs > 0 && o->listen.empty()) return void(ctx.exit_code = CanaryTable(*t, o->runs));
    CanaryOptions c;
    c.listen = o->listen;
    c.interval = std::chrono::milliseconds(o->interval_ms);
    c.duration = std::chrono::seconds(o->duration);
    c.runs = o->runs;
    if (auto s = RunCanary(*t, c); !s.ok()) ctx.exit_code = Fail("canary", s);
  });
}

void RegisterResponder(CLI::App& app, Context& ctx) {
  struct Options {
    std::string listen;
    bool dry_run = false;
    int duration = 0;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "responder", "receive Alertmanager's alerts and carry out their runbooks (restart, re-clone, shed, fail over)");
  AddTopologyOptions(cmd, ctx);
  cmd->add_option("--listen", o->listen,
                  "HOST:PORT for POST /alerts, GET /actions and /metrics (default: the topology's)");
  cmd->add_flag("--dry-run", o->dry_run, "decide and log what it would do, change nothing");
  cmd->add_option("--duration", o->duration, "stop after this many seconds (0: until SIGTERM)");
  cmd->callback([o, &ctx] {
    auto t = LoadTopologyFor("responder", ctx);
    if (!t.ok()) return;
    log::Init(log::Level::kInfo, {{"service", "responder"}, {"topology", t->name}});
    ResponderOptions r;
    r.listen = o->listen.empty() ? HostPort(t->monitoring.address, t->monitoring.responder_port) : o->listen;
    r.dry_run = o->dry_run;
    r.duration = std::chrono::seconds(o->duration);
    if (auto s = RunResponder(*t, r); !s.ok()) ctx.exit_code = Fail("responder", s);
  });
}

}  // namespace techmoda::ctl::cli
