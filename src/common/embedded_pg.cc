#include "common/embedded_pg.h"

#include <libpq-fe.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "common/json_util.h"
#include "common/log.h"
#include "common/pg.h"
#include "common/process.h"

namespace fs = std::filesystem;

namespace techmoda {
namespace {

std::string TailOfFile(const std::string& path, std::size_t bytes) {
  auto s = ReadFile(path);
  if (!s) return "";
  return s->size() > bytes ? s->substr(s->size() - bytes) : *s;
}

}  // namespace

std::string EmbeddedSocketDir(const std::string& root) {
  std::string dir = fs::absolute(root).lexically_normal().string() + "/run";
  // ".s.PGSQL.5432" is appended by PostgreSQL; sun_path holds 107 bytes plus NUL.
  if (dir.size() + 14 < 100) return dir;
  return "/tmp/techmoda-pg-" + Sha256Hex(dir).substr(0, 16);
}

std::string EmbeddedConninfo(const std::string& data_dir, const std::string& database) {
  return "host=" + EmbeddedSocketDir((fs::path(data_dir) / "pg").string()) +
         " port=5432 user=postgres dbname=" + database;
}

EmbeddedPostgres::EmbeddedPostgres(EmbeddedPgOptions options) : options_(std::move(options)) {
  fs::path root = fs::absolute(options_.root).lexically_normal();
  options_.root = root.string();
  data_dir_ = (root / "data").string();
  socket_dir_ = EmbeddedSocketDir(options_.root);
  log_path_ = (root / "postgres.log").string();
  conninfo_ = "host=" + socket_dir_ + " port=5432 user=postgres dbname=" + options_.database;
}

EmbeddedPostgres::~EmbeddedPostgres() { Stop(); }

Status EmbeddedPostgres::InitDbIfNeeded() {
  if (fs::exists(fs::path(data_dir_) / "PG_VERSION")) return Status::Ok();
  auto who = UnprivilegedIdentity();
  if (!who.ok()) return who.status();
  log::Info("embedded_pg.initdb", {{"data_dir", data_dir_}});
  std::error_code ec;
  fs::remove_all(data_dir_, ec);  // a half-made folder from an interrupted initdb
  fs::create_directories(data_dir_, ec);
  if (ec) return Status::Internal("cannot create " + data_dir_ + ": " + ec.message());
  fs::permissions(data_dir_, fs::perms::owner_all, ec);
  if (!who->user.empty()) {
    if (auto s = ChownTree(data_dir_, who->uid, who->gid); !s.ok()) return s;
  }
  SpawnOptions init;
  init.argv = {options_.bin_dir + "/initdb",
               "-D",
               data_dir_,
               "--data-checksums",
               "-U",
               "postgres",
               "--auth-local=trust",
               "--auth-host=scram-sha-256",
               "--encoding=UTF8",
               "--locale=C",
               "--no-instructions"};
  init.log_path = log_path_;
  init.run_as = *who;
  auto rc = RunToCompletion(init, std::chrono::seconds(120));
  if (!rc.ok()) return rc.status();
  if (*rc != 0) return Status::Internal("initdb failed (exit " + std::to_string(*rc) + "); see " + log_path_);
  return Status::Ok();
}

Status EmbeddedPostgres::Start() {
  auto who = UnprivilegedIdentity();
  if (!who.ok()) return who.status();
  std::error_code ec;
  fs::create_directories(options_.root, ec);
  if (ec) return Status::Internal("cannot create " + options_.root + ": " + ec.message());
  if (auto s = EnsureTraversable(options_.root, *who); !s.ok())
    return Status::Internal("the embedded PostgreSQL cannot reach its folder: " + s.detail() +
                            "; or choose --data-dir in a folder it can reach");
  fs::create_directories(socket_dir_, ec);
  // Trust on the local socket is safe only because nobody else can enter this folder.
  fs::permissions(socket_dir_, fs::perms::owner_all, ec);
  if (!who->user.empty()) {
    if (!fs::exists(log_path_)) {
      if (FILE* f = fopen(log_path_.c_str(), "a")) fclose(f);
    }
    for (const std::string& p : {options_.root, socket_dir_, log_path_}) {
      if (chown(p.c_str(), who->uid, who->gid) != 0) return Status::Internal("cannot chown " + p + " to " + who->user);
    }
  }
  if (auto s = InitDbIfNeeded(); !s.ok()) return s;

  std::string admin = "host=" + socket_dir_ + " port=5432 user=postgres dbname=postgres";
  if (PQping(admin.c_str()) == PQPING_OK) {
    owned_ = false;  // a postmaster already serves this folder: share it, do not stop it later
    log::Info("embedded_pg.reuse", {{"data_dir", data_dir_}});
  } else {
    SpawnOptions run;
    const std::vector<std::string> settings = {
        "listen_addresses=",  // Unix socket only
        "unix_socket_directories=" + socket_dir_,
        "unix_socket_permissions=0700",
        "max_connections=" + std::to_string(options_.max_connections),
        "shared_buffers=256MB",
        "wal_level=logical",  // catalogd's in-memory copy follows the tables by logical decoding
        "max_replication_slots=64",
        "max_wal_senders=64",
        "max_wal_size=4GB",
        "wal_compression=on",
        "logging_collector=off"};
    run.argv = {options_.bin_dir + "/postgres", "-D", data_dir_};
    for (const auto& setting : settings) {
      run.argv.push_back("-c");
      run.argv.push_back(setting);
    }
    run.log_path = log_path_;
    run.run_as = *who;
    auto pid = Spawn(run);
    if (!pid.ok()) return pid.status();
    pid_ = *pid;
    owned_ = true;
    log::Info("embedded_pg.start", {{"data_dir", data_dir_}, {"pid", pid_}});
    auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
    while (PQping(admin.c_str()) != PQPING_OK) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return Status::Internal("PostgreSQL exited at start; the end of " + log_path_ + ":\n" +
                                TailOfFile(log_path_, 1500));
      }
      if (std::chrono::steady_clock::now() > deadline) {
        Stop();
        return Status::Internal("PostgreSQL did not accept connections within the start timeout; see " + log_path_);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  auto conn = pg::Connect(admin, std::chrono::seconds(10));
  if (!conn.ok()) return conn.status();
  auto rows = (*conn)->Exec("SELECT 1 FROM pg_database WHERE datname = $1", {options_.database});
  if (auto* err = std::get_if<pg::Error>(&rows)) return Status::Internal("checking the database: " + err->message);
  if (std::get<pg::Rows>(rows).size() == 0) {
    // CREATE DATABASE cannot take parameters; the name is ours, not user input, but quote it anyway.
    auto r = (*conn)->Exec("CREATE DATABASE \"" + options_.database + "\"");
    if (auto* err = std::get_if<pg::Error>(&r); err && err->sqlstate != "42P04")
      return Status::Internal("creating the database: " + err->message);
  }
  return Status::Ok();
}

void EmbeddedPostgres::Stop(std::chrono::milliseconds timeout) {
  if (!owned_ || pid_ <= 0) return;
  log::Info("embedded_pg.stop", {{"pid", pid_}});
  StopChild(pid_, SIGINT, timeout);  // SIGINT is PostgreSQL's fast shutdown
  pid_ = -1;
}

}  // namespace techmoda
