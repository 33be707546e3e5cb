#include "ctl/cli/cli.h"

#include <cstdio>
#include <iostream>

namespace techmoda::ctl::cli {

void RegisterAll(CLI::App& app, Context& ctx) {
  RegisterSeed(app, ctx);
  RegisterUp(app, ctx);
  RegisterDown(app, ctx);
  RegisterStatus(app, ctx);
  RegisterCanary(app, ctx);
  RegisterResponder(app, ctx);
  RegisterLogs(app, ctx);
  RegisterFault(app, ctx);
  RegisterSwitchover(app, ctx);
  RegisterAutoscale(app, ctx);
  RegisterScale(app, ctx);
  RegisterBackup(app, ctx);
  RegisterDr(app, ctx);
  RegisterRender(app, ctx);
  RegisterGameday(app, ctx);
  RegisterDetector(app, ctx);
}

void AddTopologyOptions(CLI::App* sub, Context& ctx) {
  sub->add_option("--topology", ctx.topology_file, "the topology file (regions, zones, instances)")
      ->envname("CATALOGCTL_TOPOLOGY")
      ->capture_default_str();
  sub->add_option("--var-dir", ctx.var_root, "where topologies keep their state: <var-dir>/<topology name>/")
      ->envname("CATALOGCTL_VAR_DIR")
      ->capture_default_str();
}

Result<Topology> LoadTopologyFor(const std::string& command, Context& ctx) {
  auto t = LoadTopology(ctx.topology_file, ctx.var_root);
  if (!t.ok()) ctx.exit_code = Fail(command, t.status());
  return t;
}

int Fail(const std::string& command, const Status& s) {
  std::cerr << "catalogctl " << command << ": " << s.detail() << "\n";
  return 1;
}

void PrintProgress(const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); }

std::string HostPort(const std::string& host, int port) { return host + ":" + std::to_string(port); }

}  // namespace techmoda::ctl::cli
