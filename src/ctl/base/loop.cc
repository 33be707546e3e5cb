#include "ctl/base/loop.h"

#include "common/log.h"
#include "ctl/base/stop.h"

namespace techmoda::ctl {

ControlLoop::~ControlLoop() { JoinBackground(); }

Status ControlLoop::Run(const std::function<void()>& iteration) {
  Clock& clock = *options_.clock;
  auto started = clock.Now();
  log::Info(options_.name + ".started", {{"period_ms", static_cast<std::int64_t>(options_.period.count())}});
  for (; !StopRequested(); ++iteration_) {
    auto begun = clock.Now();
    if (options_.duration.count() > 0 && begun - started >= options_.duration) break;
    if (options_.max_iterations > 0 && iteration_ >= options_.max_iterations) break;
    try {
      iteration();
    } catch (const std::exception& e) {
      ++failed_;
      log::Error(options_.name + ".iteration_failed", {{"iteration", iteration_}, {"what", e.what()}});
    } catch (...) {
      ++failed_;
      log::Error(options_.name + ".iteration_failed", {{"iteration", iteration_}, {"what", "unknown"}});
    }
    auto next = begun + options_.period;
    while (clock.Now() < next && !StopRequested()) clock.SleepFor(std::chrono::milliseconds(20));
  }
  JoinBackground();
  log::Info(options_.name + ".stopped", {{"iterations", iteration_}, {"failed_iterations", failed_}});
  return Status::Ok();
}

bool ControlLoop::StartBackground(const std::string& name, std::function<Status()> action) {
  {
    MutexLock lock(mu_);
    if (!running_.empty()) return false;
    running_ = name;
  }
  if (background_.joinable()) background_.join();  // the last one finished: reap its thread
  background_ = std::thread([this, name, action = std::move(action)] {
    Status outcome;
    try {
      outcome = action();
    } catch (const std::exception& e) {
      outcome = Status::Internal(name + " threw: " + e.what());
    }
    MutexLock lock(mu_);
    running_.clear();
    finished_ = std::make_pair(name, outcome);
  });
  return true;
}

std::optional<std::string> ControlLoop::InProgress() const {
  MutexLock lock(mu_);
  if (running_.empty()) return std::nullopt;
  return running_;
}

std::optional<std::pair<std::string, Status>> ControlLoop::TakeFinished() {
  MutexLock lock(mu_);
  return std::exchange(finished_, std::nullopt);
}

void ControlLoop::JoinBackground() {
  if (background_.joinable()) background_.join();
}

}  // namespace techmoda::ctl
