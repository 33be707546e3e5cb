#include "ctl/infra/drill_zones.h"

#include <pwd.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "common/process.h"
#include "ctl/infra/processes.h"
#include "ctl/topology/render.h"

namespace fs = std::filesystem;

namespace techmoda::ctl {

namespace {

// A folder is a mount point when it sits on another device than its parent.
bool IsMountPoint(const std::string& dir) {
  struct stat self {
  }, parent{};
  if (stat(dir.c_str(), &self) != 0 || stat((dir + "/..").c_str(), &parent) != 0) return false;
  return self.st_dev != parent.st_dev;
}

Status MountWalDisk(const Topology& t, const Zone& z) {
  std::string dir = Topology::WalDiskDir(z);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (IsMountPoint(dir)) return Status::Ok();
  if (fs::exists(z.dir + "/pg/data/PG_VERSION"))
    return Status::Invalid("zone " + z.name + ": its database exists but its pg_wal filesystem (" + dir +
                           ", a tmpfs: drills.wal_disk_mb) is gone, and its WAL with it (the machine restarted?); "
                           "start afresh with `catalogctl down --purge`");
  struct passwd* pw = getpwnam(z.os_user.c_str());
  if (!pw) return Status::Internal("zone " + z.name + ": no OS user " + z.os_user);
  std::string options = "size=" + std::to_string(t.drills.wal_disk_mb) +
                        "m,mode=0700,uid=" + std::to_string(pw->pw_uid) + ",gid=" + std::to_string(pw->pw_gid);
  if (mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options.c_str()) != 0)
    return Status::Internal("zone " + z.name + ": cannot mount a " + std::to_string(t.drills.wal_disk_mb) +
                            " MiB tmpfs for pg_wal at " + dir + ": " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace

Status PrepareDrillZones(const Topology& t) {
  if (t.drills.clock_skew && !fs::exists(ClockSkewLibrary()))
    return Status::Invalid("drills.clock_skew needs " + ClockSkewLibrary() +
                           ", built with catalogctl (scripts/build.sh builds it)");
  for (const auto* z : t.AllZones()) {
    if (t.drills.wal_disk_mb > 0)
      if (auto st = MountWalDisk(t, *z); !st.ok()) return st;
    if (t.drills.clock_skew && !fs::exists(Topology::ClockOffsetFile(*z)))
      if (auto st = SetClockOffset(*z, 0); !st.ok()) return st;
  }
  return Status::Ok();
}

int ReleaseWalDisks(const Topology& t) {
  int released = 0;
  for (const auto* z : t.AllZones()) {
    std::string dir = Topology::WalDiskDir(*z);
    if (IsMountPoint(dir) && umount2(dir.c_str(), MNT_DETACH) == 0) ++released;
  }
  return released;
}

Status SetClockOffset(const Zone& z, double seconds) {
  // Signed seconds from the real clock, "+90" or "-30", written whole.
  long long s = std::llround(seconds);
  return WriteRenderedFile({Topology::ClockOffsetFile(z), (s >= 0 ? "+" : "") + std::to_string(s) + "\n", 0644, ""});
}

double ClockOffset(const Zone& z) {
  auto text = ReadFile(Topology::ClockOffsetFile(z));
  if (!text) return 0;
  try {
    return std::stod(*text);
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace techmoda::ctl
