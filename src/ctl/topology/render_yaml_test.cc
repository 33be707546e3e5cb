// The YAML files a topology renders, parsed, against goldens captured from the renderer as it was
// before it wrote YAML with yaml-cpp's emitter (tests/data/render/): the same documents, scalars
// compared with their quoting (Patroni reads YAML 1.1, where an unquoted on is a boolean).
// TECHMODA_REGENERATE_RENDER_GOLDENS=1 writes the goldens from the current renderer instead.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ctl/topology/render.h"
#include "ctl/topology/topology.h"

namespace techmoda::ctl {
namespace {

std::string Source(const std::string& rel) { return std::string(TECHMODA_SOURCE_DIR) + "/" + rel; }

Secrets FixedSecrets() {
  return {"su-secret",      "repl-secret",          "rewind-secret",        "catalog-secret",
          "patroni-secret", "adm-token-0123456789", "cli-token-0123456789", "can-token-0123456789"};
}

// Where two parsed documents differ ("" when they do not), by path.
std::string Difference(const YAML::Node& a, const YAML::Node& b, const std::string& path) {
  if (a.Type() != b.Type()) return path + ": node type differs";
  switch (a.Type()) {
    case YAML::NodeType::Scalar:
      if (a.Scalar() != b.Scalar()) return path + ": '" + a.Scalar() + "' != '" + b.Scalar() + "'";
      if ((a.Tag() == "!") != (b.Tag() == "!")) return path + ": quoted in one, plain in the other";
      return "";
    case YAML::NodeType::Sequence:
      if (a.size() != b.size()) return path + ": " + std::to_string(a.size()) + " != " + std::to_string(b.size());
      for (std::size_t i = 0; i < a.size(); ++i)
        if (auto d = Difference(a[i], b[i], path + "[" + std::to_string(i) + "]"); !d.empty()) return d;
      return "";
    case YAML::NodeType::Map: {
      if (a.size() != b.size()) return path + ": " + std::to_string(a.size()) + " keys != " + std::to_string(b.size());
      for (const auto& kv : a) {
        std::string key = kv.first.Scalar();
        if (!b[key]) return path + "." + key + ": missing";
        if (auto d = Difference(kv.second, b[key], path + "." + key); !d.empty()) return d;
      }
      return "";
    }
    default:
      return "";
  }
}

TEST(RenderYaml, TheSameDocumentsAsTheGoldens) {
  bool regenerate = std::getenv("TECHMODA_REGENERATE_RENDER_GOLDENS") != nullptr;
  int compared = 0;
  for (const char* file : {"deploy/local.yaml", "deploy/local-2region.yaml"}) {
    auto t = LoadTopology(Source(file), "/var/lib/techmoda-render-test");
    ASSERT_TRUE(t.ok()) << t.status().detail();
    for (auto target : {RenderTarget::kLocal, RenderTarget::kSystemd}) {
      std::string dir =
          Source("tests/data/render/") + t->name + (target == RenderTarget::kLocal ? "-local" : "-systemd");
      for (const auto& f : Render(*t, FixedSecrets(), target)) {
        auto ext = std::filesystem::path(f.path).extension();
        if (ext != ".yml" && ext != ".yaml") continue;
        std::string name = f.path;
        for (auto& c : name) c = c == '/' ? '_' : c;
        std::string golden = dir + "/" + name;
        if (regenerate) {
          std::filesystem::create_directories(dir);
          std::ofstream(golden) << f.content;
          continue;
        }
        std::ifstream in(golden);
        ASSERT_TRUE(in) << "no golden for " << f.path << " (" << golden << ")";
        std::stringstream text;
        text << in.rdbuf();
        auto d = Difference(YAML::Load(text.str()), YAML::Load(f.content), f.path);
        EXPECT_EQ(d, "") << f.path;
        ++compared;
      }
    }
  }
  if (!regenerate) {
    EXPECT_GT(compared, 20);
  }
}

}  // namespace
}  // namespace techmoda::ctl
