// catalogd's configuration: defaults < YAML file < environment < flags.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "catalogd/auth/auth.h"
#include "techmoda/status.h"

namespace techmoda {

struct CatalogdConfig {
  std::string config_file;
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "./var";
  std::string database_url;          // empty: the embedded PostgreSQL under <data_dir>/pg
  std::string replica_database_url;  // optional: the replicas, for catalog reads while the primary is busy
  std::string region = "local";
  std::string zone = "local";
  std::string instance;  // default: <hostname>:<port>
  std::string deploy_id = "dev";
  int pool_size = 16;
  int io_threads = 0;
  int max_in_flight = 1024;
  int read_timeout_s = 30;
  int drain_timeout_s = 20;
  int write_deadline_ms = 30000;
  std::string log_level = "info";
  bool access_log = true;
  bool read_copy = true;  // serve reads from the in-memory copy fed by logical decoding
  int copy_lag_ms = 0;    // drills: apply each transaction this long after its commit
  // Admission control and rate limits (see docs/runbooks/surge.md).
  bool admission = true;
  int admission_target_delay_ms = 10;
  int admission_initial_limit = 32;
  int admission_max_limit = 512;
  std::string rate_limit_anonymous = "2000/4000";  // per client address: RATE/BURST, or off
  std::string rate_limit_client = "1000/2000";     // per token
  std::string rate_limit_admin = "off";
  bool trust_forwarded_for = false;
  int cache_max_age_s = 5;
  int stale_while_revalidate_s = 30;
  int stale_if_error_s = 86400;
  // Several regions (docs/runbooks/region-loss.md): the global etcd's members (host:port, comma-
  // separated), the key prefix, the write lease's TTL, and each region's write conninfo. Writes go to
  // the active region's database and only while this instance holds its lease. Empty: one region.
  std::string global_etcd;
  std::string dr_prefix;
  int lease_ttl_s = 5;
  std::vector<std::pair<std::string, std::string>> region_database_urls;  // never logged (passwords)
  std::string tokens_file;                                                // YAML with a `tokens:` list
  std::vector<auth::TokenGrant> tokens;                                   // never logged
};

// Parses flags, environment and the YAML file. Returns nullopt-like kOk with `*exit_code` set when
// the process should exit at once (--help, --version, or a usage error already printed).
Result<CatalogdConfig> LoadCatalogdConfig(int argc, char** argv, int* exit_code);

// Reads a `tokens:` list ([{token, role}]) from a YAML file and appends to `out`.
Status LoadTokensFile(const std::string& path, std::vector<auth::TokenGrant>* out);

// Writes a fresh admin and client token to `path` (mode 0600) unless it exists.
Status EnsureGeneratedTokensFile(const std::string& path);

// Splits "host:port"; kInvalidArgument on a bad form.
Status SplitHostPort(const std::string& listen, std::string* host, unsigned short* port);

}  // namespace techmoda
