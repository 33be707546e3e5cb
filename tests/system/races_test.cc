// Races: the last units of a sku under 50 concurrent buyers, and one idempotency key sent 20 times at once.
#include <set>
#include <thread>

#include "tests/system/test_util.h"

namespace techmoda::test {
namespace {

TEST(Races, FiftyBuyersForTheLastTenUnits) {
  std::string id = Unique("p");
  std::string sku = id + "-a";
  MakeProduct(id, {sku}, 10);
  std::atomic<int> created{0}, out_of_stock{0}, other{0};
  std::vector<std::thread> buyers;
  for (int i = 0; i < 50; ++i)
    buyers.emplace_back([&, i] {
      auto r = Order(Unique("race"), OrderBody("c-" + std::to_string(i), {{sku, 1}}));
      if (r.status == 201)
        ++created;
      else if (r.status == 409)
        ++out_of_stock;
      else
        ++other;
    });
  for (auto& t : buyers) t.join();
  EXPECT_EQ(created.load(), 10);
  EXPECT_EQ(out_of_stock.load(), 40);
  EXPECT_EQ(other.load(), 0);
  auto s = Get(Port(), "/v1/inventory/" + sku).Json();
  EXPECT_EQ(s.at("reserved").as_int64(), 10);
  EXPECT_EQ(s.at("available").as_int64(), 0);
  EXPECT_EQ(QueryOne(SharedDatabaseUrl(), "SELECT count(*) FROM orders WHERE lines @> $1::jsonb",
                     {"[{\"sku\":\"" + sku + "\"}]"}),
            "10");
}

TEST(Races, MultiLineOrdersInOppositeOrderDoNotDeadlockOrOversell) {
  std::string id = Unique("p");
  std::string a = id + "-a", b = id + "-b";
  MakeProduct(id, {a, b}, 20);
  std::atomic<int> created{0}, failed{0};
  std::vector<std::thread> buyers;
  for (int i = 0; i < 30; ++i)
    buyers.emplace_back([&, i] {
      auto lines = i % 2 ? std::vector<std::pair<std::string, int>>{{a, 1}, {b, 1}}
                         : std::vector<std::pair<std::string, int>>{{b, 1}, {a, 1}};
      auto r = Order(Unique("x"), OrderBody("c-x", lines));
      (r.status == 201 ? created : failed)++;
      EXPECT_TRUE(r.status == 201 || r.status == 409) << r.status << " " << r.body;
    });
  for (auto& t : buyers) t.join();
  EXPECT_EQ(created.load(), 20);
  EXPECT_EQ(Available(a), 0);
  EXPECT_EQ(Available(b), 0);
}

TEST(Races, OneKeySentTwentyTimesAtOnceMakesOneOrder) {
  std::string id = Unique("p");
  std::string sku = id + "-a";
  MakeProduct(id, {sku}, 100);
  std::string key = Unique("same");
  std::string customer = Unique("cust");
  std::mutex mu;
  std::set<std::string> bodies;
  std::vector<int> statuses;
  std::vector<std::thread> senders;
  for (int i = 0; i < 20; ++i)
    senders.emplace_back([&] {
      auto r = Order(key, OrderBody(customer, {{sku, 3}}));
      std::lock_guard lock(mu);
      statuses.push_back(r.status);
      bodies.insert(r.body);
    });
  for (auto& t : senders) t.join();
  for (int s : statuses) EXPECT_EQ(s, 201);
  EXPECT_EQ(bodies.size(), 1u);
  EXPECT_EQ(Available(sku), 97);
  EXPECT_EQ(QueryOne(SharedDatabaseUrl(), "SELECT count(*) FROM orders WHERE customer_id = $1", {customer}), "1");
}

}  // namespace
}  // namespace techmoda::test
