#include "ctl/infra/supervisor.h"

#include <filesystem>
#include <sstream>

#include "common/process.h"

namespace fs = std::filesystem;

namespace techmoda::ctl {

std::string SupervisorCtl(const Topology& t, std::vector<std::string> args, int* rc, ProcessRunner& run) {
  std::vector<std::string> argv{"/usr/bin/supervisorctl", "-c", t.SupervisorConf()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  int code = run.Run(argv, &out);
  if (rc) *rc = code;
  return out;
}

bool SupervisorRunning(const Topology& t) {
  auto pid = ReadFile(t.SupervisorPidFile());
  if (!pid) return false;
  try {
    return IsProcessAlive(static_cast<pid_t>(std::stol(*pid))) && fs::exists(t.SupervisorSocket());
  } catch (...) {
    return false;
  }
}

std::map<std::string, std::pair<std::string, pid_t>> ProgramStates(const Topology& t, ProcessRunner& run) {
  std::map<std::string, std::pair<std::string, pid_t>> out;
  if (!SupervisorRunning(t)) return out;
  std::istringstream in(SupervisorCtl(t, {"status"}, nullptr, run));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string name, state, word;
    ls >> name >> state;
    pid_t pid = 0;
    while (ls >> word)
      if (word == "pid" && ls >> word) pid = static_cast<pid_t>(std::atol(word.c_str()));
    if (!name.empty() && !state.empty()) out[name] = {state, pid};
  }
  return out;
}

Status StartPrograms(const Topology& t, const std::vector<std::string>& names, ProcessRunner& run) {
  if (names.empty()) return Status::Ok();
  std::vector<std::string> args{"start"};
  args.insert(args.end(), names.begin(), names.end());
  int rc = 0;
  std::string out = SupervisorCtl(t, args, &rc, run);
  for (const auto& n : names)
    if (out.find(n + ": ERROR") != std::string::npos && out.find("already started") == std::string::npos)
      return Status::Unavailable("supervisord could not start " + n + ": " + out);
  return Status::Ok();
}

Status StopPrograms(const Topology& t, const std::vector<std::string>& names, ProcessRunner& run) {
  if (names.empty()) return Status::Ok();
  std::vector<std::string> args{"stop"};
  args.insert(args.end(), names.begin(), names.end());
  int rc = 0;
  std::string out = SupervisorCtl(t, args, &rc, run);
  for (const auto& n : names)
    if (out.find(n + ": ERROR") != std::string::npos && out.find("not running") == std::string::npos)
      return Status::Unavailable("supervisord could not stop " + n + ": " + out);
  return Status::Ok();
}

Status RestartProgram(const Topology& t, const std::string& name, ProcessRunner& run) {
  // "restart" of a stopped program says "ERROR (not running)" before "started": only the latter counts.
  std::string out = SupervisorCtl(t, {"restart", name}, nullptr, run);
  if (out.find(": started") == std::string::npos)
    return Status::Unavailable("supervisorctl restart " + name + ": " + out);
  return Status::Ok();
}

}  // namespace techmoda::ctl
