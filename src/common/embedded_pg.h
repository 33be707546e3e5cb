// A private PostgreSQL 15 under a folder of ours: initialised on first use (data checksums on),
// started as an unprivileged user, stopped when its owner is destroyed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

#include "techmoda/status.h"

namespace techmoda {

struct EmbeddedPgOptions {
  std::string root;  // e.g. ./var/pg; data lives in <root>/data
  std::string bin_dir = "/usr/lib/postgresql/15/bin";
  std::string database = "catalog";
  std::chrono::seconds start_timeout{60};
  int max_connections = 200;
};

// Not thread-safe; one owner. If a live postmaster already serves the folder, it is used and left
// running on Stop (someone else owns it).
class EmbeddedPostgres {
 public:
  explicit EmbeddedPostgres(EmbeddedPgOptions options);
  ~EmbeddedPostgres();
  EmbeddedPostgres(const EmbeddedPostgres&) = delete;
  EmbeddedPostgres& operator=(const EmbeddedPostgres&) = delete;

  // Initialises if needed, starts, waits until it accepts connections and the database exists.
  // On success conninfo() is usable. Fails with a message naming the log file.
  Status Start();
  // Fast shutdown (SIGINT) of the postmaster we started, waiting up to `timeout`.
  void Stop(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // libpq key=value connection string for the catalog database (local socket, no password).
  const std::string& conninfo() const { return conninfo_; }
  pid_t pid() const { return pid_; }
  bool owns_process() const { return owned_; }
  const std::string& socket_dir() const { return socket_dir_; }

 private:
  Status InitDbIfNeeded();
  EmbeddedPgOptions options_;
  std::string data_dir_;
  std::string socket_dir_;
  std::string log_path_;
  std::string conninfo_;
  pid_t pid_ = -1;
  bool owned_ = false;
};

// The socket folder embedded PostgreSQL uses for a root folder: <root>/run when the socket path fits
// the 107-byte limit of Unix sockets, else a short folder under /tmp derived from the root's path.
std::string EmbeddedSocketDir(const std::string& root);

// The conninfo catalogctl uses to reach a catalogd's embedded database under `data_dir`.
std::string EmbeddedConninfo(const std::string& data_dir, const std::string& database = "catalog");

}  // namespace techmoda
