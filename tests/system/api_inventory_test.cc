// Inventory: read, set and adjust stock, never below what orders reserved.
#include "tests/system/test_util.h"

namespace techmoda::test {
namespace {

TEST(Inventory, ReadSetAdjust) {
  std::string id = Unique("p");
  std::string sku = id + "-a";
  MakeProduct(id, {sku}, 0);
  auto g = Get(Port(), "/v1/inventory/" + sku);
  ASSERT_EQ(g.status, 200);
  EXPECT_EQ(g.Json(), boost::json::parse("{\"sku\":\"" + sku + "\",\"on_hand\":0,\"reserved\":0,\"available\":0}"));
  auto s = Send(Port(), "PUT", "/v1/inventory/" + sku, kAdminToken, R"({"on_hand": 12})");
  ASSERT_EQ(s.status, 200);
  EXPECT_EQ(s.Json().at("on_hand").as_int64(), 12);
  EXPECT_FALSE(s.Header("x-consistency-token").empty());
  auto a = Send(Port(), "POST", "/v1/inventory/" + sku + "/adjust", kAdminToken, R"({"delta": -3})");
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.Json().at("on_hand").as_int64(), 9);
  EXPECT_EQ(a.Json().at("available").as_int64(), 9);
  ASSERT_EQ(Order(Unique("k"), OrderBody("c-1", {{sku, 4}})).status, 201);
  auto after = Get(Port(), "/v1/inventory/" + sku).Json();
  EXPECT_EQ(after.at("reserved").as_int64(), 4);
  EXPECT_EQ(after.at("available").as_int64(), 5);
  ExpectProblem(Send(Port(), "PUT", "/v1/inventory/" + sku, kAdminToken, R"({"on_hand": 3})"), 409,
                "stock-below-reserved");
  ExpectProblem(Send(Port(), "POST", "/v1/inventory/" + sku + "/adjust", kAdminToken, R"({"delta": -6})"), 409);
  EXPECT_EQ(Send(Port(), "POST", "/v1/inventory/" + sku + "/adjust", kAdminToken, R"({"delta": -5})").status, 200);
  EXPECT_EQ(Available(sku), 0);
}

TEST(Inventory, ErrorsAndValidation) {
  std::string id = Unique("p");
  std::string sku = id + "-a";
  MakeProduct(id, {sku}, 1);
  ExpectProblem(Get(Port(), "/v1/inventory/" + Unique("none")), 404);
  ExpectProblem(Send(Port(), "PUT", "/v1/inventory/" + Unique("none"), kAdminToken, R"({"on_hand": 1})"), 404);
  ExpectProblem(Send(Port(), "POST", "/v1/inventory/" + Unique("none") + "/adjust", kAdminToken, R"({"delta": 1})"),
                404);
  ExpectProblem(Send(Port(), "PUT", "/v1/inventory/" + sku, kAdminToken, R"({"on_hand": -1})"), 400);
  ExpectProblem(Send(Port(), "PUT", "/v1/inventory/" + sku, kAdminToken, R"({"on_hand": 1.0})"), 400);
  ExpectProblem(Send(Port(), "PUT", "/v1/inventory/" + sku, kAdminToken, R"({"on_hand": 1, "reserved": 0})"), 400);
  ExpectProblem(Send(Port(), "PUT", "/v1/inventory/" + sku, kAdminToken, R"({})"), 400);
  ExpectProblem(Send(Port(), "POST", "/v1/inventory/" + sku + "/adjust", kAdminToken, R"({"delta": "1"})"), 400);
  ExpectProblem(Send(Port(), "PUT", "/v1/inventory/" + sku, kClientToken, R"({"on_hand": 1})"), 403, "forbidden");
  ExpectProblem(Send(Port(), "PUT", "/v1/inventory/" + sku, "", R"({"on_hand": 1})"), 401);
  EXPECT_EQ(Available(sku), 1);
}

}  // namespace
}  // namespace techmoda::test
