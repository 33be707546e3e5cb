// A real region for the process-level drills: a topology file in the test's own folder, brought
// up and down with catalogctl (etcd, Patroni + PostgreSQL 15, HAProxy and catalogd under supervisord).
#pragma once

#include <stdio.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/http_client.h"
#include "ctl/infra/drill_zones.h"
#include "ctl/topology/render.h"
#include "ctl/topology/topology.h"
#include "tests/system/harness.h"

#ifndef CATALOGCTL_BIN
#define CATALOGCTL_BIN "catalogctl"
#endif

namespace techmoda::test {

namespace json = boost::json;

// Runs catalogctl with arguments; returns its exit code and sets `out` to what it printed.
inline int Ctl(const std::vector<std::string>& args, std::string* out = nullptr) {
  std::string cmd = CATALOGCTL_BIN;
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " 2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  std::string text;
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, f)) text.append(buf, n);
  int rc = pclose(f);
  if (out) *out = text;
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

// The JSON catalogctl printed last (progress goes to stderr, which Ctl joins); null if none.
inline json::value JsonOf(const std::string& out) {
  auto start = out.rfind("\n{");
  boost::system::error_code ec;
  auto v = json::parse(start == std::string::npos ? out : out.substr(start + 1), ec);
  return ec ? json::value() : v;
}

// The DOM of `url` after its scripts ran, as headless Chromium sees it; `flags` adds options.
inline std::string ChromiumDom(const std::string& url, const std::string& flags = "") {
  std::string dom;
  FILE* f = popen(("chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage " + flags +
                   " --dump-dom " + url + " 2>/dev/null")
                      .c_str(),
                  "r");
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, f)) dom.append(buf, n);
  pclose(f);
  return dom;
}

// A topology in the test's own folder, brought up and down with catalogctl: `yaml` is the whole
// file but its name.
class TopologyFixture {
 public:
  TopologyFixture(const std::string& name, const std::string& prefix, const std::string& yaml) {
    dir_ = MakeTestDir(prefix + name);
    file_ = dir_ + "/topology.yaml";
    std::ofstream(file_) << "name: " << name << "\n" << yaml;
    auto t = ctl::LoadTopology(file_, dir_ + "/var");
    if (!t.ok()) throw std::runtime_error(t.status().detail());
    topology_ = *t;
  }
  ~TopologyFixture() {
    std::string out;
    Ctl(Args({"down"}), &out);
    // The folder (logs) stays for a look after a failure; the zones' pg_wal filesystems (memory) go.
    ctl::ReleaseWalDisks(topology_);
  }
  std::vector<std::string> Args(std::vector<std::string> a) const {
    a.insert(a.end(), {"--topology", file_, "--var-dir", dir_ + "/var"});
    return a;
  }
  bool Up(int timeout_s = 240) {
    std::string out;
    int rc = Ctl(Args({"up", "--timeout", std::to_string(timeout_s)}), &out);
    std::printf("%s", out.c_str());
    if (rc != 0) return false;
    auto s = ctl::LoadOrCreateSecrets(topology_);
    secrets_ = *s;
    return true;
  }
  const ctl::Topology& topology() const { return topology_; }
  const std::string& dir() const { return dir_; }
  const ctl::Secrets& secrets() const { return secrets_; }

 protected:
  std::string dir_, file_;
  ctl::Topology topology_;
  ctl::Secrets secrets_;
};

// One region of three zones in the test's own folder, with its own loopback addresses.
class Region : public TopologyFixture {
 public:
  // `zones` is the YAML of the region's zone list; `extra_yaml` adds top-level sections.
  Region(const std::string& name, int id, const std::string& extra_yaml = "", const std::string& zones = "[z1, z2, z3]")
      : TopologyFixture(
            name, "ha-",
            "regions:\n  - name: r\n    id: " + std::to_string(id) + "\n    zones: " + zones +
                "\npatroni: {ttl: 20, loop_wait: 2, retry_timeout: 9}\n" + extra_yaml +
                // Prometheus and the rest only where a drill watches them (the monitoring drill).
                (extra_yaml.find("monitoring:") == std::string::npos ? "monitoring: {enabled: false}\n" : "") +
                // The scheduler's first full backup would compete with a drill for the CPU.
                (extra_yaml.find("backup:") == std::string::npos ? "backup: {schedule: false}\n" : "")) {}
  std::string Conninfo() const { return ctl::CatalogConninfo(topology_, topology_.regions[0], secrets_); }
  std::string ApiHost() const { return topology_.regions[0].address; }
  const std::vector<ctl::Zone>& Zones() const { return topology_.regions[0].zones; }
  unsigned short CatalogdPort() const { return static_cast<unsigned short>(topology_.CatalogdPort(1)); }
  // The zone whose Patroni answers GET /primary with 200 right now ("" if none): HAProxy's view.
  std::string PrimaryByHealthCheck() const {
    for (const auto& z : topology_.regions[0].zones)
      if (HttpCall(z.address, static_cast<unsigned short>(topology_.ports.patroni), "GET", "/primary", "", {},
                   std::chrono::milliseconds(300))
              .status == 200)
        return z.name;
    return "";
  }
  unsigned short ApiPort() const { return static_cast<unsigned short>(topology_.ports.haproxy_api); }
  json::value Status() const {
    std::string out;
    Ctl(Args({"status", "--json"}), &out);
    boost::system::error_code ec;
    auto v = json::parse(out, ec);
    return ec ? json::value() : v;
  }
  std::string Primary() const {
    auto s = Status();
    if (!s.is_object()) return "";
    const auto& p = s.at("regions").at(0).at("primary");
    return p.is_string() ? std::string(p.as_string()) : "";
  }
  bool WaitHealthy(std::chrono::seconds timeout) const {
    return WaitFor(
        [&] {
          auto s = Status();
          return s.is_object() && s.at("healthy").as_bool();
        },
        timeout);
  }
};

}  // namespace techmoda::test
