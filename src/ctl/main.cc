// catalogctl: the control-plane tool. This version carries `seed`; later issues add the topology,
// failover and game-day commands.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "common/embedded_pg.h"
#include "ctl/commands/seed.h"

using namespace techmoda;

int main(int argc, char** argv) {
  CLI::App app{"catalogctl: operate the TechModa catalog", "catalogctl"};
  app.require_subcommand(1);

  ctl::SeedOptions seed;
  std::string database_url;
  std::string data_dir = "./var";
  auto* cmd = app.add_subcommand("seed", "load a deterministic sample fashion catalog (products and stock) with COPY");
  cmd->add_option("--products", seed.products, "how many products")->capture_default_str();
  cmd->add_option("--seed", seed.seed, "random seed: the same seed gives the same catalog")->capture_default_str();
  cmd->add_flag("--replace", seed.replace, "replace a non-empty catalog (refused while orders hold stock)");
  cmd->add_option("--database-url", database_url,
                  "libpq connection string; default: the embedded database of --data-dir")
      ->envname("CATALOGD_DATABASE_URL");
  cmd->add_option("--data-dir", data_dir, "catalogd's data folder, to reach its embedded database")
      ->envname("CATALOGD_DATA_DIR")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (*cmd) {
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
  }
  return 0;
}
