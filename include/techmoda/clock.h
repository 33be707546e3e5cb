// Time as a seam: the machine's monotonic clock, or a test's that jumps (shared/STYLE.md).
#pragma once

#include <chrono>

namespace techmoda {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic now: intervals and deadlines.
  virtual std::chrono::steady_clock::time_point Now() const = 0;
  // Waits `d` (a test's clock may move itself on instead of waiting).
  virtual void SleepFor(std::chrono::nanoseconds d) = 0;
};

// The machine's clock. Thread-safe; lives as long as the process.
Clock& RealClock();

}  // namespace techmoda
