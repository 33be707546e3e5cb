// catalogctl: the control-plane tool. Its subcommands are registered in src/ctl/cli/ (one function
// each); `catalogctl --help` lists them.
#include <CLI/CLI.hpp>

#include "ctl/cli/cli.h"

int main(int argc, char** argv) {
  CLI::App app{"catalogctl: operate the TechModa catalog", "catalogctl"};
  app.require_subcommand(1);
  techmoda::ctl::cli::Context ctx;
  techmoda::ctl::cli::RegisterAll(app, ctx);
  CLI11_PARSE(app, argc, argv);
  return ctx.exit_code;
}
