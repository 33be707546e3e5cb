// Products: every row of the contract's product table, and the product body rules.
#include "tests/system/test_util.h"

namespace techmoda::test {
namespace {

namespace json = boost::json;

TEST(Products, CreateReadConditionalGet) {
  std::string id = Unique("p");
  auto r = Send(Port(), "POST", "/v1/products", kAdminToken, json::serialize(ProductBody(id, {id + "-m"})));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Header("location"), "/v1/products/" + id);
  EXPECT_EQ(r.Header("etag"), "\"1\"");
  EXPECT_FALSE(r.Header("x-consistency-token").empty());
  auto p = r.Json().as_object();
  EXPECT_EQ(p.at("version").as_int64(), 1);
  EXPECT_EQ(p.at("status").as_string(), "active");
  EXPECT_EQ(p.at("price").at("amount").as_int64(), 4990);
  EXPECT_EQ(p.at("created_at").as_string().size(), 24u);  // 2026-11-25T21:53:47.123Z

  auto g = Get(Port(), "/v1/products/" + id);
  ASSERT_EQ(g.status, 200);
  EXPECT_EQ(g.Header("etag"), "\"1\"");
  EXPECT_EQ(g.Json(), r.Json());
  auto nm = Get(Port(), "/v1/products/" + id, "", {{"If-None-Match", "\"1\""}});
  EXPECT_EQ(nm.status, 304);
  EXPECT_TRUE(nm.body.empty());
  EXPECT_EQ(Get(Port(), "/v1/products/" + id, "", {{"If-None-Match", "\"7\", W/\"1\""}}).status, 304);
  EXPECT_EQ(Get(Port(), "/v1/products/" + id, "", {{"If-None-Match", "\"2\""}}).status, 200);
  ExpectProblem(Get(Port(), "/v1/products/" + Unique("none")), 404, "not-found");
  ExpectProblem(Get(Port(), "/v1/products/bad%20id!"), 404);
}

TEST(Products, CreateWithoutIdGeneratesOne) {
  auto body = ProductBody("", {Unique("s")});
  auto r = Send(Port(), "POST", "/v1/products", kAdminToken, json::serialize(body));
  ASSERT_EQ(r.status, 201) << r.body;
  std::string id(r.Json().at("id").as_string());
  EXPECT_EQ(r.Header("location"), "/v1/products/" + id);
  EXPECT_EQ(Get(Port(), "/v1/products/" + id).status, 200);
}

TEST(Products, ConflictsOnIdAndSku) {
  std::string id = Unique("p");
  std::string sku = id + "-a";
  MakeProduct(id, {sku}, 0);
  ExpectProblem(Send(Port(), "POST", "/v1/products", kAdminToken, json::serialize(ProductBody(id, {Unique("s")}))), 409,
                "product-exists");
  auto taken = ExpectProblem(
      Send(Port(), "POST", "/v1/products", kAdminToken, json::serialize(ProductBody(Unique("p"), {Unique("s"), sku}))),
      409, "sku-exists");
  EXPECT_EQ(taken.at("skus").as_array().at(0).as_string(), sku);
  // A sku repeated inside one body is a 400, not a conflict.
  std::string twice = Unique("s");
  auto dup = ExpectProblem(
      Send(Port(), "POST", "/v1/products", kAdminToken, json::serialize(ProductBody(Unique("p"), {twice, twice}))),
      400);
  EXPECT_TRUE(HasPointer(dup, "/variants/1/sku"));
}

TEST(Products, BodyValidation) {
  auto post = [](const json::object& body) {
    return Send(Port(), "POST", "/v1/products", kAdminToken, json::serialize(body));
  };
  auto base = ProductBody(Unique("p"), {Unique("s")});
  for (auto field : {"name", "category", "price", "variants"}) {
    auto b = base;
    b.erase(field);
    auto p = ExpectProblem(post(b), 400, "invalid-request");
    EXPECT_TRUE(HasPointer(p, std::string("/") + field)) << field;
  }
  {
    auto b = base;
    b["price"] = json::parse(R"({"amount": 4990.0, "currency": "EUR"})");
    EXPECT_TRUE(HasPointer(ExpectProblem(post(b), 400), "/price/amount"));
    b["price"] = json::parse(R"({"amount": 49.9, "currency": "EUR"})");
    EXPECT_TRUE(HasPointer(ExpectProblem(post(b), 400), "/price/amount"));
    b["price"] = json::parse(R"({"amount": 1e3, "currency": "EUR"})");
    EXPECT_TRUE(HasPointer(ExpectProblem(post(b), 400), "/price/amount"));
    b["price"] = json::parse(R"({"amount": 4990, "currency": "eur"})");
    EXPECT_TRUE(HasPointer(ExpectProblem(post(b), 400), "/price/currency"));
    b["price"] = json::parse(R"({"amount": -1, "currency": "EUR"})");
    EXPECT_TRUE(HasPointer(ExpectProblem(post(b), 400), "/price/amount"));
    b["price"] = json::parse(R"({"amount": "4990", "currency": "EUR"})");
    EXPECT_TRUE(HasPointer(ExpectProblem(post(b), 400), "/price/amount"));
    b["price"] = json::parse(R"({"amount": 4990, "currency": "EUR", "tax": 1})");
    EXPECT_TRUE(HasPointer(ExpectProblem(post(b), 400), "/price/tax"));
  }
  {
    auto b = base;
    b["colour"] = "red";
    EXPECT_TRUE(HasPointer(ExpectProblem(post(b), 400), "/colour"));
  }
  {
    auto b = base;  // lengths count code points: 200 two-byte characters fit, 201 do not
    std::string name;
    for (int i = 0; i < 200; ++i) name += "é";
    b["name"] = name;
    b["id"] = Unique("p");
    b["variants"] = json::array{json::object{{"sku", Unique("s")}}};
    EXPECT_EQ(post(b).status, 201);
    b["name"] = name + "é";
    EXPECT_TRUE(HasPointer(ExpectProblem(post(b), 400), "/name"));
    b["name"] = "";
    EXPECT_TRUE(HasPointer(ExpectProblem(post(b), 400), "/name"));
  }
  {
    auto b = base;
    json::object attrs;
    for (int i = 0; i < 51; ++i) attrs["a" + std::to_string(i)] = "v";
    b["attributes"] = attrs;
    EXPECT_TRUE(HasPointer(ExpectProblem(post(b), 400), "/attributes"));
    b["attributes"] = json::object{{"fit", 3}};
    EXPECT_TRUE(HasPointer(ExpectProblem(post(b), 400), "/attributes/fit"));
  }
  {
    auto b = base;
    json::array vs;
    for (int i = 0; i < 101; ++i) vs.push_back(json::object{{"sku", Unique("s")}});
    b["variants"] = vs;
    EXPECT_TRUE(HasPointer(ExpectProblem(post(b), 400), "/variants"));
    b["variants"] = json::array{};
    EXPECT_TRUE(HasPointer(ExpectProblem(post(b), 400), "/variants"));
    b["variants"] = json::array{json::object{{"sku", "-starts-with-dash"}}};
    EXPECT_TRUE(HasPointer(ExpectProblem(post(b), 400), "/variants/0/sku"));
    b["variants"] = json::array{json::object{{"sku", Unique("s")}, {"weight", 3}}};
    EXPECT_TRUE(HasPointer(ExpectProblem(post(b), 400), "/variants/0/weight"));
  }
  {
    auto b = base;
    b["status"] = "deleted";
    EXPECT_TRUE(HasPointer(ExpectProblem(post(b), 400), "/status"));
    b["status"] = "active";
    b["id"] = "bad id";
    EXPECT_TRUE(HasPointer(ExpectProblem(post(b), 400), "/id"));
    b["id"] = std::string(65, 'a');
    EXPECT_TRUE(HasPointer(ExpectProblem(post(b), 400), "/id"));
    b["id"] = Unique("p");
    b["category"] = "men//shirts";
    EXPECT_TRUE(HasPointer(ExpectProblem(post(b), 400), "/category"));
  }
}

TEST(Products, MalformedBodies) {
  auto raw = [](const std::string& body) { return Send(Port(), "POST", "/v1/products", kAdminToken, body); };
  ExpectProblem(raw("{\"name\": "), 400);
  ExpectProblem(raw("[1,2,3]"), 400);
  ExpectProblem(raw("\"just a string\""), 400);
  ExpectProblem(raw("{\"name\": \"a\xff\xfe\"}"), 400);
  ExpectProblem(raw(std::string(100, '[') + std::string(100, ']')), 400);
  ExpectProblem(raw("{\"name\": \"nul\\u0000here\"}"), 400);
  ExpectProblem(raw("{\"id\": 99999999999999999999999999999}"), 400);
  ExpectProblem(raw("{} trailing"), 400);
  ExpectProblem(raw(R"({"price": {"amount": 1, "amount": 4990, "currency": "EUR"}})"), 400);  // repeated member
  auto p = ProductBody(Unique("p"), {Unique("s")});
  p["price"] = json::parse(R"({"amount": 18446744073709551615, "currency": "EUR"})");
  EXPECT_TRUE(HasPointer(ExpectProblem(raw(json::serialize(p)), 400), "/price/amount"));
}

TEST(Products, ReplaceWithVersionsAndPreconditions) {
  std::string id = Unique("p");
  std::string a = id + "-a", b = id + "-b";
  MakeProduct(id, {a}, 3);
  auto body = ProductBody(id, {a, b}, 5990);
  body["version"] = 1;  // server-owned fields are accepted and ignored
  body["created_at"] = "1999-01-01T00:00:00.000Z";
  auto r = Send(Port(), "PUT", "/v1/products/" + id, kAdminToken, json::serialize(body), {{"If-Match", "\"1\""}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json().at("version").as_int64(), 2);
  EXPECT_EQ(r.Header("etag"), "\"2\"");
  EXPECT_NE(r.Json().at("created_at").as_string(), "1999-01-01T00:00:00.000Z");
  EXPECT_FALSE(r.Header("x-consistency-token").empty());
  EXPECT_EQ(Available(b), 0);  // a new sku's stock starts at 0
  EXPECT_EQ(Available(a), 3);
  ExpectProblem(Send(Port(), "PUT", "/v1/products/" + id, kAdminToken, json::serialize(body), {{"If-Match", "\"1\""}}),
                412, "precondition-failed");
  EXPECT_EQ(Send(Port(), "PUT", "/v1/products/" + id, kAdminToken, json::serialize(body), {{"If-Match", "*"}}).status,
            200);
  // Dropping a variant removes its sku.
  auto only_b = ProductBody(id, {b});
  ASSERT_EQ(Send(Port(), "PUT", "/v1/products/" + id, kAdminToken, json::serialize(only_b)).status, 200);
  EXPECT_EQ(Get(Port(), "/v1/inventory/" + a).status, 404);
  std::string other = Unique("p");
  ExpectProblem(
      Send(Port(), "PUT", "/v1/products/" + other, kAdminToken, json::serialize(ProductBody(other, {Unique("s")}))),
      404);
  ExpectProblem(Send(Port(), "PUT", "/v1/products/" + id, kAdminToken, json::serialize(ProductBody(other, {b}))), 400);
}

TEST(Products, ReplaceRefusesRemovingReservedSku) {
  std::string id = Unique("p");
  MakeProduct(id, {id + "-a", id + "-b"}, 5);
  ASSERT_EQ(Order(Unique("k"), OrderBody("c-1", {{id + "-a", 1}})).status, 201);
  ExpectProblem(Send(Port(), "PUT", "/v1/products/" + id, kAdminToken, json::serialize(ProductBody(id, {id + "-b"}))),
                409, "sku-has-reservations");
}

TEST(Products, ArchiveKeepsOrdersAndHidesFromListing) {
  std::string id = Unique("p");
  MakeProduct(id, {id + "-a"}, 5);
  auto order = Order(Unique("k"), OrderBody("c-1", {{id + "-a", 1}}));
  ASSERT_EQ(order.status, 201);
  auto d = Send(Port(), "DELETE", "/v1/products/" + id, kAdminToken, "");
  EXPECT_EQ(d.status, 204);
  EXPECT_TRUE(d.body.empty());
  EXPECT_FALSE(d.Header("x-consistency-token").empty());
  auto g = Get(Port(), "/v1/products/" + id);
  EXPECT_EQ(g.Json().at("status").as_string(), "archived");
  EXPECT_EQ(g.Json().at("version").as_int64(), 2);
  EXPECT_EQ(Send(Port(), "DELETE", "/v1/products/" + id, kAdminToken, "").status, 204);
  EXPECT_EQ(Get(Port(), "/v1/products/" + id).Json().at("version").as_int64(), 2);  // no change the second time
  EXPECT_EQ(Get(Port(), "/v1/orders/" + std::string(order.Json().at("id").as_string()), kClientToken).status, 200);
  ExpectProblem(Order(Unique("k"), OrderBody("c-1", {{id + "-a", 1}})), 422, "sku-not-for-sale");
  ExpectProblem(Send(Port(), "DELETE", "/v1/products/" + Unique("none"), kAdminToken, ""), 404);
}

// Listing uses its own category prefix so that other tests' products do not interfere.
TEST(Products, ListFiltersSearchAndCursor) {
  std::string tag = Unique("cat");
  std::string cat = "lst/" + tag;
  auto make = [&](const std::string& id, const std::string& category, std::int64_t amount, const std::string& name,
                  const std::string& status) {
    auto b = ProductBody(id, {id + "-s"}, amount);
    b["category"] = category;
    b["name"] = name;
    b["brand"] = "Nordlys";
    b["description"] = "Soft fabric for every day";
    b["status"] = status;
    auto r = Send(Port(), "POST", "/v1/products", kAdminToken, json::serialize(b));
    ASSERT_EQ(r.status, 201) << r.body;
  };
  make(tag + "-a", cat, 1000, "Linen Shirt", "active");
  make(tag + "-b", cat + "/sub", 2000, "Wool coat", "active");
  make(tag + "-c", cat + "x", 3000, "Linen trousers", "active");  // not under cat: prefix at '/' only
  make(tag + "-d", cat, 4000, "Shirt dress", "draft");
  make(tag + "-e", cat, 5000, "Linen scarf", "active");

  auto ids = [](const HttpResult& r) {
    std::vector<std::string> out;
    auto doc = r.Json();
    for (const auto& i : doc.at("items").as_array()) out.emplace_back(i.at("id").as_string());
    return out;
  };
  auto all = Get(Port(), "/v1/products?category=" + cat);
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(ids(all), (std::vector<std::string>{tag + "-a", tag + "-b", tag + "-e"}));
  EXPECT_TRUE(all.Json().at("next_cursor").is_null());
  EXPECT_EQ(ids(Get(Port(), "/v1/products?category=" + cat + "&status=draft")), std::vector<std::string>{tag + "-d"});
  EXPECT_EQ(ids(Get(Port(), "/v1/products?category=" + cat + "&q=LINEN")),
            (std::vector<std::string>{tag + "-a", tag + "-e"}));
  EXPECT_EQ(ids(Get(Port(), "/v1/products?category=" + cat + "&q=lin")), std::vector<std::string>{});  // whole words
  EXPECT_EQ(ids(Get(Port(), "/v1/products?category=" + cat + "&q=nordlys%20linen")),
            (std::vector<std::string>{tag + "-a", tag + "-e"}));  // brand is searched too
  EXPECT_EQ(ids(Get(Port(), "/v1/products?category=" + cat + "&min_price=2000&max_price=5000")),
            (std::vector<std::string>{tag + "-b", tag + "-e"}));  // inclusive

  // Pages of one, chained by cursor, visit every item once in id order.
  std::vector<std::string> seen;
  std::string next;
  for (int i = 0; i < 10; ++i) {
    auto page = Get(Port(), "/v1/products?category=" + cat + "&limit=1" + (next.empty() ? "" : "&cursor=" + next));
    ASSERT_EQ(page.status, 200) << page.body;
    for (auto& id : ids(page)) seen.push_back(id);
    auto c = page.Json().at("next_cursor");
    if (c.is_null()) break;
    next = std::string(c.as_string());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{tag + "-a", tag + "-b", tag + "-e"}));

  ExpectProblem(Get(Port(), "/v1/products?cursor=garbage!"), 400);
  ExpectProblem(Get(Port(), "/v1/products?cursor=Zm9vYmFy"), 400);
  ExpectProblem(Get(Port(), "/v1/products?limit=0"), 400);
  ExpectProblem(Get(Port(), "/v1/products?limit=201"), 400);
  ExpectProblem(Get(Port(), "/v1/products?limit=ten"), 400);
  EXPECT_EQ(Get(Port(), "/v1/products?limit=200").status, 200);
  ExpectProblem(Get(Port(), "/v1/products?min_price=-5"), 400);
  ExpectProblem(Get(Port(), "/v1/products?min_price=1.5"), 400);
  ExpectProblem(Get(Port(), "/v1/products?status=gone"), 400);
  ExpectProblem(Get(Port(), "/v1/products?colour=red"), 400);
  auto def = Get(Port(), "/v1/products");
  EXPECT_LE(def.Json().at("items").as_array().size(), 50u);
}

}  // namespace
}  // namespace techmoda::test
