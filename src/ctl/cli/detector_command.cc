// catalogctl detector: one zone's failure detector (docs/failure-detector.md), run by supervisord
// (or systemd) as the zone's OS user with the configuration `up` renders for it.
#include "common/log.h"
#include "ctl/cli/cli.h"
#include "ctl/detector/detector.h"

namespace techmoda::ctl::cli {

void RegisterDetector(CLI::App& app, Context& ctx) {
  struct Options {
    std::string config;
    int duration = 0;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("detector",
                                 "a zone's failure detector: probe the region's primary, agree with the other zones "
                                 "through etcd, end a dead leader's lock at once");
  cmd->add_option("--config", o->config, "the zone's detector.yaml (rendered by up)")->required();
  cmd->add_option("--duration", o->duration, "stop after this many seconds (0: until SIGTERM)");
  cmd->callback([o, &ctx] {
    auto c = detector::LoadConfig(o->config);
    if (!c.ok()) return void(ctx.exit_code = Fail("detector", c.status()));
    log::Init(log::Level::kInfo, {{"service", "detector"}, {"zone", c->zone}});
    if (auto s = detector::Run(*c, {std::chrono::seconds(o->duration)}); !s.ok()) ctx.exit_code = Fail("detector", s);
  });
}

}  // namespace techmoda::ctl::cli
