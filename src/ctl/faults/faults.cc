#include "ctl/faults/faults.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "common/pg.h"
#include "common/process.h"
#include "ctl/cluster/cluster.h"
#include "ctl/infra/drill_zones.h"
#include "ctl/infra/health.h"
#include "ctl/infra/nftables.h"
#include "ctl/infra/processes.h"
#include "ctl/infra/supervisor.h"
#include "ctl/topology/render.h"

namespace fs = std::filesystem;

namespace techmoda::ctl {

namespace {
// The first member of a region's primary cluster whose Patroni role is `role` ("leader",
// "sync_standby", "replica"), as Patroni's majority view says now.
const Zone* ZoneInRole(const Topology& t, std::string_view role) {
  for (const auto& r : t.regions) {
    auto view = RegionClusterView(t, r);
    if (LeaderName(view).empty()) continue;  // a standby cluster: no primary, its roles are not these
    for (const auto& m : view.at("members").as_array())
      if (m.at("role").is_string() && m.at("role").as_string() == role)
        if (const Zone* z = t.FindZone(std::string(m.at("name").as_string()))) return z;
  }
  return nullptr;
}
}  // namespace

Result<const Zone*> ResolveZone(const Topology& t, const std::string& zone) {
  // A role, resolved now: a drill aims at "the zone that holds the primary", not at a name.
  static const std::pair<std::string_view, std::string_view> kRoles[] = {
      {"primary", "leader"}, {"sync-standby", "sync_standby"}, {"replica", "replica"}};
  for (auto [name, role] : kRoles)
    if (zone == name || (zone.empty() && name == "primary")) {
      if (const Zone* z = ZoneInRole(t, role)) return z;
      return Status::Unavailable("no zone holds the role " + std::string(name) + " right now, so '" +
                                 std::string(name) + "' names no zone");
    }
  if (const Zone* z = t.FindZone(zone)) return z;
  std::string names;
  for (const auto* z : t.AllZones()) names += (names.empty() ? "" : ", ") + z->name;
  return Status::Invalid("no zone '" + zone + "' in topology " + t.name + " (zones: " + names +
                         "; or a role: primary, sync-standby, replica)");
}

namespace {
// "zone a1 (leader)": the zone and the role its database node holds now in its region's cluster, as
// Patroni's majority view says (the drill's report names the role it hit). Read before the fault.
std::string ZoneWithRole(const Topology& t, const Zone& z) {
  std::string role = "role unknown";
  if (const Region* r = t.FindRegion(z.region)) {
    auto view = RegionClusterView(t, *r);
    if (view.is_object())
      for (const auto& m : view.at("members").as_array())
        if (m.at("name").as_string() == z.name) role = std::string(m.at("role").as_string());
  }
  return "zone " + z.name + " (" + role + ")";
}
}  // namespace

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

namespace {
// A fault that undoes itself: with `seconds` > 0, waits that long and calls `undo`, so a short
// fault is exact; otherwise heal undoes it. Says which (" for 3.0 s, then resumed").
std::string UndoAfter(double seconds, const std::function<void()>& undo, const char* undone) {
  if (seconds <= 0) return " (undo: fault heal)";
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  undo();
  char text[64];
  std::snprintf(text, sizeof text, " for %.1f s, then %s", seconds, undone);
  return text;
}

// SIGSTOP to `pids`, resumed (SIGCONT) after `seconds`, or by heal.
std::string StopFor(const std::vector<pid_t>& pids, double seconds) {
  for (pid_t p : pids) kill(p, SIGSTOP);
  return UndoAfter(
      seconds,
      [&] {
        for (pid_t p : pids) kill(p, SIGCONT);
      },
      "resumed");
}

// The pid supervisord knows for `program`, 0 when it is not running.
pid_t ProgramPid(const Topology& t, const std::string& program) {
  auto programs = ProgramStates(t);
  auto it = programs.find(program);
  return it != programs.end() && it->second.first == "RUNNING" ? it->second.second : 0;
}
}  // namespace

Status FaultKillZone(const Topology& t, const FaultArgs& args, std::string* report) {
  const std::string& zone = args.target;
  auto zp = ZoneProcesses(t, zone);
  if (!zp.ok()) return zp.status();
  auto& [z, pids] = *zp;
  std::string hit = ZoneWithRole(t, *z);
  for (pid_t p : pids) kill(p, SIGKILL);
  *report = hit + ": SIGKILL to " + std::to_string(pids.size()) + " process(es) of " + z->os_user;
  return Status::Ok();
}

namespace {

// A region's OS users (its zones' and its global etcd member's) and its addresses (zones, HAProxy,
// global etcd member), and the same for everything outside it (other regions, the witness).
Result<CutSides> SidesOf(const Topology& t, const std::string& region) {
  const Region* r = region.empty() ? &t.regions.front() : t.FindRegion(region);
  if (!r) return Status::Invalid("no region '" + region + "' in topology " + t.name);
  CutSides s;
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

}  // namespace

Status FaultKillRegion(const Topology& t, const FaultArgs& args, std::string* report) {
  const std::string& region = args.target;
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

Status FaultPartitionRegion(const Topology& t, const FaultArgs& args, std::string* report) {
  const std::string& region = args.target;
  auto sides = SidesOf(t, region);
  if (!sides.ok()) return sides.status();
  if (sides->outside_addrs.empty()) return Status::Invalid("topology " + t.name + " has no other region");
  // The region's processes may not reach the rest (other regions, the witness), nor the rest them;
  // clients and the HAProxies (root) still reach everything, as clients on the region's side would.
  if (auto st = CutOff(t, "partition-region", *sides, true, true); !st.ok()) return st;
  *report = "region " + (region.empty() ? t.regions.front().name : region) +
            " cut off from the other regions and the witness (its clients still reach it; nftables table inet " +
            t.NftTable() + ")";
  return Status::Ok();
}

Status FaultStopZone(const Topology& t, const FaultArgs& args, std::string* report) {
  const std::string& zone = args.target;
  auto zp = ZoneProcesses(t, zone);
  if (!zp.ok()) return zp.status();
  auto& [z, pids] = *zp;
  std::string hit = ZoneWithRole(t, *z);
  *report = hit + ": SIGSTOP to " + std::to_string(pids.size()) + " process(es)";
  *report += StopFor(pids, args.seconds);
  return Status::Ok();
}

Status FaultStopPostgres(const Topology& t, const FaultArgs& args, std::string* report) {
  const std::string& zone = args.target;
  auto zp = ZoneProcesses(t, zone);
  if (!zp.ok()) return zp.status();
  auto& [z, pids] = *zp;
  std::string hit = ZoneWithRole(t, *z);
  std::string postgres = t.postgres_bin_dir + "/postgres";
  std::vector<pid_t> pg;
  for (pid_t p : pids) {
    std::error_code ec;
    if (fs::read_symlink("/proc/" + std::to_string(p) + "/exe", ec).string() == postgres) pg.push_back(p);
  }
  if (pg.empty()) return Status::Unavailable("zone " + z->name + " has no running PostgreSQL");
  *report =
      hit + ": SIGSTOP to " + std::to_string(pg.size()) + " PostgreSQL process(es); etcd, Patroni and catalogd go on";
  *report += StopFor(pg, args.seconds);
  return Status::Ok();
}

namespace {
// Cuts zone `args.target` off from the other zones of its region: what it sends to them (`out`),
// what they send to it (`in`), or both. A TCP connection needs both ways, so a one-way cut stalls
// connections in both, but what the other way sends still arrives (etcd's raft messages, a
// standby's WAL requests): each side sees the other differently, which is the point of the drill.
Status PartitionZone(const Topology& t, const FaultArgs& args, bool out, bool in, std::string* report) {
  auto zr = ResolveZone(t, args.target);
  if (!zr.ok()) return zr.status();
  const Zone& z = **zr;
  std::string hit = ZoneWithRole(t, z);
  CutSides sides;
  for (const auto* o : t.AllZones()) {
    if (o->name == z.name || o->region != z.region) continue;
    auto uid = UidOf(o->os_user);
    if (!uid) continue;
    sides.outside_addrs.push_back(o->address);
    sides.outside_uids.push_back(*uid);
  }
  auto uid = UidOf(z.os_user);
  if (!uid || sides.outside_addrs.empty())
    return Status::Invalid("zone " + z.name + " has no peers to be cut off from");
  sides.inside_uids = {*uid};
  sides.inside_addrs = {z.address};
  std::string others_addr;
  for (const auto& a : sides.outside_addrs) others_addr += (others_addr.empty() ? "" : ", ") + a;
  if (auto st = CutOff(t, "partition-" + z.name, sides, out, in); !st.ok()) return st;
  std::string how = out && in ? "cut off from" : out ? "cannot send to" : "cannot be reached from";
  *report = hit + " (" + z.address + ", uid " + std::to_string(*uid) + ") " + how + " " + others_addr +
            " (nftables table inet " + t.NftTable() + ")";
  return Status::Ok();
}
}  // namespace

Status FaultPartitionZone(const Topology& t, const FaultArgs& args, std::string* report) {
  return PartitionZone(t, args, true, true, report);
}

Status FaultPartitionZoneOut(const Topology& t, const FaultArgs& args, std::string* report) {
  return PartitionZone(t, args, true, false, report);
}

Status FaultPartitionZoneIn(const Topology& t, const FaultArgs& args, std::string* report) {
  return PartitionZone(t, args, false, true, report);
}

Status FaultStopPatroni(const Topology& t, const FaultArgs& args, std::string* report) {
  auto z = ResolveZone(t, args.target);
  if (!z.ok()) return z.status();
  std::string hit = ZoneWithRole(t, **z);
  pid_t pid = ProgramPid(t, PatroniProgram(**z));
  if (pid == 0) return Status::Unavailable("zone " + (*z)->name + ": Patroni is not running");
  *report = hit + ": SIGSTOP to Patroni (pid " + std::to_string(pid) + "); PostgreSQL, etcd and catalogd go on";
  *report += StopFor({pid}, args.seconds);
  return Status::Ok();
}

Status FaultKillEtcdMajority(const Topology& t, const FaultArgs& args, std::string* report) {
  auto z = ResolveZone(t, args.target);
  if (!z.ok()) return z.status();
  const Region* r = t.FindRegion((*z)->region);
  if (!r || r->zones.size() < 2) return Status::Invalid("the region of zone " + (*z)->name + " has one etcd member");
  // The target zone's member, then the others' in order, until only a minority is left.
  std::vector<const Zone*> victims{*z};
  for (const auto& o : r->zones)
    if (&o != *z && victims.size() < r->zones.size() / 2 + 1) victims.push_back(&o);
  std::string hit;
  for (const Zone* v : victims) {
    std::string who = ZoneWithRole(t, *v);
    pid_t pid = ProgramPid(t, EtcdProgram(*v));
    if (pid == 0 || kill(pid, SIGKILL) != 0) return Status::Unavailable(who + ": its etcd member is not running");
    hit += (hit.empty() ? "" : ", ") + who;
  }
  *report = hit + ": SIGKILL to their etcd members (" + std::to_string(victims.size()) + " of " +
            std::to_string(r->zones.size()) + ": no majority; Patroni cannot renew the leader lock)";
  return Status::Ok();
}

Status FaultKillPostgres(const Topology& t, const FaultArgs& args, std::string* report) {
  const std::string& zone = args.target;
  auto z = ResolveZone(t, zone);
  if (!z.ok()) return z.status();
  std::string hit = ZoneWithRole(t, **z);
  auto pidfile = ReadFile((*z)->dir + "/pg/data/postmaster.pid");
  if (!pidfile) return Status::Unavailable("zone " + (*z)->name + " has no running PostgreSQL");
  pid_t pid = static_cast<pid_t>(std::atol(pidfile->c_str()));
  if (pid <= 0 || kill(pid, SIGKILL) != 0)
    return Status::Unavailable("zone " + (*z)->name + ": PostgreSQL is not running");
  *report = hit + ": SIGKILL to the postmaster (pid " + std::to_string(pid) + "); Patroni lives on";
  return Status::Ok();
}

Status FaultSkewClock(const Topology& t, const FaultArgs& args, std::string* report) {
  if (!t.drills.clock_skew)
    return Status::Invalid("skew-clock needs `drills: {clock_skew: true}` in topology " + t.name +
                           " before `up`: the zone's programs must start with the clock-skew library");
  if (args.by_s == 0) return Status::Invalid("skew-clock needs --by SECONDS (for example 90, or -90 to go back)");
  auto z = ResolveZone(t, args.target);
  if (!z.ok()) return z.status();
  std::string hit = ZoneWithRole(t, **z);
  if (auto st = SetClockOffset(**z, args.by_s); !st.ok()) return st;
  char by[64];
  std::snprintf(by, sizeof by, "%+.0f s", args.by_s);
  Status set_right;
  *report = hit + ": wall clock " + by +
            " for its Patroni, PostgreSQL, detector and catalogd (etcd and every monotonic clock keep the real "
            "time)" +
            UndoAfter(
                args.seconds, [&] { set_right = SetClockOffset(**z, 0); }, "set right");
  return set_right;
}

namespace {
// What `fill-wal-disk` writes into a zone's pg_wal filesystem; heal removes it.
std::string WalBallast(const Zone& z) { return Topology::WalDiskDir(z) + "/ballast"; }
}  // namespace

Status FaultFillWalDisk(const Topology& t, const FaultArgs& args, std::string* report) {
  if (t.drills.wal_disk_mb <= 0)
    return Status::Invalid("fill-wal-disk needs `drills: {wal_disk_mb: 1024}` (say) in topology " + t.name +
                           " before `up`: pg_wal must have a filesystem of its own to fill");
  auto zr = ResolveZone(t, args.target);
  if (!zr.ok()) return zr.status();
  const Zone& z = **zr;
  std::string hit = ZoneWithRole(t, z);
  auto secrets = LoadOrCreateSecrets(t);
  if (!secrets.ok()) return secrets.status();
  // Every free byte, in 1 MiB writes, as root (tmpfs keeps nothing back for root).
  std::string ballast = WalBallast(z);
  int fd = ::open(ballast.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0) return Status::Internal("cannot create " + ballast + ": " + std::strerror(errno));
  std::vector<char> zeros(1 << 20, 0);
  long long written = 0;
  for (;;) {
    ssize_t n = ::write(fd, zeros.data(), zeros.size());
    if (n <= 0) break;
    written += n;
  }
  ::close(fd);
  struct statvfs vfs {};
  statvfs(Topology::WalDiskDir(z).c_str(), &vfs);
  // PostgreSQL writes into segments it already has (recycled ones too) until it needs a new one.
  // Writing and switching segments gets it there now rather than in minutes at the load's pace.
  std::string conninfo = "host=" + z.address + " port=" + std::to_string(t.ports.postgres) +
                         " dbname=postgres user=postgres password=" + secrets->superuser + " connect_timeout=2";
  auto conn = pg::Connect(conninfo, std::chrono::seconds(5));
  int switches = 0;
  std::string stopped = "PostgreSQL still writes (it had segments to reuse)";
  if (!conn.ok()) {
    stopped = "PostgreSQL did not answer: " + conn.status().detail();
  } else {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (switches < 400 && std::chrono::steady_clock::now() < deadline) {
      auto r = (*conn)->Exec("SELECT pg_logical_emit_message(false, 'techmoda', 'fill-wal-disk'), pg_switch_wal()");
      if (auto* e = std::get_if<pg::Error>(&r)) {
        stopped = "PostgreSQL stopped: " + e->message.substr(0, e->message.find('\n'));
        break;
      }
      ++switches;
    }
  }
  char text[160];
  std::snprintf(text, sizeof text,
                ": pg_wal's filesystem filled (%lld MiB of ballast, %llu bytes left); %d WAL switch(es); ",
                written >> 20, static_cast<unsigned long long>(vfs.f_bavail) * vfs.f_frsize, switches);
  *report = hit + text + stopped + " (undo: fault heal)";
  return Status::Ok();
}

Status FaultStallArchive(const Topology& t, const FaultArgs& args, std::string* report) {
  const std::string& region = args.target;
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
  bool had_rules = RemoveCuts(t);
  int unfilled = 0, clocks = 0;
  for (const auto* z : t.AllZones()) {
    std::error_code ec;
    unfilled += fs::remove(WalBallast(*z), ec);
    if (ClockOffset(*z) != 0) clocks += SetClockOffset(*z, 0).ok();
  }
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
        if (pass == 1) {
          candidates = {BackupServerProgram(z), PatroniProgram(z)};
          if (t.detector.enabled) candidates.push_back(DetectorProgram(z));
        }
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
            (unfilled ? std::to_string(unfilled) + " pg_wal filesystem(s) emptied; " : "") +
            (clocks ? std::to_string(clocks) + " zone clock(s) set right; " : "") + std::to_string(resumed) +
            " process(es) resumed; " + std::to_string(started.size()) + " program(s) started";
  for (const auto& s : started) *report += " " + s;
  // A postmaster killed alone leaves its backends behind until they notice; if Patroni tried to start
  // PostgreSQL meanwhile, the old shared memory was still in use and the member stays "start failed"
  // (seen once on a loaded machine). Remove the leftovers and restart that Patroni.
  for (const auto& r : t.regions) {
    auto view = RegionClusterView(t, r);
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

}  // namespace techmoda::ctl
