// Starting and stopping child processes by PID, optionally as an unprivileged user.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "techmoda/status.h"

namespace techmoda {

// The identity a child runs as. Empty `user` means "as we are".
struct RunAs {
  std::string user;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Resolves the identity to run PostgreSQL as: ourselves when not root, else the `postgres` system
// user (Debian's postgresql-common creates it), since PostgreSQL refuses to run as root.
Result<RunAs> UnprivilegedIdentity();

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is the absolute path of the program
  std::string log_path;           // stdout and stderr go here (appended); empty: inherited
  RunAs run_as;
  bool die_with_parent = true;         // SIGINT the child if we die (PR_SET_PDEATHSIG)
  std::vector<std::string> extra_env;  // "NAME=value" entries added to our environment
};

// Forks and execs. Returns the child's PID. The caller owns the child and must reap it.
Result<pid_t> Spawn(const SpawnOptions& options);

// Runs to completion and returns the exit code (or 128 + signal). Output as in Spawn.
Result<int> RunToCompletion(const SpawnOptions& options, std::chrono::seconds timeout);

// Sends `sig`, then waits until the child exits or the timeout passes, then SIGKILLs it.
// Returns true if it exited within the timeout. Only for our own children.
bool StopChild(pid_t pid, int sig, std::chrono::milliseconds timeout);

// True when `pid` names a live process (not a zombie we have yet to reap).
bool IsProcessAlive(pid_t pid);

// Makes sure `who` can reach `dir`: every ancestor needs search permission for that user. As root,
// grants just that (an ACL entry u:<user>:x, no listing, no reading) on a folder that lacks it, such
// as a checkout under /root (mode 0700); otherwise says which folder and how to fix it.
Status EnsureTraversable(const std::string& dir, const RunAs& who);

// Recursively changes the owner of `path` (like chown -R).
Status ChownTree(const std::string& path, uid_t uid, gid_t gid);

// Runs a command of ours (fixed program, arguments we built, quoted for the shell) to completion
// with stderr joined to stdout; returns its exit code (128 when it died by a signal, -1 when it could
// not start). `on_line`, when given, sees each output line as it comes (progress of long commands).
int RunCapture(const std::vector<std::string>& argv, std::string* output,
               const std::function<void(const std::string&)>& on_line = {});

// Reads a whole file; nullopt when it cannot be read.
std::optional<std::string> ReadFile(const std::string& path);

}  // namespace techmoda
