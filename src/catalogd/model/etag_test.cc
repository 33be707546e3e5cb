#include "catalogd/model/etag.h"

#include <gtest/gtest.h>

namespace techmoda::model {
namespace {

TEST(Etag, StrongAndWeakListMatching) {
  EXPECT_EQ(EtagOf(3), "\"3\"");
  EXPECT_TRUE(EtagListMatches("\"3\"", "\"3\"", EtagComparison::kStrong));
  EXPECT_TRUE(EtagListMatches("\"1\", \"3\"", "\"3\"", EtagComparison::kStrong));
  EXPECT_TRUE(EtagListMatches("*", "\"3\"", EtagComparison::kStrong));
  EXPECT_FALSE(EtagListMatches("W/\"3\"", "\"3\"", EtagComparison::kStrong));  // If-Match never matches weak tags
  EXPECT_TRUE(EtagListMatches("W/\"3\"", "\"3\"", EtagComparison::kWeak));
  EXPECT_FALSE(EtagListMatches("\"30\"", "\"3\"", EtagComparison::kWeak));
  EXPECT_FALSE(EtagListMatches("", "\"3\"", EtagComparison::kWeak));
  EXPECT_FALSE(EtagListMatches("3", "\"3\"", EtagComparison::kWeak));
}

}  // namespace
}  // namespace techmoda::model
