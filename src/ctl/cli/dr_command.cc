// catalogctl dr status | failover | failback | recover | watch: regions and disaster recovery.
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "common/log.h"
#include "ctl/cli/cli.h"
#include "ctl/dr/dr.h"
#include "ctl/dr/recover.h"
#include "ctl/intents/intents.h"

namespace techmoda::ctl::cli {

namespace {
struct DrOptions {
  std::string action, to, to_time, exclude_deploy;
  bool force = false, json = false, async = false;
  int duration = 0;
};

void LogProgress(const std::string& line) { log::Info("dr_watch.progress", {{"line", line}}); }

int RunDr(const Topology& t, const DrOptions& o) {
  if (o.action == "status") {
    auto st = dr::ReadDrStatus(t);
    if (o.json)
      std::cout << boost::json::serialize(dr::DrStatusJson(st)) << "\n";
    else
      std::cout << dr::FormatDrStatus(st);
    return st.global_error.empty() ? 0 : 3;
  }
  if (o.action == "watch") {
    log::Init(log::Level::kInfo, {{"service", "dr-responder"}, {"topology", t.name}});
    auto carry_out = [&t](const Intent& intent) { return CarryOut(t, intent, LogProgress).status(); };
    if (auto s = dr::WatchRegions(t, std::chrono::seconds(o.duration), carry_out); !s.ok()) return Fail("dr watch", s);
    return 0;
  }
  if (o.action == "recover") {
    auto r = RecordAndCarryOut(t, "recover",
                               {{"to_time", o.to_time}, {"exclude_deploy", o.exclude_deploy}, {"json", o.json}},
                               "catalogctl dr recover", PrintProgress);
    if (!r.ok()) return Fail("dr recover", r.status());
    std::cout << r->output;
    return r->exit_code;
  }
  if (o.to.empty()) return Fail("dr " + o.action, Status::Invalid("--to REGION is required"));
  boost::json::object args{{"to", o.to}, {"force", o.force}};
  if (o.async) {
    // Recorded for the region watcher (program dr-responder), which carries it out.
    auto intent = Journal(t).Record(o.action, args, "catalogctl dr " + o.action);
    if (!intent.ok()) return Fail("dr " + o.action, intent.status());
    std::printf("intent %s recorded: %s to %s (the region watcher carries it out)\n", intent->id.c_str(),
                o.action.c_str(), o.to.c_str());
    return 0;
  }
  auto start = std::chrono::steady_clock::now();
  auto s = RecordAndCarryOut(t, o.action, args, "catalogctl dr " + o.action, PrintProgress);
  if (!s.ok()) return Fail("dr " + o.action, s.status());
  std::printf("region %s is active (%s failover in %.1f s)\n", o.to.c_str(), o.force ? "forced" : "planned",
              SecondsSince(start));
  std::cout << dr::FormatDrStatus(dr::ReadDrStatus(t));
  return 0;
}
}  // namespace

void RegisterDr(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<DrOptions>();
  auto* cmd = app.add_subcommand("dr", "regions: which is active and how far behind the others are; fail over");
  AddTopologyOptions(cmd, ctx);
  cmd->add_option("action", o->action,
                  "status (active region, epoch, leases, the RPO meter) | failover (move the active region) | "
                  "failback (rebuild a lost region as a standby, then make it active again) | recover (undo a "
                  "bad deployment: the state at --to-time, then every later change but deployment "
                  "--exclude-deploy's) | watch (the region responder: automatic failover by dr.auto_failover_after_s; "
                  "runs as the dr-responder program)")
      ->required()
      ->check(CLI::IsMember({"status", "failover", "failback", "recover", "watch"}));
  cmd->add_option("--to", o->to, "with failover: the region to make active");
  cmd->add_flag("--force", o->force,
                "with failover: the active region is lost; do not wait for it (writes it acknowledged and the "
                "target lacks are lost, within the RPO)");
  cmd->add_option("--to-time", o->to_time,
                  "with recover: the moment to restore (a time PostgreSQL reads, e.g. 2026-11-26T17:00:00Z)");
  cmd->add_option("--exclude-deploy", o->exclude_deploy,
                  "with recover: the deployment id whose changes after --to-time are not replayed");
  cmd->add_flag("--json", o->json, "with status and recover: JSON");
  cmd->add_option("--duration", o->duration, "with watch: stop after this many seconds (0: until stopped)");
  cmd->add_flag("--async", o->async,
                "with failover and failback: record the intent and return; the region watcher (dr-responder) "
                "carries it out");
  cmd->callback([o, &ctx] {
    auto t = LoadTopologyFor("dr", ctx);
    if (t.ok()) ctx.exit_code = RunDr(*t, *o);
  });
}

}  // namespace techmoda::ctl::cli
