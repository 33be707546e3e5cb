// The skeleton every catalogctl controller runs (shared/STYLE.md, "How the control loop is written"):
// one iteration at a time, observe -> decide -> act, with what no controller should write again:
// - it stops on SIGINT/SIGTERM or after its duration, between iterations;
// - an iteration that throws is logged and reported, and the next one runs (a controller that dies
//   on one bad answer is worse than one that skips it);
// - a long action (a failover, a backup) runs in the background while the iterations go on and say
//   it is in progress; its outcome is handed to the next iteration once.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "techmoda/clock.h"
#include "techmoda/mutex.h"
#include "techmoda/status.h"

namespace techmoda::ctl {

struct LoopOptions {
  std::string name;                        // the controller, in log events ("autoscale", "dr_watch")
  std::chrono::milliseconds period{1000};  // from the start of one iteration to the next
  std::chrono::seconds duration{0};        // 0: until stopped
  long max_iterations = 0;                 // 0: no limit
  Clock* clock = &RealClock();             // tests pass one that jumps
};

// Not thread-safe but for the background action, which it owns. Requires: InstallStopHandlers was
// called (the loop reads StopRequested).
class ControlLoop {
 public:
  explicit ControlLoop(LoopOptions options) : options_(std::move(options)) {}
  ~ControlLoop();
  ControlLoop(const ControlLoop&) = delete;
  ControlLoop& operator=(const ControlLoop&) = delete;

  // Runs `iteration` every period until stopped or the duration passes; then waits for a background
  // action still running. Returns Ok (a failed iteration is reported, not returned).
  Status Run(const std::function<void()>& iteration);

  // The iteration that is running (0, 1, ...).
  long iteration() const { return iteration_; }
  // Iterations that threw, so far.
  long failed_iterations() const { return failed_; }

  // Starts `action` on a thread of its own unless one is running; false when one is. Its outcome
  // comes back through TakeFinished.
  bool StartBackground(const std::string& name, std::function<Status()> action);
  // The background action's name while it runs.
  std::optional<std::string> InProgress() const;
  // The outcome of a background action that finished since the last call, once: its name and status.
  std::optional<std::pair<std::string, Status>> TakeFinished();

 private:
  void JoinBackground();

  const LoopOptions options_;
  long iteration_ = 0;
  long failed_ = 0;
  std::thread background_;
  mutable Mutex mu_;
  std::string running_ GUARDED_BY(mu_);  // empty when none
  std::optional<std::pair<std::string, Status>> finished_ GUARDED_BY(mu_);
};

}  // namespace techmoda::ctl
