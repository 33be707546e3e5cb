// The replay rule of `dr recover` for product changes: a later change carries only what it changed.
#include "ctl/dr/recover.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace techmoda::ctl::dr {
namespace {

namespace json = boost::json;

json::object Product(long long price, const char* description) {
  return {{"name", "Coat"},
          {"description", description},
          {"brand", "TM"},
          {"category", "women/coats"},
          {"price", {{"amount", price}, {"currency", "EUR"}}},
          {"attributes", json::object{}},
          {"variants", json::array{{{"sku", "c-1"}}}},
          {"status", "active"}};
}

TEST(MergeProductChange, AFieldTheChangeDidNotTouchKeepsTheRecoveredValue) {
  // A bad deployment set the price to 1 (skipped); then an editor changed the description of the
  // product as it then was (price 1). Only the description is replayed: the price stays 4990.
  auto recovered = Product(4990, "warm");
  auto m = MergeProductChange(recovered, Product(1, "warm"), Product(1, "very warm"));
  EXPECT_TRUE(m.conflicts.empty());
  ASSERT_EQ(m.changed, std::vector<std::string>{"description"});
  EXPECT_EQ(m.merged.at("price").at("amount").to_number<long long>(), 4990);
  EXPECT_EQ(m.merged.at("description").as_string(), "very warm");
}

TEST(MergeProductChange, AFieldASkippedChangeAlsoAlteredIsAConflict) {
  // The editor repriced a product whose price a skipped change had altered: neither value is sure.
  auto recovered = Product(4990, "warm");
  auto m = MergeProductChange(recovered, Product(1, "warm"), Product(3990, "warm"));
  EXPECT_EQ(m.conflicts, std::vector<std::string>{"price"});
}

TEST(MergeProductChange, AChangeAlreadyThereChangesNothing) {
  auto m = MergeProductChange(Product(3990, "warm"), Product(4990, "warm"), Product(3990, "warm"));
  EXPECT_TRUE(m.conflicts.empty());
  EXPECT_TRUE(m.changed.empty());
}

TEST(MergeProductChange, AMissingFieldIsNull) {
  // The change log leaves out an absent description; the recovered row has it as null.
  auto recovered = Product(4990, "x");
  recovered["description"] = nullptr;
  auto before = Product(4990, "x");
  before.erase("description");
  auto after = Product(4990, "now described");
  auto m = MergeProductChange(recovered, before, after);
  EXPECT_TRUE(m.conflicts.empty());
  EXPECT_EQ(m.merged.at("description").as_string(), "now described");
}

}  // namespace
}  // namespace techmoda::ctl::dr
