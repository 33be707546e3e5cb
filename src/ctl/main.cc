// catalogctl: the control-plane tool. `seed` loads a sample catalog; `up | down | status | logs |
// fault | switchover | autoscale | scale | render` run a topology (regions, zones) of Patroni, etcd, HAProxy and
// catalogd processes on this machine, or render it for real hosts.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <thread>

#include "common/embedded_pg.h"
#include "common/log.h"
#include "common/process.h"
#include "ctl/autoscale/autoscale.h"
#include "ctl/backup/backup.h"
#include "ctl/cluster/cluster.h"
#include "ctl/commands/seed.h"
#include "ctl/dr/dr.h"
#include "ctl/dr/recover.h"
#include "ctl/faults/faults.h"
#include "ctl/gameday/run.h"
#include "ctl/monitoring/canary.h"
#include "ctl/monitoring/responder.h"
#include "ctl/monitoring/status_web.h"
#include "ctl/region/region.h"

using namespace techmoda;

namespace {

int RunSeed(const ctl::SeedOptions& seed, const std::string& database_url, const std::string& data_dir) {
  std::string conninfo = database_url.empty() ? EmbeddedConninfo(data_dir) : database_url;
  auto start = std::chrono::steady_clock::now();
  bool tty = isatty(2);
  auto status = ctl::RunSeed(conninfo, seed, [&](std::string_view phase, std::int64_t done, std::int64_t total) {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string what(phase);
    if (total > 0)
      std::fprintf(stderr, "%sseed: %-8s %8lld/%lld products (%3.0f%%)  %5.1f s%s", tty ? "\r" : "", what.c_str(),
                   static_cast<long long>(done), static_cast<long long>(total), 100.0 * done / total, secs,
                   tty ? "" : "\n");
    else if (phase == "copies")
      std::fprintf(stderr, "seed: waiting until running catalogd copies have it ...   %5.1f s\n", secs);
    else
      std::fprintf(stderr, "%sseed: building indexes and constraints ...                %5.1f s\n", tty ? "\n" : "",
                   secs);
  });
  if (tty) std::fprintf(stderr, "\n");
  if (!status.ok()) {
    std::cerr << "catalogctl seed: " << status.detail() << "\n";
    return 1;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("seeded %lld products (seed %llu) in %.1f s\n", static_cast<long long>(seed.products),
              static_cast<unsigned long long>(seed.seed), secs);
  return 0;
}

int Fail(const std::string& command, const Status& s) {
  std::cerr << "catalogctl " << command << ": " << s.detail() << "\n";
  return 1;
}

void PrintProgress(const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"catalogctl: operate the TechModa catalog", "catalogctl"};
  app.require_subcommand(1);

  ctl::SeedOptions seed;
  std::string database_url;
  std::string data_dir = "./var";
  std::string topology_file = "deploy/local.yaml";
  std::string var_root = "./var";
  auto* seed_cmd =
      app.add_subcommand("seed", "load a deterministic sample fashion catalog (products and stock) with COPY");
  seed_cmd->add_option("--products", seed.products, "how many products")->capture_default_str();
  seed_cmd->add_option("--seed", seed.seed, "random seed: the same seed gives the same catalog")->capture_default_str();
  seed_cmd->add_flag("--replace", seed.replace, "replace a non-empty catalog (refused while orders hold stock)");
  seed_cmd
      ->add_option("--database-url", database_url,
                   "libpq connection string; default: the embedded database of --data-dir")
      ->envname("CATALOGD_DATABASE_URL");
  seed_cmd->add_option("--data-dir", data_dir, "catalogd's data folder, to reach its embedded database")
      ->envname("CATALOGD_DATA_DIR")
      ->capture_default_str();
  std::string seed_topology;
  seed_cmd->add_option("--topology", seed_topology,
                       "seed the database of this topology's first region instead (as catalogd's role)");

  auto add_topology = [&](CLI::App* c) {
    c->add_option("--topology", topology_file, "the topology file (regions, zones, instances)")
        ->envname("CATALOGCTL_TOPOLOGY")
        ->capture_default_str();
    c->add_option("--var-dir", var_root, "where topologies keep their state: <var-dir>/<topology name>/")
        ->envname("CATALOGCTL_VAR_DIR")
        ->capture_default_str();
  };
  seed_cmd->add_option("--var-dir", var_root, "with --topology: where topologies keep their state")
      ->envname("CATALOGCTL_VAR_DIR")
      ->capture_default_str();

  int up_timeout = 180;
  auto* up =
      app.add_subcommand("up", "render the topology under ./var, start it under supervisord, wait until healthy");
  add_topology(up);
  up->add_option("--timeout", up_timeout, "seconds to wait for a healthy region")->capture_default_str();

  bool purge = false;
  auto* down = app.add_subcommand("down", "stop every process of the topology (data stays unless --purge)");
  add_topology(down);
  down->add_flag("--purge", purge, "also remove <var-dir>/<topology>: data, secrets, logs");

  bool as_json = false;
  double watch = 0;
  auto* status = app.add_subcommand("status", "every node's zone, role, timeline, replication lag and health");
  add_topology(status);
  status->add_flag("--json", as_json, "the same as JSON, for scripts");
  status->add_option("--watch", watch, "repeat every N seconds");
  bool status_web = false;
  std::string status_listen;
  int status_duration = 0;
  status->add_flag("--web", status_web,
                   "serve a live status page (nodes, lag, RPO exposure, error budget, alerts, runbook actions)");
  status->add_option("--listen", status_listen,
                     "with --web: HOST:PORT (default: the topology's monitoring status_port)");
  status->add_option("--duration", status_duration, "with --web: stop after this many seconds (0: until SIGTERM)");

  std::string canary_listen;
  int canary_interval_ms = 0, canary_duration = 0, canary_runs = 0;
  auto* canary = app.add_subcommand(
      "canary", "check every region end to end (read, order, cancel, read back) every few seconds; export the results");
  add_topology(canary);
  canary->add_option("--listen", canary_listen, "HOST:PORT to serve /metrics (the rendered topology sets it)");
  canary->add_option("--interval-ms", canary_interval_ms, "between runs (default: monitoring.canary_interval_ms)");
  canary->add_option("--duration", canary_duration, "stop after this many seconds (0: until SIGTERM)");
  canary->add_option("--runs", canary_runs, "run this many times per region, print a table and exit (1 if any failed)");

  std::string responder_listen;
  bool responder_dry_run = false;
  int responder_duration = 0;
  auto* responder = app.add_subcommand(
      "responder", "receive Alertmanager's alerts and carry out their runbooks (restart, re-clone, shed, fail over)");
  add_topology(responder);
  responder->add_option("--listen", responder_listen,
                        "HOST:PORT for POST /alerts, GET /actions and /metrics (default: the topology's)");
  responder->add_flag("--dry-run", responder_dry_run, "decide and log what it would do, change nothing");
  responder->add_option("--duration", responder_duration, "stop after this many seconds (0: until SIGTERM)");

  std::string log_zone, log_program;
  int log_lines = 40;
  bool follow = false;
  auto* logs = app.add_subcommand("logs", "the logs of the topology's processes");
  add_topology(logs);
  logs->add_option("--zone", log_zone, "only this zone");
  logs->add_option("--program", log_program, "only this program's logs")
      ->check(CLI::IsMember({"etcd", "patroni", "catalogd", "haproxy", "postgres-exporter", "prometheus",
                             "alertmanager", "node-exporter", "responder", "canary", "status-page", "pgbackrest",
                             "pgbackrest-repo", "backup-scheduler"}));
  logs->add_option("-n,--lines", log_lines, "lines from the end of each")->capture_default_str();
  logs->add_flag("-f,--follow", follow, "keep printing as they grow");

  std::string fault_kind, fault_zone;
  auto* fault = app.add_subcommand("fault", "inject a fault for a drill (undo with `fault heal`)");
  add_topology(fault);
  fault
      ->add_option(
          "kind", fault_kind,
          "kill-zone | stop-zone | partition-zone | kill-postgres | stop-postgres | stall-archive | kill-region | "
          "partition-region | heal")
      ->required()
      ->check(CLI::IsMember({"kill-zone", "stop-zone", "partition-zone", "kill-postgres", "stop-postgres",
                             "stall-archive", "kill-region", "partition-region", "heal"}));
  fault->add_option("zone", fault_zone,
                    "the zone, or 'primary' for the current primary's zone (default); for stall-archive, "
                    "kill-region and partition-region the region (default: the first)");

  std::string sw_region, sw_candidate;
  auto* sw = app.add_subcommand("switchover", "planned switchover of a region's primary (Patroni)");
  add_topology(sw);
  sw->add_option("--region", sw_region, "the region (default: the first)");
  sw->add_option("--to", sw_candidate, "the zone to promote (default: Patroni's choice, the synchronous standby)");

  int autoscale_duration = 0;
  bool autoscale_dry_run = false;
  std::string autoscale_metrics;
  auto* autoscale = app.add_subcommand(
      "autoscale",
      "add and remove catalogd instances per zone from measured load (between each zone's catalogd and "
      "catalogd_max), registering them in HAProxy; runs beside an `up` topology until stopped");
  add_topology(autoscale);
  autoscale->add_option("--duration", autoscale_duration, "stop after this many seconds (0: run until SIGTERM)")
      ->check(CLI::Range(0, 86400 * 365))
      ->capture_default_str();
  autoscale->add_flag("--dry-run", autoscale_dry_run, "decide and log, change nothing");
  autoscale->add_option("--metrics-listen", autoscale_metrics,
                        "HOST:PORT to serve the autoscaler's own /metrics (instances, load, actions)");

  std::string scale_zone;
  int scale_count = 1;
  auto* scale =
      app.add_subcommand("scale", "start or stop a zone's catalogd instances now (draining in HAProxy first)");
  add_topology(scale);
  scale->add_option("--zone", scale_zone, "the zone")->required();
  scale->add_option("--instances", scale_count, "how many should serve (0 .. the zone's catalogd_max)")->required();

  std::string backup_action, backup_type = "full", backup_set;
  bool backup_json = false;
  int backup_duration = 0;
  auto* backup_cmd = app.add_subcommand(
      "backup", "pgBackRest backups of the topology: run one, list them, verify one restores, run the schedule");
  add_topology(backup_cmd);
  backup_cmd
      ->add_option("action", backup_action,
                   "run (take a backup now) | list | verify (restore into a scratch instance and check it) | "
                   "schedule (the scheduler's loop)")
      ->required()
      ->check(CLI::IsMember({"run", "list", "verify", "schedule"}));
  backup_cmd->add_option("--type", backup_type, "with run: full, diff or incr")
      ->check(CLI::IsMember({"full", "diff", "incr"}))
      ->capture_default_str();
  backup_cmd->add_option("--set", backup_set, "with verify: the backup's label (default: the newest)");
  backup_cmd->add_flag("--json", backup_json, "with list and verify: JSON, for scripts");
  backup_cmd->add_option("--duration", backup_duration,
                         "with schedule: stop after this many seconds (0: until SIGTERM)");

  std::string dr_action, dr_to, dr_to_time, dr_exclude_deploy;
  bool dr_force = false, dr_json = false;
  auto* dr_cmd = app.add_subcommand("dr", "regions: which is active and how far behind the others are; fail over");
  add_topology(dr_cmd);
  dr_cmd
      ->add_option("action", dr_action,
                   "status (active region, epoch, leases, the RPO meter) | failover (move the active region) | "
                   "failback (rebuild a lost region as a standby, then make it active again) | recover (undo a "
                   "bad deployment: the state at --to-time, then every later change but deployment "
                   "--exclude-deploy's) | watch (the region responder: automatic failover by dr.auto_failover_after_s; "
                   "runs as the dr-responder program)")
      ->required()
      ->check(CLI::IsMember({"status", "failover", "failback", "recover", "watch"}));
  dr_cmd->add_option("--to", dr_to, "with failover: the region to make active");
  dr_cmd->add_flag("--force", dr_force,
                   "with failover: the active region is lost; do not wait for it (writes it acknowledged and the "
                   "target lacks are lost, within the RPO)");
  dr_cmd->add_option("--to-time", dr_to_time,
                     "with recover: the moment to restore (a time PostgreSQL reads, e.g. 2026-11-26T17:00:00Z)");
  dr_cmd->add_option("--exclude-deploy", dr_exclude_deploy,
                     "with recover: the deployment id whose changes after --to-time are not replayed");
  dr_cmd->add_flag("--json", dr_json, "with status and recover: JSON");
  int dr_duration = 0;
  dr_cmd->add_option("--duration", dr_duration, "with watch: stop after this many seconds (0: until stopped)");

  std::string render_target = "local", render_out = "./rendered";
  auto* render = app.add_subcommand("render", "write the configuration files (and systemd units) from the topology");
  add_topology(render);
  render->add_option("--target", render_target, "local (what up runs, under --var-dir) or systemd (real hosts)")
      ->check(CLI::IsMember({"local", "systemd"}))
      ->capture_default_str();
  render->add_option("--out", render_out, "for --target systemd: the folder to write, one subfolder per host")
      ->capture_default_str();

  std::string gameday_scenario, gameday_out;
  bool gameday_short = false, gameday_keep_up = false;
  auto* gameday_cmd = app.add_subcommand(
      "gameday",
      "rehearse the disaster plan under load: faults, failover, recovery; checks every promise, writes a report");
  gameday_cmd->add_option("--scenario", gameday_scenario, "the scenario file (default deploy/gameday/full.yaml)");
  gameday_cmd->add_flag("--short", gameday_short, "the short scenario (deploy/gameday/short.yaml), as CI runs it");
  gameday_cmd->add_option("--out", gameday_out, "where the report goes (default var/gameday/<scenario>-<time>)");
  gameday_cmd->add_flag("--keep-up", gameday_keep_up, "leave the topology up afterwards, for inspection");
  gameday_cmd->add_option("--var-dir", var_root, "where topologies keep their state")->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  if (*gameday_cmd) {
    std::string file = !gameday_scenario.empty() ? gameday_scenario
                       : gameday_short           ? "deploy/gameday/short.yaml"
                                                 : "deploy/gameday/full.yaml";
    auto text = ReadFile(file);
    if (!text) return Fail("gameday", Status::Invalid("cannot read the scenario " + file));
    auto scenario = ctl::gameday::ParseScenario(*text);
    if (!scenario.ok()) return Fail("gameday", scenario.status());
    auto gt = ctl::LoadTopology(scenario->topology, var_root);
    if (!gt.ok()) return Fail("gameday", gt.status());
    if (gameday_out.empty()) {
      char stamp[32];
      std::time_t now = std::time(nullptr);
      std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", std::gmtime(&now));
      gameday_out = var_root + "/gameday/" + scenario->name + "-" + stamp;
    }
    gameday_out = std::filesystem::absolute(gameday_out).string();
    auto report = ctl::gameday::RunGameday(*scenario, *gt, gameday_out, gameday_keep_up, PrintProgress);
    if (!report.ok()) return Fail("gameday", report.status());
    std::cout << ctl::gameday::FormatReport(report->check) << "\n";
    int wn = 9, wt = 6, wm = 8;  // columns as wide as their longest cell
    for (const auto& o : report->objectives) {
      wn = std::max(wn, static_cast<int>(o.name.size()));
      wt = std::max(wt, static_cast<int>(o.target.size()));
      wm = std::max(wm, static_cast<int>(o.measured.size()));
    }
    std::printf("%-*s  %-*s  %-*s  %s\n", wn, "OBJECTIVE", wt, "TARGET", wm, "MEASURED", "VERDICT");
    for (const auto& o : report->objectives)
      std::printf("%-*s  %-*s  %-*s  %s\n", wn, o.name.c_str(), wt, o.target.c_str(), wm, o.measured.c_str(),
                  o.met ? "met" : "MISSED");
    std::printf("\ngame day %s: %s\nreport: %s/report.html (and report.json)\n", scenario->name.c_str(),
                report->Passed() ? "PASSED" : "FAILED", gameday_out.c_str());
    return report->Passed() ? 0 : 1;
  }

  if (*seed_cmd) {
    if (!seed_topology.empty()) {
      auto t = ctl::LoadTopology(seed_topology, var_root);
      if (!t.ok()) return Fail("seed", t.status());
      auto s = ctl::LoadOrCreateSecrets(*t);
      if (!s.ok()) return Fail("seed", s.status());
      database_url = ctl::CatalogConninfo(*t, t->regions.front(), *s);
    }
    return RunSeed(seed, database_url, data_dir);
  }

  auto t = ctl::LoadTopology(topology_file, var_root);
  if (!t.ok()) return Fail(app.get_subcommands().front()->get_name(), t.status());

  if (*up) {
    auto start = std::chrono::steady_clock::now();
    auto s = ctl::Up(*t, std::chrono::seconds(up_timeout), PrintProgress);
    auto st = ctl::ReadStatus(*t);
    std::cout << ctl::FormatStatusTable(st);
    if (!s.ok()) return Fail("up", s);
    std::printf("up in %.1f s. API: http://%s:%d  (tokens in %s)\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                t->regions.front().address.c_str(), t->ports.haproxy_api, t->SecretsPath().c_str());
    return 0;
  }
  if (*down) {
    auto s = ctl::Down(*t, purge, PrintProgress);
    if (!s.ok()) return Fail("down", s);
    std::printf("topology %s is down\n", t->name.c_str());
    return 0;
  }
  auto at = [](const std::string& host, int port) { return host + ":" + std::to_string(port); };
  if (*status && status_web) {
    log::Init(log::Level::kInfo, {{"service", "status-page"}, {"topology", t->name}});
    auto s = ctl::RunStatusWeb(
        *t, status_listen.empty() ? at(t->monitoring.address, t->monitoring.status_port) : status_listen,
        status_duration);
    if (!s.ok()) return Fail("status", s);
    return 0;
  }
  if (*canary) {
    log::Init(log::Level::kInfo, {{"service", "canary"}, {"topology", t->name}});
    if (canary_runs > 0 && canary_listen.empty()) {
      // By hand: a few runs and a table.
      auto secrets = ctl::LoadOrCreateSecrets(*t);
      if (!secrets.ok()) return Fail("canary", secrets.status());
      bool all_ok = true;
      std::printf("%-8s %-4s %-8s  %s\n", "REGION", "RUN", "RESULT", "STEPS (ms)");
      for (const auto& r : t->regions)
        for (int n = 1; n <= canary_runs; ++n) {
          auto run = ctl::RunCanaryOnce(*t, r, secrets->canary_token, std::chrono::seconds(2));
          std::string steps;
          for (const auto& st : run.steps)
            steps += st.name + " " + std::to_string(static_cast<int>(st.seconds * 1000)) +
                     (st.ok ? "" : " FAILED: " + st.detail) + "  ";
          std::printf("%-8s %-4d %-8s  %s\n", r.name.c_str(), n, run.ok ? "ok" : "FAILED", steps.c_str());
          all_ok &= run.ok;
        }
      return all_ok ? 0 : 1;
    }
    ctl::CanaryOptions o;
    o.listen = canary_listen;
    o.interval = std::chrono::milliseconds(canary_interval_ms);
    o.duration = std::chrono::seconds(canary_duration);
    o.runs = canary_runs;
    auto s = ctl::RunCanary(*t, o);
    if (!s.ok()) return Fail("canary", s);
    return 0;
  }
  if (*responder) {
    log::Init(log::Level::kInfo, {{"service", "responder"}, {"topology", t->name}});
    ctl::ResponderOptions o;
    o.listen = responder_listen.empty() ? at(t->monitoring.address, t->monitoring.responder_port) : responder_listen;
    o.dry_run = responder_dry_run;
    o.duration = std::chrono::seconds(responder_duration);
    auto s = ctl::RunResponder(*t, o);
    if (!s.ok()) return Fail("responder", s);
    return 0;
  }
  if (*status) {
    while (true) {
      auto st = ctl::ReadStatus(*t);
      if (as_json)
        std::cout << boost::json::serialize(ctl::StatusJson(st)) << "\n";
      else
        std::cout << (watch > 0 && isatty(1) ? "\033[H\033[2J" : "") << ctl::FormatStatusTable(st);
      std::cout.flush();
      if (watch <= 0) return st.healthy() ? 0 : 3;
      std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(watch * 1000)));
    }
  }
  if (*logs) {
    auto files = ctl::LogFiles(*t, log_zone, log_program);
    if (files.empty()) return Fail("logs", Status::NotFound("no log files yet under " + t->var_dir));
    std::vector<std::string> args{"tail", "-n", std::to_string(log_lines)};
    if (follow) args.push_back("-F");
    args.insert(args.end(), files.begin(), files.end());
    std::vector<char*> cargs;
    for (auto& a : args) cargs.push_back(a.data());
    cargs.push_back(nullptr);
    execv("/usr/bin/tail", cargs.data());
    return Fail("logs", Status::Internal("cannot run tail"));
  }
  if (*fault) {
    std::string report;
    Status s;
    if (fault_kind == "kill-zone") s = ctl::FaultKillZone(*t, fault_zone, &report);
    if (fault_kind == "stop-zone") s = ctl::FaultStopZone(*t, fault_zone, &report);
    if (fault_kind == "partition-zone") s = ctl::FaultPartitionZone(*t, fault_zone, &report);
    if (fault_kind == "kill-postgres") s = ctl::FaultKillPostgres(*t, fault_zone, &report);
    if (fault_kind == "stop-postgres") s = ctl::FaultStopPostgres(*t, fault_zone, &report);
    if (fault_kind == "stall-archive") s = ctl::FaultStallArchive(*t, fault_zone, &report);
    if (fault_kind == "kill-region") s = ctl::FaultKillRegion(*t, fault_zone, &report);
    if (fault_kind == "partition-region") s = ctl::FaultPartitionRegion(*t, fault_zone, &report);
    if (fault_kind == "heal") s = ctl::FaultHeal(*t, &report);
    if (!s.ok()) return Fail("fault", s);
    std::printf("%s\n", report.c_str());
    return 0;
  }
  if (*sw) {
    std::string report;
    auto s = ctl::Switchover(*t, sw_region, sw_candidate, &report);
    if (!s.ok()) return Fail("switchover", s);
    std::printf("%s\n", report.c_str());
    return 0;
  }
  if (*autoscale) {
    ctl::autoscale::LoopOptions o;
    o.duration = std::chrono::seconds(autoscale_duration);
    o.dry_run = autoscale_dry_run;
    o.metrics_listen = autoscale_metrics;
    log::Init(log::Level::kInfo, {{"service", "autoscaler"}, {"topology", t->name}});
    auto s = ctl::autoscale::RunAutoscaler(*t, o);
    if (!s.ok()) return Fail("autoscale", s);
    return 0;
  }
  if (*scale) {
    std::string report;
    auto s = ctl::autoscale::ScaleZone(*t, scale_zone, scale_count, &report);
    if (!s.ok()) return Fail("scale", s);
    std::printf("%s\n", report.c_str());
    return 0;
  }
  if (*backup_cmd) {
    if (backup_action == "run") {
      auto s = ctl::backup::Run(*t, backup_type, PrintProgress);
      if (!s.ok()) return Fail("backup run", s);
      auto info = ctl::backup::List(*t);
      if (info.ok()) std::cout << ctl::backup::FormatList(*info);
      return 0;
    }
    if (backup_action == "list") {
      auto info = ctl::backup::List(*t);
      if (!info.ok()) return Fail("backup list", info.status());
      if (backup_json)
        std::cout << boost::json::serialize(ctl::backup::ListJson(*info)) << "\n";
      else
        std::cout << ctl::backup::FormatList(*info);
      return 0;
    }
    if (backup_action == "verify") {
      auto report = ctl::backup::Verify(*t, backup_set, backup_json ? [](const std::string&) {} : PrintProgress);
      if (backup_json)
        std::cout << boost::json::serialize(ctl::backup::VerifyJson(report)) << "\n";
      else
        std::cout << ctl::backup::FormatVerify(report);
      return report.ok() ? 0 : 1;
    }
    log::Init(log::Level::kInfo, {{"service", "backup-scheduler"}, {"topology", t->name}});
    auto s = ctl::backup::Schedule(*t, std::chrono::seconds(backup_duration));
    if (!s.ok()) return Fail("backup schedule", s);
    return 0;
  }
  if (*dr_cmd) {
    if (dr_action == "status") {
      auto st = ctl::dr::ReadDrStatus(*t);
      if (dr_json)
        std::cout << boost::json::serialize(ctl::dr::DrStatusJson(st)) << "\n";
      else
        std::cout << ctl::dr::FormatDrStatus(st);
      return st.global_error.empty() ? 0 : 3;
    }
    if (dr_action == "watch") {
      log::Init(log::Level::kInfo, {{"service", "dr-responder"}, {"topology", t->name}});
      auto s = ctl::dr::WatchRegions(*t, std::chrono::seconds(dr_duration));
      if (!s.ok()) return Fail("dr watch", s);
      return 0;
    }
    if (dr_action == "recover") {
      auto r = ctl::dr::Recover(*t, {dr_to_time, dr_exclude_deploy}, PrintProgress);
      if (!r.ok()) return Fail("dr recover", r.status());
      if (dr_json)
        std::cout << boost::json::serialize(ctl::dr::RecoverJson(*r)) << "\n";
      else
        std::cout << ctl::dr::FormatRecover(*r);
      return r->conflicts.empty() ? 0 : 4;
    }
    if (dr_to.empty()) return Fail("dr failover", Status::Invalid("--to REGION is required"));
    auto start = std::chrono::steady_clock::now();
    auto s = dr_action == "failback" ? ctl::dr::Failback(*t, dr_to, PrintProgress)
                                     : ctl::dr::Failover(*t, dr_to, dr_force, PrintProgress);
    if (!s.ok()) return Fail("dr " + dr_action, s);
    std::printf("region %s is active (%s failover in %.1f s)\n", dr_to.c_str(), dr_force ? "forced" : "planned",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    std::cout << ctl::dr::FormatDrStatus(ctl::dr::ReadDrStatus(*t));
    return 0;
  }
  if (*render) {
    std::vector<std::string> written;
    auto s = render_target == "local" ? ctl::RenderLocal(*t, &written) : ctl::RenderSystemd(*t, render_out, &written);
    if (!s.ok()) return Fail("render", s);
    for (const auto& w : written) std::printf("%s\n", w.c_str());
    return 0;
  }
  return 0;
}
