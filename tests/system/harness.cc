#include "tests/system/harness.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "common/json_util.h"
#include "common/log.h"
#include "common/pg.h"
#include "common/process.h"
#include "tests/system/http_client.h"

#ifndef CATALOGD_BIN
#define CATALOGD_BIN "catalogd"
#endif

namespace fs = std::filesystem;

namespace techmoda::test {
namespace {
std::mutex g_dirs_mu;
std::vector<std::string> g_dirs;  // guarded by g_dirs_mu

void RemoveDirs() {
  if (std::getenv("KEEP_TEST_DIRS")) return;
  std::lock_guard lock(g_dirs_mu);
  for (const auto& d : g_dirs) {
    std::error_code ec;
    fs::remove_all(d, ec);
  }
}
}  // namespace

std::string MakeTestDir(const std::string& name) {
  std::string tmpl = "/tmp/tm-" + name + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
  std::string dir(buf.data());
  chmod(dir.c_str(), 0755);  // the unprivileged PostgreSQL user must be able to enter it
  std::lock_guard lock(g_dirs_mu);
  if (g_dirs.empty()) std::atexit(RemoveDirs);
  g_dirs.push_back(dir);
  return dir;
}

EmbeddedPostgres& SharedPostgres() {
  static EmbeddedPostgres* pg = [] {
    EmbeddedPgOptions o;
    o.root = MakeTestDir("pg") + "/pg";
    o.database = "api";
    o.max_connections = 300;
    auto* p = new EmbeddedPostgres(o);
    Status s = p->Start();
    if (!s.ok()) {
      std::cerr << "cannot start the test PostgreSQL: " << s.detail() << "\n";
      std::abort();
    }
    return p;
  }();
  return *pg;
}

std::string CreateDatabase(const std::string& name) {
  std::string admin = "host=" + SharedPostgres().socket_dir() + " port=5432 user=postgres dbname=postgres";
  auto c = pg::Connect(admin, std::chrono::seconds(10));
  if (!c.ok()) throw std::runtime_error(c.status().detail());
  (*c)->Exec("DROP DATABASE IF EXISTS \"" + name + "\"");
  auto r = (*c)->Exec("CREATE DATABASE \"" + name + "\"");
  if (auto* e = std::get_if<pg::Error>(&r)) throw std::runtime_error(e->message);
  return "host=" + SharedPostgres().socket_dir() + " port=5432 user=postgres dbname=" + name;
}

Catalogd::Catalogd(CatalogdOptions options) : options_(std::move(options)) {
  if (options_.data_dir.empty()) options_.data_dir = MakeTestDir("catalogd");
  log_path_ = options_.data_dir + "/catalogd.log";
}

Catalogd::~Catalogd() {
  if (pid_ > 0) Stop(std::chrono::seconds(10));
}

namespace {
std::size_t FileSize(const std::string& path) {
  std::error_code ec;
  auto n = fs::file_size(path, ec);
  return ec ? 0 : static_cast<std::size_t>(n);
}
}  // namespace

bool Catalogd::Launch() {
  log_offset_ = FileSize(log_path_);  // a restart appends to the same log
  SpawnOptions s;
  s.argv = {CATALOGD_BIN,
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            options_.data_dir,
            "--read-timeout",
            "5",
            "--drain-timeout",
            "10",
            "--region",
            "test",
            "--zone",
            "z1"};
  if (!options_.database_url.empty()) {
    s.argv.push_back("--database-url");
    s.argv.push_back(options_.database_url);
  }
  for (const auto& a : options_.extra_args) s.argv.push_back(a);
  s.log_path = log_path_;
  s.extra_env = options_.extra_env;
  if (options_.with_tokens) {
    std::string tokens = options_.data_dir + "/test-tokens.yaml";
    std::ofstream(tokens) << "tokens:\n  - role: client\n    token: " << kOtherClientToken
                          << "\n  - role: client\n    synthetic: true\n    token: " << kCanaryToken << "\n";
    s.argv.push_back("--tokens-file");
    s.argv.push_back(tokens);
    s.extra_env.push_back("CATALOGD_ADMIN_TOKEN=" + kAdminToken);
    s.extra_env.push_back("CATALOGD_CLIENT_TOKEN=" + kClientToken);
  }
  auto pid = Spawn(s);
  if (!pid.ok()) return false;
  pid_ = *pid;
  return true;
}

bool Catalogd::WaitUntilUp(std::chrono::seconds timeout) {
  // The port is chosen by the kernel (--listen :0) and read back from the startup log line.
  bool up = WaitFor(
      [&] {
        auto log = ReadFile(log_path_);
        if (!log) return false;
        auto port = log::ListeningPort(std::string_view(*log).substr(std::min(log_offset_, log->size())));
        if (!port) return false;
        port_ = *port;
        if (Get(port_, "/healthz").status != 200) return false;
        return !options_.wait_ready || Get(port_, "/readyz").status == 200;
      },
      timeout);
  if (!up) {
    auto log = ReadFile(log_path_).value_or("");
    std::cerr << "catalogd did not come up; log tail:\n"
              << (log.size() > 3000 ? log.substr(log.size() - 3000) : log) << "\n";
  }
  return up;
}

int Catalogd::Stop(std::chrono::seconds timeout) {
  if (pid_ <= 0) return 0;
  kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int st = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &st, 0);
  pid_ = -1;
  return -1;
}

namespace {
Catalogd* g_shared = nullptr;
std::string g_shared_url;
}  // namespace

const std::string& SharedDatabaseUrl() {
  SharedCatalogd();
  return g_shared_url;
}

Catalogd& SharedCatalogd() {
  if (!g_shared) {
    g_shared_url = CreateDatabase("api");
    CatalogdOptions o;
    o.database_url = g_shared_url;
    // The suites send thousands of requests from one address in bursts; rate limits have their
    // own test (api_overload_test.cc).
    // The machine is busy with the other processes of the suites: network-thread delay must not make
    // this instance refuse listings (admission has its own tests, api_overload_test.cc).
    o.extra_args = {"--deploy-id",         "test-deploy-7", "--rate-limit-anonymous",      "off",
                    "--rate-limit-client", "off",           "--admission-target-delay-ms", "2000"};
    g_shared = new Catalogd(o);
    if (!g_shared->Start()) std::abort();
  }
  return *g_shared;
}

void StopSharedProcesses() {
  if (g_shared) {
    g_shared->Stop();
    delete g_shared;
    g_shared = nullptr;
  }
  SharedPostgres().Stop();
}

bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string Unique(const std::string& prefix) {
  static std::atomic<int> n{0};
  return prefix + "-" + RandomHex(4) + "-" + std::to_string(n++);
}

std::string QueryOne(const std::string& conninfo, const std::string& sql, const std::vector<std::string>& params) {
  auto c = pg::Connect(conninfo, std::chrono::seconds(10));
  if (!c.ok()) return "<no connection>";
  std::vector<pg::Param> ps(params.begin(), params.end());
  // Without parameters, several statements may be sent at once (the answer is the last one's).
  auto r = ps.empty() ? (*c)->ExecScript(sql) : (*c)->Exec(sql, ps);
  if (auto* e = std::get_if<pg::Error>(&r)) return "<error " + e->message + ">";
  auto& rows = std::get<pg::Rows>(r);
  return rows.size() == 0 ? "" : std::string(rows.Get(0, 0));
}

OwnDatabase::OwnDatabase(const std::string& name, std::vector<std::string> args)
    : pg([&] {
        EmbeddedPgOptions po;
        po.root = MakeTestDir(name) + "/pg";
        po.database = name;
        return po;
      }()),
      catalogd_args(std::move(args)) {}

std::unique_ptr<Catalogd> StartCatalogd(const std::string& database_url, std::vector<std::string> args) {
  CatalogdOptions o;
  o.database_url = database_url;
  o.extra_args = std::move(args);
  auto c = std::make_unique<Catalogd>(o);
  if (!c->Start()) return nullptr;
  return c;
}

bool OwnDatabase::Start() {
  if (!pg.Start().ok()) return false;
  catalogd = StartCatalogd(pg.conninfo(), catalogd_args);
  return catalogd != nullptr;
}

}  // namespace techmoda::test
