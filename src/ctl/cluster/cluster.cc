#include "ctl/cluster/cluster.h"

#include <signal.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "common/http_client.h"
#include "common/process.h"
#include "ctl/infra/health.h"
#include "ctl/infra/processes.h"
#include "ctl/infra/supervisor.h"
#include "ctl/region/region.h"
#include "ctl/topology/render.h"

namespace json = boost::json;
namespace fs = std::filesystem;

namespace techmoda::ctl {

using Clock = std::chrono::steady_clock;

Status RestartDatabaseNode(const Topology& t, const Zone& z, std::string* report) {
  auto uid = UidOf(z.os_user);
  if (!uid) return Status::Invalid("zone " + z.name + " has no OS user yet: is the topology up?");
  int removed = 0;
  for (pid_t p : ProcessesOf(*uid))
    if (IsOrphanedPostgres(p)) removed += kill(p, SIGKILL) == 0;
  if (auto st = RestartProgram(t, PatroniProgram(z)); !st.ok()) return st;
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
  std::vector<pid_t> killed;
  for (const auto& z : r.zones)
    if (auto uid = UidOf(z.os_user))
      for (pid_t p : ProcessesOf(*uid))
        if (CommAndParent(p).first == "postgres" && kill(p, SIGKILL) == 0) killed.push_back(p);
  // A killed postmaster leaves its socket's lock file (<zone>/run/.s.PGSQL.<port>.lock) naming its
  // pid, and until that pid is reaped a new postmaster takes it for a live one and refuses to start
  // ("lock file ... already exists"): seen in a failback, where Patroni then gave up bootstrapping
  // the zone for good. Wait for the processes to exit (5 s at most), then remove the stale files
  // (whether their pids are reaped yet or not).
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < deadline && std::any_of(killed.begin(), killed.end(), IsProcessAlive))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  for (const auto& z : r.zones) {
    std::error_code ec;
    std::string socket = z.dir + "/run/.s.PGSQL." + std::to_string(t.ports.postgres);
    fs::remove(socket + ".lock", ec);
    fs::remove(socket, ec);
  }
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
// role is `leader_role` ("leader", or "standby_leader" for a standby cluster). A node still not
// running after 4 minutes is said by name and state and its Patroni restarted once (a clone that
// stalled; seen once in a failback, 2 of 3 cloned after 600 s), then the wait goes on.
Status StartRegionDatabase(const Topology& t, const Region& r, const std::vector<const Zone*>& zones, int want,
                           const std::string& leader_role, const std::string& what, const Progress& progress) {
  std::vector<std::string> patroni;
  for (const auto* z : zones) patroni.push_back(PatroniProgram(*z));
  if (auto st = StartPrograms(t, patroni); !st.ok()) return st;
  std::map<std::string, std::string> state_of;  // member -> state, from the last look
  auto ready = [&] {
    auto view = RegionClusterView(t, r);
    if (!view.is_object()) return 0;
    int running = 0;
    bool leader = false;
    state_of.clear();
    for (const auto& m : view.at("members").as_array()) {
      std::string state(m.at("state").as_string());
      state_of[std::string(m.at("name").as_string())] = state;
      running += state == "running" || state == "streaming";
      leader |= m.at("role").as_string() == leader_role;
    }
    return leader ? running : std::min(running, want - 1);
  };
  auto start = Clock::now();
  if (WaitUntil(what, want, start + std::chrono::seconds(240), progress, ready).ok()) return Status::Ok();
  for (const auto* z : zones) {
    auto it = state_of.find(z->name);
    std::string state = it == state_of.end() ? "not a member yet" : it->second;
    if (state == "running" || state == "streaming") continue;
    std::string report;
    Status st = RestartDatabaseNode(t, *z, &report);
    progress("zone " + z->name + " still " + state + " after 240 s: " + (st.ok() ? report : st.detail()));
  }
  return WaitUntil(what, want, start + std::chrono::seconds(600), progress, ready);
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
  auto view = RegionClusterView(t, *r);
  if (!view.is_object()) return Status::Unavailable("no Patroni of region " + r->name + " answers");
  std::string leader = LeaderName(view);
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
    auto v = RegionClusterView(t, *r);
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

}  // namespace techmoda::ctl
