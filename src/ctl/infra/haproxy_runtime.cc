#include "ctl/infra/haproxy_runtime.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <sstream>
#include <vector>

namespace techmoda::ctl {

Result<std::string> HaproxyCommand(const std::string& socket_path, const std::string& command,
                                   std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof addr.sun_path) return Status::Invalid("socket path too long: " + socket_path);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Internal("socket: " + std::string(std::strerror(errno)));
  auto fail = [&](const std::string& what) -> Status {
    std::string msg = "HAProxy's runtime API at " + socket_path + ": " + what;
    close(fd);
    return Status::Unavailable(msg);
  };
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return fail(std::strerror(errno));
  // One command per connection: HAProxy answers and closes.
  std::string line = command + "\n";
  // MSG_NOSIGNAL: a socket HAProxy closed (a reload) is an error here, not a SIGPIPE that kills us.
  if (send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size()))
    return fail("write failed");
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[8192];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return fail("no complete answer in time");
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) return fail(std::strerror(errno));
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return out;
}

std::map<std::string, BalancerServer> ParseShowStat(const std::string& csv, const std::string& backend) {
  std::map<std::string, BalancerServer> out;
  std::istringstream in(csv);
  std::string line;
  std::vector<std::string> header;
  auto split = [](const std::string& s) {
    std::vector<std::string> f;
    std::string cur;
    for (char c : s) {
      if (c == ',') {
        f.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    f.push_back(cur);
    return f;
  };
  auto column = [&](const std::string& name) -> int {
    for (std::size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return static_cast<int>(i);
    return -1;
  };
  while (std::getline(in, line)) {
    if (line.rfind("# ", 0) == 0) {
      header = split(line.substr(2));
      continue;
    }
    if (header.empty() || line.empty()) continue;
    auto f = split(line);
    int px = column("pxname"), sv = column("svname"), st = column("status"), sc = column("scur"), qc = column("qcur");
    if (px < 0 || sv < 0 || st < 0 || static_cast<int>(f.size()) <= std::max({px, sv, st, sc})) continue;
    if (f[px] != backend || f[sv] == "FRONTEND") continue;
    BalancerServer s;
    s.status = f[st];
    if (sc >= 0 && !f[sc].empty()) s.sessions = std::atoi(f[sc].c_str());
    if (qc >= 0 && qc < static_cast<int>(f.size()) && !f[qc].empty()) s.queued = std::atoi(f[qc].c_str());
    out[f[sv]] = s;
  }
  return out;
}

}  // namespace techmoda::ctl
