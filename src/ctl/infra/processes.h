// The OS users a topology runs its zones as, and their processes, from /proc: a zone's processes are
// exactly those of its user, which is how drills find what to kill, stop or cut off.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ctl/topology/render.h"
#include "techmoda/status.h"

namespace techmoda::ctl {

std::optional<uid_t> UidOf(const std::string& user);
// Creates a system user (no home, no shell) unless it exists.
Status EnsureUser(const std::string& user);
// Every process whose real user is `uid`.
std::vector<pid_t> ProcessesOf(uid_t uid);
// The short name of a process and its parent's pid, from /proc (empty name if it is gone).
std::pair<std::string, pid_t> CommAndParent(pid_t pid);
// A PostgreSQL backend whose postmaster is gone: named postgres, its parent neither a postmaster nor
// Patroni.
bool IsOrphanedPostgres(pid_t pid);

// Writes a rendered file whole (a temporary file renamed over it, so no reader sees half of it),
// with its mode and owner; creates its folder.
Status WriteRenderedFile(const RenderedFile& f);

}  // namespace techmoda::ctl
