#include "ctl/base/progress.h"

#include <thread>

namespace techmoda::ctl {

using Clock = std::chrono::steady_clock;

Status WaitUntil(const std::string& what, int total, Clock::time_point deadline, const Progress& progress,
                 const std::function<int()>& ready) {
  auto start = Clock::now();
  auto next_print = start;
  while (true) {
    int n = ready();
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    if (n >= total) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "%-28s %d/%d  %5.1f s", what.c_str(), n, total, secs);
      progress(buf);
      return Status::Ok();
    }
    if (Clock::now() > deadline)
      return Status::Unavailable(what + ": only " + std::to_string(n) + " of " + std::to_string(total) + " after " +
                                 std::to_string(static_cast<int>(secs)) + " s (see `catalogctl logs`)");
    if (Clock::now() >= next_print) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "%-28s %d/%d  %5.1f s ...", what.c_str(), n, total, secs);
      progress(buf);
      next_print += std::chrono::seconds(2);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace techmoda::ctl
