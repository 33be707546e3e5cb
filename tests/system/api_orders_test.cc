// Orders: idempotency keys, all-or-nothing reservation, cancellation, and the change log.
#include "tests/system/test_util.h"

namespace techmoda::test {
namespace {

namespace json = boost::json;

TEST(Orders, CreateReadCancel) {
  std::string id = Unique("p");
  MakeProduct(id, {id + "-a", id + "-b"}, 10, 2500);
  auto r = Order(Unique("k"), OrderBody("c-42", {{id + "-a", 2}, {id + "-b", 1}}));
  ASSERT_EQ(r.status, 201) << r.body;
  auto o = r.Json().as_object();
  std::string oid(o.at("id").as_string());
  EXPECT_EQ(r.Header("location"), "/v1/orders/" + oid);
  EXPECT_FALSE(r.Header("x-consistency-token").empty());
  EXPECT_EQ(o.at("status").as_string(), "confirmed");
  EXPECT_EQ(o.at("customer_id").as_string(), "c-42");
  EXPECT_EQ(o.at("total"), json::parse(R"({"amount":7500,"currency":"EUR"})"));
  auto& line = o.at("lines").as_array().at(0).as_object();
  EXPECT_EQ(line.at("product_id").as_string(), id);
  EXPECT_EQ(line.at("unit_price").at("amount").as_int64(), 2500);
  EXPECT_EQ(line.at("line_total").at("amount").as_int64(), 5000);
  EXPECT_EQ(Available(id + "-a"), 8);

  // Unit prices are those at the moment of the order.
  ASSERT_EQ(Send(Port(), "PUT", "/v1/products/" + id, kAdminToken,
                 json::serialize(ProductBody(id, {id + "-a", id + "-b"}, 9999)))
                .status,
            200);
  auto g = Get(Port(), "/v1/orders/" + oid, kClientToken);
  ASSERT_EQ(g.status, 200);
  EXPECT_EQ(g.Json(), r.Json());

  auto c = Send(Port(), "POST", "/v1/orders/" + oid + "/cancel", kClientToken, "");
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(c.Json().at("status").as_string(), "cancelled");
  EXPECT_FALSE(c.Header("x-consistency-token").empty());
  EXPECT_EQ(Available(id + "-a"), 10);
  EXPECT_EQ(Available(id + "-b"), 10);
  auto again = Send(Port(), "POST", "/v1/orders/" + oid + "/cancel", kClientToken, "");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.Json(), c.Json());
  EXPECT_EQ(Available(id + "-a"), 10);
  ExpectProblem(Send(Port(), "POST", "/v1/orders/" + Unique("o") + "/cancel", kClientToken, ""), 404);
  ExpectProblem(Get(Port(), "/v1/orders/" + Unique("o"), kClientToken), 404);
  ExpectProblem(Get(Port(), "/v1/orders/" + oid), 401);
}

// The canary's orders are marked synthetic: stored and answered as such, counted apart from customers'.
// Only a token allowed to (the canary's) may mark them; for any other, `synthetic` is an unknown field.
TEST(Orders, SyntheticOrdersAreMarkedAndCountedApart) {
  auto counter = [](const std::string& kind) {
    std::string text = Get(Port(), "/metrics").body;
    std::string key = "catalogd_orders_created_total{kind=\"" + kind + "\"} ";
    auto at = text.find(key);
    return at == std::string::npos ? -1L : std::atol(text.c_str() + at + key.size());
  };
  std::string id = Unique("p");
  MakeProduct(id, {id + "-a"}, 10);
  long customers = counter("customer"), synthetic = counter("synthetic");
  ASSERT_GE(customers, 0);
  ASSERT_GE(synthetic, 0);
  std::string body =
      R"({"customer_id": "canary", "synthetic": true, "lines": [{"sku": ")" + id + R"(-a", "quantity": 1}]})";
  EXPECT_TRUE(HasPointer(ExpectProblem(Order(Unique("k"), body), 400), "/synthetic"));
  EXPECT_TRUE(HasPointer(ExpectProblem(Order(Unique("k"), body, kAdminToken), 400), "/synthetic"));
  std::string key = Unique("k");
  auto r = Order(key, body, kCanaryToken);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_TRUE(r.Json().at("synthetic").as_bool());
  auto g = Get(Port(), "/v1/orders/" + std::string(r.Json().at("id").as_string()), kCanaryToken);
  EXPECT_EQ(g.Json(), r.Json());
  EXPECT_EQ(Order(key, body, kCanaryToken).status, 201);  // a replay is not a second order
  auto plain = Order(Unique("k"), OrderBody("c-1", {{id + "-a", 1}}));
  ASSERT_EQ(plain.status, 201);
  EXPECT_FALSE(plain.Json().as_object().contains("synthetic"));  // only the canary's carry the mark
  EXPECT_EQ(counter("synthetic"), synthetic + 1);
  EXPECT_GE(counter("customer"), customers + 1);
  auto bad = Order(Unique("k"),
                   R"({"customer_id": "c", "synthetic": "yes", "lines": [{"sku": ")" + id + R"(-a", "quantity": 1}]})",
                   kCanaryToken);
  ExpectProblem(bad, 400);
  EXPECT_NE(bad.body.find("/synthetic"), std::string::npos) << bad.body;
}

TEST(Orders, IdempotencyKeyReplaysAndScopes) {
  std::string id = Unique("p");
  std::string sku = id + "-a";
  MakeProduct(id, {sku}, 10);
  std::string key = Unique("key");
  auto first = Order(key, OrderBody("c-1", {{sku, 1}}));
  ASSERT_EQ(first.status, 201);
  // Same key, equal JSON written differently: the first answer again, no second order.
  auto same = Order(key, "{ \"lines\" : [ {\"quantity\":1, \"sku\":\"" + sku + "\"} ], \"customer_id\":\"c-1\" }");
  EXPECT_EQ(same.status, 201);
  EXPECT_EQ(same.body, first.body);
  EXPECT_EQ(same.Header("location"), first.Header("location"));
  EXPECT_FALSE(same.Header("x-consistency-token").empty());
  EXPECT_EQ(Available(sku), 9);
  ExpectProblem(Order(key, OrderBody("c-1", {{sku, 2}})), 422, "idempotency-key-reused");
  // Keys are scoped to the token: another client's same key is another order.
  auto other = Order(key, OrderBody("c-1", {{sku, 1}}), kOtherClientToken);
  EXPECT_EQ(other.status, 201);
  EXPECT_NE(other.Json().at("id"), first.Json().at("id"));
  EXPECT_EQ(Available(sku), 8);
  // After a cancellation, the replay is still the stored first answer.
  std::string oid(first.Json().at("id").as_string());
  ASSERT_EQ(Send(Port(), "POST", "/v1/orders/" + oid + "/cancel", kClientToken, "").status, 200);
  auto replay = Order(key, OrderBody("c-1", {{sku, 1}}));
  EXPECT_EQ(replay.status, 201);
  EXPECT_EQ(replay.body, first.body);
  // A request that failed leaves no record: the same key may be used once stock is there.
  std::string key2 = Unique("key");
  ExpectProblem(Order(key2, OrderBody("c-1", {{sku, 50}})), 409, "out-of-stock");
  ASSERT_EQ(Send(Port(), "PUT", "/v1/inventory/" + sku, kAdminToken, R"({"on_hand": 100})").status, 200);
  EXPECT_EQ(Order(key2, OrderBody("c-1", {{sku, 50}})).status, 201);
}

TEST(Orders, IdempotencyOnOtherWrites) {
  std::string id = Unique("p");
  std::string sku = id + "-a";
  MakeProduct(id, {sku}, 0);
  std::string key = Unique("adj");
  auto adjust = [&](const std::string& body) {
    return Send(Port(), "POST", "/v1/inventory/" + sku + "/adjust", kAdminToken, body, {{"Idempotency-Key", key}});
  };
  auto a = adjust(R"({"delta": 5})");
  ASSERT_EQ(a.status, 200);
  auto b = adjust(R"({"delta": 5})");
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(b.body, a.body);
  EXPECT_EQ(Available(sku), 5);  // applied once
  ExpectProblem(adjust(R"({"delta": 6})"), 422, "idempotency-key-reused");
  ExpectProblem(Send(Port(), "POST", "/v1/inventory/" + sku + "/adjust", kAdminToken, R"({"delta": 1})",
                     {{"Idempotency-Key", std::string(201, 'k')}}),
                400);
}

TEST(Orders, AllOrNothingAndErrors) {
  std::string id = Unique("p");
  std::string a = id + "-a", b = id + "-b";
  MakeProduct(id, {a, b}, 3);
  auto oos = ExpectProblem(Order(Unique("k"), OrderBody("c-1", {{a, 2}, {b, 4}})), 409, "out-of-stock");
  EXPECT_EQ(oos.at("skus"), json::parse("[\"" + b + "\"]"));
  EXPECT_EQ(Available(a), 3);  // nothing reserved for the line that would have fitted
  ExpectProblem(Order(Unique("k"), OrderBody("c-1", {{a, 1}, {Unique("ghost"), 1}})), 422, "unknown-sku");
  EXPECT_EQ(Available(a), 3);
  std::string usd = Unique("p");
  MakeProduct(usd, {usd + "-a"}, 3, 1000, "USD");
  ExpectProblem(Order(Unique("k"), OrderBody("c-1", {{a, 1}, {usd + "-a", 1}})), 422, "mixed-currencies");
  auto dup = ExpectProblem(Order(Unique("k"), OrderBody("c-1", {{a, 1}, {a, 1}})), 400);
  EXPECT_TRUE(HasPointer(dup, "/lines/1/sku"));
  EXPECT_TRUE(HasPointer(ExpectProblem(Order(Unique("k"), OrderBody("c-1", {{a, 0}})), 400), "/lines/0/quantity"));
  EXPECT_TRUE(HasPointer(ExpectProblem(Order(Unique("k"), OrderBody("c-1", {{a, 1001}})), 400), "/lines/0/quantity"));
  std::vector<std::pair<std::string, int>> many;
  for (int i = 0; i < 101; ++i) many.emplace_back(Unique("s"), 1);
  EXPECT_TRUE(HasPointer(ExpectProblem(Order(Unique("k"), OrderBody("c-1", many)), 400), "/lines"));
  EXPECT_TRUE(HasPointer(ExpectProblem(Order(Unique("k"), OrderBody("", {{a, 1}})), 400), "/customer_id"));
  ExpectProblem(Order(Unique("k"), R"({"customer_id":"c-1","lines":[],"coupon":"X"})"), 400);
  ExpectProblem(Send(Port(), "POST", "/v1/orders", kClientToken, OrderBody("c-1", {{a, 1}})), 400,
                "idempotency-key-required");
  ExpectProblem(Order("", OrderBody("c-1", {{a, 1}})), 400);
  ExpectProblem(Order("bad\x01key", OrderBody("c-1", {{a, 1}})), 400);
  ExpectProblem(Send(Port(), "POST", "/v1/orders", "", OrderBody("c-1", {{a, 1}}), {{"Idempotency-Key", "k"}}), 401);
  EXPECT_EQ(Available(a), 3);
  // Admin may do everything a client may.
  EXPECT_EQ(Order(Unique("k"), OrderBody("c-1", {{a, 1}}), kAdminToken).status, 201);
}

TEST(Orders, EveryWriteIsInTheChangeLog) {
  std::string id = Unique("p");
  std::string rid = Unique("req");
  auto r = Send(Port(), "POST", "/v1/products", kAdminToken, json::serialize(ProductBody(id, {id + "-a"})),
                {{"X-Request-Id", rid}});
  ASSERT_EQ(r.status, 201);
  EXPECT_EQ(r.Header("x-request-id"), rid);
  const auto& db = SharedDatabaseUrl();
  EXPECT_EQ(QueryOne(db, "SELECT action || '/' || entity_id || '/' || deploy_id FROM change_log WHERE request_id = $1",
                     {rid}),
            "create/" + id + "/test-deploy-7");
  EXPECT_EQ(
      QueryOne(db, "SELECT (old_value IS NULL)::text || (new_value->>'version') FROM change_log WHERE request_id = $1",
               {rid}),
      "true1");
  std::string rid2 = Unique("req");
  ASSERT_EQ(
      Send(Port(), "PUT", "/v1/inventory/" + id + "-a", kAdminToken, R"({"on_hand": 4})", {{"X-Request-Id", rid2}})
          .status,
      200);
  EXPECT_EQ(
      QueryOne(
          db, "SELECT (old_value->>'on_hand') || '->' || (new_value->>'on_hand') FROM change_log WHERE request_id = $1",
          {rid2}),
      "0->4");
  std::string rid3 = Unique("req");
  auto o = Send(Port(), "POST", "/v1/orders", kClientToken, OrderBody("c-9", {{id + "-a", 1}}),
                {{"X-Request-Id", rid3}, {"Idempotency-Key", Unique("k")}});
  ASSERT_EQ(o.status, 201);
  EXPECT_EQ(QueryOne(db, "SELECT entity_id FROM change_log WHERE request_id = $1 AND action = 'create_order'", {rid3}),
            std::string(o.Json().at("id").as_string()));
  // Append-only: the database refuses to rewrite history.
  EXPECT_NE(QueryOne(db, "DELETE FROM change_log WHERE request_id = $1 RETURNING 1", {rid}).find("append-only"),
            std::string::npos);
}

}  // namespace
}  // namespace techmoda::test
