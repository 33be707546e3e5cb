#include "common/process.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/log.h"

namespace techmoda {

Result<RunAs> UnprivilegedIdentity() {
  RunAs r;
  if (geteuid() != 0) {
    r.uid = geteuid();
    r.gid = getegid();
    return r;
  }
  struct passwd* pw = getpwnam("postgres");
  if (!pw) return Status::Internal("running as root needs the 'postgres' user (apt-get install postgresql-15)");
  r.user = "postgres";
  r.uid = pw->pw_uid;
  r.gid = pw->pw_gid;
  return r;
}

Result<pid_t> Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return Status::Internal("Spawn: empty argv");
  std::vector<char*> argv;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return Status::Internal(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Child: only async-signal-safe work from here on.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);  // the parent may block signals for its sigwait thread
    setpgid(0, 0);                             // its own process group, so a terminal's ^C does not reach it directly
    if (!options.log_path.empty()) {
      int fd = open(options.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    if (!options.run_as.user.empty()) {
      if (initgroups(options.run_as.user.c_str(), options.run_as.gid) != 0 || setgid(options.run_as.gid) != 0 ||
          setuid(options.run_as.uid) != 0)
        _exit(126);
    }
    // Set after setuid: a change of credentials clears the parent-death signal.
    if (options.die_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGINT);
      if (getppid() != parent) _exit(125);
    }
    for (const auto& e : options.extra_env) putenv(const_cast<char*>(e.c_str()));
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

Result<int> RunToCompletion(const SpawnOptions& options, std::chrono::seconds timeout) {
  auto pid = Spawn(options);
  if (!pid.ok()) return pid.status();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int st = 0;
    pid_t r = waitpid(*pid, &st, WNOHANG);
    if (r == *pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (r < 0) return Status::Internal(std::string("waitpid: ") + std::strerror(errno));
    if (std::chrono::steady_clock::now() > deadline) {
      StopChild(*pid, SIGKILL, std::chrono::seconds(5));
      return Status::Unavailable(options.argv[0] + " did not finish within " + std::to_string(timeout.count()) + " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool StopChild(pid_t pid, int sig, std::chrono::milliseconds timeout) {
  if (pid <= 0) return true;
  kill(pid, sig);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int st = 0;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return false;
}

bool IsProcessAlive(pid_t pid) {
  if (pid <= 0 || kill(pid, 0) != 0) return false;
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  auto close = stat->rfind(')');
  return close == std::string::npos || close + 2 >= stat->size() || (*stat)[close + 2] != 'Z';
}

Status EnsureTraversable(const std::string& dir, const RunAs& who) {
  if (who.user.empty()) return Status::Ok();
  for (std::filesystem::path p = dir; !p.empty(); p = p.parent_path()) {
    struct stat st {};
    if (stat(p.c_str(), &st) == 0) {
      bool ok = (st.st_uid == who.uid && (st.st_mode & S_IXUSR)) || (st.st_gid == who.gid && (st.st_mode & S_IXGRP)) ||
                (st.st_mode & S_IXOTH);
      if (!ok && geteuid() == 0) {
        SpawnOptions acl;
        acl.argv = {"/usr/bin/setfacl", "-m", "u:" + who.user + ":x", p.string()};
        acl.die_with_parent = false;
        auto rc = RunToCompletion(acl, std::chrono::seconds(10));
        ok = rc.ok() && *rc == 0;
        if (ok) log::Warn("acl_granted", {{"folder", p.string()}, {"user", who.user}, {"permission", "search (x)"}});
      }
      if (!ok)
        return Status::Internal("user '" + who.user + "' cannot enter " + p.string() +
                                "; grant it search permission (setfacl -m u:" + who.user + ":x " + p.string() + ")");
    }
    if (p == p.root_path()) break;
  }
  return Status::Ok();
}

Status ChownTree(const std::string& path, uid_t uid, gid_t gid) {
  std::error_code ec;
  if (lchown(path.c_str(), uid, gid) != 0) return Status::Internal("chown " + path + ": " + std::strerror(errno));
  if (!std::filesystem::is_directory(path, ec)) return Status::Ok();
  for (auto it = std::filesystem::recursive_directory_iterator(path, ec); !ec && it != decltype(it)();
       it.increment(ec)) {
    if (lchown(it->path().c_str(), uid, gid) != 0)
      return Status::Internal("chown " + it->path().string() + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int RunCapture(const std::vector<std::string>& argv, std::string* output,
               const std::function<void(const std::string&)>& on_line) {
  std::string cmd;
  for (const auto& a : argv) {
    std::string q = "'";
    for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    cmd += q + "' ";
  }
  cmd += "2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return -1;
  char buf[4096];
  std::string out;
  std::size_t line_start = 0;
  while (std::size_t n = fread(buf, 1, on_line ? 1 : sizeof buf, f)) {
    out.append(buf, n);
    if (!on_line) continue;
    for (std::size_t nl; (nl = out.find('\n', line_start)) != std::string::npos; line_start = nl + 1)
      on_line(out.substr(line_start, nl - line_start));
  }
  if (on_line && line_start < out.size()) on_line(out.substr(line_start));
  int rc = pclose(f);
  if (output) *output = out;
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

}  // namespace techmoda
