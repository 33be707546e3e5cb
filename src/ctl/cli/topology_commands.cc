// catalogctl up | down | status | logs | render: a topology's lifecycle and what it looks like.
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <thread>

#include "common/log.h"
#include "ctl/cli/cli.h"
#include "ctl/monitoring/status_web.h"
#include "ctl/region/region.h"

namespace techmoda::ctl::cli {

void RegisterUp(CLI::App& app, Context& ctx) {
  auto timeout = std::make_shared<int>(180);
  auto* cmd =
      app.add_subcommand("up", "render the topology under ./var, start it under supervisord, wait until healthy");
  AddTopologyOptions(cmd, ctx);
  cmd->add_option("--timeout", *timeout, "seconds to wait for a healthy region")->capture_default_str();
  cmd->callback([timeout, &ctx] {
    auto t = LoadTopologyFor("up", ctx);
    if (!t.ok()) return;
    auto start = std::chrono::steady_clock::now();
    auto s = Up(*t, std::chrono::seconds(*timeout), PrintProgress);
    std::cout << FormatStatusTable(ReadStatus(*t));
    if (!s.ok()) return void(ctx.exit_code = Fail("up", s));
    std::printf("up in %.1f s. API: http://%s:%d  (tokens in %s)\n", SecondsSince(start),
                t->regions.front().address.c_str(), t->ports.haproxy_api, t->SecretsPath().c_str());
  });
}

void RegisterDown(CLI::App& app, Context& ctx) {
  auto purge = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("down", "stop every process of the topology (data stays unless --purge)");
  AddTopologyOptions(cmd, ctx);
  cmd->add_flag("--purge", *purge, "also remove <var-dir>/<topology>: data, secrets, logs");
  cmd->callback([purge, &ctx] {
    auto t = LoadTopologyFor("down", ctx);
    if (!t.ok()) return;
    if (auto s = Down(*t, *purge, PrintProgress); !s.ok()) return void(ctx.exit_code = Fail("down", s));
    std::printf("topology %s is down\n", t->name.c_str());
  });
}

void RegisterStatus(CLI::App& app, Context& ctx) {
  struct Options {
    bool json = false, web = false;
    double watch = 0;
    std::string listen;
    int duration = 0;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("status", "every node's zone, role, timeline, replication lag and health");
  AddTopologyOptions(cmd, ctx);
  cmd->add_flag("--json", o->json, "the same as JSON, for scripts");
  cmd->add_option("--watch", o->watch, "repeat every N seconds");
  cmd->add_flag("--web", o->web,
                "serve a live status page (nodes, lag, RPO exposure, error budget, alerts, runbook actions)");
  cmd->add_option("--listen", o->listen, "with --web: HOST:PORT (default: the topology's monitoring status_port)");
  cmd->add_option("--duration", o->duration, "with --web: stop after this many seconds (0: until SIGTERM)");
  cmd->callback([o, &ctx] {
    auto t = LoadTopologyFor("status", ctx);
    if (!t.ok()) return;
    if (o->web) {
      log::Init(log::Level::kInfo, {{"service", "status-page"}, {"topology", t->name}});
      std::string listen = o->listen.empty() ? HostPort(t->monitoring.address, t->monitoring.status_port) : o->listen;
      if (auto s = RunStatusWeb(*t, listen, o->duration); !s.ok()) ctx.exit_code = Fail("status", s);
      return;
    }
    while (true) {
      auto st = ReadStatus(*t);
      if (o->json)
        std::cout << boost::json::serialize(StatusJson(st)) << "\n";
      else
        std::cout << (o->watch > 0 && isatty(1) ? "\033[H\033[2J" : "") << FormatStatusTable(st);
      std::cout.flush();
      if (o->watch <= 0) return void(ctx.exit_code = st.healthy() ? 0 : 3);
      std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(o->watch * 1000)));
    }
  });
}

void RegisterLogs(CLI::App& app, Context& ctx) {
  struct Options {
    std::string zone, program;
    int lines = 40;
    bool follow = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("logs", "the logs of the topology's processes");
  AddTopologyOptions(cmd, ctx);
  cmd->add_option("--zone", o->zone, "only this zone");
  cmd->add_option("--program", o->program, "only this program's logs")
      ->check(CLI::IsMember({"etcd", "patroni", "catalogd", "haproxy", "postgres-exporter", "prometheus",
                             "alertmanager", "node-exporter", "responder", "canary", "status-page", "pgbackrest",
                             "pgbackrest-repo", "backup-scheduler"}));
  cmd->add_option("-n,--lines", o->lines, "lines from the end of each")->capture_default_str();
  cmd->add_flag("-f,--follow", o->follow, "keep printing as they grow");
  cmd->callback([o, &ctx] {
    auto t = LoadTopologyFor("logs", ctx);
    if (!t.ok()) return;
    auto files = LogFiles(*t, o->zone, o->program);
    if (files.empty())
      return void(ctx.exit_code = Fail("logs", Status::NotFound("no log files yet under " + t->var_dir)));
    std::vector<std::string> args{"tail", "-n", std::to_string(o->lines)};
    if (o->follow) args.push_back("-F");
    args.insert(args.end(), files.begin(), files.end());
    std::vector<char*> cargs;
    for (auto& a : args) cargs.push_back(a.data());
    cargs.push_back(nullptr);
    execv("/usr/bin/tail", cargs.data());
    ctx.exit_code = Fail("logs", Status::Internal("cannot run tail"));
  });
}

void RegisterRender(CLI::App& app, Context& ctx) {
  struct Options {
    std::string target = "local", out = "./rendered";
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("render", "write the configuration files (and systemd units) from the topology");
  AddTopologyOptions(cmd, ctx);
  cmd->add_option("--target", o->target, "local (what up runs, under --var-dir) or systemd (real hosts)")
      ->check(CLI::IsMember({"local", "systemd"}))
      ->capture_default_str();
  cmd->add_option("--out", o->out, "for --target systemd: the folder to write, one subfolder per host")
      ->capture_default_str();
  cmd->callback([o, &ctx] {
    auto t = LoadTopologyFor("render", ctx);
    if (!t.ok()) return;
    std::vector<std::string> written;
    auto s = o->target == "local" ? RenderLocal(*t, &written) : RenderSystemd(*t, o->out, &written);
    if (!s.ok()) return void(ctx.exit_code = Fail("render", s));
    for (const auto& w : written) std::printf("%s\n", w.c_str());
  });
}

}  // namespace techmoda::ctl::cli
