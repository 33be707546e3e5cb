#include "ctl/topology/region.h"

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "common/etcd_client.h"
#include "common/http_client.h"
#include "common/log.h"
#include "common/pg.h"
#include "common/process.h"
#include "ctl/backup/backup.h"
#include "techmoda/active_region.h"

namespace json = boost::json;
namespace fs = std::filesystem;

namespace techmoda::ctl {

namespace {

using Clock = std::chrono::steady_clock;

std::string SupervisorCtl(const Topology& t, std::vector<std::string> args, int* rc = nullptr) {
  std::vector<std::string> argv{"/usr/bin/supervisorctl", "-c", t.SupervisorConf()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  int code = RunCapture(argv, &out);
  if (rc) *rc = code;
  return out;
}

bool SupervisorRunning(const Topology& t) {
  auto pid = ReadFile(t.SupervisorPidFile());
  if (!pid) return false;
  try {
    return IsProcessAlive(static_cast<pid_t>(std::stol(*pid))) && fs::exists(t.SupervisorSocket());
  } catch (...) {
    return false;
  }
}

}  // namespace

std::map<std::string, std::pair<std::string, pid_t>> ProgramStates(const Topology& t) {
  std::map<std::string, std::pair<std::string, pid_t>> out;
  if (!SupervisorRunning(t)) return out;
  std::istringstream in(SupervisorCtl(t, {"status"}));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string name, state, word;
    ls >> name >> state;
    pid_t pid = 0;
    while (ls >> word)
      if (word == "pid" && ls >> word) pid = static_cast<pid_t>(std::atol(word.c_str()));
    if (!name.empty() && !state.empty()) out[name] = {state, pid};
  }
  return out;
}

Status StartPrograms(const Topology& t, const std::vector<std::string>& names) {
  if (names.empty()) return Status::Ok();
  std::vector<std::string> args{"start"};
  args.insert(args.end(), names.begin(), names.end());
  int rc = 0;
  std::string out = SupervisorCtl(t, args, &rc);
  for (const auto& n : names)
    if (out.find(n + ": ERROR") != std::string::npos && out.find("already started") == std::string::npos)
      return Status::Unavailable("supervisord could not start " + n + ": " + out);
  return Status::Ok();
}

Status StopPrograms(const Topology& t, const std::vector<std::string>& names) {
  if (names.empty()) return Status::Ok();
  std::vector<std::string> args{"stop"};
  args.insert(args.end(), names.begin(), names.end());
  int rc = 0;
  std::string out = SupervisorCtl(t, args, &rc);
  for (const auto& n : names)
    if (out.find(n + ": ERROR") != std::string::npos && out.find("not running") == std::string::npos)
      return Status::Unavailable("supervisord could not stop " + n + ": " + out);
  return Status::Ok();
}

namespace {

// Waits until `ready` holds, printing `what` with a count every second. `ready` returns how many
// of `total` are ready.
Status WaitUntil(const std::string& what, int total, Clock::time_point deadline, const Progress& progress,
                 const std::function<int()>& ready) {
  auto start = Clock::now();
  auto next_print = start;
  while (true) {
    int n = ready();
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    if (n >= total) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "%-28s %d/%d  %5.1f s", what.c_str(), n, total, secs);
      progress(buf);
      return Status::Ok();
    }
    if (Clock::now() > deadline)
      return Status::Unavailable(what + ": only " + std::to_string(n) + " of " + std::to_string(total) + " after " +
                                 std::to_string(static_cast<int>(secs)) + " s (see `catalogctl logs`)");
    if (Clock::now() >= next_print) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "%-28s %d/%d  %5.1f s ...", what.c_str(), n, total, secs);
      progress(buf);
      next_print += std::chrono::seconds(2);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

HttpResult GetJson(const std::string& host, int port, const std::string& target) {
  return HttpCall(host, static_cast<unsigned short>(port), "GET", target, "", {}, std::chrono::milliseconds(1500));
}

// "healthy", "unhealthy" (answers, but not healthy) or "down" (no answer), from one /health call.
std::string EtcdHealth(const Topology& t, const Zone& z) {
  auto r = GetJson(z.address, t.ports.etcd_client, "/health");
  if (r.status == 0) return "down";
  auto j = r.Json();
  bool ok = r.status == 200 && j.is_object() && j.as_object().contains("health") && j.at("health") == "true";
  return ok ? "healthy" : "unhealthy";
}

bool EtcdHealthy(const Topology& t, const Zone& z) { return EtcdHealth(t, z) == "healthy"; }

}  // namespace

bool CatalogdReady(const Zone& z, int port) { return GetJson(z.address, port, "/readyz").status == 200; }

namespace {

// Patroni's /cluster as most members see it. A member cut off from etcd keeps showing its last view
// (itself as leader, say), so the view counts that the most members share: the one whose leader
// they agree on (on a tie, the view of a member that is itself the leader it names).
json::value ClusterView(const Topology& t, const Region& r) {
  std::map<std::string, int> votes;  // leader name -> members naming it
  std::map<std::string, json::value> view_of;
  std::string self_leader;
  for (const auto& z : r.zones) {
    auto res = GetJson(z.address, t.ports.patroni, "/cluster");
    if (res.status != 200) continue;
    auto j = res.Json();
    if (!j.is_object() || !j.as_object().contains("members")) continue;
    std::string leader;
    for (const auto& m : j.at("members").as_array())
      if (m.at("role") == "leader" || m.at("role") == "standby_leader") leader = std::string(m.at("name").as_string());
    ++votes[leader];
    if (leader == z.name) self_leader = leader;
    if (!view_of.count(leader) || leader == z.name) view_of[leader] = j;
  }
  std::string best;
  int best_votes = 0;
  for (const auto& [leader, n] : votes)
    if (n > best_votes || (n == best_votes && leader == self_leader)) {
      best = leader;
      best_votes = n;
    }
  return best_votes ? view_of[best] : json::value();
}

std::optional<uid_t> UidOf(const std::string& user) {
  struct passwd* pw = getpwnam(user.c_str());
  if (!pw) return std::nullopt;
  return pw->pw_uid;
}

Status EnsureUser(const std::string& user) {
  if (UidOf(user)) return Status::Ok();
  std::string out;
  int rc = RunCapture({"/usr/sbin/useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
                       "/usr/sbin/nologin", user},
                      &out);
  if (rc != 0 && !UidOf(user)) return Status::Internal("useradd " + user + " failed: " + out);
  return Status::Ok();
}

// Every process whose real user is `uid`: a zone's processes are exactly those of its OS user.
std::vector<pid_t> ProcessesOf(uid_t uid) {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc", fs::directory_options::skip_permission_denied)) {
    std::string name = e.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("Uid:", 0) == 0) {
        std::istringstream ls(line.substr(4));
        uid_t real = 0;
        if (ls >> real && real == uid) out.push_back(static_cast<pid_t>(std::stol(name)));
        break;
      }
    }
  }
  return out;
}

// The short name of a process and its parent's pid, from /proc (empty name if it is gone).
std::pair<std::string, pid_t> CommAndParent(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto open = stat.find('('), close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return {"", 0};
  std::istringstream rest(stat.substr(close + 2));
  char state = 0;
  long ppid = 0;
  rest >> state >> ppid;
  return {stat.substr(open + 1, close - open - 1), static_cast<pid_t>(ppid)};
}

// A PostgreSQL backend whose postmaster is gone: named postgres, its parent neither a postmaster nor
// Patroni.
bool IsOrphanedPostgres(pid_t pid) {
  auto [comm, ppid] = CommAndParent(pid);
  if (comm != "postgres") return false;
  std::string parent = CommAndParent(ppid).first;
  return parent != "postgres" && parent != "patroni" && parent.rfind("python", 0) != 0;
}

Result<const Zone*> ResolveZone(const Topology& t, const std::string& zone) {
  if (zone == "primary" || zone.empty()) {
    for (const auto& r : t.regions) {
      auto view = ClusterView(t, r);
      if (!view.is_object()) continue;
      for (const auto& m : view.at("members").as_array())
        if (m.at("role") == "leader") {
          if (const Zone* z = t.FindZone(std::string(m.at("name").as_string()))) return z;
        }
    }
    return Status::Unavailable("no region has a primary right now, so 'primary' names no zone");
  }
  if (const Zone* z = t.FindZone(zone)) return z;
  std::string names;
  for (const auto* z : t.AllZones()) names += (names.empty() ? "" : ", ") + z->name;
  return Status::Invalid("no zone '" + zone + "' in topology " + t.name + " (zones: " + names + ")");
}

Status WriteFile(const RenderedFile& f) {
  fs::create_directories(fs::path(f.path).parent_path());
  std::string tmp = f.path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return Status::Internal("cannot write " + tmp);
    out << f.content;
  }
  chmod(tmp.c_str(), static_cast<mode_t>(f.mode));
  if (!f.owner.empty()) {
    auto uid = UidOf(f.owner);
    struct passwd* pw = getpwnam(f.owner.c_str());
    if (uid && pw && chown(tmp.c_str(), *uid, pw->pw_gid) != 0)
      return Status::Internal("cannot give " + f.path + " to " + f.owner);
  }
  std::error_code ec;
  fs::rename(tmp, f.path, ec);
  if (ec) return Status::Internal("cannot write " + f.path + ": " + ec.message());
  return Status::Ok();
}

// Creates the zone users and folders (each zone's own, mode 0700) and writes every file.
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
    if (auto st = WriteFile(f); !st.ok()) return st;
  return Status::Ok();
}

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
      if (auto* e = std::get_if<pg::Error>(&role)) return Status::Internal("creating role catalog: " + e->message);
      auto has = conn.Exec("SELECT 1 FROM pg_database WHERE datname = 'techmoda'");
      if (auto* rows = std::get_if<pg::Rows>(&has); rows && rows->size() == 0) {
        auto made = conn.ExecScript("CREATE DATABASE techmoda OWNER catalog");
        if (auto* e = std::get_if<pg::Error>(&made)) return Status::Internal("creating database: " + e->message);
      }
      return Status::Ok();
    }
    if (Clock::now() > deadline)
      return Status::Unavailable("the primary did not accept the superuser: " + c.status().detail());
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace

json::value RegionClusterView(const Topology& t, const Region& r) { return ClusterView(t, r); }

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
    if (auto st = WriteFile(f); !st.ok()) return st;
    written->push_back(f.path);
  }
  return Status::Ok();
}

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
  if (!SupervisorRunning(t)) {
    std::string out;
    int rc = RunCapture({"/usr/bin/supervisord", "-c", t.SupervisorConf()}, &out);
    if (rc != 0) return Status::Internal("supervisord did not start: " + out);
    auto sd = Clock::now() + std::chrono::seconds(10);
    while (!SupervisorRunning(t) && Clock::now() < sd) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!SupervisorRunning(t))
      return Status::Internal("supervisord did not come up; see " + t.var_dir + "/supervisord.log");
  } else {
    SupervisorCtl(t, {"reread"});
    SupervisorCtl(t, {"update"});
  }
  if (t.MultiRegion()) {
    auto members = t.GlobalEtcd();
    std::vector<std::string> programs;
    for (const auto& m : members) programs.push_back(GlobalEtcdProgram(m));
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
        if (!global.PutIf(t.DrPrefix() + "/active", 0, ActiveRegionRecordJson(a)).ok()) return 0;
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
  }
  {
    // pgBackRest's servers first, in every region: the repository host reaches every zone's when it
    // creates the stanza (a zone whose server is absent costs a connection timeout).
    std::vector<std::string> backup_servers{kBackupRepoProgram};
    for (const auto* z : t.AllZones()) backup_servers.push_back(BackupServerProgram(*z));
    if (auto st = StartPrograms(t, backup_servers); !st.ok()) return st;
  }
  // The active region first: the others are standby clusters of it.
  std::vector<const Region*> order{&t.ActiveAtStart()};
  for (const auto& r : t.regions)
    if (&r != order.front()) order.push_back(&r);
  for (const Region* rp : order) {
    const Region& r = *rp;
    const bool standby = t.MultiRegion() && &r != order.front();
    std::vector<std::string> etcd, patroni, catalogd;
    for (const auto& z : r.zones) {
      etcd.push_back(EtcdProgram(z));
      patroni.push_back(PatroniProgram(z));
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
      auto view = ClusterView(t, r);
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
    if (standby) {
      progress("region " + r.name + ": a standby cluster streaming from region " + order.front()->name);
    } else {
      if (auto s2 = BootstrapDatabase(t, r, *secrets, deadline); !s2.ok()) return s2;
      progress("region " + r.name + ": role catalog and database techmoda ready");
      if (auto s2 = backup::EnsureStanza(t, progress); !s2.ok()) return s2;
    }
    if (auto s2 = StartPrograms(t, catalogd); !s2.ok()) return s2;
    st = WaitUntil("region " + r.name + ": catalogd ready", static_cast<int>(catalogd.size()), deadline, progress, [&] {
      int n = 0;
      for (const auto& z : r.zones)
        for (int i = 1; i <= z.catalogd_instances; ++i) n += CatalogdReady(z, t.CatalogdPort(i));
      return n;
    });
    if (!st.ok()) return st;
  }
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
  if (t.monitoring.enabled) {
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
             "  Alertmanager http://" + m.address + ":" + std::to_string(m.alertmanager_port) +
             "  status page http://" + m.address + ":" + std::to_string(m.status_port) + "/");
  }
  return Status::Ok();
}

Status Down(const Topology& t, bool purge, const Progress& progress) {
  std::string out;
  RunCapture({"/usr/sbin/nft", "delete", "table", "inet", t.NftTable()}, &out);  // absent is fine
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
    std::error_code ec;
    fs::remove_all(t.var_dir, ec);
    progress("removed " + t.var_dir);
  }
  return Status::Ok();
}

TopologyStatus ReadStatus(const Topology& t) {
  TopologyStatus out;
  out.name = t.name;
  out.supervisor_running = SupervisorRunning(t);
  auto programs = ProgramStates(t);
  auto state_of = [&](const std::string& p) {
    auto it = programs.find(p);
    return it == programs.end() ? std::string("ABSENT") : it->second.first;
  };
  std::string rules;
  RunCapture({"/usr/sbin/nft", "list", "table", "inet", t.NftTable()}, &rules);
  for (const auto& r : t.regions) {
    RegionStatus rs;
    rs.name = r.name;
    rs.address = r.address;
    rs.haproxy = state_of(HaproxyProgram(r));
    auto view = ClusterView(t, r);
    std::map<std::string, json::object> members;
    if (view.is_object())
      for (const auto& m : view.at("members").as_array())
        members[std::string(m.at("name").as_string())] = m.as_object();
    for (const auto& z : r.zones) {
      NodeStatus n;
      n.region = r.name;
      n.zone = z.name;
      n.address = z.address;
      n.patroni_process = state_of(PatroniProgram(z));
      n.etcd = EtcdHealth(t, z);
      n.partitioned = rules.find("ip daddr " + z.address + " ") != std::string::npos ||
                      rules.find("ip daddr " + z.address + "\n") != std::string::npos;
      n.role = "down";
      if (auto it = members.find(z.name); it != members.end()) {
        const auto& m = it->second;
        n.role = std::string(m.at("role").as_string());
        n.state = std::string(m.at("state").as_string());
        if (m.contains("timeline") && m.at("timeline").is_int64())
          n.timeline = static_cast<int>(m.at("timeline").as_int64());
        if (m.contains("lag") && m.at("lag").is_int64()) n.lag_bytes = m.at("lag").as_int64();
      }
      for (int i = 1; i <= z.catalogd_instances; ++i) {
        CatalogdStatus c;
        c.instance = Topology::InstanceName(z, i);
        c.address = z.address + ":" + std::to_string(t.CatalogdPort(i));
        c.process = state_of(CatalogdProgram(z, i));
        c.ready = c.process == "RUNNING" && CatalogdReady(z, t.CatalogdPort(i));
        n.catalogds.push_back(c);
      }
      bool pg_ok = n.role != "down" && (n.state == "running" || n.state == "streaming");
      bool cd_ok = true;
      for (const auto& c : n.catalogds) cd_ok &= c.ready;
      n.health = !pg_ok && n.etcd != "healthy"
                     ? "down"
                     : (pg_ok && cd_ok && n.etcd == "healthy" && !n.partitioned ? "ok" : "degraded");
      if (n.role == "leader" || n.role == "standby_leader") rs.leader = z.name;
      rs.standby |= n.role == "standby_leader";
      if (n.role == "sync_standby") rs.sync_standby = z.name;
      if (n.health != "ok") rs.problems.push_back("zone " + z.name + " is " + n.health);
      rs.nodes.push_back(std::move(n));
    }
    if (rs.leader.empty()) rs.problems.push_back("no primary");
    if (rs.sync_standby.empty() && r.zones.size() > 1 && !rs.standby)
      rs.problems.push_back("no synchronous standby: writes wait");
    if (rs.haproxy != "RUNNING") rs.problems.push_back("HAProxy is " + rs.haproxy);
    rs.healthy = rs.problems.empty();
    out.regions.push_back(std::move(rs));
  }
  return out;
}

std::string FormatStatusTable(const TopologyStatus& s) {
  std::string out = "topology " + s.name + ": " +
                    (s.healthy() ? "healthy" : (s.supervisor_running ? "DEGRADED" : "DOWN (not running)")) + "\n";
  char line[512];
  std::snprintf(line, sizeof line, "%-7s %-6s %-11s %-10s %-13s %-16s %3s %10s  %-26s %-8s\n", "REGION", "ZONE",
                "ADDRESS", "ETCD", "ROLE", "STATE", "TL", "LAG", "CATALOGD", "HEALTH");
  out += line;
  for (const auto& r : s.regions) {
    for (const auto& n : r.nodes) {
      std::string cds;
      for (const auto& c : n.catalogds)
        cds += (cds.empty() ? "" : ",") + c.instance +
               (c.ready ? " ready" : " " + std::string(c.process == "RUNNING" ? "not-ready" : c.process));
      std::string lag = n.role == "leader" ? "-" : (n.lag_bytes < 0 ? "?" : std::to_string(n.lag_bytes) + " B");
      std::string health = n.health + (n.partitioned ? " (cut off)" : "");
      std::snprintf(line, sizeof line, "%-7s %-6s %-11s %-10s %-13s %-16s %3s %10s  %-26s %-8s\n", r.name.c_str(),
                    n.zone.c_str(), n.address.c_str(), n.etcd.c_str(), n.role.c_str(),
                    n.state.empty() ? "-" : n.state.c_str(), n.timeline ? std::to_string(n.timeline).c_str() : "-",
                    lag.c_str(), cds.c_str(), health.c_str());
      out += line;
    }
    if (r.standby)
      out += "region " + r.name + ": HAProxy " + r.address + " " + r.haproxy + "; STANDBY cluster, standby leader " +
             r.leader;
    else
      out += "region " + r.name + ": HAProxy " + r.address + " " + r.haproxy + "; primary " +
             (r.leader.empty() ? "NONE" : r.leader) + ", synchronous standby " +
             (r.sync_standby.empty() ? "NONE" : r.sync_standby);
    for (const auto& p : r.problems) out += "\n  ! " + p;
    out += "\n";
  }
  return out;
}

json::value StatusJson(const TopologyStatus& s) {
  json::array regions;
  for (const auto& r : s.regions) {
    json::array nodes;
    for (const auto& n : r.nodes) {
      json::array cds;
      for (const auto& c : n.catalogds)
        cds.push_back({{"instance", c.instance}, {"address", c.address}, {"process", c.process}, {"ready", c.ready}});
      nodes.push_back({{"zone", n.zone},
                       {"address", n.address},
                       {"etcd", n.etcd},
                       {"role", n.role},
                       {"state", n.state},
                       {"timeline", n.timeline},
                       {"lag_bytes", n.lag_bytes < 0 ? json::value(nullptr) : json::value(n.lag_bytes)},
                       {"patroni_process", n.patroni_process},
                       {"partitioned", n.partitioned},
                       {"catalogd", cds},
                       {"health", n.health}});
    }
    json::array problems;
    for (const auto& p : r.problems) problems.push_back(json::string(p));
    regions.push_back({{"name", r.name},
                       {"haproxy", {{"address", r.address}, {"process", r.haproxy}}},
                       {"primary", r.leader.empty() ? json::value(nullptr) : json::value(r.leader)},
                       {"standby", r.standby},
                       {"sync_standby", r.sync_standby.empty() ? json::value(nullptr) : json::value(r.sync_standby)},
                       {"healthy", r.healthy},
                       {"problems", problems},
                       {"nodes", nodes}});
  }
  return {{"topology", s.name}, {"running", s.supervisor_running}, {"healthy", s.healthy()}, {"regions", regions}};
}

namespace {
// The zone `zone` names and every process of its OS user: the zone's processes, exactly.
Result<std::pair<const Zone*, std::vector<pid_t>>> ZoneProcesses(const Topology& t, const std::string& zone) {
  auto z = ResolveZone(t, zone);
  if (!z.ok()) return z.status();
  auto uid = UidOf((*z)->os_user);
  if (!uid) return Status::Invalid("zone " + (*z)->name + " has no OS user yet: is the topology up?");
  return std::make_pair(*z, ProcessesOf(*uid));
}
}  // namespace

Status FaultKillZone(const Topology& t, const std::string& zone, std::string* report) {
  auto zp = ZoneProcesses(t, zone);
  if (!zp.ok()) return zp.status();
  auto& [z, pids] = *zp;
  for (pid_t p : pids) kill(p, SIGKILL);
  *report = "zone " + z->name + ": SIGKILL to " + std::to_string(pids.size()) + " process(es) of " + z->os_user;
  return Status::Ok();
}

namespace {

// A region's OS users (its zones' and its global etcd member's) and its addresses (zones, HAProxy,
// global etcd member), and the same for everything outside it (other regions, the witness).
struct RegionSides {
  std::vector<uid_t> inside_uids, outside_uids;
  std::vector<std::string> inside_addrs, outside_addrs;
};

Result<RegionSides> SidesOf(const Topology& t, const std::string& region) {
  const Region* r = region.empty() ? &t.regions.front() : t.FindRegion(region);
  if (!r) return Status::Invalid("no region '" + region + "' in topology " + t.name);
  RegionSides s;
  for (const auto& o : t.regions) {
    bool in = o.name == r->name;
    (in ? s.inside_addrs : s.outside_addrs).push_back(o.address);
    for (const auto& z : o.zones) {
      (in ? s.inside_addrs : s.outside_addrs).push_back(z.address);
      if (auto uid = UidOf(z.os_user)) (in ? s.inside_uids : s.outside_uids).push_back(*uid);
    }
  }
  for (const auto& m : t.GlobalEtcd()) {
    bool in = m.region == r->name;
    (in ? s.inside_addrs : s.outside_addrs).push_back(m.address);
    if (auto uid = UidOf(m.os_user)) (in ? s.inside_uids : s.outside_uids).push_back(*uid);
  }
  return s;
}

template <typename T>
std::string NftSet(const std::vector<T>& items) {
  std::string out;
  for (const auto& i : items) {
    std::ostringstream os;
    os << i;
    out += (out.empty() ? "" : ", ") + os.str();
  }
  return "{ " + out + " }";
}

}  // namespace

Status FaultKillRegion(const Topology& t, const std::string& region, std::string* report) {
  auto sides = SidesOf(t, region);
  if (!sides.ok()) return sides.status();
  const Region* r = region.empty() ? &t.regions.front() : t.FindRegion(region);
  int n = 0;
  for (uid_t uid : sides->inside_uids)
    for (pid_t p : ProcessesOf(uid)) n += kill(p, SIGKILL) == 0;
  // The region's HAProxy (run as root) dies with it.
  auto programs = ProgramStates(t);
  if (auto it = programs.find(HaproxyProgram(*r)); it != programs.end() && it->second.second > 0)
    n += kill(it->second.second, SIGKILL) == 0;
  *report = "region " + r->name + ": SIGKILL to " + std::to_string(n) +
            " process(es): every zone, its HAProxy and its global etcd member (undo: fault heal)";
  return Status::Ok();
}

Status FaultPartitionRegion(const Topology& t, const std::string& region, std::string* report) {
  auto sides = SidesOf(t, region);
  if (!sides.ok()) return sides.status();
  if (sides->outside_addrs.empty()) return Status::Invalid("topology " + t.name + " has no other region");
  // As for a zone: loopback traffic leaves from 127.0.0.1, so match the sending socket's owner. The
  // region's processes may not reach the rest (other regions, the witness), nor the rest them; clients
  // and the HAProxies (root) still reach everything, as clients on the region's side of a cut would.
  std::string table = t.NftTable();
  std::string rules = "add table inet " + table + "\nadd chain inet " + table +
                      " zones { type filter hook output priority 0; policy accept; }\n"
                      "add rule inet " +
                      table + " zones meta skuid " + NftSet(sides->inside_uids) + " ip daddr " +
                      NftSet(sides->outside_addrs) + " drop\nadd rule inet " + table + " zones meta skuid " +
                      NftSet(sides->outside_uids) + " ip daddr " + NftSet(sides->inside_addrs) + " drop\n";
  std::string path = t.var_dir + "/partition-region.nft";
  std::ofstream(path, std::ios::trunc) << rules;
  std::string out;
  if (RunCapture({"/usr/sbin/nft", "-f", path}, &out) != 0) return Status::Internal("nft failed: " + out);
  *report = "region " + (region.empty() ? t.regions.front().name : region) +
            " cut off from the other regions and the witness (its clients still reach it; nftables table inet " +
            table + ")";
  return Status::Ok();
}

Status FaultStopZone(const Topology& t, const std::string& zone, std::string* report) {
  auto zp = ZoneProcesses(t, zone);
  if (!zp.ok()) return zp.status();
  auto& [z, pids] = *zp;
  for (pid_t p : pids) kill(p, SIGSTOP);
  *report = "zone " + z->name + ": SIGSTOP to " + std::to_string(pids.size()) + " process(es) (resume: fault heal)";
  return Status::Ok();
}

Status FaultStopPostgres(const Topology& t, const std::string& zone, std::string* report) {
  auto zp = ZoneProcesses(t, zone);
  if (!zp.ok()) return zp.status();
  auto& [z, pids] = *zp;
  std::string postgres = t.postgres_bin_dir + "/postgres";
  int n = 0;
  for (pid_t p : pids) {
    std::error_code ec;
    if (fs::read_symlink("/proc/" + std::to_string(p) + "/exe", ec).string() == postgres) n += kill(p, SIGSTOP) == 0;
  }
  if (n == 0) return Status::Unavailable("zone " + z->name + " has no running PostgreSQL");
  *report = "zone " + z->name + ": SIGSTOP to " + std::to_string(n) +
            " PostgreSQL process(es); etcd, Patroni and catalogd go on (resume: fault heal)";
  return Status::Ok();
}

Status FaultPartitionZone(const Topology& t, const std::string& zone, std::string* report) {
  auto zr = ResolveZone(t, zone);
  if (!zr.ok()) return zr.status();
  const Zone& z = **zr;
  // Loopback traffic all leaves from 127.0.0.1, so addresses alone cannot tell zones apart: match
  // the sending socket's owner (each zone's processes run as the zone's user). The zone may not
  // send to the others, nor they to it; HAProxy and clients (other users) still reach everything.
  std::string others_addr, others_uid;
  for (const auto* o : t.AllZones()) {
    if (o->name == z.name || o->region != z.region) continue;
    auto uid = UidOf(o->os_user);
    if (!uid) continue;
    others_addr += (others_addr.empty() ? "" : ", ") + o->address;
    others_uid += (others_uid.empty() ? "" : ", ") + std::to_string(*uid);
  }
  auto uid = UidOf(z.os_user);
  if (!uid || others_addr.empty()) return Status::Invalid("zone " + z.name + " has no peers to be cut off from");
  std::string table = t.NftTable();
  std::string rules = "add table inet " + table + "\nadd chain inet " + table +
                      " zones { type filter hook output priority 0; policy accept; }\n"
                      "add rule inet " +
                      table + " zones meta skuid " + std::to_string(*uid) + " ip daddr { " + others_addr +
                      " } drop\n"
                      "add rule inet " +
                      table + " zones meta skuid { " + others_uid + " } ip daddr " + z.address + " drop\n";
  std::string path = t.var_dir + "/partition-" + z.name + ".nft";
  {
    std::ofstream f(path, std::ios::trunc);
    f << rules;
  }
  std::string out;
  if (RunCapture({"/usr/sbin/nft", "-f", path}, &out) != 0) return Status::Internal("nft failed: " + out);
  *report = "zone " + z.name + " (" + z.address + ", uid " + std::to_string(*uid) + ") cut off from " + others_addr +
            " (nftables table inet " + table + ")";
  return Status::Ok();
}

Status FaultKillPostgres(const Topology& t, const std::string& zone, std::string* report) {
  auto z = ResolveZone(t, zone);
  if (!z.ok()) return z.status();
  auto pidfile = ReadFile((*z)->dir + "/pg/data/postmaster.pid");
  if (!pidfile) return Status::Unavailable("zone " + (*z)->name + " has no running PostgreSQL");
  pid_t pid = static_cast<pid_t>(std::atol(pidfile->c_str()));
  if (pid <= 0 || kill(pid, SIGKILL) != 0)
    return Status::Unavailable("zone " + (*z)->name + ": PostgreSQL is not running");
  *report = "zone " + (*z)->name + ": SIGKILL to the postmaster (pid " + std::to_string(pid) + "); Patroni lives on";
  return Status::Ok();
}

Status FaultStallArchive(const Topology& t, const std::string& region, std::string* report) {
  const Region* r = region.empty() ? &t.regions.front() : t.FindRegion(region);
  if (!r) return Status::Invalid("no region " + region);
  std::string stall = Topology::ArchiveStallFile(*r);
  if (!std::ofstream(stall)) return Status::Internal("cannot create " + stall);
  *report = "WAL archiving of region " + r->name + " now fails (" + stall + "); undo with `fault heal`";
  return Status::Ok();
}

Status FaultHeal(const Topology& t, std::string* report) {
  std::string out;
  int unstalled = 0;
  for (const auto& r : t.regions) unstalled += fs::remove(Topology::ArchiveStallFile(r));
  bool had_rules = RunCapture({"/usr/sbin/nft", "delete", "table", "inet", t.NftTable()}, &out) == 0;
  int resumed = 0;
  for (const auto* z : t.AllZones())
    if (auto uid = UidOf(z->os_user))
      for (pid_t p : ProcessesOf(*uid)) resumed += kill(p, SIGCONT) == 0;
  // Programs that died (killed) are started again, in dependency order.
  auto programs = ProgramStates(t);
  std::vector<std::string> started;
  for (int pass = 0; pass < 3; ++pass) {
    std::vector<std::string> names;
    for (const auto& r : t.regions)
      for (const auto& z : r.zones) {
        std::vector<std::string> candidates;
        if (pass == 0) candidates = {EtcdProgram(z), HaproxyProgram(r)};
        if (pass == 1) candidates = {BackupServerProgram(z), PatroniProgram(z)};
        if (pass == 2)
          for (int n = 1; n <= z.catalogd_instances; ++n) candidates.push_back(CatalogdProgram(z, n));
        for (const auto& c : candidates) {
          auto it = programs.find(c);
          if (it != programs.end() && it->second.first != "RUNNING" && it->second.first != "STARTING")
            names.push_back(c);
        }
      }
    if (pass == 0) {
      std::vector<std::string> global;
      for (const auto& m : t.GlobalEtcd()) global.push_back(GlobalEtcdProgram(m));
      if (t.MultiRegion()) global.push_back(kFrontDoorProgram);
      for (const auto& g : global)
        if (auto it = programs.find(g);
            it != programs.end() && it->second.first != "RUNNING" && it->second.first != "STARTING")
          names.push_back(g);
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    if (auto st = StartPrograms(t, names); !st.ok()) return st;
    started.insert(started.end(), names.begin(), names.end());
  }
  *report = std::string(had_rules ? "partitions removed; " : "") + (unstalled ? "WAL archiving resumed; " : "") +
            std::to_string(resumed) + " process(es) resumed; " + std::to_string(started.size()) + " program(s) started";
  for (const auto& s : started) *report += " " + s;
  // A postmaster killed alone leaves its backends behind until they notice; if Patroni tried to start
  // PostgreSQL meanwhile, the old shared memory was still in use and the member stays "start failed"
  // (seen once on a loaded machine). Remove the leftovers and restart that Patroni.
  for (const auto& r : t.regions) {
    auto view = ClusterView(t, r);
    if (!view.is_object()) continue;
    for (const auto& m : view.at("members").as_array()) {
      if (m.at("state") != "start failed") continue;
      const Zone* z = t.FindZone(std::string(m.at("name").as_string()));
      if (!z) continue;
      std::string restarted;
      if (RestartDatabaseNode(t, *z, &restarted).ok())
        *report += "; zone " + z->name + " was 'start failed': " + restarted;
    }
  }
  return Status::Ok();
}

Status RestartDatabaseNode(const Topology& t, const Zone& z, std::string* report) {
  auto uid = UidOf(z.os_user);
  if (!uid) return Status::Invalid("zone " + z.name + " has no OS user yet: is the topology up?");
  int removed = 0;
  for (pid_t p : ProcessesOf(*uid))
    if (IsOrphanedPostgres(p)) removed += kill(p, SIGKILL) == 0;
  // "restart" of a stopped program says "ERROR (not running)" before "started": only the latter counts.
  std::string out = SupervisorCtl(t, {"restart", PatroniProgram(z)});
  if (out.find(": started") == std::string::npos)
    return Status::Unavailable("supervisorctl restart " + PatroniProgram(z) + ": " + out);
  *report = std::to_string(removed) + " leftover postgres process(es) removed, Patroni restarted";
  return Status::Ok();
}

namespace {

// Stops every database node of `r` at once (Patroni and PostgreSQL killed: their data is replaced or
// only kept as evidence, so a clean shutdown buys nothing). Its catalogd go on.
Status StopRegionDatabase(const Topology& t, const Region& r) {
  std::vector<std::string> patroni;
  for (const auto& z : r.zones) patroni.push_back(PatroniProgram(z));
  auto states = ProgramStates(t);
  for (const auto& name : patroni)
    if (auto it = states.find(name); it != states.end() && it->second.second > 0) kill(it->second.second, SIGKILL);
  for (const auto& z : r.zones)
    if (auto uid = UidOf(z.os_user))
      for (pid_t p : ProcessesOf(*uid))
        if (CommAndParent(p).first == "postgres") kill(p, SIGKILL);
  if (auto st = StopPrograms(t, patroni); !st.ok()) return st;
  for (const auto& z : r.zones)
    if (auto uid = UidOf(z.os_user))
      for (pid_t p : ProcessesOf(*uid))
        if (CommAndParent(p).first == "postgres") kill(p, SIGKILL);
  return Status::Ok();
}

// Forgets `r`'s Patroni cluster: the v2 keys under its scope in the region's etcd.
Status ClearPatroniState(const Topology& t, const Region& r) {
  std::string scope = t.name + "-" + r.name;
  for (const auto& z : r.zones) {
    auto res = HttpCall(z.address, static_cast<unsigned short>(t.ports.etcd_client), "DELETE",
                        "/v2/keys/techmoda/" + scope + "?recursive=true", "", {}, std::chrono::seconds(3));
    if (res.status == 200 || res.status == 404) return Status::Ok();
  }
  return Status::Unavailable("region " + r.name + "'s etcd did not answer: cannot reset its cluster");
}

// Starts `zones`' Patroni and waits until `want` nodes of `r` run (or stream) under a leader whose
// role is `leader_role` ("leader", or "standby_leader" for a standby cluster).
Status StartRegionDatabase(const Topology& t, const Region& r, const std::vector<const Zone*>& zones, int want,
                           const std::string& leader_role, const std::string& what, const Progress& progress) {
  std::vector<std::string> patroni;
  for (const auto* z : zones) patroni.push_back(PatroniProgram(*z));
  if (auto st = StartPrograms(t, patroni); !st.ok()) return st;
  return WaitUntil(what, want, Clock::now() + std::chrono::seconds(600), progress, [&] {
    auto view = ClusterView(t, r);
    if (!view.is_object()) return 0;
    int running = 0;
    bool leader = false;
    for (const auto& m : view.at("members").as_array()) {
      std::string state(m.at("state").as_string());
      running += state == "running" || state == "streaming";
      leader |= m.at("role").as_string() == leader_role;
    }
    return leader ? running : std::min(running, want - 1);
  });
}

}  // namespace

Status RebuildRegionAsStandby(const Topology& t, const std::string& region, const std::string& source,
                              const Progress& progress) {
  const Region* r = t.FindRegion(region);
  const Region* from = t.FindRegion(source);
  if (!r || !from || r == from)
    return Status::Invalid("rebuild region " + region + " from " + source + ": bad regions");
  auto secrets = LoadOrCreateSecrets(t);
  if (!secrets.ok()) return secrets.status();
  // 1. Stop the region's database nodes (its catalogd go on: they follow the active region).
  if (auto st = StopRegionDatabase(t, *r); !st.ok()) return st;
  // 2. Forget the old cluster: its data (a history the active region left) and its Patroni state.
  for (const auto& z : r->zones) {
    std::error_code ec;
    fs::remove_all(z.dir + "/pg/data", ec);
    if (ec) return Status::Internal("removing " + z.dir + "/pg/data: " + ec.message());
  }
  if (auto st = ClearPatroniState(t, *r); !st.ok()) return st;
  progress("region " + r->name + ": old data and cluster state removed");
  // 3. Bootstrap it again as a standby cluster of the source region (rendered with the source active).
  Topology as_standby = t;
  as_standby.dr.active = from->name;
  if (auto st = Prepare(as_standby, *secrets); !st.ok()) return st;
  std::vector<const Zone*> all;
  for (const auto& z : r->zones) all.push_back(&z);
  return StartRegionDatabase(t, *r, all, static_cast<int>(all.size()), "standby_leader",
                             "region " + r->name + ": cloned from region " + from->name, progress);
}

Status ReplaceRegionCluster(const Topology& t, const std::string& region, const std::string& zone,
                            const std::string& data_dir, const std::string& keep_as, const Progress& progress) {
  const Region* r = t.FindRegion(region);
  const Zone* z = t.FindZone(zone);
  if (!r || !z) return Status::Invalid("replace the cluster of region " + region + ": no such region or zone");
  if (!fs::exists(data_dir + "/PG_VERSION")) return Status::Invalid(data_dir + " is not a PostgreSQL data directory");
  auto secrets = LoadOrCreateSecrets(t);
  if (!secrets.ok()) return secrets.status();
  if (auto st = StopRegionDatabase(t, *r); !st.ok()) return st;
  progress("region " + r->name + ": database nodes stopped");
  // The zone's old data is kept (the evidence of what went wrong); the other zones' is removed: one
  // gets a copy of the new data (a synchronous standby at once: with synchronous_mode_strict the leader
  // takes no commit without one, and pg_basebackup of a large database takes far longer than a local
  // copy), the others clone it with Patroni.
  std::error_code ec;
  fs::rename(z->dir + "/pg/data", keep_as, ec);
  if (ec) return Status::Internal("moving " + z->dir + "/pg/data to " + keep_as + ": " + ec.message());
  fs::rename(data_dir, z->dir + "/pg/data", ec);
  if (ec) return Status::Internal("moving " + data_dir + " to " + z->dir + "/pg/data: " + ec.message());
  // Patroni caches its cluster configuration in the data directory; restored from a backup, that is
  // the configuration of the cluster the backup came from (another region's slots, say). Without it,
  // Patroni takes this region's own (the bootstrap section of its patroni.yml).
  fs::remove(z->dir + "/pg/data/patroni.dynamic.json", ec);
  for (const auto& other : r->zones) {
    if (other.name == z->name) continue;
    fs::remove_all(other.dir + "/pg/data", ec);
    if (ec) return Status::Internal("removing " + other.dir + "/pg/data: " + ec.message());
  }
  const Zone* twin = nullptr;
  for (const auto& other : r->zones)
    if (other.name != z->name && !twin) twin = &other;
  if (twin) {
    auto t0 = Clock::now();
    std::string out;
    if (RunCapture({"/bin/cp", "-a", z->dir + "/pg/data", twin->dir + "/pg/data"}, &out) != 0 ||
        RunCapture({"/bin/chown", "-R", twin->os_user + ":", twin->dir + "/pg/data"}, &out) != 0)
      return Status::Internal("copying the new data to zone " + twin->name + ": " + out);
    progress("region " + r->name + ": the new data copied to " + twin->name + " (its synchronous standby)  " +
             FormatSeconds(SecondsSince(t0)));
  }
  if (auto st = ClearPatroniState(t, *r); !st.ok()) return st;
  // Rendered with this region active: Patroni takes the data over as a new cluster's leader.
  Topology as_active = t;
  as_active.dr.active = r->name;
  if (auto st = Prepare(as_active, *secrets); !st.ok()) return st;
  if (auto st = StartRegionDatabase(t, *r, {z}, 1, "leader", "region " + r->name + ": " + z->name + " leads", progress);
      !st.ok())
    return st;
  std::vector<const Zone*> others;
  for (const auto& other : r->zones)
    if (other.name != z->name) others.push_back(&other);
  return StartRegionDatabase(t, *r, others, static_cast<int>(r->zones.size()), "leader",
                             "region " + r->name + ": replicas running", progress);
}

Status Switchover(const Topology& t, const std::string& region, const std::string& candidate, std::string* report) {
  const Region* r = region.empty() ? &t.regions.front() : t.FindRegion(region);
  if (!r) return Status::Invalid("no region " + region);
  auto view = ClusterView(t, *r);
  if (!view.is_object()) return Status::Unavailable("no Patroni of region " + r->name + " answers");
  std::string leader;
  for (const auto& m : view.at("members").as_array())
    if (m.at("role") == "leader") leader = std::string(m.at("name").as_string());
  if (leader.empty()) return Status::Unavailable("region " + r->name + " has no leader to switch over from");
  if (!candidate.empty() && !t.FindZone(candidate)) return Status::Invalid("no zone " + candidate);
  auto secrets = LoadOrCreateSecrets(t);
  if (!secrets.ok()) return secrets.status();
  json::object body{{"leader", leader}};
  if (!candidate.empty()) body["candidate"] = candidate;
  const Zone* lz = t.FindZone(leader);
  auto res = HttpCall(lz->address, static_cast<unsigned short>(t.ports.patroni), "POST", "/switchover",
                      json::serialize(body), {{"Authorization", PatroniBasicAuth(*secrets)}}, std::chrono::seconds(60));
  // Patroni answers once it sees the switchover done; when that takes longer than it waits (the old
  // primary's shutdown can), it says "Switchover status unknown": then watch for the new leader.
  bool unknown = res.status == 503 && res.body.find("status unknown") != std::string::npos;
  if (res.status != 200 && !unknown)
    return Status::Unavailable("Patroni refused the switchover (" + std::to_string(res.status) + "): " + res.body +
                               res.error);
  std::string now_leader;
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    auto v = ClusterView(t, *r);
    if (v.is_object())
      for (const auto& m : v.at("members").as_array())
        if (m.at("role") == "leader" && m.at("state") == "running") now_leader = std::string(m.at("name").as_string());
    if (!now_leader.empty() && now_leader != leader) break;
    now_leader.clear();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (now_leader.empty())
    return Status::Unavailable("the switchover from " + leader + " did not finish within 60 s: " + res.body);
  *report = "switchover from " + leader + " to " + now_leader + " done";
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
