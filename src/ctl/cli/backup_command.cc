// catalogctl backup run | list | verify | schedule.
#include <boost/json/serialize.hpp>
#include <iostream>
#include <memory>

#include "common/log.h"
#include "ctl/backup/backup.h"
#include "ctl/cli/cli.h"

namespace techmoda::ctl::cli {

namespace {
struct BackupOptions {
  std::string action, type = "full", set;
  bool json = false;
  int duration = 0;
};

int RunBackup(const Topology& t, const BackupOptions& o) {
  if (o.action == "run") {
    if (auto s = backup::Run(t, o.type, PrintProgress); !s.ok()) return Fail("backup run", s);
    if (auto info = backup::List(t); info.ok()) std::cout << backup::FormatList(*info);
    return 0;
  }
  if (o.action == "list") {
    auto info = backup::List(t);
    if (!info.ok()) return Fail("backup list", info.status());
    if (o.json)
      std::cout << boost::json::serialize(backup::ListJson(*info)) << "\n";
    else
      std::cout << backup::FormatList(*info);
    return 0;
  }
  if (o.action == "verify") {
    auto report = backup::Verify(t, o.set, o.json ? [](const std::string&) {} : Progress(PrintProgress));
    if (o.json)
      std::cout << boost::json::serialize(backup::VerifyJson(report)) << "\n";
    else
      std::cout << backup::FormatVerify(report);
    return report.ok() ? 0 : 1;
  }
  log::Init(log::Level::kInfo, {{"service", "backup-scheduler"}, {"topology", t.name}});
  if (auto s = backup::Schedule(t, std::chrono::seconds(o.duration)); !s.ok()) return Fail("backup schedule", s);
  return 0;
}
}  // namespace

void RegisterBackup(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<BackupOptions>();
  auto* cmd = app.add_subcommand(
      "backup", "pgBackRest backups of the topology: run one, list them, verify one restores, run the schedule");
  AddTopologyOptions(cmd, ctx);
  cmd->add_option("action", o->action,
                  "run (take a backup now) | list | verify (restore into a scratch instance and check it) | "
                  "schedule (the scheduler's loop)")
      ->required()
      ->check(CLI::IsMember({"run", "list", "verify", "schedule"}));
  cmd->add_option("--type", o->type, "with run: full, diff or incr")
      ->check(CLI::IsMember({"full", "diff", "incr"}))
      ->capture_default_str();
  cmd->add_option("--set", o->set, "with verify: the backup's label (default: the newest)");
  cmd->add_flag("--json", o->json, "with list and verify: JSON, for scripts");
  cmd->add_option("--duration", o->duration, "with schedule: stop after this many seconds (0: until SIGTERM)");
  cmd->callback([o, &ctx] {
    auto t = LoadTopologyFor("backup", ctx);
    if (t.ok()) ctx.exit_code = RunBackup(*t, *o);
  });
}

}  // namespace techmoda::ctl::cli
