// Backups with pgBackRest: the stanza, taking backups (by hand and on a schedule), listing them, and
// proving one restores (`catalogctl backup run | list | verify | schedule`). pgBackRest runs on the
// repository host as its own user (Topology::backup); the zones reach it over TLS (render.cc).
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "ctl/base/progress.h"
#include "ctl/topology/topology.h"
#include "techmoda/status.h"

namespace techmoda::ctl::backup {

// A CA under <var>/tls and a certificate per host (each zone, the repository host) for pgBackRest's
// TLS connections, made once with the openssl CLI. Owners are set by the caller (Prepare).
Status EnsureTls(const Topology& t);

// One backup in the repository, from `pgbackrest info --output=json`.
struct BackupSet {
  std::string label;
  std::string type;                     // "full", "diff" or "incr"
  std::string prior;                    // the backup it depends on (diff, incr); empty for full
  long long start = 0, stop = 0;        // Unix seconds
  long long size = 0, repo_size = 0;    // bytes: the database as restored; in the repository
  long long delta = 0, repo_delta = 0;  // bytes copied by this backup (a diff's own part)
  std::string wal_start, wal_stop;      // the WAL a restore of it needs at least
  bool error = false;                   // pgBackRest saw page checksum errors while copying
};

struct RepoInfo {
  std::string status;  // pgBackRest's status message ("ok", "no valid backups", ...)
  int status_code = 0;
  std::vector<BackupSet> sets;   // oldest first
  std::string wal_min, wal_max;  // the archived WAL the repository holds
};

// Parses `pgbackrest info --output=json` for `stanza`.
Result<RepoInfo> ParseInfo(const std::string& json_text, const std::string& stanza);

// What the scheduler does next: a full backup when none exists or the newest full is full_every_h
// old; else a differential when the newest backup is diff_every_h old; else nothing (`type` empty).
struct Decision {
  std::string type;
  std::string reason;
};
Decision NextBackup(long long now_s, const std::vector<BackupSet>& sets, const Backup& policy);

// Creates the stanza when missing and checks that WAL archiving reaches the repository (pgBackRest's
// `check`: switches WAL and waits for the segment). Idempotent; `up` calls it once the primary runs.
Status EnsureStanza(const Topology& t, const Progress& progress);

// Takes a backup (`type`: full, diff or incr), showing progress; then pgBackRest expires what the
// retention no longer keeps.
Status Run(const Topology& t, const std::string& type, const Progress& progress);

Result<RepoInfo> List(const Topology& t);
std::string FormatList(const RepoInfo& info);
boost::json::value ListJson(const RepoInfo& info);

// The proof that a backup restores: every step, its time and what it found.
struct VerifyStep {
  std::string name;
  bool ok = false;
  std::string detail;
  double seconds = 0;
};
struct VerifyReport {
  std::string label;
  std::vector<VerifyStep> steps;
  std::vector<std::pair<std::string, long long>> tables;  // rows per table of the restored database
  bool ok() const;
};

// Checks the backup's files against the repository's checksums (pgBackRest `verify`), restores it
// into a scratch folder on the repository host, starts it on a private socket, runs pg_amcheck on
// every database, counts the rows of every table, stops it and checks every page checksum
// (pg_checksums). `label` empty: the newest backup. The scratch folder is removed afterwards.
VerifyReport Verify(const Topology& t, const std::string& label, const Progress& progress);
std::string FormatVerify(const VerifyReport& r);
boost::json::value VerifyJson(const VerifyReport& r);

// The scheduler (supervisord program backup-scheduler): every minute, NextBackup and run it. Each
// decision is a JSON log line. Stops on SIGTERM/SIGINT, or after `duration` when positive.
Status Schedule(const Topology& t, std::chrono::seconds duration);

}  // namespace techmoda::ctl::backup
