// The real implementations of the seams in include/techmoda (Clock, ProcessRunner).
#include <thread>

#include "common/process.h"
#include "techmoda/clock.h"
#include "techmoda/process_runner.h"

namespace techmoda {

namespace {

class SteadyClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override { return std::chrono::steady_clock::now(); }
  void SleepFor(std::chrono::nanoseconds d) override { std::this_thread::sleep_for(d); }
};

class ForkExecRunner final : public ProcessRunner {
 public:
  int Run(const std::vector<std::string>& argv, std::string* output) override { return RunCapture(argv, output); }
};

}  // namespace

Clock& RealClock() {
  static SteadyClock clock;
  return clock;
}

ProcessRunner& RealProcessRunner() {
  static ForkExecRunner runner;
  return runner;
}

}  // namespace techmoda
