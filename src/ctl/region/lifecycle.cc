#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/etcd_client.h"
#include "common/log.h"
#include "common/pg.h"
#include "common/process.h"
#include "ctl/backup/backup.h"
#include "ctl/infra/drill_zones.h"
#include "ctl/infra/health.h"
#include "ctl/infra/nftables.h"
#include "ctl/infra/processes.h"
#include "ctl/infra/supervisor.h"
#include "ctl/region/region.h"
#include "techmoda/active_region.h"

namespace json = boost::json;
namespace fs = std::filesystem;

namespace techmoda::ctl {

using Clock = std::chrono::steady_clock;

namespace {}  // namespace

Status Prepare(const Topology& t, const Secrets& s) {
  fs::create_directories(t.var_dir);
  chmod(t.var_dir.c_str(), 0755);  // zone users must reach their own folders below
  if (auto st = backup::EnsureTls(t); !st.ok()) return st;
  for (const auto* z : t.AllZones()) {
    if (auto st = EnsureUser(z->os_user); !st.ok()) return st;
    for (const char* sub :
         {"", "/etcd", "/pg", "/run", "/logs", "/pgbackrest/spool", "/pgbackrest/log", "/pgbackrest/lock"})
      fs::create_directories(z->dir + sub);
    for (int n = 1; n <= z->catalogd_instances; ++n)
      fs::create_directories(z->dir + "/" + Topology::InstanceName(*z, n));
    struct passwd* pw = getpwnam(z->os_user.c_str());
    // The zone's user must reach its folder and catalogd's binary (a checkout under /root is 0700).
    RunAs who{z->os_user, pw->pw_uid, pw->pw_gid};
    std::error_code ec;
    std::string bin = fs::read_symlink("/proc/self/exe", ec).parent_path().string();
    for (const auto& d : {t.var_dir, bin})
      if (auto st = EnsureTraversable(d, who); !st.ok()) return st;
    if (auto st = ChownTree(z->dir, pw->pw_uid, pw->pw_gid); !st.ok()) return st;
    chmod(z->dir.c_str(), 0700);
    chmod((z->dir + "/pg").c_str(), 0700);
    chmod((z->dir + "/etcd").c_str(), 0700);
  }
  if (auto st = PrepareDrillZones(t); !st.ok()) return st;
  for (const auto& r : t.regions) {
    fs::create_directories(r.dir + "/logs");
    chmod(r.dir.c_str(), 0755);  // the zones' archive_command looks for the stall file here
  }
  for (const auto& m : t.GlobalEtcd()) {
    if (auto st = EnsureUser(m.os_user); !st.ok()) return st;
    fs::create_directories(m.dir + "/etcd");
    struct passwd* pw = getpwnam(m.os_user.c_str());
    chmod((t.var_dir + "/global").c_str(), 0755);
    if (auto st = ChownTree(m.dir, pw->pw_uid, pw->pw_gid); !st.ok()) return st;
    chmod(m.dir.c_str(), 0700);
    chmod((m.dir + "/etcd").c_str(), 0700);
  }
  {
    // The backup repository host: its own user, folder (0700) and pgBackRest server.
    const auto& b = t.backup;
    if (auto st = EnsureUser(b.os_user); !st.ok()) return st;
    for (const char* sub : {"/repo", "/spool", "/logs", "/lock", "/verify"}) fs::create_directories(b.dir + sub);
    struct passwd* pw = getpwnam(b.os_user.c_str());
    if (auto st = ChownTree(b.dir, pw->pw_uid, pw->pw_gid); !st.ok()) return st;
    chmod(b.dir.c_str(), 0700);
    chmod((b.dir + "/repo").c_str(), 0750);
  }
  if (t.monitoring.enabled)
    for (const char* sub : {"/logs", "/prometheus", "/alertmanager"}) fs::create_directories(t.monitoring.dir + sub);
  // A zone whose etcd has no data while others of its region have some is a replaced member (see
  // docs/runbooks/zone-failure.md): it joins the existing cluster instead of founding a new one.
  Topology rendered = t;
  for (auto& r : rendered.regions) {
    int with_data = 0;
    for (const auto& z : r.zones) with_data += fs::exists(z.dir + "/etcd/member");
    for (auto& z : r.zones) z.etcd_join_existing = with_data > 0 && !fs::exists(z.dir + "/etcd/member");
  }
  for (const auto& f : Render(rendered, s, RenderTarget::kLocal))
    if (auto st = WriteRenderedFile(f); !st.ok()) return st;
  return Status::Ok();
}

namespace {

// Role `catalog` and database `techmoda`, through the region's write port as the superuser.
// Idempotent; the password is re-set each time, so a re-rendered secret takes effect.
Status BootstrapDatabase(const Topology& t, const Region& r, const Secrets& s, Clock::time_point deadline) {
  while (true) {
    auto c = pg::Connect(SuperuserConninfo(t, r, s), std::chrono::seconds(3));
    if (c.ok()) {
      auto& conn = **c;
      // The password is hex (generated): safe as a literal.
      auto role = conn.ExecScript(
          "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'catalog') THEN "
          "CREATE ROLE catalog LOGIN REPLICATION; END IF; END $$; "
          "ALTER ROLE catalog WITH LOGIN REPLICATION PASSWORD '" +
          s.catalog +
          "'; "
          // To see how far the physical standbys have flushed (the copy confirms no further).
          "GRANT pg_read_all_stats TO catalog");
      if (auto* e = std::get_if<pg::Error>(&role)) return pg::ToStatus(*e, "creating role catalog");
      auto has = conn.Exec("SELECT 1 FROM pg_database WHERE datname = 'techmoda'");
      if (auto* rows = std::get_if<pg::Rows>(&has); rows && rows->size() == 0) {
        auto made = conn.ExecScript("CREATE DATABASE techmoda OWNER catalog");
        if (auto* e = std::get_if<pg::Error>(&made)) return pg::ToStatus(*e, "creating database");
      }
      return Status::Ok();
    }
    if (Clock::now() > deadline)
      return Status::Unavailable("the primary did not accept the superuser: " + c.status().detail());
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace

bool TopologyStatus::healthy() const {
  if (!supervisor_running || regions.empty()) return false;
  for (const auto& r : regions)
    if (!r.healthy) return false;
  return true;
}

Status RenderLocal(const Topology& t, std::vector<std::string>* written) {
  auto s = LoadOrCreateSecrets(t);
  if (!s.ok()) return s.status();
  if (auto st = Prepare(t, *s); !st.ok()) return st;
  for (const auto& f : Render(t, *s, RenderTarget::kLocal)) written->push_back(f.path);
  return Status::Ok();
}

Status RenderSystemd(const Topology& t, const std::string& out_dir, std::vector<std::string>* written) {
  auto s = LoadOrCreateSecrets(t);
  if (!s.ok()) return s.status();
  for (auto f : Render(t, *s, RenderTarget::kSystemd)) {
    f.path = out_dir + "/" + f.path;
    if (auto st = WriteRenderedFile(f); !st.ok()) return st;
    written->push_back(f.path);
  }
  return Status::Ok();
}

namespace {

using Deadline = Clock::time_point;

Status StartSupervisor(const Topology& t) {
  if (SupervisorRunning(t)) {
    SupervisorCtl(t, {"reread"});
    SupervisorCtl(t, {"update"});
    return Status::Ok();
  }
  std::string out;
  int rc = RunCapture({"/usr/bin/supervisord", "-c", t.SupervisorConf()}, &out);
  if (rc != 0) return Status::Internal("supervisord did not start: " + out);
  auto sd = Clock::now() + std::chrono::seconds(10);
  while (!SupervisorRunning(t) && Clock::now() < sd) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (!SupervisorRunning(t))
    return Status::Internal("supervisord did not come up; see " + t.var_dir + "/supervisord.log");
  return Status::Ok();
}

// Several regions: the global etcd (regions + witness) and the front door, and the active region
// recorded (the first of the topology's, when none is yet).
Status StartGlobal(const Topology& t, Deadline deadline, const Progress& progress) {
  std::vector<std::string> programs;
  for (const auto& m : t.GlobalEtcd()) programs.push_back(GlobalEtcdProgram(m));
  programs.push_back(kFrontDoorProgram);  // routes to no region until one says it is active
  if (auto st = StartPrograms(t, programs); !st.ok()) return st;
  etcd::Client global(etcd::ParseEndpoints(t.GlobalEtcdEndpoints()), std::chrono::seconds(2));
  const Region& first = t.ActiveAtStart();
  std::string active_now;
  auto st = WaitUntil("global etcd (regions + witness): active region recorded", 1, deadline, progress, [&] {
    auto kv = global.Get(t.DrPrefix() + "/active");
    if (!kv.ok()) return 0;
    if (!kv->has_value()) {
      ActiveRegionRecord a{first.name, 1, EpochState::kActive, 0};
      global.PutIf(t.DrPrefix() + "/active", 0, ActiveRegionRecordJson(a));
      return 0;  // read it back next round
    }
    auto a = ParseActiveRegionRecord((*kv)->value);
    if (a.ok())
      active_now =
          a->region + " (epoch " + std::to_string(a->epoch) + ", " + std::string(EpochStateName(a->state)) + ")";
    return a.ok() ? 1 : 0;
  });
  if (!st.ok()) return st;
  progress("global etcd: active region " + active_now);
  return Status::Ok();
}

// One region: etcd, Patroni, HAProxy (and exporters), until PostgreSQL runs with a leader and a
// synchronous standby; the database (in the active region); then catalogd, until ready.
Status StartRegion(const Topology& t, const Region& r, const Region* streams_from, const Secrets& secrets,
                   Deadline deadline, const Progress& progress) {
  const bool standby = streams_from != nullptr;
  std::vector<std::string> etcd, patroni, detectors, catalogd;
  for (const auto& z : r.zones) {
    etcd.push_back(EtcdProgram(z));
    patroni.push_back(PatroniProgram(z));
    if (t.detector.enabled) detectors.push_back(DetectorProgram(z));
    for (int n = 1; n <= z.catalogd_instances; ++n) catalogd.push_back(CatalogdProgram(z, n));
  }
  int nz = static_cast<int>(r.zones.size());
  if (auto st = StartPrograms(t, etcd); !st.ok()) return st;
  auto st = WaitUntil("region " + r.name + ": etcd healthy", nz, deadline, progress, [&] {
    int n = 0;
    for (const auto& z : r.zones) n += EtcdHealthy(t, z);
    return n;
  });
  if (!st.ok()) return st;
  if (auto s2 = StartPrograms(t, patroni); !s2.ok()) return s2;
  if (auto s2 = StartPrograms(t, {HaproxyProgram(r)}); !s2.ok()) return s2;
  if (t.monitoring.enabled) {
    std::vector<std::string> exporters;
    for (const auto& z : r.zones) exporters.push_back(PostgresExporterProgram(z));
    if (auto s2 = StartPrograms(t, exporters); !s2.ok()) return s2;
  }
  // Running members, one of them leader and (with more than one zone) one synchronous standby.
  st = WaitUntil("region " + r.name + ": postgres running", nz, deadline, progress, [&] {
    auto view = RegionClusterView(t, r);
    if (!view.is_object()) return 0;
    int running = 0;
    bool leader = false, sync = nz == 1 || standby;
    for (const auto& m : view.at("members").as_array()) {
      std::string state(m.at("state").as_string()), role(m.at("role").as_string());
      if (state == "running" || state == "streaming") ++running;
      leader |= role == (standby ? "standby_leader" : "leader");
      sync |= role == "sync_standby";
    }
    return leader && sync ? running : std::min(running, nz - 1);
  });
  if (!st.ok()) return st;
  // The failure detectors watch the leader from every zone (docs/failure-detector.md).
  if (auto s2 = StartPrograms(t, detectors); !s2.ok()) return s2;
  if (standby) {
    progress("region " + r.name + ": a standby cluster streaming from region " + streams_from->name);
  } else {
    if (auto s2 = BootstrapDatabase(t, r, secrets, deadline); !s2.ok()) return s2;
    progress("region " + r.name + ": role catalog and database techmoda ready");
    if (auto s2 = backup::EnsureStanza(t, progress); !s2.ok()) return s2;
  }
  if (auto s2 = StartPrograms(t, catalogd); !s2.ok()) return s2;
  return WaitUntil("region " + r.name + ": catalogd ready", static_cast<int>(catalogd.size()), deadline, progress, [&] {
    int n = 0;
    for (const auto& z : r.zones)
      for (int i = 1; i <= z.catalogd_instances; ++i) n += CatalogdReady(z, t.CatalogdPort(i));
    return n;
  });
}

// The backup scheduler and the region watcher, when the topology asks for them.
Status StartControllers(const Topology& t, const Progress& progress) {
  if (t.backup.schedule) {
    if (auto st = StartPrograms(t, {kBackupSchedulerProgram}); !st.ok()) return st;
    progress("backups: scheduler running (a full backup every " + std::to_string(t.backup.full_every_h) +
             " h, a differential every " + std::to_string(t.backup.diff_every_h) + " h; `catalogctl backup list`)");
  }
  if (t.MultiRegion() && t.dr.auto_failover_after_s > 0) {
    if (auto st = StartPrograms(t, {kDrResponderProgram}); !st.ok()) return st;
    progress("regions: automatic failover on (after " + std::to_string(t.dr.auto_failover_after_s) +
             " s without a lease of the active region; log " + t.var_dir + "/global/dr-responder.log)");
  }
  return Status::Ok();
}

Status StartMonitoring(const Topology& t, Deadline deadline, const Progress& progress) {
  const auto& m = t.monitoring;
  if (auto st = StartPrograms(t, MonitoringPrograms(t)); !st.ok()) return st;
  auto st = WaitUntil("monitoring: Prometheus, Alertmanager, canary, responder, status page answering", 5, deadline,
                      progress, [&] {
                        int n = 0;
                        for (auto [port, path] : {std::pair<int, const char*>{m.prometheus_port, "/-/ready"},
                                                  {m.alertmanager_port, "/-/ready"},
                                                  {m.canary_port, "/metrics"},
                                                  {m.responder_port, "/metrics"},
                                                  {m.status_port, "/healthz"}})
                          n += GetJson(m.address, port, path).status == 200;
                        return n;
                      });
  if (!st.ok()) return st;
  progress("monitoring: Prometheus http://" + m.address + ":" + std::to_string(m.prometheus_port) +
           "  Alertmanager http://" + m.address + ":" + std::to_string(m.alertmanager_port) + "  status page http://" +
           m.address + ":" + std::to_string(m.status_port) + "/");
  return Status::Ok();
}

}  // namespace

Status Up(const Topology& t, std::chrono::seconds timeout, const Progress& progress) {
  if (geteuid() != 0)
    return Status::Invalid(
        "catalogctl up runs as root: it creates one OS user per zone and runs each zone's "
        "processes as that user");
  auto deadline = Clock::now() + timeout;
  auto secrets = LoadOrCreateSecrets(t);
  if (!secrets.ok()) return secrets.status();
  if (auto st = Prepare(t, *secrets); !st.ok()) return st;
  progress("rendered " + t.var_dir + " from " + t.file);
  // Before any process opens a connection: the drills' one-way cuts need to know who opened each.
  if (auto st = TagConnections(t); !st.ok()) return st;
  if (auto st = StartSupervisor(t); !st.ok()) return st;
  if (t.MultiRegion())
    if (auto st = StartGlobal(t, deadline, progress); !st.ok()) return st;
  {
    // pgBackRest's servers first, in every region: the repository host reaches every zone's when it
    // creates the stanza (a zone whose server is absent costs a connection timeout).
    std::vector<std::string> backup_servers{kBackupRepoProgram};
    for (const auto* z : t.AllZones()) backup_servers.push_back(BackupServerProgram(*z));
    if (auto st = StartPrograms(t, backup_servers); !st.ok()) return st;
  }
  // The active region first: the others are standby clusters of it.
  const Region& active = t.ActiveAtStart();
  if (auto st = StartRegion(t, active, nullptr, *secrets, deadline, progress); !st.ok()) return st;
  for (const auto& r : t.regions)
    if (&r != &active)
      if (auto st = StartRegion(t, r, &active, *secrets, deadline, progress); !st.ok()) return st;
  if (auto st = StartControllers(t, progress); !st.ok()) return st;
  if (t.monitoring.enabled) return StartMonitoring(t, deadline, progress);
  return Status::Ok();
}

Status Down(const Topology& t, bool purge, const Progress& progress) {
  std::string out;
  RemoveCuts(t);  // absent is fine
  RemoveConnectionTags(t);
  if (SupervisorRunning(t)) {
    // Resume anything a drill froze, or it cannot stop.
    for (const auto* z : t.AllZones())
      if (auto uid = UidOf(z->os_user))
        for (pid_t p : ProcessesOf(*uid)) kill(p, SIGCONT);
    progress("stopping every process of " + t.name + " (catalogd, Patroni and PostgreSQL, etcd, HAProxy)");
    SupervisorCtl(t, {"stop", "all"});
    auto pid = std::atol(ReadFile(t.SupervisorPidFile()).value_or("0").c_str());
    SupervisorCtl(t, {"shutdown"});
    auto deadline = Clock::now() + std::chrono::seconds(60);
    while (pid > 0 && IsProcessAlive(static_cast<pid_t>(pid)) && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // Anything left of a zone (a postmaster whose Patroni was killed) belongs to the zone's user.
  for (const auto* z : t.AllZones())
    if (auto uid = UidOf(z->os_user)) {
      auto left = ProcessesOf(*uid);
      for (pid_t p : left) kill(p, SIGKILL);
      if (!left.empty()) progress("killed " + std::to_string(left.size()) + " leftover process(es) of zone " + z->name);
    }
  if (purge) {
    if (int n = ReleaseWalDisks(t)) progress("unmounted " + std::to_string(n) + " zone pg_wal filesystem(s)");
    std::error_code ec;
    fs::remove_all(t.var_dir, ec);
    progress("removed " + t.var_dir);
  }
  return Status::Ok();
}

std::vector<std::string> LogFiles(const Topology& t, const std::string& zone, const std::string& program) {
  std::vector<std::string> out;
  for (const auto& r : t.regions) {
    for (const auto& z : r.zones) {
      if (!zone.empty() && zone != z.name) continue;
      std::vector<std::pair<std::string, std::string>> files{
          {"etcd", z.dir + "/logs/etcd.log"},
          {"patroni", z.dir + "/logs/patroni.log"},
          {"postgres-exporter", z.dir + "/logs/postgres-exporter.log"},
          {"pgbackrest", z.dir + "/logs/pgbackrest-server.log"}};
      for (int n = 1; n <= z.catalogd_instances; ++n)
        files.emplace_back("catalogd", z.dir + "/logs/" + Topology::InstanceName(z, n) + ".log");
      for (const auto& [p, f] : files)
        if ((program.empty() || program == p) && fs::exists(f)) out.push_back(f);
    }
    if ((program.empty() || program == "haproxy") && zone.empty() && fs::exists(r.dir + "/logs/haproxy.log"))
      out.push_back(r.dir + "/logs/haproxy.log");
  }
  if (zone.empty())
    for (const auto& [p, f] :
         {std::pair<std::string, std::string>{kBackupRepoProgram, t.backup.dir + "/logs/server.log"},
          {kBackupSchedulerProgram, t.backup.dir + "/logs/scheduler.log"},
          {kDrResponderProgram, t.var_dir + "/global/dr-responder.log"}})
      if ((program.empty() || program == p) && fs::exists(f)) out.push_back(f);
  if (zone.empty())
    for (const auto& m : t.GlobalEtcd()) {
      std::vector<std::pair<std::string, std::string>> files{{GlobalEtcdProgram(m), m.dir + "/etcd.log"}};
      if (m.region.empty()) files.emplace_back(kFrontDoorProgram, m.dir + "/frontdoor.log");
      for (const auto& [p, f] : files)
        if ((program.empty() || program == p) && fs::exists(f)) out.push_back(f);
    }
  if (zone.empty())
    for (const auto& p : MonitoringPrograms(t)) {
      std::string f = t.monitoring.dir + "/logs/" + p + ".log";
      if ((program.empty() || program == p) && fs::exists(f)) out.push_back(f);
    }
  return out;
}

}  // namespace techmoda::ctl
