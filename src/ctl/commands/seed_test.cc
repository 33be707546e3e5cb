#include "ctl/commands/seed.h"

#include <gtest/gtest.h>

#include <set>

#include "common/json_util.h"

namespace techmoda::ctl {
namespace {

TEST(SeedGenerator, IsDeterministicPerSeed) {
  auto a = GenerateProduct(41, 7), b = GenerateProduct(41, 7), c = GenerateProduct(41, 8);
  EXPECT_EQ(a.product.name, b.product.name);
  EXPECT_EQ(a.product.price.amount, b.product.price.amount);
  EXPECT_EQ(a.stock, b.stock);
  EXPECT_EQ(a.product.id, "tm-0000042");
  EXPECT_TRUE(a.product.name != c.product.name || a.product.price.amount != c.product.price.amount ||
              a.stock != c.stock);
}

TEST(SeedGenerator, ProducesValidRealisticProducts) {
  std::set<std::string> skus, categories;
  for (int i = 0; i < 2000; ++i) {
    auto sp = GenerateProduct(i, 42);
    const auto& p = sp.product;
    ASSERT_TRUE(IsValidIdentifier(p.id));
    ASSERT_FALSE(p.variants.empty());
    ASSERT_LE(p.variants.size(), 100u);
    ASSERT_EQ(sp.stock.size(), p.variants.size());
    ASSERT_GT(p.price.amount, 0);
    ASSERT_EQ(p.price.currency, "EUR");
    for (const auto& v : p.variants) {
      ASSERT_TRUE(IsValidIdentifier(v.sku)) << v.sku;
      ASSERT_TRUE(skus.insert(v.sku).second) << "duplicate sku " << v.sku;
    }
    categories.insert(p.category);
  }
  EXPECT_GE(categories.size(), 15u);
}

}  // namespace
}  // namespace techmoda::ctl
