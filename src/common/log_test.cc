#include "common/log.h"

#include <gtest/gtest.h>

#include <string>

namespace techmoda {
namespace {

TEST(ListeningPort, FromTheStartupLineOnceComplete) {
  const std::string before = R"({"ts":"t","level":"info","event":"embedded_pg.start","pid":7})"
                             "\n";
  const std::string line =
      R"({"ts":"t","level":"info","event":"catalogd.listening","address":"127.0.0.1:0","port":41234})";
  EXPECT_FALSE(log::ListeningPort(before).has_value()) << "no startup line yet";
  EXPECT_FALSE(log::ListeningPort(before + line).has_value()) << "a line still being written is not read";
  EXPECT_EQ(log::ListeningPort(before + line + "\n"), 41234);
  EXPECT_EQ(log::ListeningPort(line + "\n" +
                               R"({"event":"catalogd.listening","port":5})"
                               "\n"),
            41234)
      << "the first start's port";
  EXPECT_FALSE(log::ListeningPort(R"({"event":"catalogd.listening","port":"x"})"
                                  "\n")
                   .has_value());
  EXPECT_FALSE(log::ListeningPort(R"({"event":"catalogd.listening","port":70000})"
                                  "\n")
                   .has_value());
}

}  // namespace
}  // namespace techmoda
