#include "catalogd/model/validate.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace techmoda::model {
namespace {

namespace json = boost::json;

json::value Valid() {
  return json::parse(R"({"name":"Linen shirt","category":"men/shirts","price":{"amount":4990,"currency":"EUR"},
                         "variants":[{"sku":"tm-1-M","size":"M","color":"white"}]})");
}

bool Has(const Status& s, const std::string& pointer) {
  for (const auto& e : s.errors())
    if (e.pointer == pointer) return true;
  return false;
}

TEST(ParseJsonBody, RejectsWhatIsNotJson) {
  EXPECT_TRUE(ParseJsonBody(R"({"a":1})").ok());
  EXPECT_EQ(ParseJsonBody("").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseJsonBody("{").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseJsonBody("{} {}").status().code(), Code::kInvalidArgument);
  EXPECT_NE(ParseJsonBody("\"\xff\"").status().detail().find("UTF-8"), std::string::npos);
  EXPECT_NE(ParseJsonBody(std::string(40, '[') + std::string(40, ']')).status().detail().find("deeper"),
            std::string::npos);
  EXPECT_FALSE(ParseJsonBody(R"({"a":"x\u0000y"})").ok());
  EXPECT_FALSE(ParseJsonBody(R"({"a\u0000":1})").ok());
  EXPECT_NE(ParseJsonBody(R"({"a":1,"b":{"c":1,"c":2}})").status().detail().find("\"c\""), std::string::npos);
  EXPECT_FALSE(ParseJsonBody(R"({"a":1,"a":1})").ok());
  EXPECT_TRUE(ParseJsonBody(R"({"a":{"x":1},"b":{"x":1},"c":[{"x":1},{"x":2}]})").ok());  // same name, other objects
}

TEST(ParseProduct, AcceptsAValidBodyWithDefaults) {
  auto p = ParseProduct(Valid(), std::nullopt, "tm-gen");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->id, "tm-gen");
  EXPECT_EQ(p->status, "active");
  EXPECT_EQ(p->price.amount, 4990);
  EXPECT_EQ(p->variants.at(0).size, "M");
  EXPECT_FALSE(p->description.has_value());
}

TEST(ParseProduct, ReportsEveryProblemWithItsPointer) {
  auto v = Valid();
  auto& o = v.as_object();
  o["price"] = json::parse(R"({"amount": 4990.0, "currency": "Eur"})");
  o["extra"] = 1;
  o.erase("name");
  auto p = ParseProduct(v, std::nullopt, "x");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(Has(p.status(), "/price/amount"));
  EXPECT_TRUE(Has(p.status(), "/price/currency"));
  EXPECT_TRUE(Has(p.status(), "/extra"));
  EXPECT_TRUE(Has(p.status(), "/name"));
}

TEST(ParseProduct, PathIdMustMatchBodyId) {
  auto v = Valid();
  v.as_object()["id"] = "tm-2";
  EXPECT_TRUE(Has(ParseProduct(v, std::string_view("tm-1"), "").status(), "/id"));
  auto ok = ParseProduct(v, std::string_view("tm-2"), "");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->id, "tm-2");
}

TEST(ParseProduct, IgnoresServerOwnedFields) {
  auto v = Valid();
  v.as_object()["version"] = 9;
  v.as_object()["created_at"] = "x";
  EXPECT_TRUE(ParseProduct(v, std::nullopt, "x").ok());
}

TEST(ParseProduct, PointerEscapesSlashAndTilde) {
  auto v = Valid();
  v.as_object()["attributes"] = json::parse(R"({"a/b~c": 1})");
  EXPECT_TRUE(Has(ParseProduct(v, std::nullopt, "x").status(), "/attributes/a~1b~0c"));
}

TEST(ParseOrder, RulesOfLines) {
  EXPECT_TRUE(ParseOrder(json::parse(R"({"customer_id":"c-1","lines":[{"sku":"a","quantity":1000}]})")).ok());
  auto dup =
      ParseOrder(json::parse(R"({"customer_id":"c-1","lines":[{"sku":"a","quantity":1},{"sku":"a","quantity":2}]})"));
  EXPECT_TRUE(Has(dup.status(), "/lines/1/sku"));
  EXPECT_TRUE(Has(ParseOrder(json::parse(R"({"customer_id":"c-1","lines":[{"sku":"a","quantity":1001}]})")).status(),
                  "/lines/0/quantity"));
  EXPECT_TRUE(Has(ParseOrder(json::parse(R"({"customer_id":"c-1","lines":[{"sku":"a","quantity":1e2}]})")).status(),
                  "/lines/0/quantity"));
  EXPECT_TRUE(Has(ParseOrder(json::parse(R"({"lines":[{"sku":"a","quantity":1}]})")).status(), "/customer_id"));
}

TEST(ParseStock, OnHandAndDelta) {
  EXPECT_EQ(*ParseOnHand(json::parse(R"({"on_hand": 12})")), 12);
  EXPECT_FALSE(ParseOnHand(json::parse(R"({"on_hand": -1})")).ok());
  EXPECT_EQ(*ParseDelta(json::parse(R"({"delta": -3})")), -3);
  EXPECT_FALSE(ParseDelta(json::parse(R"({"delta": 3, "why": "x"})")).ok());
  EXPECT_FALSE(ParseDelta(json::parse(R"({"delta": 99999999999999999999})")).ok());
}

TEST(ParseProductQuery, ValidatesEveryParameter) {
  auto q = ParseProductQuery({{"category", "men/shirts"}, {"q", "linen"}, {"min_price", "0"}, {"limit", "200"}});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->limit, 200);
  EXPECT_EQ(q->status, "active");
  EXPECT_FALSE(ParseProductQuery({{"limit", "0"}}).ok());
  EXPECT_FALSE(ParseProductQuery({{"limit", "201"}}).ok());
  EXPECT_FALSE(ParseProductQuery({{"max_price", "-1"}}).ok());
  EXPECT_FALSE(ParseProductQuery({{"cursor", "nope"}}).ok());
  EXPECT_FALSE(ParseProductQuery({{"sort", "name"}}).ok());
  EXPECT_FALSE(ParseProductQuery({{"limit", "5"}, {"limit", "6"}}).ok());
}

TEST(IdempotencyKey, PrintableAsciiUpTo200) {
  EXPECT_TRUE(IsValidIdempotencyKey("a"));
  EXPECT_TRUE(IsValidIdempotencyKey(std::string(200, '~')));
  EXPECT_FALSE(IsValidIdempotencyKey(""));
  EXPECT_FALSE(IsValidIdempotencyKey(std::string(201, 'a')));
  EXPECT_FALSE(IsValidIdempotencyKey("tab\there"));
  EXPECT_FALSE(IsValidIdempotencyKey("é"));
}

}  // namespace
}  // namespace techmoda::model
