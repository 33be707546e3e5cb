#include "ctl/infra/processes.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "common/process.h"

namespace fs = std::filesystem;

namespace techmoda::ctl {

std::optional<uid_t> UidOf(const std::string& user) {
  struct passwd* pw = getpwnam(user.c_str());
  if (!pw) return std::nullopt;
  return pw->pw_uid;
}

Status EnsureUser(const std::string& user) {
  if (UidOf(user)) return Status::Ok();
  std::string out;
  int rc = RunCapture({"/usr/sbin/useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
                       "/usr/sbin/nologin", user},
                      &out);
  if (rc != 0 && !UidOf(user)) return Status::Internal("useradd " + user + " failed: " + out);
  return Status::Ok();
}

std::vector<pid_t> ProcessesOf(uid_t uid) {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc", fs::directory_options::skip_permission_denied)) {
    std::string name = e.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("Uid:", 0) == 0) {
        std::istringstream ls(line.substr(4));
        uid_t real = 0;
        if (ls >> real && real == uid) out.push_back(static_cast<pid_t>(std::stol(name)));
        break;
      }
    }
  }
  return out;
}

std::pair<std::string, pid_t> CommAndParent(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto open = stat.find('('), close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return {"", 0};
  std::istringstream rest(stat.substr(close + 2));
  char state = 0;
  long ppid = 0;
  rest >> state >> ppid;
  return {stat.substr(open + 1, close - open - 1), static_cast<pid_t>(ppid)};
}

bool IsOrphanedPostgres(pid_t pid) {
  auto [comm, ppid] = CommAndParent(pid);
  if (comm != "postgres") return false;
  std::string parent = CommAndParent(ppid).first;
  return parent != "postgres" && parent != "patroni" && parent.rfind("python", 0) != 0;
}

Status WriteRenderedFile(const RenderedFile& f) {
  fs::create_directories(fs::path(f.path).parent_path());
  std::string tmp = f.path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return Status::Internal("cannot write " + tmp);
    out << f.content;
  }
  chmod(tmp.c_str(), static_cast<mode_t>(f.mode));
  if (!f.owner.empty()) {
    auto uid = UidOf(f.owner);
    struct passwd* pw = getpwnam(f.owner.c_str());
    if (uid && pw && chown(tmp.c_str(), *uid, pw->pw_gid) != 0)
      return Status::Internal("cannot give " + f.path + " to " + f.owner);
  }
  std::error_code ec;
  fs::rename(tmp, f.path, ec);
  if (ec) return Status::Internal("cannot write " + f.path + ": " + ec.message());
  return Status::Ok();
}

}  // namespace techmoda::ctl
