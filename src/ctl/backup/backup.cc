#include "ctl/backup/backup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/log.h"
#include "common/pg.h"
#include "common/process.h"
#include "ctl/base/http_server.h"
#include "ctl/base/loop.h"
#include "ctl/base/stop.h"

namespace json = boost::json;
namespace fs = std::filesystem;

namespace techmoda::ctl::backup {

namespace {

using Clock = std::chrono::steady_clock;

// The tables a restored catalog must have (migrations/0001_init.sql).
constexpr const char* kCoreTables[] = {"products", "inventory", "orders", "idempotency_keys", "change_log"};

std::string Bytes(long long b) {
  char buf[32];
  if (b < 1024)
    std::snprintf(buf, sizeof buf, "%lld B", b);
  else if (b < 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
  else if (b < 1024LL * 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f MiB", b / 1048576.0);
  else
    std::snprintf(buf, sizeof buf, "%.2f GiB", b / 1073741824.0);
  return buf;
}

std::string UtcTime(long long unix_s) {
  std::time_t tt = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

std::string Age(long long seconds) {
  if (seconds < 120) return std::to_string(seconds) + " s";
  if (seconds < 2 * 3600) return std::to_string(seconds / 60) + " min";
  return std::to_string(seconds / 3600) + " h";
}

// The ERROR/WARN lines of pgBackRest's output (its console log), or the last lines when none.
std::string Problems(const std::string& output) {
  std::string out, line;
  std::istringstream in(output);
  std::vector<std::string> all;
  while (std::getline(in, line)) {
    if (line.find("ERROR:") != std::string::npos || line.find("WARN:") != std::string::npos)
      out += (out.empty() ? "" : "\n") + line;
    all.push_back(line);
  }
  if (!out.empty()) return out;
  for (std::size_t i = all.size() > 5 ? all.size() - 5 : 0; i < all.size(); ++i)
    out += (out.empty() ? "" : "\n") + all[i];
  return out;
}

// pgBackRest as the repository host's user with `conf`; `args` end with the command.
int PgBackRest(const Topology& t, const std::string& conf, std::vector<std::string> args, std::string* output,
               const std::function<void(const std::string&)>& on_line = {}) {
  std::vector<std::string> argv{
      "/usr/sbin/runuser",          "-u", t.backup.os_user, "--", "/usr/bin/pgbackrest", "--config=" + conf,
      "--stanza=" + t.backup.stanza};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCapture(argv, output, on_line);
}

// A program of PostgreSQL's as the repository host's user (PostgreSQL refuses to run as root).
int PostgresTool(const Topology& t, const std::string& tool, std::vector<std::string> args, std::string* output) {
  std::vector<std::string> argv{"/usr/sbin/runuser", "-u", t.backup.os_user, "--", t.postgres_bin_dir + "/" + tool};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCapture(argv, output);
}

Status NeedRoot(const char* what) {
  if (geteuid() == 0) return Status::Ok();
  return Status::Invalid(std::string("catalogctl backup ") + what +
                         " runs as root: pgBackRest runs as the repository's own user");
}

}  // namespace

Status EnsureTls(const Topology& t) {
  std::string ca_dir = t.var_dir + "/tls", out;
  fs::create_directories(ca_dir);
  chmod(ca_dir.c_str(), 0700);
  std::string ca_key = ca_dir + "/ca.key", ca_crt = ca_dir + "/ca.crt";
  const std::vector<std::string> ec_key{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};
  if (!fs::exists(ca_crt)) {
    std::vector<std::string> argv{
        "/usr/bin/openssl", "req",  "-x509", "-new", "-days", "3650", "-subj", "/CN=techmoda " + t.name + " backup CA",
        "-keyout",          ca_key, "-out",  ca_crt};
    argv.insert(argv.begin() + 3, ec_key.begin(), ec_key.end());
    if (RunCapture(argv, &out) != 0) return Status::Internal("openssl: the backup CA: " + out);
  }
  std::vector<std::pair<std::string, std::string>> hosts{{t.backup.dir + "/tls", t.backup.address}};
  for (const auto* z : t.AllZones()) hosts.emplace_back(z->dir + "/tls", z->address);
  for (const auto& [dir, address] : hosts) {
    if (fs::exists(dir + "/host.crt") && fs::exists(dir + "/host.key")) continue;
    fs::create_directories(dir);
    // pgBackRest 2.45 matches the host it dials against the certificate's DNS names and CN only (not
    // IP SANs): the address goes in both. The same certificate is the host's client identity.
    std::ofstream(dir + "/host.ext") << "subjectAltName=DNS:" << address << "\n";
    std::vector<std::string> req{"/usr/bin/openssl", "req",  "-new",           "-subj", "/CN=" + address, "-keyout",
                                 dir + "/host.key",  "-out", dir + "/host.csr"};
    req.insert(req.begin() + 3, ec_key.begin(), ec_key.end());
    if (RunCapture(req, &out) != 0) return Status::Internal("openssl: a key for " + address + ": " + out);
    if (RunCapture({"/usr/bin/openssl", "x509", "-req", "-in", dir + "/host.csr", "-CA", ca_crt, "-CAkey", ca_key,
                    "-CAcreateserial", "-days", "3650", "-extfile", dir + "/host.ext", "-out", dir + "/host.crt"},
                   &out) != 0)
      return Status::Internal("openssl: signing the certificate of " + address + ": " + out);
    fs::copy_file(ca_crt, dir + "/ca.crt", fs::copy_options::overwrite_existing);
    chmod((dir + "/host.key").c_str(), 0600);
  }
  return Status::Ok();
}

Result<RepoInfo> ParseInfo(const std::string& json_text, const std::string& stanza) {
  json::value v;
  try {
    v = json::parse(json_text);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("pgbackrest info did not answer JSON: ") + e.what());
  }
  if (!v.is_array()) return Status::Internal("pgbackrest info: expected a list of stanzas");
  for (const auto& s : v.as_array()) {
    const auto* o = s.if_object();
    if (!o || !o->contains("name") || o->at("name").as_string() != stanza) continue;
    RepoInfo info;
    if (const auto* st = o->if_contains("status"); st && st->is_object()) {
      info.status_code = static_cast<int>(st->at("code").to_number<long long>());
      info.status = std::string(st->at("message").as_string());
    }
    if (const auto* archives = o->if_contains("archive"); archives && archives->is_array())
      for (const auto& a : archives->as_array()) {
        if (const auto* mn = a.as_object().if_contains("min"); mn && mn->is_string())
          info.wal_min = std::string(mn->as_string());
        if (const auto* mx = a.as_object().if_contains("max"); mx && mx->is_string())
          info.wal_max = std::string(mx->as_string());
      }
    if (const auto* sets = o->if_contains("backup"); sets && sets->is_array())
      for (const auto& b : sets->as_array()) {
        const auto& bo = b.as_object();
        BackupSet set;
        set.label = std::string(bo.at("label").as_string());
        set.type = std::string(bo.at("type").as_string());
        if (bo.at("prior").is_string()) set.prior = std::string(bo.at("prior").as_string());
        set.start = bo.at("timestamp").at("start").to_number<long long>();
        set.stop = bo.at("timestamp").at("stop").to_number<long long>();
        const auto& in = bo.at("info").as_object();
        set.size = in.at("size").to_number<long long>();
        set.delta = in.at("delta").to_number<long long>();
        set.repo_size = in.at("repository").at("size").to_number<long long>();
        set.repo_delta = in.at("repository").at("delta").to_number<long long>();
        if (const auto* a = bo.if_contains("archive"); a && a->is_object()) {
          if (a->at("start").is_string()) set.wal_start = std::string(a->at("start").as_string());
          if (a->at("stop").is_string()) set.wal_stop = std::string(a->at("stop").as_string());
        }
        if (const auto* e = bo.if_contains("error"); e && e->is_bool()) set.error = e->as_bool();
        info.sets.push_back(std::move(set));
      }
    return info;
  }
  return Status::NotFound("the repository has no stanza '" + stanza + "' (run `catalogctl up`, which creates it)");
}

Decision NextBackup(long long now_s, const std::vector<BackupSet>& sets, const Backup& policy) {
  const BackupSet* full = nullptr;
  const BackupSet* newest = nullptr;
  for (const auto& s : sets) {
    if (s.type == "full" && (!full || s.stop > full->stop)) full = &s;
    if (!newest || s.stop > newest->stop) newest = &s;
  }
  if (!full) return {"full", "the repository holds no full backup"};
  long long full_age = now_s - full->stop, newest_age = now_s - newest->stop;
  if (full_age >= policy.full_every_h * 3600LL)
    return {"full", "the newest full backup (" + full->label + ") is " + Age(full_age) + " old; full_every_h is " +
                        std::to_string(policy.full_every_h)};
  if (newest_age >= policy.diff_every_h * 3600LL)
    return {"diff", "the newest backup (" + newest->label + ") is " + Age(newest_age) + " old; diff_every_h is " +
                        std::to_string(policy.diff_every_h)};
  return {"", "the newest backup (" + newest->label + ") is " + Age(newest_age) + " old"};
}

Status EnsureStanza(const Topology& t, const Progress& progress) {
  if (auto st = NeedRoot("stanza"); !st.ok()) return st;
  auto start = Clock::now();
  std::string out;
  int rc = 0;
  // The TLS servers start with Patroni; give them a moment on a slow start.
  for (int attempt = 0; attempt < 20; ++attempt) {
    rc = PgBackRest(t, t.backup.Conf(), {"stanza-create"}, &out);
    if (rc == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (rc != 0)
    return Status::Internal("pgbackrest stanza-create failed (exit " + std::to_string(rc) + "):\n" + Problems(out));
  rc = PgBackRest(t, t.backup.Conf(), {"check"}, &out);
  if (rc != 0)
    return Status::Internal("WAL archiving does not reach the repository (pgbackrest check, exit " +
                            std::to_string(rc) + "):\n" + Problems(out));
  progress("backups: stanza " + t.backup.stanza + " ready, WAL archiving reaches the repository " + t.backup.address +
           "  " + FormatSeconds(SecondsSince(start)));
  return Status::Ok();
}

Status Run(const Topology& t, const std::string& type, const Progress& progress) {
  if (auto st = NeedRoot("run"); !st.ok()) return st;
  if (type != "full" && type != "diff" && type != "incr")
    return Status::Invalid("backup type '" + type + "': full, diff or incr");
  auto start = Clock::now();
  int shown = -1;
  std::string out;
  progress("backup " + type + ": starting (checkpoint on the primary, then copying)");
  int rc =
      PgBackRest(t, t.backup.Conf(), {"--type=" + type, "--log-level-console=detail", "backup"}, &out,
                 [&](const std::string& line) {
                   // "... backup file /.../base/1/1249 (440KB, 23.45%) checksum ..."
                   auto pct = line.find("%)");
                   if (line.find("backup file") != std::string::npos && pct != std::string::npos) {
                     auto comma = line.rfind(", ", pct);
                     if (comma == std::string::npos) return;
                     double p = std::atof(line.substr(comma + 2, pct - comma - 2).c_str());
                     int step = static_cast<int>(p / 10);
                     if (step > shown) {
                       shown = step;
                       progress("backup " + type + ": " + std::to_string(step * 10) + "% copied  " +
                                FormatSeconds(SecondsSince(start)));
                     }
                   } else if (line.find("new backup label") != std::string::npos ||
                              line.find("backup size") != std::string::npos) {
                     auto info = line.find("INFO: ");
                     progress("backup " + type + ": " + (info == std::string::npos ? line : line.substr(info + 6)));
                   }
                 });
  if (rc != 0)
    return Status::Internal("pgbackrest backup --type=" + type + " failed (exit " + std::to_string(rc) + "):\n" +
                            Problems(out));
  progress("backup " + type + ": done in " + FormatSeconds(SecondsSince(start)));
  return Status::Ok();
}

Result<RepoInfo> List(const Topology& t) {
  if (auto st = NeedRoot("list"); !st.ok()) return st;
  std::string out;
  int rc = PgBackRest(t, t.backup.Conf(), {"--output=json", "--log-level-console=error", "info"}, &out);
  if (rc != 0) return Status::Unavailable("pgbackrest info failed (exit " + std::to_string(rc) + "): " + Problems(out));
  return ParseInfo(out, t.backup.stanza);
}

std::string FormatList(const RepoInfo& info) {
  std::string out = "stanza status: " + info.status +
                    (info.wal_min.empty() ? "" : "; archived WAL " + info.wal_min + " .. " + info.wal_max) + "\n";
  char line[512];
  std::snprintf(line, sizeof line, "%-34s %-5s %-21s %9s %11s %11s  %-24s\n", "LABEL", "TYPE", "STARTED (UTC)",
                "DURATION", "SIZE", "IN REPO", "FIRST WAL NEEDED");
  out += line;
  for (const auto& s : info.sets) {
    std::string wal = s.wal_start.empty() ? "-" : s.wal_start;
    std::snprintf(line, sizeof line, "%-34s %-5s %-21s %9s %11s %11s  %-24s%s\n", s.label.c_str(), s.type.c_str(),
                  UtcTime(s.start).c_str(), (std::to_string(s.stop - s.start) + " s").c_str(), Bytes(s.size).c_str(),
                  Bytes(s.type == "full" ? s.repo_size : s.repo_delta).c_str(), wal.c_str(),
                  s.error ? "  ! page checksum errors" : "");
    out += line;
  }
  if (info.sets.empty()) out += "(no backups yet: `catalogctl backup run`)\n";
  return out;
}

json::value ListJson(const RepoInfo& info) {
  json::array sets;
  for (const auto& s : info.sets)
    sets.push_back(json::object{{"label", s.label},
                                {"type", s.type},
                                {"prior", s.prior.empty() ? json::value(nullptr) : json::value(s.prior)},
                                {"start", s.start},
                                {"stop", s.stop},
                                {"size_bytes", s.size},
                                {"repo_size_bytes", s.repo_size},
                                {"repo_delta_bytes", s.repo_delta},
                                {"wal_start", s.wal_start},
                                {"wal_stop", s.wal_stop},
                                {"page_checksum_errors", s.error}});
  return json::object{
      {"status", info.status}, {"wal_min", info.wal_min}, {"wal_max", info.wal_max}, {"backups", std::move(sets)}};
}

bool VerifyReport::ok() const {
  if (steps.empty()) return false;
  for (const auto& s : steps)
    if (!s.ok) return false;
  return true;
}

namespace {

// A backup restored into a scratch folder, started on a private socket, checked and removed.
struct Scratch {
  const Topology& t;
  std::string label, dir, data, sock;
  std::string Conninfo(const std::string& dbname) const {
    return "host=" + sock + " port=" + std::to_string(t.ports.postgres) + " user=postgres dbname=" + dbname;
  }
};

bool ChooseBackup(const Topology& t, const std::string& label, std::string* chosen, std::string* d) {
  auto info = List(t);
  if (!info.ok()) return *d = info.status().detail(), false;
  for (const auto& s : info->sets)
    if (label.empty() || s.label == label) *chosen = s.label;
  if (chosen->empty()) {
    *d = label.empty() ? "the repository holds no backup yet" : "no backup labelled " + label;
    return false;
  }
  *d = *chosen;
  return true;
}

bool RepositoryChecksums(const Scratch& x, std::string* d) {
  std::string out;
  int rc = PgBackRest(x.t, x.t.backup.RestoreConf(), {"--set=" + x.label, "--log-level-console=info", "verify"}, &out);
  // pgBackRest 2.45 names each damaged file ("invalid checksum '<file>'") and sums up per backup
  // ("status: invalid"), yet exits 0: read what it says.
  std::string findings, line;
  std::istringstream in(out);
  while (std::getline(in, line)) {
    auto at = line.find("INFO: ");
    std::string text = at == std::string::npos ? line : line.substr(at + 6);
    while (!text.empty() && text.front() == ' ') text.erase(0, 1);
    if (text.find("invalid") != std::string::npos || text.find("missing") != std::string::npos ||
        text.find("ERROR") != std::string::npos || text.find("status: error") != std::string::npos)
      findings += (findings.empty() ? "" : "\n        ") + text;
  }
  if (rc != 0 || !findings.empty()) {
    *d = "the backup is damaged" + std::string(rc ? " (exit " + std::to_string(rc) + ")" : "") + ":\n        " +
         (findings.empty() ? Problems(out) : findings);
    return false;
  }
  *d = "every file of " + x.label + " and the backups it builds on matches its checksum";
  return true;
}

bool RestoreIntoScratch(const Scratch& x, std::string* d) {
  *d = "into " + x.data;
  std::string out;
  int rc = PgBackRest(x.t, x.t.backup.RestoreConf(),
                      {"--pg1-path=" + x.data, "--set=" + x.label, "--type=immediate", "--target-action=promote",
                       "--log-level-console=warn", "restore"},
                      &out);
  if (rc != 0) return *d = "exit " + std::to_string(rc) + ": " + Problems(out), false;
  return true;
}

// Only the repository's user and root (as postgres) get in, over the socket; nothing listens on TCP.
bool StartScratch(const Scratch& x, bool* started, std::string* d) {
  const auto& b = x.t.backup;
  {
    std::ofstream(x.dir + "/hba.conf") << "local all all peer map=verify\n";
    std::ofstream(x.dir + "/ident.conf") << "verify " << b.os_user << " postgres\nverify root postgres\n";
  }
  std::string out;
  RunCapture({"/bin/chown", b.os_user + ":", x.dir + "/hba.conf", x.dir + "/ident.conf"}, &out);
  std::string opts = "-c port=" + std::to_string(x.t.ports.postgres) +
                     " -c listen_addresses='' -c unix_socket_directories=" + x.sock +
                     " -c archive_mode=off -c synchronous_standby_names='' -c hba_file=" + x.dir +
                     "/hba.conf -c ident_file=" + x.dir + "/ident.conf -c logging_collector=off -c shared_buffers=32MB";
  int rc = PostgresTool(x.t, "pg_ctl",
                        {"-D", x.data, "-w", "-t", "300", "-l", x.dir + "/postgres.log", "-o", opts, "start"}, &out);
  *started = rc == 0;
  if (rc != 0) {
    auto log = ReadFile(x.dir + "/postgres.log").value_or("");
    *d = "pg_ctl start exit " + std::to_string(rc) + ": " + Problems(out) + "\n" +
         log.substr(log.size() > 2000 ? log.size() - 2000 : 0);
    return false;
  }
  for (auto deadline = Clock::now() + std::chrono::seconds(300); Clock::now() < deadline;) {
    auto c = pg::Connect(x.Conninfo("postgres"), std::chrono::seconds(5));
    if (c.ok()) {
      auto res = (*c)->Exec("SELECT pg_is_in_recovery()");
      if (auto* rows = std::get_if<pg::Rows>(&res); rows && rows->Get(0, 0) == "f") return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  *d = "still in recovery after 300 s (see " + x.dir + "/postgres.log)";
  return false;
}

bool AmCheck(const Scratch& x, std::string* d) {
  std::string out;
  int rc = RunCapture({x.t.postgres_bin_dir + "/pg_amcheck", "-h", x.sock, "-p", std::to_string(x.t.ports.postgres),
                       "-U", "postgres", "--all", "--install-missing", "--heapallindexed"},
                      &out);
  if (rc != 0) return *d = "exit " + std::to_string(rc) + ":\n" + out.substr(0, 4000), false;
  return true;
}

bool CountRows(const Scratch& x, std::vector<std::pair<std::string, long long>>* tables, std::string* d) {
  auto c = pg::Connect(x.Conninfo("techmoda"), std::chrono::seconds(5));
  if (!c.ok()) return *d = "database techmoda: " + c.status().detail(), false;
  auto res = (*c)->Exec(
      "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY relname");
  auto* rows = std::get_if<pg::Rows>(&res);
  if (!rows) return *d = "listing tables: " + std::get<pg::Error>(res).message, false;
  for (int i = 0; i < rows->size(); ++i) {
    std::string table(rows->Get(i, 0));
    auto n = (*c)->Exec("SELECT count(*) FROM public.\"" + table + "\"");
    auto* nr = std::get_if<pg::Rows>(&n);
    if (!nr) return *d = "counting " + table + ": " + std::get<pg::Error>(n).message, false;
    tables->emplace_back(table, nr->GetInt(0, 0));
  }
  std::string missing;
  for (const char* want : kCoreTables) {
    bool found = false;
    for (const auto& [name, n] : *tables) found |= name == want;
    if (!found) missing += std::string(missing.empty() ? "" : ", ") + want;
  }
  for (const auto& [name, n] : *tables) *d += (d->empty() ? "" : ", ") + name + " " + std::to_string(n);
  if (!missing.empty()) return *d = "missing table(s): " + missing, false;
  return true;
}

bool PageChecksums(const Scratch& x, std::string* d) {
  std::string out;
  int rc = PostgresTool(x.t, "pg_checksums", {"--check", "-D", x.data}, &out);
  auto at = out.find("Blocks scanned:");
  if (at != std::string::npos) *d = out.substr(at, out.find('\n', at) - at);
  if (rc != 0) return *d = "exit " + std::to_string(rc) + ": " + out.substr(0, 4000), false;
  return true;
}

}  // namespace

VerifyReport Verify(const Topology& t, const std::string& label, const Progress& progress) {
  VerifyReport r;
  // Runs one step unless one before it failed; times it and reports it.
  auto step = [&](const std::string& name, const std::function<bool(std::string*)>& fn) {
    if (!r.steps.empty() && !r.steps.back().ok) return false;
    auto start = Clock::now();
    VerifyStep s{name, false, "", 0};
    s.ok = fn(&s.detail);
    s.seconds = SecondsSince(start);
    progress(std::string(s.ok ? "ok    " : "FAILED") + "  " + name + "  " + FormatSeconds(s.seconds) +
             (s.detail.empty() ? "" : "\n        " + s.detail));
    r.steps.push_back(std::move(s));
    return r.steps.back().ok;
  };
  if (auto st = NeedRoot("verify"); !st.ok()) {
    r.steps.push_back({"run as root", false, st.detail(), 0});
    return r;
  }
  step("choose the backup", [&](std::string* d) { return ChooseBackup(t, label, &r.label, d); });
  if (r.label.empty()) return r;
  const auto& b = t.backup;
  std::string dir = b.dir + "/verify/" + r.label;
  const Scratch x{t, r.label, dir, dir + "/data", dir + "/run"};
  step("repository checksums (pgbackrest verify)", [&](std::string* d) { return RepositoryChecksums(x, d); });
  std::error_code ec;
  fs::remove_all(x.dir, ec);
  fs::create_directories(x.sock, ec);
  std::string out;
  RunCapture({"/bin/chown", "-R", b.os_user + ":", x.dir}, &out);
  chmod(x.dir.c_str(), 0700);
  step("restore (pgbackrest restore --type=immediate)", [&](std::string* d) { return RestoreIntoScratch(x, d); });
  bool started = false;
  step("start it on a private socket and finish recovery",
       [&](std::string* d) { return StartScratch(x, &started, d); });
  step("pg_amcheck --all --heapallindexed", [&](std::string* d) { return AmCheck(x, d); });
  step("row counts of database techmoda", [&](std::string* d) { return CountRows(x, &r.tables, d); });
  if (started) {
    auto start = Clock::now();
    int rc = PostgresTool(t, "pg_ctl", {"-D", x.data, "-w", "-t", "60", "-m", "fast", "stop"}, &out);
    bool ok = rc == 0;
    if (!r.steps.empty() && !r.steps.back().ok) {
      // Stopping after a failed step is cleanup, not a finding.
      if (!ok) progress("could not stop the scratch PostgreSQL: " + out);
    } else {
      VerifyStep s{"stop it", ok, ok ? "" : Problems(out), SecondsSince(start)};
      progress(std::string(ok ? "ok    " : "FAILED") + "  stop it  " + FormatSeconds(s.seconds));
      r.steps.push_back(s);
    }
  }
  step("page checksums (pg_checksums --check)", [&](std::string* d) { return PageChecksums(x, d); });
  // Keep the scratch PostgreSQL's log beside the repository's, remove the data.
  fs::create_directories(b.dir + "/logs", ec);
  fs::copy_file(x.dir + "/postgres.log", b.dir + "/logs/verify-" + r.label + ".log",
                fs::copy_options::overwrite_existing, ec);
  fs::remove_all(x.dir, ec);
  return r;
}

std::string FormatVerify(const VerifyReport& r) {
  std::string out =
      "backup " + (r.label.empty() ? std::string("?") : r.label) + ": " + (r.ok() ? "VERIFIED" : "FAILED") + "\n";
  char line[256];
  for (const auto& s : r.steps) {
    std::snprintf(line, sizeof line, "  %-6s %-52s %7.1f s\n", s.ok ? "ok" : "FAILED", s.name.c_str(), s.seconds);
    out += line;
    if (!s.ok && !s.detail.empty()) out += "         " + s.detail + "\n";
  }
  if (!r.tables.empty()) {
    out += "  rows:";
    for (const auto& [name, n] : r.tables) out += " " + name + "=" + std::to_string(n);
    out += "\n";
  }
  return out;
}

json::value VerifyJson(const VerifyReport& r) {
  json::array steps;
  for (const auto& s : r.steps)
    steps.push_back(json::object{{"step", s.name}, {"ok", s.ok}, {"seconds", s.seconds}, {"detail", s.detail}});
  json::object tables;
  for (const auto& [name, n] : r.tables) tables[name] = n;
  return json::object{{"label", r.label}, {"ok", r.ok()}, {"steps", std::move(steps)}, {"rows", std::move(tables)}};
}

Status Schedule(const Topology& t, std::chrono::seconds duration) {
  InstallStopHandlers();
  log::Info("backup.schedule_policy",
            {{"full_every_h", t.backup.full_every_h}, {"diff_every_h", t.backup.diff_every_h}});
  // Decides every minute; a backup runs in the background, and no decision is taken while it does.
  ControlLoop loop({"backup.schedule", std::chrono::seconds(60), duration});
  return loop.Run([&] {
    if (auto done = loop.TakeFinished()) {
      if (done->second.ok())
        log::Info("backup.done", {{"backup", done->first}});
      else
        log::Error("backup.failed", {{"backup", done->first}, {"error", done->second.detail()}});
    }
    if (auto running = loop.InProgress()) return log::Info("backup.in_progress", {{"backup", *running}});
    auto info = List(t);
    if (!info.ok()) return log::Warn("backup.info_failed", {{"error", info.status().detail()}});
    Decision d = NextBackup(static_cast<long long>(std::time(nullptr)), info->sets, t.backup);
    if (d.type.empty()) return;
    log::Info("backup.decision", {{"type", d.type}, {"reason", d.reason}});
    loop.StartBackground(d.type, [&t, type = d.type] { return Run(t, type, [](const std::string&) {}); });
  });
}

}  // namespace techmoda::ctl::backup
