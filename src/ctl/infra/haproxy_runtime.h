// HAProxy's runtime API over its stats socket ("stats socket ... level admin" in haproxy.cfg).
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "techmoda/status.h"

namespace techmoda::ctl {

// Sends one command and returns HAProxy's answer; kUnavailable when the socket does not answer
// within `timeout`.
Result<std::string> HaproxyCommand(const std::string& socket_path, const std::string& command,
                                   std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

struct BalancerServer {
  std::string status;  // "UP", "DOWN", "MAINT", "DRAIN", "UP 1/2", ...
  int sessions = 0;    // current sessions (scur)
  int queued = 0;      // requests waiting for it (qcur); on the BACKEND row, the backend's whole queue
  bool InMaintenance() const { return status.rfind("MAINT", 0) == 0; }
};
// Server name -> state for one backend, from the CSV of `show stat`.
std::map<std::string, BalancerServer> ParseShowStat(const std::string& csv, const std::string& backend);

}  // namespace techmoda::ctl
