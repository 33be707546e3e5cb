#include "catalogd/http/routes.h"

#include <gtest/gtest.h>

#include "catalogd/http/handlers.h"

namespace techmoda::http {
namespace {

using admission::Priority;

// The class a request is admitted with, as the server works it out: parse, match, read the row.
std::optional<Priority> Class(std::string_view method, std::string_view target) {
  Target t = ParseTarget(target);
  return PriorityOf(MatchRoute(method, t.segments));
}

TEST(Routes, MatchesRoutesAndParams) {
  auto m = MatchRoute("GET", {"v1", "products", "tm-1"});
  EXPECT_EQ(m.route(), Route::kGetProduct);
  EXPECT_EQ(m.param, "tm-1");
  EXPECT_EQ(MatchRoute("POST", {"v1", "orders", "o-1", "cancel"}).route(), Route::kCancelOrder);
  EXPECT_EQ(MatchRoute("POST", {"v1", "inventory", "s", "adjust"}).route(), Route::kAdjustStock);
  EXPECT_EQ(MatchRoute("GET", {"healthz"}).route(), Route::kHealthz);
}

TEST(Routes, WrongMethodIsKnownPathWithAllow) {
  auto m = MatchRoute("PATCH", {"v1", "products", "tm-1"});
  EXPECT_EQ(m.route(), Route::kNone);
  EXPECT_TRUE(m.path_known);
  EXPECT_EQ(m.allow, "GET, PUT, DELETE");
  auto none = MatchRoute("GET", {"v1", "nothing"});
  EXPECT_FALSE(none.path_known);
  EXPECT_FALSE(MatchRoute("GET", {"v1", "products", ""}).path_known);
}

TEST(Routes, EveryRowIsConsistent) {
  for (const auto& r : Routes()) {
    EXPECT_NE(r.handler, nullptr) << r.pattern;
    if (r.is_write) {
      EXPECT_NE(r.role, auth::Role::kAnonymous) << r.pattern;
      EXPECT_TRUE(r.priority.has_value()) << r.pattern << ": writes are admitted";
      EXPECT_EQ(r.source, Source::kDatabase) << r.pattern;
    }
    if (r.body == Body::kJson) {
      EXPECT_TRUE(r.is_write) << r.pattern;
    }
  }
  EXPECT_EQ(InfoOf(Route::kCreateOrder).role, auth::Role::kClient);
  EXPECT_EQ(InfoOf(Route::kCreateProduct).role, auth::Role::kAdmin);
  EXPECT_EQ(RouteLabel(Route::kGetProduct), "GET /v1/products/{id}");
}

TEST(Routes, OrdersAreCriticalListingsSheddableOperationsExempt) {
  EXPECT_EQ(Class("POST", "/v1/orders"), Priority::kCritical);
  EXPECT_EQ(Class("POST", "/v1/orders/o-123/cancel"), Priority::kCritical);
  EXPECT_EQ(Class("GET", "/v1/products?q=linen&limit=10"), Priority::kSheddable);
  EXPECT_EQ(Class("GET", "/v1/products"), Priority::kSheddable);
  EXPECT_EQ(Class("GET", "/v1/products/tm-1"), Priority::kNormal);
  EXPECT_EQ(Class("GET", "/v1/inventory/tm-1-M"), Priority::kNormal);
  EXPECT_EQ(Class("GET", "/v1/orders/o-1"), Priority::kNormal);
  EXPECT_EQ(Class("PUT", "/v1/products/tm-1"), Priority::kNormal);
  EXPECT_EQ(Class("GET", "/nowhere"), Priority::kNormal) << "a 404 is cheap, but still admitted";
  EXPECT_EQ(Class("GET", "/healthz"), std::nullopt);
  EXPECT_EQ(Class("GET", "/readyz"), std::nullopt);
  EXPECT_EQ(Class("GET", "/metrics"), std::nullopt);
  EXPECT_EQ(Class("GET", "/active-region"), std::nullopt) << "the front door's check is never refused";
}

}  // namespace
}  // namespace techmoda::http
