// catalogctl seed: a deterministic sample catalog, by COPY.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "common/embedded_pg.h"
#include "ctl/cli/cli.h"
#include "ctl/commands/seed.h"
#include "ctl/topology/render.h"

namespace techmoda::ctl::cli {

namespace {

int RunSeed(const SeedOptions& seed, const std::string& conninfo) {
  auto start = std::chrono::steady_clock::now();
  bool tty = isatty(2);
  auto status = ctl::RunSeed(conninfo, seed, [&](std::string_view phase, std::int64_t done, std::int64_t total) {
    double secs = SecondsSince(start);
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
  if (!status.ok()) return Fail("seed", status);
  std::printf("seeded %lld products (seed %llu) in %.1f s\n", static_cast<long long>(seed.products),
              static_cast<unsigned long long>(seed.seed), SecondsSince(start));
  return 0;
}

}  // namespace

void RegisterSeed(CLI::App& app, Context& ctx) {
  struct Options {
    SeedOptions seed;
    std::string database_url, data_dir = "./var", topology;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("seed", "load a deterministic sample fashion catalog (products and stock) with COPY");
  cmd->add_option("--products", o->seed.products, "how many products")->capture_default_str();
  cmd->add_option("--seed", o->seed.seed, "random seed: the same seed gives the same catalog")->capture_default_str();
  cmd->add_flag("--replace", o->seed.replace, "replace a non-empty catalog (refused while orders hold stock)");
  cmd->add_option("--database-url", o->database_url,
                  "libpq connection string; default: the embedded database of --data-dir")
      ->envname("CATALOGD_DATABASE_URL");
  cmd->add_option("--data-dir", o->data_dir, "catalogd's data folder, to reach its embedded database")
      ->envname("CATALOGD_DATA_DIR")
      ->capture_default_str();
  cmd->add_option("--topology", o->topology,
                  "seed the database of this topology's first region instead (as catalogd's role)");
  cmd->add_option("--var-dir", ctx.var_root, "with --topology: where topologies keep their state")
      ->envname("CATALOGCTL_VAR_DIR")
      ->capture_default_str();
  cmd->callback([o, &ctx] {
    std::string conninfo = o->database_url.empty() ? EmbeddedConninfo(o->data_dir) : o->database_url;
    if (!o->topology.empty()) {
      auto t = LoadTopology(o->topology, ctx.var_root);
      if (!t.ok()) return void(ctx.exit_code = Fail("seed", t.status()));
      auto s = LoadOrCreateSecrets(*t);
      if (!s.ok()) return void(ctx.exit_code = Fail("seed", s.status()));
      conninfo = CatalogConninfo(*t, t->regions.front(), *s);
    }
    ctx.exit_code = RunSeed(o->seed, conninfo);
  });
}

}  // namespace techmoda::ctl::cli
