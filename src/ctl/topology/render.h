// Renders every configuration file of a topology from the one topology file: for this machine
// (`local`: everything under ./var/<name>, run by supervisord) and for real hosts (`systemd`: one
// folder per host with /etc and systemd units). Pure functions of (topology, secrets, target).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ctl/topology/topology.h"
#include "techmoda/status.h"

namespace techmoda::ctl {

// Generated once per topology, kept in <var>/secrets.yaml (mode 0600) and reused ever after.
struct Secrets {
  std::string superuser;    // PostgreSQL role postgres (Patroni's)
  std::string replication;  // role replicator
  std::string rewind;       // role rewinder (pg_rewind)
  std::string catalog;      // role catalog: catalogd's (owns database techmoda; REPLICATION for its copy)
  std::string patroni_api;  // user patroni on every Patroni REST API, for changes (switchover, restart)
  std::string admin_token;  // catalogd API bearer tokens
  std::string client_token;
  std::string canary_token;  // a client token that may mark its orders synthetic: the canary's only
};

// Reads the topology's secrets, generating and storing them (0600) the first time.
Result<Secrets> LoadOrCreateSecrets(const Topology& t);
// The Authorization header value for Patroni's REST API changes (switchover, reinitialize).
std::string PatroniBasicAuth(const Secrets& s);

struct RenderedFile {
  std::string path;
  std::string content;
  int mode = 0600;
  std::string owner;  // OS user; empty: root
};

enum class RenderTarget { kLocal, kSystemd };

// Every file for the target. Local paths are absolute under t.var_dir; systemd paths are relative
// to the output folder, one subfolder per host (<zone>/ and <region>-lb/).
std::vector<RenderedFile> Render(const Topology& t, const Secrets& s, RenderTarget target);

// Requests one catalogd takes from HAProxy at once (server maxconn) while admission control is on.
inline constexpr int kCatalogdMaxconn = 64;

// The libpq conninfo catalogd uses: the region's HAProxy write port, role catalog.
std::string CatalogConninfo(const Topology& t, const Region& r, const Secrets& s);
// The same role through the region's HAProxy read port (the streaming replicas).
std::string CatalogReplicaConninfo(const Topology& t, const Region& r, const Secrets& s);
// The superuser's, through the write port (for catalogctl's bootstrap of role and database).
std::string SuperuserConninfo(const Topology& t, const Region& r, const Secrets& s,
                              const std::string& dbname = "postgres");
// A zone's PostgreSQL archive_command: pgBackRest's asynchronous archive-push into the repository.
std::string ZoneArchiveCommand(const Topology& t, const Region& r, const Zone& z, RenderTarget target);

// The folder of the running catalogctl (catalogd and catalogctl sit side by side in build/).
std::string OwnBinDir();

// The clock-skew drill's LD_PRELOAD library, beside catalogctl (src/clock_skew/clock_skew.c).
std::string ClockSkewLibrary();

// Supervisor program names.
std::string EtcdProgram(const Zone& z);
std::string PatroniProgram(const Zone& z);
std::string DetectorProgram(const Zone& z);  // the zone's failure detector
std::string CatalogdProgram(const Zone& z, int n);
std::string HaproxyProgram(const Region& r);
// The haproxy.cfg of a region (PostgreSQL routing and the API's edge) and of the front door; the
// stats sockets go in `state_dir`.
std::string RegionHaproxyConfig(const Topology& t, const Region& r, const std::string& state_dir);
std::string FrontDoorConfig(const Topology& t, const std::string& state_dir);
std::string PostgresExporterProgram(const Zone& z);
// pgBackRest's TLS server on a zone (as the zone's user) and on the repository host; the scheduler.
std::string BackupServerProgram(const Zone& z);
inline constexpr const char* kBackupRepoProgram = "pgbackrest-repo";
// A member of the global etcd (several regions).
std::string GlobalEtcdProgram(const GlobalMember& m);
inline constexpr const char* kBackupSchedulerProgram = "backup-scheduler";
// Several regions: the front door (HAProxy on the witness's side, routing clients to the active region).
inline constexpr const char* kFrontDoorProgram = "frontdoor";
// Several regions with dr.auto_failover_after_s: the region responder (`catalogctl dr watch`).
inline constexpr const char* kDrResponderProgram = "dr-responder";
// The monitoring programs of a topology (Prometheus, Alertmanager, node exporter, canary, responder,
// status page), in the order `up` starts them; empty when monitoring is off.
std::vector<std::string> MonitoringPrograms(const Topology& t);

// A file compiled into catalogctl from the source tree (deploy/prometheus/catalog-rules.yml,
// src/ctl/monitoring/status_page.html), by its file name.
std::string_view EmbeddedFile(std::string_view name);

}  // namespace techmoda::ctl
