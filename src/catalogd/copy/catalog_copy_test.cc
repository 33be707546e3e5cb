#include "catalogd/copy/catalog_copy.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "catalogd/model/json_model.h"

namespace techmoda::copy {
namespace {

Product MakeProduct(const std::string& id, const std::string& category, std::int64_t price, std::int64_t version = 1,
                    const std::string& name = "Linen shirt") {
  Product p;
  p.id = id;
  p.name = name;
  p.description = "Soft, breathable";
  p.brand = "Acme";
  p.category = category;
  p.price = {price, "EUR"};
  p.variants = {{id + "-a", "M", std::nullopt}};
  p.version = version;
  p.created_at = p.updated_at = "2026-11-26T00:00:00.000Z";
  return p;
}

std::vector<std::string> Ids(const ProductPage& page) {
  std::vector<std::string> out;
  for (const auto& d : page.items) out.push_back(d.id);
  return out;
}

TEST(SearchWords, LowerCasesAndSplitsOnPunctuation) {
  EXPECT_EQ(SearchWords("Blue LINEN t-shirt, blue!"), (std::vector<std::string>{"blue", "linen", "shirt", "t"}));
  EXPECT_EQ(SearchWords("Crème brûlée"), (std::vector<std::string>{"brûlée", "crème"}));
  EXPECT_TRUE(SearchWords(" -- ").empty());
}

TEST(PgTimestamp, BecomesTheApiForm) {
  EXPECT_EQ(PgTimestampToRfc3339("2026-11-25 10:00:00.123456+00"), "2026-11-25T10:00:00.123Z");
  EXPECT_EQ(PgTimestampToRfc3339("2026-11-25 10:00:00.9+00"), "2026-11-25T10:00:00.900Z");
  EXPECT_EQ(PgTimestampToRfc3339("2026-11-25 10:00:00+00"), "2026-11-25T10:00:00.000Z");
  EXPECT_EQ(PgTimestampToRfc3339("2026-11-25T10:00:00.123Z"), "2026-11-25T10:00:00.123Z");  // to_char's output
}

class CopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CatalogCopy::Snapshot s;
    // Ids arrive in id order, as the snapshot query sorts them.
    s.AddProduct(MakeProduct("a1", "men/shirts", 1000));
    s.AddProduct(MakeProduct("a2", "men/shirts/formal", 2000));
    s.AddProduct(MakeProduct("a3", "men/shirtsleeves", 3000));
    s.AddProduct(MakeProduct("a4", "women/dresses", 4000, 1, "Red dress"));
    s.AddProduct(MakeProduct("a5", "men", 5000));
    s.AddStock("a1-a", {10, 2, 1});
    copy.Install(std::move(s), 100);
  }
  CatalogCopy copy;
};

TEST_F(CopyTest, AnswersReadsAndListsByCategorySearchPriceAndCursor) {
  EXPECT_TRUE(copy.ready());
  EXPECT_EQ(copy.applied(), 100u);
  auto p = copy.Get("a1");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(boost::json::parse(*p->json).at("price").at("amount").as_int64(), 1000);
  EXPECT_EQ(copy.Get("zz").status().code(), Code::kNotFound);
  EXPECT_EQ(copy.GetStock("a1-a")->available(), 8);

  ProductQuery q;
  q.category = "men/shirts";  // itself and below, never "men/shirtsleeves"
  EXPECT_EQ(Ids(*copy.List(q)), (std::vector<std::string>{"a1", "a2"}));
  q = {};
  q.text = "LINEN acme";
  q.limit = 2;
  auto page = copy.List(q);
  EXPECT_EQ(Ids(*page), (std::vector<std::string>{"a1", "a2"}));
  EXPECT_TRUE(page->has_more);
  q.after_id = "a2";
  EXPECT_EQ(Ids(*copy.List(q)), (std::vector<std::string>{"a3", "a5"}));
  q = {};
  q.min_price = 2000;
  q.max_price = 4000;
  EXPECT_EQ(Ids(*copy.List(q)), (std::vector<std::string>{"a2", "a3", "a4"}));
  q = {};
  q.text = "dress";
  EXPECT_EQ(Ids(*copy.List(q)), (std::vector<std::string>{"a4"}));
  q.text = "nosuchword";
  EXPECT_TRUE(copy.List(q)->items.empty());
}

TEST_F(CopyTest, AppliesChangesAndReindexes) {
  Change put{Change::Kind::kPutProduct, "a1"};
  put.product = MakeProduct("a1", "women/dresses", 1500, 2, "Green gown");
  Change stock{Change::Kind::kPutStock, "a1-a"};
  stock.stock = {10, 3, 2};
  copy.Apply({put, stock, {Change::Kind::kDeleteProduct, "a5"}}, 200);
  EXPECT_EQ(copy.applied(), 200u);
  ProductQuery q;
  q.text = "gown";
  EXPECT_EQ(Ids(*copy.List(q)), (std::vector<std::string>{"a1"}));
  q.text = "linen";
  EXPECT_EQ(Ids(*copy.List(q)), (std::vector<std::string>{"a2", "a3"}));  // a1 lost the word, a5 is gone
  q = {};
  q.category = "women";
  EXPECT_EQ(Ids(*copy.List(q)), (std::vector<std::string>{"a1", "a4"}));
  EXPECT_EQ(copy.GetStock("a1-a")->reserved, 3);
  EXPECT_EQ(copy.Get("a5").status().code(), Code::kNotFound);
}

TEST_F(CopyTest, NeverGoesBackwardsForARow) {
  Change newer{Change::Kind::kPutProduct, "a1"};
  newer.product = MakeProduct("a1", "men/shirts", 1111, 5);
  copy.Apply({newer}, 200);
  Change older{Change::Kind::kPutProduct, "a1"};
  older.product = MakeProduct("a1", "men/shirts", 999, 4);
  Change old_stock{Change::Kind::kPutStock, "a1-a"};
  old_stock.stock = {1, 0, 0};
  copy.Apply({older, old_stock}, 300);
  EXPECT_EQ(copy.Get("a1")->version, 5);
  EXPECT_EQ(copy.GetStock("a1-a")->on_hand, 10);
  EXPECT_EQ(copy.rows_kept_newer(), 2u);
  // A snapshot from a server of the same history that lacks the newest commit keeps the newer row.
  CatalogCopy::Snapshot s;
  s.AddProduct(MakeProduct("a1", "men/shirts", 1000, 1));
  s.AddProduct(MakeProduct("a9", "men/shirts", 1000, 1));
  EXPECT_EQ(copy.Install(std::move(s), 250), 1u);
  EXPECT_EQ(copy.Get("a1")->version, 5);
  EXPECT_EQ(boost::json::parse(*copy.Get("a1")->json).at("price").at("amount").as_int64(), 1111);
  EXPECT_TRUE(copy.Get("a9").ok());
  EXPECT_EQ(copy.Get("a2").status().code(), Code::kNotFound);  // absent from the snapshot: deleted
  EXPECT_EQ(copy.applied(), 300u);                             // the position never goes back either
  ProductQuery q;
  q.text = "linen";
  EXPECT_EQ(Ids(*copy.List(q)), (std::vector<std::string>{"a1", "a9"}));
}

TEST_F(CopyTest, ANewHistoryReplacesEverythingItHolds) {
  // The copy applied a commit the old primary never got confirmed (it died): after the failover
  // the new primary's snapshot is the truth, even where it is older and behind.
  Change phantom{Change::Kind::kPutProduct, "a1"};
  phantom.product = MakeProduct("a1", "men/shirts", 1111, 7);
  copy.Apply({phantom}, 500);
  CatalogCopy::Snapshot s;
  s.AddProduct(MakeProduct("a1", "men/shirts", 1000, 6));
  EXPECT_EQ(copy.Install(std::move(s), 400, /*new_history=*/true), 0u);
  EXPECT_EQ(copy.Get("a1")->version, 6);
  EXPECT_EQ(copy.applied(), 400u);
  // The new history's next version of the row is applied, not refused as older than the phantom.
  Change next{Change::Kind::kPutProduct, "a1"};
  next.product = MakeProduct("a1", "men/shirts", 1200, 7);
  copy.Apply({next}, 450);
  EXPECT_EQ(boost::json::parse(*copy.Get("a1")->json).at("price").at("amount").as_int64(), 1200);
}

TEST_F(CopyTest, WaitsForAPosition) {
  auto soon = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  EXPECT_TRUE(copy.WaitFor(100, soon));
  EXPECT_FALSE(copy.WaitFor(101, soon));
  std::thread t([&] { copy.Advance(150); });
  EXPECT_TRUE(copy.WaitFor(150, std::chrono::steady_clock::now() + std::chrono::seconds(5)));
  t.join();
}

}  // namespace
}  // namespace techmoda::copy

namespace techmoda::copy {
namespace {

TEST(CopySearch, IntersectsInterleavedWordListsAcrossPages) {
  CatalogCopy copy;
  CatalogCopy::Snapshot s;
  const char* names[] = {"alpha", "beta", "alpha beta", "beta", "alpha beta gamma", "beta", "alpha", "alpha beta"};
  for (int i = 0; i < 8; ++i) s.AddProduct(MakeProduct("b" + std::to_string(i), "men", 100, 1, names[i]));
  copy.Install(std::move(s), 1);
  ProductQuery q;
  q.text = "beta ALPHA";
  EXPECT_EQ(Ids(*copy.List(q)), (std::vector<std::string>{"b2", "b4", "b7"}));
  q.limit = 1;
  q.after_id = "b2";
  auto page = copy.List(q);
  EXPECT_EQ(Ids(*page), (std::vector<std::string>{"b4"}));
  EXPECT_TRUE(page->has_more);
  q.text = "gamma alpha beta";
  q.after_id.reset();
  EXPECT_EQ(Ids(*copy.List(q)), (std::vector<std::string>{"b4"}));
}

}  // namespace
}  // namespace techmoda::copy

namespace techmoda::copy {
namespace {

// The snapshot's fast path (the answer assembled from the row's text) must give the very bytes of
// the exact path (parse into a Product, serialise), for every shape, and fall back when unsure.
TEST(CopySnapshot, RowsGiveTheSameAnswerAsParsedProducts) {
  struct Case {
    std::string attributes, variants;
    std::optional<std::string> description;
  };
  std::vector<Case> cases = {
      {R"({"fit": "slim", "material": "linen"})", R"([{"sku": "s-1", "size": "M", "color": "red"}, {"sku": "s-2"}])",
       "Soft"},
      {R"({})", R"([])", std::nullopt},
      {R"({"k\"ey": "a \"q\" \\ \u0001 \t é"})", R"([{"sku": "s,1: x", "size": "{[ ]}"}])", "tab\there \"quoted\""},
      {R"({"n": 1})", R"([{"sku": "s-1"}])", "a number value: the exact path"},
      {R"({"a": "b"})", R"([{"sku": "s-1", "weight": "2"}])", "an unknown variant key: the exact path"},
      {R"({"a": {"nested": "x"}})", R"([{"sku": "s-1", "size": null}])", "nested and null: the exact path"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    std::string id = "r" + std::to_string(i);
    ProductRow row;
    row[0] = id;
    row[1] = "Linen \"shirt\"";
    if (cases[i].description) row[2] = *cases[i].description;
    row[3] = std::nullopt;
    row[4] = "men/shirts";
    row[5] = "-5";
    row[6] = "EUR";
    row[7] = cases[i].attributes;
    row[8] = cases[i].variants;
    row[9] = "active";
    row[10] = "7";
    row[11] = "2026-11-25 10:00:00.123456+00";
    row[12] = "2026-11-25 10:00:01+00";
    auto exact = ProductFromRow(row);
    CatalogCopy copy;
    CatalogCopy::Snapshot s;
    Status added = s.AddProductRow(row);
    if (!exact.ok()) {  // a shape the model cannot read (a number, nested, null): refused either way
      EXPECT_FALSE(added.ok()) << i;
      continue;
    }
    ASSERT_TRUE(added.ok()) << i;
    copy.Install(std::move(s), 1);
    EXPECT_EQ(*copy.Get(id)->json, model::ProductJson(*exact)) << "case " << i;
  }
}

}  // namespace
}  // namespace techmoda::copy
