#include "ctl/topology/topology.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <type_traits>

#include "common/process.h"
#include "ctl/topology/yaml_fields.h"
#include "techmoda/rate_limit.h"

namespace techmoda::ctl {

const Zone* Topology::FindZone(const std::string& name) const {
  for (const auto& r : regions)
    for (const auto& z : r.zones)
      if (z.name == name) return &z;
  return nullptr;
}

const Region* Topology::FindRegion(const std::string& name) const {
  for (const auto& r : regions)
    if (r.name == name) return &r;
  return nullptr;
}

std::vector<const Zone*> Topology::AllZones() const {
  std::vector<const Zone*> out;
  for (const auto& r : regions)
    for (const auto& z : r.zones) out.push_back(&z);
  return out;
}

std::string Topology::NftTable() const {
  std::string t = "techmoda_";
  for (char c : name) t += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return t;
}

namespace {

const std::regex kName("^[a-z][a-z0-9-]{0,19}$");

void ReadDetector(const YAML::Node& n, DetectorSettings* d, std::vector<std::string>* errors) {
  CheckKeys(n, {"enabled", "act", "probe_interval_ms", "probe_timeout_ms", "suspect_after_ms"}, "detector", errors);
  ReadBool(n, "enabled", "detector", &d->enabled, errors);
  ReadBool(n, "act", "detector", &d->act, errors);
  ReadInt(n, "probe_interval_ms", 50, 5000, "detector", &d->probe_interval_ms, errors);
  ReadInt(n, "probe_timeout_ms", 50, 5000, "detector", &d->probe_timeout_ms, errors);
  ReadInt(n, "suspect_after_ms", 200, 60000, "detector", &d->suspect_after_ms, errors);
  // A single slow probe must not make a suspicion on its own.
  if (d->probe_timeout_ms >= d->suspect_after_ms)
    errors->push_back("detector: probe_timeout_ms (" + std::to_string(d->probe_timeout_ms) +
                      ") must be shorter than suspect_after_ms (" + std::to_string(d->suspect_after_ms) + ")");
}

}  // namespace

Result<Topology> ParseTopology(const std::string& yaml_text, const std::string& file, const std::string& var_root) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return Status::Invalid(file + ": not valid YAML: " + e.what());
  }
  if (!root.IsMap()) return Status::Invalid(file + ": expected a mapping with name and regions");
  std::vector<std::string> errors;
  CheckKeys(root,
            {"name", "regions", "ports", "patroni", "detector", "drills", "catalogd", "autoscale", "monitoring",
             "backup", "dr", "postgres_bin_dir"},
            "topology", &errors);
  Topology t;
  t.file = file;
  ReadString(root, "name", "topology", &t.name, &errors);
  if (!std::regex_match(t.name, kName))
    errors.push_back("topology.name: '" + t.name + "' must be 1-20 of a-z, 0-9 and '-', starting with a letter");
  ReadString(root, "postgres_bin_dir", "topology", &t.postgres_bin_dir, &errors);

  const auto& ports = root["ports"];
  CheckKeys(ports,
            {"etcd_client", "etcd_peer", "postgres", "patroni", "catalogd", "haproxy_primary", "haproxy_replicas",
             "haproxy_api", "haproxy_stats", "detector_agent"},
            "ports", &errors);
  ReadInt(ports, "etcd_client", 1, 65535, "ports", &t.ports.etcd_client, &errors);
  ReadInt(ports, "etcd_peer", 1, 65535, "ports", &t.ports.etcd_peer, &errors);
  ReadInt(ports, "postgres", 1, 65535, "ports", &t.ports.postgres, &errors);
  ReadInt(ports, "patroni", 1, 65535, "ports", &t.ports.patroni, &errors);
  ReadInt(ports, "catalogd", 1, 65000, "ports", &t.ports.catalogd, &errors);
  ReadInt(ports, "haproxy_primary", 1, 65535, "ports", &t.ports.haproxy_primary, &errors);
  ReadInt(ports, "haproxy_replicas", 1, 65535, "ports", &t.ports.haproxy_replicas, &errors);
  ReadInt(ports, "haproxy_api", 1, 65535, "ports", &t.ports.haproxy_api, &errors);
  ReadInt(ports, "haproxy_stats", 1, 65535, "ports", &t.ports.haproxy_stats, &errors);
  ReadInt(ports, "detector_agent", 1, 65535, "ports", &t.ports.detector_agent, &errors);

  const auto& pat = root["patroni"];
  CheckKeys(pat, {"ttl", "loop_wait", "retry_timeout", "maximum_lag_on_failover"}, "patroni", &errors);
  ReadInt(pat, "ttl", 10, 300, "patroni", &t.patroni.ttl, &errors);
  ReadInt(pat, "loop_wait", 1, 60, "patroni", &t.patroni.loop_wait, &errors);
  ReadInt(pat, "retry_timeout", 1, 120, "patroni", &t.patroni.retry_timeout, &errors);
  // Patroni's own rule: the lock must outlive a loop plus a full retry, or a healthy leader loses it.
  if (t.patroni.loop_wait + 2 * t.patroni.retry_timeout > t.patroni.ttl)
    errors.push_back("patroni: loop_wait + 2 * retry_timeout must not exceed ttl (" +
                     std::to_string(t.patroni.loop_wait) + " + 2 * " + std::to_string(t.patroni.retry_timeout) + " > " +
                     std::to_string(t.patroni.ttl) + ")");

  ReadDetector(root["detector"], &t.detector, &errors);
  const auto& drills = root["drills"];
  CheckKeys(drills, {"clock_skew", "wal_disk_mb"}, "drills", &errors);
  ReadBool(drills, "clock_skew", "drills", &t.drills.clock_skew, &errors);
  ReadInt(drills, "wal_disk_mb", 0, 65536, "drills", &t.drills.wal_disk_mb, &errors);
  // Room for wal_keep_size and the WAL between checkpoints (PatroniYaml sizes both from it).
  if (t.drills.wal_disk_mb > 0 && t.drills.wal_disk_mb < 512)
    errors.push_back("drills.wal_disk_mb: " + std::to_string(t.drills.wal_disk_mb) +
                     " is too small for pg_wal (0: off, or at least 512)");

  const auto& cd = root["catalogd"];
  CheckKeys(cd,
            {"io_threads", "pool_size", "write_deadline_ms", "deploy_id", "admission", "rate_limit_anonymous",
             "rate_limit_client"},
            "catalogd", &errors);
  ReadInt(cd, "io_threads", 1, 64, "catalogd", &t.catalogd.io_threads, &errors);
  ReadInt(cd, "pool_size", 1, 256, "catalogd", &t.catalogd.pool_size, &errors);
  ReadInt(cd, "write_deadline_ms", 100, 600000, "catalogd", &t.catalogd.write_deadline_ms, &errors);
  ReadString(cd, "deploy_id", "catalogd", &t.catalogd.deploy_id, &errors);
  ReadBool(cd, "admission", "catalogd", &t.catalogd.admission, &errors);
  ReadString(cd, "rate_limit_anonymous", "catalogd", &t.catalogd.rate_limit_anonymous, &errors);
  ReadString(cd, "rate_limit_client", "catalogd", &t.catalogd.rate_limit_client, &errors);
  for (const auto& [key, value] :
       {std::pair<const char*, std::string>{"rate_limit_anonymous", t.catalogd.rate_limit_anonymous},
        {"rate_limit_client", t.catalogd.rate_limit_client}})
    if (auto r = ParseRateLimit(value); !r.ok())
      errors.push_back(std::string("catalogd.") + key + ": " + r.status().detail());

  const auto& as = root["autoscale"];
  CheckKeys(as,
            {"interval_ms", "up_load", "up_samples", "down_load", "down_samples", "up_cooldown_s", "down_cooldown_s",
             "target_p99_ms"},
            "autoscale", &errors);
  ReadInt(as, "interval_ms", 100, 60000, "autoscale", &t.autoscale.interval_ms, &errors);
  ReadDouble(as, "up_load", 0.001, 10, "autoscale", &t.autoscale.up_load, &errors);
  ReadInt(as, "up_samples", 1, 1000, "autoscale", &t.autoscale.up_samples, &errors);
  ReadDouble(as, "down_load", 0, 10, "autoscale", &t.autoscale.down_load, &errors);
  ReadInt(as, "down_samples", 1, 10000, "autoscale", &t.autoscale.down_samples, &errors);
  ReadInt(as, "up_cooldown_s", 0, 3600, "autoscale", &t.autoscale.up_cooldown_s, &errors);
  ReadInt(as, "down_cooldown_s", 0, 86400, "autoscale", &t.autoscale.down_cooldown_s, &errors);
  ReadInt(as, "target_p99_ms", 1, 60000, "autoscale", &t.autoscale.target_p99_ms, &errors);
  // Hysteresis: between the two thresholds the autoscaler holds.
  if (t.autoscale.down_load >= t.autoscale.up_load)
    errors.push_back("autoscale: down_load must be below up_load, or instances would be added and removed in turn");

  const auto& mon = root["monitoring"];
  CheckKeys(mon,
            {"enabled", "host", "prometheus_port", "alertmanager_port", "node_exporter_port", "canary_port",
             "responder_port", "status_port", "postgres_exporter_port", "scrape_interval_s", "canary_interval_ms",
             "archive_timeout_s", "responder_dry_run", "auto_failover", "responder_max_actions", "responder_window_s"},
            "monitoring", &errors);
  auto& m = t.monitoring;
  ReadBool(mon, "enabled", "monitoring", &m.enabled, &errors);
  ReadString(mon, "host", "monitoring", &m.address, &errors);
  for (auto [key, port] : {std::pair<const char*, int*>{"prometheus_port", &m.prometheus_port},
                           {"alertmanager_port", &m.alertmanager_port},
                           {"node_exporter_port", &m.node_exporter_port},
                           {"canary_port", &m.canary_port},
                           {"responder_port", &m.responder_port},
                           {"status_port", &m.status_port},
                           {"postgres_exporter_port", &m.postgres_exporter_port}})
    ReadInt(mon, key, 1, 65535, "monitoring", port, &errors);
  ReadInt(mon, "scrape_interval_s", 1, 300, "monitoring", &m.scrape_interval_s, &errors);
  ReadInt(mon, "canary_interval_ms", 100, 600000, "monitoring", &m.canary_interval_ms, &errors);
  ReadInt(mon, "archive_timeout_s", 10, 3600, "monitoring", &m.archive_timeout_s, &errors);
  ReadBool(mon, "responder_dry_run", "monitoring", &m.responder_dry_run, &errors);
  ReadBool(mon, "auto_failover", "monitoring", &m.auto_failover, &errors);
  ReadInt(mon, "responder_max_actions", 1, 1000, "monitoring", &m.responder_max_actions, &errors);
  ReadInt(mon, "responder_window_s", 1, 86400, "monitoring", &m.responder_window_s, &errors);

  const auto& bk = root["backup"];
  CheckKeys(bk, {"host", "port", "schedule", "full_every_h", "diff_every_h", "retention_full", "retention_diff"},
            "backup", &errors);
  auto& b = t.backup;
  ReadString(bk, "host", "backup", &b.address, &errors);
  ReadInt(bk, "port", 1, 65535, "backup", &b.port, &errors);
  ReadBool(bk, "schedule", "backup", &b.schedule, &errors);
  ReadInt(bk, "full_every_h", 1, 24 * 366, "backup", &b.full_every_h, &errors);
  ReadInt(bk, "diff_every_h", 1, 24 * 366, "backup", &b.diff_every_h, &errors);
  ReadInt(bk, "retention_full", 1, 9999, "backup", &b.retention_full, &errors);
  ReadInt(bk, "retention_diff", 1, 9999, "backup", &b.retention_diff, &errors);

  const auto& drn = root["dr"];
  CheckKeys(drn, {"witness_host", "lease_ttl_s", "active", "auto_failover_after_s"}, "dr", &errors);
  ReadInt(drn, "auto_failover_after_s", 0, 3600, "dr", &t.dr.auto_failover_after_s, &errors);
  ReadString(drn, "witness_host", "dr", &t.dr.witness_address, &errors);
  ReadInt(drn, "lease_ttl_s", 2, 120, "dr", &t.dr.lease_ttl_s, &errors);
  ReadString(drn, "active", "dr", &t.dr.active, &errors);

  std::error_code ec;
  auto var = std::filesystem::absolute(var_root, ec).lexically_normal().string();
  while (var.size() > 1 && var.back() == '/') var.pop_back();
  t.var_dir = var + "/" + t.name;

  const auto& regions = root["regions"];
  if (!regions || !regions.IsSequence() || regions.size() == 0) errors.push_back("topology.regions: a non-empty list");
  std::set<std::string> names{t.name};
  std::set<int> ids;
  for (std::size_t ri = 0; regions && regions.IsSequence() && ri < regions.size(); ++ri) {
    const auto& rn = regions[ri];
    std::string where = "regions[" + std::to_string(ri) + "]";
    CheckKeys(rn, {"name", "id", "zones", "host"}, where, &errors);
    Region r;
    ReadString(rn, "name", where, &r.name, &errors);
    ReadString(rn, "host", where, &r.address, &errors);
    ReadInt(rn, "id", 1, 24, where, &r.id, &errors);
    if (!std::regex_match(r.name, kName)) errors.push_back(where + ".name: '" + r.name + "' is not a valid name");
    if (!names.insert(r.name).second) errors.push_back(where + ".name: '" + r.name + "' is used twice");
    if (r.id == 0) errors.push_back(where + ".id: required (1..24); it picks the region's loopback addresses");
    if (r.id && !ids.insert(r.id).second) errors.push_back(where + ".id: " + std::to_string(r.id) + " is used twice");
    if (r.address.empty()) r.address = "127.0." + std::to_string(r.id * 10) + ".1";
    r.dir = t.var_dir + "/" + r.name;
    const auto& zones = rn["zones"];
    if (!zones || !zones.IsSequence() || zones.size() < 1 || zones.size() > 9) {
      errors.push_back(where + ".zones: a list of 1 to 9 zones");
      continue;
    }
    for (std::size_t zi = 0; zi < zones.size(); ++zi) {
      const auto& zn = zones[zi];
      std::string zw = where + ".zones[" + std::to_string(zi) + "]";
      Zone z;
      z.region = r.name;
      z.index = static_cast<int>(zi) + 1;
      if (zn.IsScalar()) {
        z.name = zn.as<std::string>();
      } else {
        CheckKeys(zn, {"name", "catalogd", "catalogd_max", "host"}, zw, &errors);
        ReadString(zn, "name", zw, &z.name, &errors);
        ReadInt(zn, "catalogd", 0, 8, zw, &z.catalogd_instances, &errors);
        z.catalogd_max = z.catalogd_instances;
        ReadInt(zn, "catalogd_max", 0, 8, zw, &z.catalogd_max, &errors);
        if (z.catalogd_max < z.catalogd_instances)
          errors.push_back(zw + ".catalogd_max: " + std::to_string(z.catalogd_max) + " is below catalogd (" +
                           std::to_string(z.catalogd_instances) + ")");
        ReadString(zn, "host", zw, &z.address, &errors);
      }
      if (!std::regex_match(z.name, kName)) errors.push_back(zw + ".name: '" + z.name + "' is not a valid name");
      if (!names.insert(z.name).second) errors.push_back(zw + ".name: '" + z.name + "' is used twice");
      std::string octet = std::to_string(r.id * 10 + z.index);
      if (z.address.empty()) z.address = "127.0." + octet + ".1";
      z.os_user = "tm-z" + octet;
      z.dir = t.var_dir + "/" + z.name;
      r.zones.push_back(std::move(z));
    }
    t.regions.push_back(std::move(r));
  }
  if (t.monitoring.address.empty() && !t.regions.empty())
    t.monitoring.address = "127.0." + std::to_string(t.regions.front().id * 10) + ".2";
  t.monitoring.dir = t.var_dir + "/monitoring";
  if (t.backup.address.empty() && !t.regions.empty())
    t.backup.address = "127.0." + std::to_string(t.regions.front().id * 10) + ".3";
  t.backup.dir = t.var_dir + "/backup";
  if (!t.dr.active.empty() && !t.FindRegion(t.dr.active))
    errors.push_back("dr.active: no region named '" + t.dr.active + "'");
  if (!errors.empty()) {
    std::string msg = file + ": " + std::to_string(errors.size()) + " problem(s):";
    for (const auto& e : errors) msg += "\n  - " + e;
    return Status::Invalid(msg);
  }
  return t;
}

std::vector<GlobalMember> Topology::GlobalEtcd() const {
  std::vector<GlobalMember> out;
  if (!MultiRegion()) return out;
  for (const auto& r : regions)
    out.push_back({"g-" + r.name, "127.0." + std::to_string(r.id * 10) + ".4", "tm-g" + std::to_string(r.id), r.name,
                   var_dir + "/global/g-" + r.name});
  out.push_back({"g-witness", dr.witness_address, "tm-witness", "", var_dir + "/global/g-witness"});
  return out;
}

std::string Topology::GlobalEtcdEndpoints() const {
  std::string out;
  for (const auto& m : GlobalEtcd())
    out += (out.empty() ? "" : ",") + m.address + ":" + std::to_string(ports.etcd_client);
  return out;
}

const Region& Topology::ActiveAtStart() const {
  if (const Region* r = FindRegion(dr.active)) return *r;
  return regions.front();
}

Result<Topology> LoadTopology(const std::string& path, const std::string& var_root) {
  auto text = ReadFile(path);
  if (!text) return Status::Invalid("cannot read the topology file " + path);
  std::error_code ec;
  return ParseTopology(*text, std::filesystem::absolute(path, ec).lexically_normal().string(), var_root);
}

}  // namespace techmoda::ctl
