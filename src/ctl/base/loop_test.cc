#include "ctl/base/loop.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace techmoda::ctl {
namespace {

using namespace std::chrono_literals;

TEST(ControlLoop, AnIterationThatThrowsIsReportedAndTheNextRuns) {
  ControlLoop loop({"test", 1ms, 0s, 5});
  int ran = 0;
  ASSERT_TRUE(loop.Run([&] {
                    ++ran;
                    if (ran == 2) throw std::runtime_error("a bad answer");
                  })
                  .ok());
  EXPECT_EQ(ran, 5);
  EXPECT_EQ(loop.failed_iterations(), 1);
}

TEST(ControlLoop, ALongActionRunsInTheBackgroundWhileIterationsGoOn) {
  ControlLoop loop({"test", 5ms, 0s, 40});
  std::atomic<bool> release{false};
  int seen_in_progress = 0, started = 0;
  std::optional<std::pair<std::string, Status>> finished;
  loop.Run([&] {
    if (loop.iteration() == 0)
      started += loop.StartBackground("restore", [&] {
        while (!release) std::this_thread::sleep_for(1ms);
        return Status::Unavailable("no repository");
      });
    // A second one is refused while the first runs.
    if (loop.iteration() == 1) started += loop.StartBackground("restore again", [] { return Status::Ok(); });
    if (loop.InProgress()) ++seen_in_progress;
    if (loop.iteration() == 10) release = true;
    if (auto f = loop.TakeFinished()) finished = f;
  });
  EXPECT_EQ(started, 1);
  EXPECT_GE(seen_in_progress, 10);
  ASSERT_TRUE(finished.has_value());
  EXPECT_EQ(finished->first, "restore");
  EXPECT_EQ(finished->second.code(), Code::kUnavailable);
}

}  // namespace
}  // namespace techmoda::ctl

namespace techmoda::ctl {
namespace {

// A clock that stands still until told to jump, and whose sleeps move it on by what was asked.
class JumpingClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override { return now_; }
  void SleepFor(std::chrono::nanoseconds d) override { now_ += d; }
  void Jump(std::chrono::seconds by) { now_ += by; }

 private:
  std::chrono::steady_clock::time_point now_{};
};

TEST(ControlLoop, StopsWhenItsDurationHasPassedOnItsClock) {
  JumpingClock clock;
  ControlLoop loop({"test", 1s, 60s, 0, &clock});
  int ran = 0;
  loop.Run([&] {
    if (++ran == 3) clock.Jump(3600s);  // a suspended machine wakes up: the duration is long gone
  });
  EXPECT_EQ(ran, 3);
}

}  // namespace
}  // namespace techmoda::ctl
