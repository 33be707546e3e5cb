#include "ctl/dr/dr.h"
#include "techmoda/metric_families.h"

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <thread>

#include "common/etcd_client.h"
#include "common/http_client.h"
#include "common/log.h"
#include "common/pg.h"
#include "ctl/base/http_server.h"
#include "ctl/base/loop.h"
#include "ctl/base/stop.h"
#include "ctl/cluster/cluster.h"
#include "ctl/infra/haproxy_runtime.h"
#include "ctl/infra/health.h"
#include "ctl/topology/render.h"
#include "techmoda/active_region.h"

namespace json = boost::json;

namespace techmoda::ctl::dr {

std::string_view RegionRoleName(RegionRole r) {
  switch (r) {
    case RegionRole::kPrimary:
      return "primary";
    case RegionRole::kStandby:
      return "standby";
    case RegionRole::kDown:
      return "down";
  }
  return "down";
}

namespace {

using Clock = std::chrono::steady_clock;

etcd::Client Global(const Topology& t) {
  return etcd::Client(etcd::ParseEndpoints(t.GlobalEtcdEndpoints()), std::chrono::milliseconds(1500));
}

// "X/Y" -> bytes; -1 when it is not an LSN.
long long ParseLsn(const std::string& s) {
  unsigned hi = 0, lo = 0;
  if (std::sscanf(s.c_str(), "%X/%X", &hi, &lo) != 2) return -1;
  return (static_cast<long long>(hi) << 32) | lo;
}

// Patroni's /patroni of one member (null when it does not answer).
json::value Member(const Topology& t, const Zone& z) {
  auto r = HttpCall(z.address, static_cast<unsigned short>(t.ports.patroni), "GET", "/patroni", "", {},
                    std::chrono::milliseconds(1500));
  if (r.status != 200 && r.status != 503) return nullptr;
  return r.Json();
}

long long XlogOf(const json::value& m, const char* field) {
  if (!m.is_object()) return -1;
  const auto* x = m.as_object().if_contains("xlog");
  if (!x || !x->is_object()) return -1;
  const auto* v = x->as_object().if_contains(field);
  return v && v->is_int64() ? v->as_int64() : -1;
}

// The region's leader (primary or standby leader) and its /patroni.
std::pair<const Zone*, json::value> LeaderOf(const Topology& t, const Region& r) {
  auto view = RegionClusterView(t, r);
  if (!view.is_object()) return {nullptr, nullptr};
  for (const auto& m : view.at("members").as_array()) {
    std::string role(m.at("role").as_string());
    if (role != "leader" && role != "standby_leader") continue;
    const Zone* z = t.FindZone(std::string(m.at("name").as_string()));
    if (z) return {z, Member(t, *z)};
  }
  return {nullptr, nullptr};
}

// Where the front door sends clients: the servers of its "active" backend that are up.
std::vector<std::string> FrontDoorRoutes(const Topology& t, std::string* error) {
  std::vector<std::string> out;
  for (const auto& m : t.GlobalEtcd())
    if (m.region.empty()) {
      auto csv = HaproxyCommand(m.dir + "/frontdoor.sock", "show stat");
      if (!csv.ok()) {
        *error = csv.status().detail();
      } else {
        for (const auto& [name, server] : ParseShowStat(*csv, "active"))
          if (name != "BACKEND" && server.status.rfind("UP", 0) == 0) out.push_back(name);
      }
    }
  return out;
}

bool IsPrimary(const json::value& m) {
  if (!m.is_object()) return false;
  const auto* role = m.as_object().if_contains("role");
  return role && role->is_string() && (role->as_string() == "master" || role->as_string() == "primary");
}

// PATCHes a region's Patroni configuration (in its DCS) through its leader.
Status PatchConfig(const Topology& t, const Region& r, const json::value& patch) {
  auto secrets = LoadOrCreateSecrets(t);
  if (!secrets.ok()) return secrets.status();
  auto [z, m] = LeaderOf(t, r);
  std::vector<const Zone*> tries;
  if (z) tries.push_back(z);
  for (const auto& o : r.zones) tries.push_back(&o);
  std::string errors;
  for (const Zone* zz : tries) {
    auto res =
        HttpCall(zz->address, static_cast<unsigned short>(t.ports.patroni), "PATCH", "/config", json::serialize(patch),
                 {{"Authorization", PatroniBasicAuth(*secrets)}}, std::chrono::seconds(5));
    if (res.status == 200) return Status::Ok();
    errors += (errors.empty() ? "" : "; ") + zz->name + ": " + (res.status ? res.body : res.error);
  }
  return Status::Unavailable("region " + r.name + ": Patroni refused the configuration change (" + errors + ")");
}

Status WaitFor(const std::string& what, std::chrono::seconds timeout, const Progress& progress,
               const std::function<bool(std::string*)>& done) {
  auto t0 = Clock::now();
  auto next = t0 + std::chrono::seconds(2);
  std::string note;
  while (true) {
    if (done(&note)) return Status::Ok();
    if (Clock::now() - t0 > timeout)
      return Status::Unavailable(what + ": not after " + FormatSeconds(SecondsSince(t0)) +
                                 (note.empty() ? "" : " (" + note + ")"));
    if (Clock::now() > next) {
      progress("  " + what + " ... " + FormatSeconds(SecondsSince(t0)) + (note.empty() ? "" : "  " + note));
      next += std::chrono::seconds(2);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// The standby_cluster section that makes `r` follow `source`'s primary.
json::value StandbyOf(const Topology& t, const Region& r, const Region& source) {
  return json::object{{"host", source.address},
                      {"port", t.ports.haproxy_primary},
                      {"primary_slot_name", "standby_" + r.name},
                      {"create_replica_methods", json::array{"basebackup"}}};
}

// The region's primary answers writes through its HAProxy (as catalogd will reach it).
bool Writable(const Topology& t, const Region& r) {
  auto secrets = LoadOrCreateSecrets(t);
  if (!secrets.ok()) return false;
  auto c = pg::Connect(CatalogConninfo(t, r, *secrets), std::chrono::seconds(2));
  if (!c.ok()) return false;
  auto res = (*c)->Exec("SELECT pg_is_in_recovery()");
  auto* rows = std::get_if<pg::Rows>(&res);
  return rows && rows->size() == 1 && rows->Get(0, 0) == "f";
}

}  // namespace

DrStatus ReadDrStatus(const Topology& t) {
  DrStatus s;
  auto global = Global(t);
  if (auto kv = global.Get(t.DrPrefix() + "/active"); !kv.ok()) {
    s.global_error = kv.status().detail();
  } else if (kv->has_value()) {
    if (auto a = ParseActiveRegionRecord((*kv)->value); a.ok()) {
      s.active_region = a->region;
      s.epoch = a->epoch;
      s.state = a->state;
    }
  }
  if (auto leases = global.GetPrefix(t.DrPrefix() + "/leases/"); leases.ok()) {
    std::map<std::string, int> count;
    for (const auto& kv : *leases) {
      // <prefix>/leases/<epoch>/<instance> = {"region": ...}
      std::string epoch = kv.key.substr(t.DrPrefix().size() + 8);
      epoch = epoch.substr(0, epoch.find('/'));
      boost::system::error_code ec;
      auto v = json::parse(kv.value, ec);
      std::string region =
          !ec && v.is_object() && v.as_object().contains("region") ? std::string(v.at("region").as_string()) : "?";
      ++count[epoch + "/" + region];
    }
    s.leases.assign(count.begin(), count.end());
  }

  std::string primary_region;
  for (const auto& r : t.regions) {
    RegionView v;
    v.name = r.name;
    auto [z, m] = LeaderOf(t, r);
    v.role = !z ? RegionRole::kDown : (IsPrimary(m) ? RegionRole::kPrimary : RegionRole::kStandby);
    if (z) v.leader = z->name;
    if (v.role == RegionRole::kPrimary) {
      v.lsn = XlogOf(m, "location");
      if (r.name == s.active_region || primary_region.empty()) {
        primary_region = r.name;
      }
    } else if (v.role == RegionRole::kStandby) {
      v.lsn = XlogOf(m, "replayed_location");
    }
    s.regions.push_back(v);
  }
  auto secrets = LoadOrCreateSecrets(t);
  const Region* pr = t.FindRegion(primary_region);
  std::map<std::string, double> replay_lag;
  std::map<std::string, long long> replay_bytes;
  if (pr && secrets.ok()) {
    auto c = pg::Connect(SuperuserConninfo(t, *pr, *secrets), std::chrono::seconds(2));
    if (c.ok()) {
      // The primary's own view: a standby streaming from it is on its history by construction.
      auto res = (*c)->Exec(
          "SELECT application_name, coalesce(extract(epoch FROM replay_lag), 0), "
          "pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint FROM pg_stat_replication "
          "WHERE replay_lsn IS NOT NULL");
      if (auto* rows = std::get_if<pg::Rows>(&res))
        for (int i = 0; i < rows->size(); ++i) {
          replay_lag[std::string(rows->Get(i, 0))] = std::atof(std::string(rows->Get(i, 1)).c_str());
          replay_bytes[std::string(rows->Get(i, 0))] = rows->GetInt(i, 2);
        }
      auto arch = (*c)->Exec(
          "SELECT pg_current_wal_lsn()::text, coalesce(last_archived_wal, ''), "
          "coalesce(extract(epoch FROM now() - last_archived_time), -1), "
          "pg_size_bytes(current_setting('wal_segment_size')) "
          "FROM pg_stat_archiver");
      if (auto* rows = std::get_if<pg::Rows>(&arch); rows && rows->size() == 1) {
        long long current = ParseLsn(std::string(rows->Get(0, 0)));
        std::string wal(rows->Get(0, 1));
        long long seg_size = rows->GetInt(0, 3);
        s.unarchived_seconds = std::atof(std::string(rows->Get(0, 2)).c_str());
        if (wal.size() == 24 && seg_size > 0) {
          long long log = std::stoll(wal.substr(8, 8), nullptr, 16), seg = std::stoll(wal.substr(16, 8), nullptr, 16);
          long long end = log * 0x100000000LL + (seg + 1) * seg_size;
          s.unarchived_bytes = std::max(0LL, current - end);
        }
      }
    }
  }
  s.front_door_to = FrontDoorRoutes(t, &s.front_door_error);
  // A standby region's lag is known only while it streams from the active primary (a region on another
  // history may show a larger position and still lack everything since the fork).
  for (auto& v : s.regions)
    if (v.role == RegionRole::kStandby)
      if (auto it = replay_bytes.find(v.leader); it != replay_bytes.end()) {
        v.lag_bytes = std::max(0LL, it->second);
        v.lag_seconds = replay_lag[v.leader];
      }
  return s;
}

std::string FormatDrStatus(const DrStatus& s) {
  std::string out;
  if (!s.global_error.empty())
    out += "global etcd: UNREACHABLE (" + s.global_error + ")\n";
  else
    out += "active region: " + (s.active_region.empty() ? std::string("?") : s.active_region) + "  epoch " +
           std::to_string(s.epoch) + "  (" + std::string(EpochStateName(s.state)) + ")\n";
  std::string leases;
  for (const auto& [k, n] : s.leases) leases += (leases.empty() ? "" : ", ") + k + ": " + std::to_string(n);
  out += "catalogd leases (epoch/region: count): " + (leases.empty() ? std::string("none") : leases) + "\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-7s %-8s %-7s %16s %14s %10s\n", "REGION", "ROLE", "LEADER", "LSN", "BEHIND (B)",
                "BEHIND (s)");
  out += line;
  for (const auto& r : s.regions) {
    char lsn[32] = "-";
    if (r.lsn >= 0)
      std::snprintf(lsn, sizeof lsn, "%X/%X", static_cast<unsigned>(r.lsn >> 32), static_cast<unsigned>(r.lsn));
    std::snprintf(line, sizeof line, "%-7s %-8s %-7s %16s %14s %10s\n", r.name.c_str(),
                  std::string(RegionRoleName(r.role)).c_str(), r.leader.empty() ? "-" : r.leader.c_str(), lsn,
                  r.lag_bytes < 0 ? "-" : std::to_string(r.lag_bytes).c_str(),
                  r.lag_seconds < 0 ? "-" : FormatSeconds(r.lag_seconds).c_str());
    out += line;
  }
  out += "not yet in the backup repository: " +
         (s.unarchived_bytes < 0 ? std::string("?") : std::to_string(s.unarchived_bytes) + " B") + ", last archive " +
         (s.unarchived_seconds < 0 ? std::string("?") : FormatSeconds(s.unarchived_seconds)) + " ago\n";
  std::string to;
  for (const auto& r : s.front_door_to) to += (to.empty() ? "" : ", ") + r;
  out += "front door: " +
         (!s.front_door_error.empty() ? "not answering (" + s.front_door_error + ")"
          : to.empty()                ? std::string("no region says it is active: clients go to any region")
                                      : "clients go to region " + to) +
         "\n";
  return out;
}

std::string RpoMetricsText(const DrStatus& s) {
  using prometheus::MetricType;
  metrics::Families out;
  auto& bytes = metrics::AddFamily(out, "techmoda_dr_standby_behind_bytes",
                                   "WAL bytes a standby region has not replayed (RPO meter).", MetricType::Gauge);
  auto& seconds = metrics::AddFamily(
      out, "techmoda_dr_standby_behind_seconds",
      "How far behind in time a standby region's replay is, as the active primary sees it (RPO meter).",
      MetricType::Gauge);
  for (const auto& r : s.regions) {
    if (r.role != RegionRole::kStandby) continue;
    // A figure that cannot be read is left out, never reported as 0.
    if (r.lag_bytes >= 0) metrics::AddSample(bytes, static_cast<double>(r.lag_bytes), {{"region", r.name}});
    if (r.lag_seconds >= 0) metrics::AddSample(seconds, r.lag_seconds, {{"region", r.name}});
  }
  auto& unarchived =
      metrics::AddFamily(out, "techmoda_dr_unarchived_bytes",
                         "WAL bytes of the active primary not yet in the backup repository.", MetricType::Gauge);
  if (s.unarchived_bytes >= 0) metrics::AddSample(unarchived, static_cast<double>(s.unarchived_bytes));
  auto& unarchived_s = metrics::AddFamily(out, "techmoda_dr_unarchived_seconds",
                                          "Age of the active primary's last archived WAL segment.", MetricType::Gauge);
  if (s.unarchived_seconds >= 0) metrics::AddSample(unarchived_s, s.unarchived_seconds);
  auto& epoch = metrics::AddFamily(out, "techmoda_dr_active_epoch",
                                   "The epoch of the active region (labelled) in the global etcd.", MetricType::Gauge);
  if (!s.active_region.empty())
    metrics::AddSample(epoch, static_cast<double>(s.epoch),
                       {{"region", s.active_region}, {"state", std::string(EpochStateName(s.state))}});
  return metrics::Text(out);
}

json::value DrStatusJson(const DrStatus& s) {
  json::array regions;
  for (const auto& r : s.regions)
    regions.push_back(json::object{{"name", r.name},
                                   {"role", RegionRoleName(r.role)},
                                   {"leader", r.leader},
                                   {"lsn", r.lsn},
                                   {"lag_bytes", r.lag_bytes},
                                   {"lag_seconds", r.lag_seconds}});
  json::object leases;
  for (const auto& [k, n] : s.leases) leases[k] = n;
  return json::object{{"active_region", s.active_region},
                      {"epoch", s.epoch},
                      {"state", EpochStateName(s.state)},
                      {"global_error", s.global_error},
                      {"leases", std::move(leases)},
                      {"regions", std::move(regions)},
                      {"unarchived_bytes", s.unarchived_bytes},
                      {"unarchived_seconds", s.unarchived_seconds},
                      {"front_door_to", json::value_from(s.front_door_to)},
                      {"front_door_error", s.front_door_error}};
}

// Planned: every lease of the old epoch gone (each live catalogd moved on once its running writes
// were done, so the old primary's position read next covers every acknowledged write).
// Forced: the lost region's leases gone (they lapse at the global etcd ttl after its last renewal,
// and its catalogds stopped writing 1 s before that). Catalogds elsewhere may still be retrying a
// write against the lost database: once the target is promoted they finish it there.
Status WaitForOldLeases(const Topology& t, etcd::Client& global, const Region& from, long long epoch, bool force,
                        const Progress& progress) {
  const int ttl = t.dr.lease_ttl_s;
  const std::string old_prefix = t.DrPrefix() + "/leases/" + std::to_string(epoch) + "/";
  return WaitFor(
      force ? "leases of region " + from.name + " lapsed" : "leases of epoch " + std::to_string(epoch) + " gone",
      std::chrono::seconds(ttl * 2 + t.catalogd.write_deadline_ms / 1000 + 5), progress, [&](std::string* note) {
        auto left = global.GetPrefix(old_prefix);
        if (!left.ok()) return *note = left.status().detail(), false;
        int n = 0;
        for (const auto& kv : *left) {
          boost::system::error_code ec;
          auto v = json::parse(kv.value, ec);
          bool of_lost =
              !ec && v.is_object() && v.as_object().contains("region") && v.at("region").as_string() == from.name;
          n += !force || of_lost;
        }
        *note = std::to_string(n) + " left";
        return n == 0;
      });
}

// Planned: the target has replayed everything the old primary wrote.
Status WaitForTargetToReplayAll(const Topology& t, const Region& from, const Region& target, const Progress& progress) {
  auto [fz, fm] = LeaderOf(t, from);
  if (!fz || !IsPrimary(fm))
    return Status::Unavailable("region " + from.name +
                               " has no primary answering: a planned failover needs it (use --force if it is lost)");
  auto secrets = LoadOrCreateSecrets(t);
  if (!secrets.ok()) return secrets.status();
  auto c = pg::Connect(SuperuserConninfo(t, from, *secrets), std::chrono::seconds(3));
  if (!c.ok()) return Status::Unavailable("region " + from.name + "'s primary: " + c.status().detail());
  auto res = (*c)->Exec("SELECT pg_current_wal_lsn()::text");
  auto* rows = std::get_if<pg::Rows>(&res);
  if (!rows) return pg::ToStatus(std::get<pg::Error>(res), "reading the primary's WAL position");
  std::string final_lsn(rows->Get(0, 0));
  // The old primary's own view of the target's standby leader streaming from it, replayed up to the
  // final position (a region on another history never appears here).
  return WaitFor("region " + target.name + " replays up to " + final_lsn, std::chrono::seconds(60), progress,
                 [&](std::string* note) {
                   auto [tz, tm] = LeaderOf(t, target);
                   if (!tz) return *note = "no standby leader", false;
                   auto q = (*c)->Exec(
                       "SELECT pg_wal_lsn_diff($1::pg_lsn, replay_lsn)::bigint FROM pg_stat_replication "
                       "WHERE application_name = $2 AND replay_lsn IS NOT NULL",
                       {final_lsn, tz->name});
                   auto* r = std::get_if<pg::Rows>(&q);
                   if (!r || r->size() == 0) return *note = tz->name + " is not streaming from " + from.name, false;
                   long long behind = r->GetInt(0, 0);
                   *note = std::to_string(behind) + " B behind";
                   return behind <= 0;
                 });
}

Status Failover(const Topology& t, const std::string& to, bool force, const Progress& progress) {
  if (!t.MultiRegion()) return Status::Invalid("topology " + t.name + " has one region: nothing to fail over to");
  const Region* target = t.FindRegion(to);
  if (!target) return Status::Invalid("no region '" + to + "' in topology " + t.name);
  auto t0 = Clock::now();
  auto global = Global(t);
  const std::string key = t.DrPrefix() + "/active";
  // The lost region may have held the global etcd's leadership: the rest elect a new leader within
  // a few election timeouts (1 s each), so a failed read is asked again for a while before it counts.
  auto kv = global.Get(key);
  for (auto until = Clock::now() + std::chrono::seconds(15); !kv.ok() && Clock::now() < until;) {
    progress("global etcd: no answer yet (" + kv.status().detail().substr(0, 120) + "); asking again");
    std::this_thread::sleep_for(std::chrono::seconds(1));
    kv = global.Get(key);
  }
  if (!kv.ok())
    return Status::Unavailable("the global etcd has no majority from here, so no epoch can change: " +
                               kv.status().detail());
  if (!kv->has_value()) return Status::Internal("the global etcd holds no active region (was `up` run?)");
  auto cur = ParseActiveRegionRecord((*kv)->value);
  if (!cur.ok()) return cur.status();
  cur->mod_revision = (*kv)->mod_revision;
  if (cur->region == to && cur->state == EpochState::kActive)
    return Status::Invalid("region " + to + " is already the active region (epoch " + std::to_string(cur->epoch) + ")");
  const Region* from = t.FindRegion(cur->region);
  if (!from) return Status::Internal("the active region '" + cur->region + "' is not in the topology");

  // 1. A new epoch in which nobody writes yet: catalogds refuse new writes and re-register once their
  //    running writes are done.
  ActiveRegionRecord next{cur->region, cur->epoch + 1, force ? EpochState::kPromoting : EpochState::kDraining, 0};
  auto put = global.PutIf(key, cur->mod_revision, ActiveRegionRecordJson(next));
  if (!put.ok()) return put.status();
  if (!*put) return Status::Unavailable("the active region changed under us; read `catalogctl dr status` and retry");
  progress("epoch " + std::to_string(next.epoch) + ": writes stopped (" + std::string(EpochStateName(next.state)) +
           ")  " + FormatSeconds(SecondsSince(t0)));

  // 2. The old epoch's leases gone (planned: all; forced: the lost region's).
  auto st = WaitForOldLeases(t, global, *from, cur->epoch, force, progress);
  if (!st.ok()) return st;
  progress((force ? "region " + from->name + "'s leases have lapsed: it takes no writes  "
                  : "every catalogd has left epoch " + std::to_string(cur->epoch) + "  ") +
           FormatSeconds(SecondsSince(t0)));

  // 3. Planned: the target has replayed everything the old primary wrote.
  if (!force) {
    st = WaitForTargetToReplayAll(t, *from, *target, progress);
    if (!st.ok()) return st;
    progress("region " + to + " has everything region " + from->name + " wrote  " + FormatSeconds(SecondsSince(t0)));
  }

  // 4. Promote the target: it stops being a standby cluster.
  if (auto s = PatchConfig(t, *target, json::object{{"standby_cluster", nullptr}}); !s.ok()) return s;
  st = WaitFor("region " + to + " primary and writable", std::chrono::seconds(60), progress, [&](std::string* note) {
    auto [tz, tm] = LeaderOf(t, *target);
    *note = tz ? "leader " + tz->name : "no leader";
    return tz && IsPrimary(tm) && Writable(t, *target);
  });
  if (!st.ok()) return st;
  progress("region " + to + " promoted  " + FormatSeconds(SecondsSince(t0)));

  // 5. Planned: the old region follows the new one (a forced failover leaves that to `dr failback`).
  if (!force) {
    if (auto s = PatchConfig(t, *from, json::object{{"standby_cluster", StandbyOf(t, *from, *target)}}); !s.ok())
      progress("warning: region " + from->name + " could not be made a standby of " + to + ": " + s.detail() +
               " (run `catalogctl dr failback` later)");
    else
      progress("region " + from->name + " is following region " + to + " as a standby cluster");
  }

  // 6. Writes resume, in the target region's database.
  ActiveRegionRecord done{to, next.epoch, EpochState::kActive, 0};
  auto now = global.Get(key);
  if (!now.ok() || !now->has_value())
    return Status::Unavailable("re-reading the active region: " + now.status().detail());
  auto put2 = global.PutIf(key, (*now)->mod_revision, ActiveRegionRecordJson(done));
  if (!put2.ok()) return put2.status();
  if (!*put2) return Status::Unavailable("the active region changed during the failover; read `catalogctl dr status`");
  progress("epoch " + std::to_string(done.epoch) + ": region " + to + " active, writes resume  " +
           FormatSeconds(SecondsSince(t0)));
  // 7. The front door follows (its check of /active-region); a few seconds at most, never a failure.
  auto door =
      WaitFor("front door: clients go to region " + to, std::chrono::seconds(10), progress, [&](std::string* note) {
        note->clear();
        return FrontDoorRoutes(t, note) == std::vector<std::string>{to};
      });
  if (door.ok())
    progress("front door: clients go to region " + to + "  " + FormatSeconds(SecondsSince(t0)));
  else
    progress("warning: " + door.detail());
  return Status::Ok();
}

Status Failback(const Topology& t, const std::string& to, const Progress& progress) {
  const Region* back = t.FindRegion(to);
  if (!back) return Status::Invalid("no region '" + to + "' in topology " + t.name);
  auto st = ReadDrStatus(t);
  if (!st.global_error.empty()) return Status::Unavailable("the global etcd: " + st.global_error);
  if (st.active_region == to) return Status::Invalid("region " + to + " is already active");
  const Region* active = t.FindRegion(st.active_region);
  if (!active) return Status::Internal("no active region recorded");
  auto t0 = Clock::now();
  // 1. Rebuild: the returning region's old primary left the active history at the forced failover
  //    (whatever its timeline number says), so it is cloned again from the active region.
  progress("region " + to + " is being rebuilt as a standby of region " + active->name);
  if (auto s = RebuildRegionAsStandby(t, to, active->name, progress); !s.ok()) return s;
  auto wait = WaitFor("region " + to + " streaming from region " + active->name, std::chrono::seconds(300), progress,
                      [&](std::string* note) {
                        auto now = ReadDrStatus(t);
                        for (const auto& r : now.regions)
                          if (r.name == to) {
                            *note = std::string(RegionRoleName(r.role)) +
                                    (r.lag_bytes >= 0 ? ", " + std::to_string(r.lag_bytes) + " B behind" : "");
                            return r.role == RegionRole::kStandby && r.lag_bytes >= 0 && r.lag_bytes < 1024 * 1024;
                          }
                        return false;
                      });
  if (!wait.ok()) return wait;
  progress("region " + to + " rebuilt and caught up  " + FormatSeconds(SecondsSince(t0)));
  // 2. Switch back as a planned failover: nothing acknowledged is lost.
  return Failover(t, to, false, progress);
}

}  // namespace techmoda::ctl::dr

namespace techmoda::ctl::dr {

WatchDecision DecideAutoFailover(const WatchObservation& o, double silent_s, int after_s) {
  if (after_s <= 0) return {"", "automatic failover is off (dr.auto_failover_after_s: 0)"};
  if (!o.in_progress.empty()) return {"", o.in_progress + " in progress"};
  if (!o.global_readable) return {"", "the global etcd cannot be read from here: this side may be the cut-off one"};
  if (o.state != EpochState::kActive)
    return {"", "epoch in state '" + std::string(EpochStateName(o.state)) + "': a failover is under way"};
  auto held = [&](const std::string& r) {
    auto it = o.leases.find(r);
    return it == o.leases.end() ? 0 : it->second;
  };
  if (held(o.active_region) > 0) return {"", "region " + o.active_region + " holds leases"};
  if (silent_s < after_s) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "region %s has held no lease for %.1f s (acting after %d s)",
                  o.active_region.c_str(), silent_s, after_s);
    return {"", buf};
  }
  // The standby region whose catalogd reach the majority (they will take the writes), most first.
  std::string best;
  for (const auto& [region, n] : o.leases)
    if (region != o.active_region && n > 0 && (best.empty() || n > held(best))) best = region;
  if (best.empty()) return {"", "region " + o.active_region + " is silent but no other region holds a lease"};
  return {best, "region " + o.active_region + " has held no lease for " + std::to_string(static_cast<int>(silent_s)) +
                    " s (policy: " + std::to_string(after_s) + " s)"};
}

Status WatchRegions(const Topology& t, std::chrono::seconds duration, const IntentRunner& carry_out) {
  if (!t.MultiRegion()) return Status::Invalid("topology " + t.name + " has one region: nothing to watch");
  InstallStopHandlers();
  log::Info("dr_watch.policy",
            {{"topology", t.name}, {"auto_failover_after_s", static_cast<std::int64_t>(t.dr.auto_failover_after_s)}});
  bool silent = false;  // the active region holds no lease, since silent_since
  Clock::time_point silent_since{};
  std::string last_reason;
  auto global = Global(t);
  IntentLog journal(t.var_dir + "/intents");
  // Carries out `intent` in the background (the iterations go on and say it is under way); false when
  // another action still runs or someone else claimed it.
  ControlLoop loop({"dr_watch", std::chrono::seconds(1), duration});
  auto start = [&](const Intent& intent) {
    if (loop.InProgress() || !journal.Claim(intent, "dr-responder")) return false;
    return loop.StartBackground(intent.action + " to " + std::string(intent.args.at("to").as_string()),
                                [&journal, &carry_out, intent] {
                                  Status s = carry_out(intent);
                                  journal.Finish(intent, s, "");
                                  return s;
                                });
  };
  return loop.Run([&] {
    // Intents commands recorded for the watcher (--async).
    for (const auto& intent : journal.Unclaimed())
      if ((intent.action == "failover" || intent.action == "failback") && intent.args.contains("to") &&
          intent.args.at("to").is_string() && start(intent))
        log::Warn("dr_watch.intent", {{"id", intent.id}, {"action", intent.action}, {"by", intent.by}});
    auto round = Clock::now();
    // Observe.
    WatchObservation o;
    o.in_progress = loop.InProgress().value_or("");
    if (auto done = loop.TakeFinished()) {
      if (done->second.ok())
        log::Warn("dr_watch.failed_over", {{"action", done->first}});
      else
        log::Error("dr_watch.failover_failed", {{"action", done->first}, {"detail", done->second.detail()}});
      silent = false;
    }
    if (auto kv = global.Get(t.DrPrefix() + "/active"); kv.ok() && kv->has_value()) {
      if (auto a = ParseActiveRegionRecord((*kv)->value); a.ok()) {
        o.active_region = a->region;
        o.state = a->state;
        std::string prefix = t.DrPrefix() + "/leases/" + std::to_string(a->epoch) + "/";
        if (auto leases = global.GetPrefix(prefix); leases.ok()) {
          o.global_readable = true;
          for (const auto& l : *leases) {
            boost::system::error_code ec;
            auto v = json::parse(l.value, ec);
            if (!ec && v.is_object() && v.as_object().contains("region"))
              ++o.leases[std::string(v.at("region").as_string())];
          }
        }
      }
    }
    if (!o.global_readable || o.state != EpochState::kActive || o.leases[o.active_region] > 0) {
      silent = false;
    } else if (!silent) {
      silent = true;
      silent_since = round;
    }
    // Decide.
    auto d = DecideAutoFailover(o, silent ? SecondsSince(silent_since) : 0, t.dr.auto_failover_after_s);
    // One line per change of situation, not one per second ("... for 3.0 s" changes every round).
    std::string kind = d.reason.substr(0, d.reason.find(" for "));
    if (kind != last_reason) log::Info("dr_watch.observed", {{"active", o.active_region}, {"reason", d.reason}});
    last_reason = kind;
    if (d.target.empty()) return;
    // Act: the forced failover is an intent of the journal, carried out in the background.
    log::Warn("dr_watch.failover", {{"from", o.active_region}, {"to", d.target}, {"reason", d.reason}});
    auto intent = journal.Record("failover", {{"to", d.target}, {"force", true}, {"reason", d.reason}}, "dr-responder");
    if (!intent.ok()) return log::Error("dr_watch.intent_failed", {{"detail", intent.status().detail()}});
    start(*intent);
  });
}

}  // namespace techmoda::ctl::dr
