#include "ctl/infra/supervisor.h"

#include <gtest/gtest.h>

namespace techmoda::ctl {
namespace {

// supervisorctl as a script: each call answers the next canned output, and records what was asked.
class ScriptedRunner final : public ProcessRunner {
 public:
  explicit ScriptedRunner(std::vector<std::string> answers) : answers_(std::move(answers)) {}
  int Run(const std::vector<std::string>& argv, std::string* output) override {
    calls.push_back(argv);
    *output = calls.size() <= answers_.size() ? answers_[calls.size() - 1] : "";
    return 0;
  }
  std::vector<std::vector<std::string>> calls;

 private:
  std::vector<std::string> answers_;
};

Topology SmallTopology() {
  auto t = ParseTopology("name: t\nregions:\n  - name: a\n    id: 9\n    zones: [a1, a2]\n", "t.yaml", "/tmp/var");
  EXPECT_TRUE(t.ok()) << t.status().detail();
  return *t;
}

TEST(Supervisor, TheThirdStartFailingIsReportedByName) {
  Topology t = SmallTopology();
  ScriptedRunner run({"etcd-a1: started\n", "etcd-a2: started\n", "patroni-a1: ERROR (spawn error)\n"});
  EXPECT_TRUE(StartPrograms(t, {"etcd-a1"}, run).ok());
  EXPECT_TRUE(StartPrograms(t, {"etcd-a2"}, run).ok());
  Status third = StartPrograms(t, {"patroni-a1"}, run);
  EXPECT_EQ(third.code(), Code::kUnavailable);
  EXPECT_NE(third.detail().find("patroni-a1"), std::string::npos) << third.detail();
  ASSERT_EQ(run.calls.size(), 3u);
  EXPECT_EQ(run.calls[2].back(), "patroni-a1");
  EXPECT_EQ(run.calls[2][0], "/usr/bin/supervisorctl");
}

TEST(Supervisor, AlreadyStartedAndNotRunningAreNotFailures) {
  Topology t = SmallTopology();
  ScriptedRunner run(
      {"etcd-a1: ERROR (already started)\n", "etcd-a1: ERROR (not running)\n", "patroni-a1: ERROR (not running)\n"});
  EXPECT_TRUE(StartPrograms(t, {"etcd-a1"}, run).ok());
  EXPECT_TRUE(StopPrograms(t, {"etcd-a1"}, run).ok());
  // A restart that never says "started" did not happen.
  EXPECT_FALSE(RestartProgram(t, "patroni-a1", run).ok());
}

}  // namespace
}  // namespace techmoda::ctl
