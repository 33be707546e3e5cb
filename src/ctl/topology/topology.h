// A topology file: regions, zones and the instances in each, and where everything of it lives on
// this machine (addresses, OS users, folders). Parsed once; every renderer and command reads this.
#pragma once

#include <string>
#include <vector>

#include "techmoda/status.h"

namespace techmoda::ctl {

struct Ports {
  int etcd_client = 2379;
  int etcd_peer = 2380;
  int postgres = 5432;
  int patroni = 8008;
  int catalogd = 8080;  // the first instance of a zone; the next ones count up
  int haproxy_primary = 5000;
  int haproxy_replicas = 5001;
  int haproxy_api = 8080;
  int haproxy_stats = 8404;
  int detector_agent = 8011;  // each zone's detector answers HAProxy's agent-check on the write port here
};

// Patroni's leader-lock timings (see docs/runbooks/zone-failure.md for why these values).
struct PatroniTimings {
  int ttl = 20;
  int loop_wait = 2;
  int retry_timeout = 9;
  long maximum_lag_on_failover = 1048576;
};

// The failure detector of every zone (`detector:` in the file; docs/failure-detector.md).
struct DetectorSettings {
  bool enabled = true;          // false: the leader lock is only taken over when it expires (ttl)
  bool act = true;              // false: detectors watch and record, and never remove the key
  int probe_interval_ms = 250;  // one probe of the primary per zone
  int probe_timeout_ms = 500;   // a probe not answered in this fails
  int suspect_after_ms = 1500;  // failed without a break this long, by a majority of zones
};

// Zones prepared for the faults that need it when they start (`drills:`): for drills and game days,
// off by default. The game day turns on what its timeline's faults need.
struct DrillSettings {
  // Each zone's Patroni (and the PostgreSQL it starts), detector and catalogd read the wall clock
  // through src/clock_skew (LD_PRELOAD), at the offset in Topology::ClockOffsetFile: "+0" until
  // `catalogctl fault skew-clock` moves it.
  bool clock_skew = false;
  // > 0: each zone's pg_wal lives on a tmpfs of this many MiB (Topology::WalDiskDir), which
  // `catalogctl fault fill-wal-disk` fills. tmpfs is memory: it does not survive the machine's restart.
  int wal_disk_mb = 0;
};

struct CatalogdSettings {
  int io_threads = 1;
  int pool_size = 8;
  int write_deadline_ms = 30000;
  std::string deploy_id = "v1";
  bool admission = true;                           // admission control (docs/runbooks/surge.md)
  std::string rate_limit_anonymous = "2000/4000";  // per client address, RATE/BURST or off
  std::string rate_limit_client = "1000/2000";     // per client token
};

// The autoscaler's policy (`autoscale:` in the file; docs/runbooks/surge.md explains each value).
// A zone's load is the largest of: its instances' mean catalogd_utilisation, their mean CPU per
// network thread, and their p99 latency over target_p99_ms.
struct AutoscalePolicy {
  int interval_ms = 1000;    // one observation and decision per zone per interval
  double up_load = 0.75;     // add an instance when the load stays above this...
  int up_samples = 2;        // ...for this many intervals in a row
  double down_load = 0.30;   // remove one when the load stays below this...
  int down_samples = 30;     // ...for this many intervals
  int up_cooldown_s = 5;     // no other change this soon after an addition
  int down_cooldown_s = 60;  // nor after a removal (and no removal this soon after an addition)
  int target_p99_ms = 100;
};

// Prometheus, Alertmanager, the exporters, the canary, the responder and the status page
// (`monitoring:` in the file; docs/monitoring.md explains each value).
struct Monitoring {
  bool enabled = true;
  std::string address;  // 127.0.<first region's id>0.2 on one machine; `host:` for a real host
  int prometheus_port = 9090;
  int alertmanager_port = 9093;
  int node_exporter_port = 9100;
  int canary_port = 9095;
  int responder_port = 9096;
  int status_port = 9097;
  int postgres_exporter_port = 9187;  // on every zone's address
  int scrape_interval_s = 5;
  int canary_interval_ms = 2000;
  int archive_timeout_s = 60;  // PostgreSQL's archive_timeout: the most a quiet primary leaves unarchived
  bool responder_dry_run = false;
  bool auto_failover = false;     // may the responder fail a region over (needs a standby region)
  int responder_max_actions = 3;  // per runbook and target within responder_window_s
  int responder_window_s = 600;
  std::string dir;  // <var>/monitoring
};

// Backups with pgBackRest (`backup:` in the file; docs/backups.md explains each value). A repository
// host (its own OS user and address) keeps the repository; every zone runs pgBackRest's TLS server so
// that the repository host can reach its data, and pushes its WAL there (asynchronously).
struct Backup {
  std::string address;  // the repository host: 127.0.<first region's id>0.3 on one machine; `host:`
  int port = 8432;      // pgBackRest's TLS server, on the repository host and on every zone's address
  std::string os_user = "tm-backup";
  std::string stanza = "catalog";
  bool schedule = true;    // run the scheduler (`catalogctl backup schedule`) with the region
  int full_every_h = 24;   // a full backup when the newest full is this old (or none exists)
  int diff_every_h = 4;    // else a differential when the newest backup is this old
  int retention_full = 2;  // full backups kept (and the WAL they need); older ones expire
  int retention_diff = 6;  // differential backups kept
  std::string dir;         // <var>/backup: the repository host's folder (repository, spool, logs)
  std::string Conf() const { return dir + "/pgbackrest.conf"; }
  std::string RepoPath() const { return dir + "/repo"; }
  std::string RestoreConf() const { return dir + "/restore.conf"; }
};

// Several regions (`dr:` in the file; docs/runbooks/region-loss.md): a global etcd of one member per
// region plus a witness holds which region is active and its epoch; the other regions run Patroni
// standby clusters of it, and every catalogd writes to the active region's database while it holds a
// lease on the epoch.
struct Disaster {
  std::string witness_address = "127.0.250.4";  // the witness's global etcd member
  int lease_ttl_s = 5;                          // catalogd's write lease; a cut-off region stops within it
  std::string active;                           // the region active at the first `up` (default: the first)
  // The region responder's automatic failover (`catalogctl dr watch`, program dr-responder): when the
  // active region holds no lease in the global etcd (its majority: the other regions and the witness)
  // for this many seconds, fail over to a standby region by force. 0: off (the default).
  int auto_failover_after_s = 0;
};

// One member of the global etcd.
struct GlobalMember {
  std::string name;     // g-<region> or g-witness
  std::string address;  // 127.0.<region id>0.4, or the witness's
  std::string os_user;  // tm-g<region id> (a region partition cuts it off with its region), tm-witness
  std::string region;   // empty for the witness
  std::string dir;      // <var>/global/<name>
};

struct Zone {
  std::string name;
  std::string region;               // its region's name
  int index = 0;                    // 1..9 within its region
  std::string address;              // 127.0.<region id><index>.1 on one machine; `host:` in the file for real hosts
  std::string os_user;              // every process of the zone runs as this user (tm-z<region id><index>)
  int catalogd_instances = 1;       // how many run from `catalogctl up` on: the autoscaler's minimum
  int catalogd_max = 1;             // the autoscaler's maximum (`catalogd_max:`, default the minimum)
  std::string dir;                  // <var>/<zone>
  bool etcd_join_existing = false;  // a replaced member: join the region's etcd cluster, do not found it
};

struct Region {
  std::string name;
  int id = 0;           // 1..24
  std::string address;  // the region's HAProxy: 127.0.<id>0.1 on one machine; `host:` for real hosts
  std::vector<Zone> zones;
  std::string dir;  // <var>/<region>
};

struct Topology {
  std::string name;
  std::string file;     // absolute path of the topology file
  std::string var_dir;  // absolute: <var root>/<name>
  std::vector<Region> regions;
  Ports ports;
  PatroniTimings patroni;
  DetectorSettings detector;
  DrillSettings drills;
  CatalogdSettings catalogd;
  AutoscalePolicy autoscale;
  Monitoring monitoring;
  Backup backup;
  Disaster dr;
  std::string postgres_bin_dir = "/usr/lib/postgresql/15/bin";

  bool MultiRegion() const { return regions.size() > 1; }
  // The global etcd (several regions only): one member per region, then the witness.
  std::vector<GlobalMember> GlobalEtcd() const;
  std::string GlobalEtcdEndpoints() const;  // "host:port,..." of its client URLs
  std::string DrPrefix() const { return "/techmoda/" + name; }
  const Region& ActiveAtStart() const;
  const Zone* FindZone(const std::string& name) const;
  const Region* FindRegion(const std::string& name) const;
  std::vector<const Zone*> AllZones() const;
  // The catalogd instances of a zone: "<zone>-<n>" with n from 1.
  static std::string InstanceName(const Zone& z, int n) { return z.name + "-" + std::to_string(n); }
  int CatalogdPort(int n) const { return ports.catalogd + n - 1; }
  std::string SecretsPath() const { return var_dir + "/secrets.yaml"; }
  std::string SupervisorConf() const { return var_dir + "/supervisord.conf"; }
  std::string SupervisorSocket() const { return var_dir + "/supervisor.sock"; }
  std::string SupervisorPidFile() const { return var_dir + "/supervisord.pid"; }
  // While this file exists the region's archive_command fails (the `fault stall-archive` drill).
  static std::string ArchiveStallFile(const Region& r) { return r.dir + "/ARCHIVE-STALLED"; }
  // A zone's pgBackRest configuration (archive-push, its TLS server).
  static std::string ZoneBackupConf(const Zone& z) { return z.dir + "/pgbackrest.conf"; }
  // The zone's wall-clock offset in seconds ("+0", "+90", "-30"), with drills.clock_skew.
  static std::string ClockOffsetFile(const Zone& z) { return z.dir + "/clock-offset"; }
  // The mount point of the zone's pg_wal filesystem, with drills.wal_disk_mb; pg_wal is a folder in it.
  static std::string WalDiskDir(const Zone& z) { return z.dir + "/wal-disk"; }
  // The nftables table holding this topology's fault rules.
  std::string NftTable() const;
};

// Parses topology YAML; `file` is only for messages and Topology::file. Errors name the field.
Result<Topology> ParseTopology(const std::string& yaml_text, const std::string& file, const std::string& var_root);
Result<Topology> LoadTopology(const std::string& path, const std::string& var_root);

}  // namespace techmoda::ctl
