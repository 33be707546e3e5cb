// catalogctl's command line: one registration function per subcommand. Each adds its options to the
// app and a callback that runs the command when it is the one chosen, leaving the exit code in the
// context. Adding a subcommand is one function here and a line in RegisterAll.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "ctl/base/progress.h"
#include "ctl/topology/topology.h"
#include "techmoda/status.h"

namespace techmoda::ctl::cli {

// What every subcommand shares: where the topology and its state are, and the exit code.
struct Context {
  std::string topology_file = "deploy/local.yaml";
  std::string var_root = "./var";
  int exit_code = 0;
};

// Every subcommand of catalogctl.
void RegisterAll(CLI::App& app, Context& ctx);

// The subcommands, by theme (cli/*.cc).
void RegisterSeed(CLI::App& app, Context& ctx);
void RegisterUp(CLI::App& app, Context& ctx);
void RegisterDown(CLI::App& app, Context& ctx);
void RegisterStatus(CLI::App& app, Context& ctx);
void RegisterLogs(CLI::App& app, Context& ctx);
void RegisterRender(CLI::App& app, Context& ctx);
void RegisterFault(CLI::App& app, Context& ctx);
void RegisterSwitchover(CLI::App& app, Context& ctx);
void RegisterAutoscale(CLI::App& app, Context& ctx);
void RegisterScale(CLI::App& app, Context& ctx);
void RegisterCanary(CLI::App& app, Context& ctx);
void RegisterResponder(CLI::App& app, Context& ctx);
void RegisterBackup(CLI::App& app, Context& ctx);
void RegisterDr(CLI::App& app, Context& ctx);
void RegisterGameday(CLI::App& app, Context& ctx);
void RegisterDetector(CLI::App& app, Context& ctx);

// --topology and --var-dir on a subcommand.
void AddTopologyOptions(CLI::App* sub, Context& ctx);
// The topology named by the context; on failure prints the reason for `command` and sets exit code 1.
Result<Topology> LoadTopologyFor(const std::string& command, Context& ctx);
// Prints "catalogctl <command>: <detail>" and returns 1.
int Fail(const std::string& command, const Status& s);
// Progress lines to stderr.
void PrintProgress(const std::string& line);
// "host:port".
std::string HostPort(const std::string& host, int port);

}  // namespace techmoda::ctl::cli
