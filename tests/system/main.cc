// api_tests: starts one PostgreSQL and one catalogd for the suites, and stops exactly those at the end.
#include <gtest/gtest.h>
#include <signal.h>

#include "tests/system/harness.h"

namespace techmoda::test {
void StopSharedProcesses();
}

class SharedProcesses : public ::testing::Environment {
 public:
  void TearDown() override { techmoda::test::StopSharedProcesses(); }
};

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new SharedProcesses);
  return RUN_ALL_TESTS();
}
