#include "catalogd/model/json_model.h"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

namespace techmoda::model {
namespace {

TEST(ProductJson, IsByteForByteTheSerializersDocument) {
  std::string every_ascii;
  for (int c = 1; c < 128; ++c) every_ascii += static_cast<char>(c);
  Product p;
  p.id = "p-1";
  p.name = every_ascii;
  p.description = "Crème \"brûlée\" / back\\slash 🧵";
  p.category = "men/shirts";
  p.price = {4990, "EUR"};
  p.attributes = {{"fit", "slim"}, {"ké\ty", "v\n"}};
  p.variants = {{"p-1-a", "M", std::nullopt}, {"p-1-b", std::nullopt, "red"}, {"p-1-c", std::nullopt, std::nullopt}};
  p.status = "active";
  p.version = 42;
  p.created_at = p.updated_at = "2026-11-26T00:00:00.000Z";
  EXPECT_EQ(ProductJson(p), boost::json::serialize(ToJson(p)));
  p.description.reset();
  p.brand = "Acme";
  p.attributes.clear();
  p.variants.clear();
  EXPECT_EQ(ProductJson(p), boost::json::serialize(ToJson(p)));
}

}  // namespace
}  // namespace techmoda::model
