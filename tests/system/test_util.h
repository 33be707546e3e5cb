// Helpers shared by the API test suites.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "common/process.h"
#include "tests/system/harness.h"
#include "tests/system/http_client.h"

namespace techmoda::test {

inline unsigned short Port() { return SharedCatalogd().port(); }

// A valid product body with one variant per sku.
inline boost::json::object ProductBody(const std::string& id, const std::vector<std::string>& skus,
                                       std::int64_t amount = 4990, const std::string& currency = "EUR") {
  boost::json::array variants;
  for (const auto& s : skus) variants.push_back({{"sku", s}, {"size", "M"}, {"color", "white"}});
  boost::json::object o{{"name", "Linen shirt"},
                        {"category", "men/shirts"},
                        {"price", {{"amount", amount}, {"currency", currency}}},
                        {"attributes", {{"material", "linen"}}},
                        {"variants", variants}};
  if (!id.empty()) o["id"] = id;
  return o;
}

// Creates a product whose skus have the given stock; fails the test on error.
inline void MakeProduct(const std::string& id, const std::vector<std::string>& skus, std::int64_t stock,
                        std::int64_t amount = 4990, const std::string& currency = "EUR") {
  auto r = Send(Port(), "POST", "/v1/products", kAdminToken,
                boost::json::serialize(ProductBody(id, skus, amount, currency)));
  ASSERT_EQ(r.status, 201) << r.body;
  for (const auto& s : skus) {
    auto p = Send(Port(), "PUT", "/v1/inventory/" + s, kAdminToken, "{\"on_hand\": " + std::to_string(stock) + "}");
    ASSERT_EQ(p.status, 200) << p.body;
  }
}

inline HttpResult Order(const std::string& key, const std::string& body, const std::string& token = kClientToken) {
  return Send(Port(), "POST", "/v1/orders", token, body, {{"Idempotency-Key", key}});
}

inline std::string OrderBody(const std::string& customer, const std::vector<std::pair<std::string, int>>& lines) {
  boost::json::array a;
  for (const auto& [sku, q] : lines) a.push_back({{"sku", sku}, {"quantity", q}});
  return boost::json::serialize(boost::json::object{{"customer_id", customer}, {"lines", a}});
}

inline std::int64_t Available(const std::string& sku) {
  auto r = Get(Port(), "/v1/inventory/" + sku);
  return r.status == 200 ? r.Json().at("available").as_int64() : -1;
}

// Asserts a problem+json answer with the status and type slug, and returns its document.
inline boost::json::object ExpectProblem(const HttpResult& r, int status, const std::string& type = "") {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/problem+json") << r.body;
  auto v = r.Json();
  if (!v.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << r.body;
    return {};
  }
  auto& o = v.as_object();
  EXPECT_EQ(o.at("status").as_int64(), status);
  for (auto k : {"type", "title", "detail", "instance"}) EXPECT_TRUE(o.contains(k)) << k << " missing: " << r.body;
  if (!type.empty()) {
    EXPECT_EQ(o.at("type").as_string(), "/problems/" + type) << r.body;
  }
  EXPECT_EQ(std::string(o.at("instance").as_string()), r.Header("x-request-id"));
  return o;
}

// True when the problem names `pointer` among its errors.
inline bool HasPointer(const boost::json::object& problem, const std::string& pointer) {
  if (!problem.contains("errors")) return false;
  for (const auto& e : problem.at("errors").as_array())
    if (e.at("pointer").as_string() == pointer) return true;
  return false;
}

}  // namespace techmoda::test
