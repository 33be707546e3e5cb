// System-test harness: a real PostgreSQL and real catalogd processes, each in the test's own
// folder, stopped by PID. No fixed sleeps: every wait polls a condition until a deadline.
#pragma once

#include <sys/types.h>

#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/embedded_pg.h"

namespace techmoda::test {

inline const std::string kAdminToken = "test-admin-token-0123456789";
inline const std::string kClientToken = "test-client-token-0123456789";
inline const std::string kOtherClientToken = "test-client2-token-0123456789";
// A client token that may mark its orders synthetic, as the canary's does.
inline const std::string kCanaryToken = "test-canary-token-0123456789";

// A folder under /tmp, removed at exit unless KEEP_TEST_DIRS is set.
std::string MakeTestDir(const std::string& name);

// The PostgreSQL of this test binary (started once, stopped at exit).
EmbeddedPostgres& SharedPostgres();
// A fresh empty database on it; returns its conninfo.
std::string CreateDatabase(const std::string& name);

struct CatalogdOptions {
  std::string database_url;  // empty: embedded in data_dir
  std::string data_dir;      // default: a new test folder
  std::vector<std::string> extra_args;
  std::vector<std::string> extra_env;
  bool with_tokens = true;
  bool wait_ready = true;  // Start waits for /readyz 200 (the copy loaded), not only /healthz
};

// One catalogd process. The destructor stops it (SIGTERM, then SIGKILL) if still running.
class Catalogd {
 public:
  explicit Catalogd(CatalogdOptions options);
  ~Catalogd();
  // Starts and waits until /healthz answers; false (with the log's tail printed) on failure.
  bool Start(std::chrono::seconds timeout = std::chrono::seconds(60)) { return Launch() && WaitUntilUp(timeout); }
  // The two halves of Start. Launch from a thread that outlives the process: the child is
  // signalled when the thread that forked it exits (PR_SET_PDEATHSIG).
  bool Launch();
  bool WaitUntilUp(std::chrono::seconds timeout);
  // SIGTERM and wait; returns the exit code, or -1 if it had to be killed.
  int Stop(std::chrono::seconds timeout = std::chrono::seconds(30));
  unsigned short port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  const std::string& data_dir() const { return options_.data_dir; }

 private:
  CatalogdOptions options_;
  std::string log_path_;
  pid_t pid_ = -1;
  unsigned short port_ = 0;
  std::size_t log_offset_ = 0;
};

// The catalogd of this test binary, on SharedPostgres, for the API tests.
Catalogd& SharedCatalogd();
const std::string& SharedDatabaseUrl();

// Polls `cond` every 20 ms until it is true or the timeout passes.
bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout);

// A unique suffix for ids, so tests sharing one database do not collide.
std::string Unique(const std::string& prefix);

// Runs SQL against a database and returns the first column of the first row ("" if none). Without
// params, `sql` may hold several statements; the last one's answer is returned.
std::string QueryOne(const std::string& conninfo, const std::string& sql, const std::vector<std::string>& params = {});

// Starts a catalogd on `database_url` (with extra flags) and waits until it is ready; nullptr, with
// its log's tail printed, when it does not come up.
std::unique_ptr<Catalogd> StartCatalogd(const std::string& database_url, std::vector<std::string> args = {});

// A private PostgreSQL (its own folder, stoppable) with one catalogd on it.
struct OwnDatabase {
  explicit OwnDatabase(const std::string& name, std::vector<std::string> catalogd_args = {});
  bool Start();
  EmbeddedPostgres pg;
  std::vector<std::string> catalogd_args;
  std::unique_ptr<Catalogd> catalogd;
};

}  // namespace techmoda::test
