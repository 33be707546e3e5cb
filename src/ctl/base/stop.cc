#include "ctl/base/stop.h"

#include <signal.h>

#include <atomic>

namespace techmoda::ctl {

namespace {
std::atomic<bool> g_stop{false};
void OnStop(int) { g_stop.store(true); }
}  // namespace

void InstallStopHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnStop;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

bool StopRequested() { return g_stop.load(); }

}  // namespace techmoda::ctl
