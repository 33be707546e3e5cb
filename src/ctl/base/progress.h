// Progress of long operations: lines an operator reads while a command works ("etcd: 3/3 healthy  2.1 s").
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

#include "techmoda/status.h"

namespace techmoda::ctl {

// Receives one progress line at a time.
using Progress = std::function<void(const std::string&)>;

// Seconds since `t0`, and a duration as progress lines show it ("2.1 s").
inline double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
inline std::string FormatSeconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

// Polls `ready` (how many of `total` are ready) every 200 ms until all are or `deadline` passes,
// printing `what` with the count every 2 s. kUnavailable, with the count, at the deadline.
Status WaitUntil(const std::string& what, int total, std::chrono::steady_clock::time_point deadline,
                 const Progress& progress, const std::function<int()>& ready);

}  // namespace techmoda::ctl
