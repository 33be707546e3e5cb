#include "catalogd/http/router.h"

#include <gtest/gtest.h>

namespace techmoda::http {
namespace {

TEST(Router, MatchesRoutesAndParams) {
  auto m = MatchRoute("GET", {"v1", "products", "tm-1"});
  EXPECT_EQ(m.route, Route::kGetProduct);
  EXPECT_EQ(m.param, "tm-1");
  EXPECT_EQ(MatchRoute("POST", {"v1", "orders", "o-1", "cancel"}).route, Route::kCancelOrder);
  EXPECT_EQ(MatchRoute("POST", {"v1", "inventory", "s", "adjust"}).route, Route::kAdjustStock);
  EXPECT_EQ(MatchRoute("GET", {"healthz"}).route, Route::kHealthz);
}

TEST(Router, WrongMethodIsKnownPathWithAllow) {
  auto m = MatchRoute("PATCH", {"v1", "products", "tm-1"});
  EXPECT_EQ(m.route, Route::kNone);
  EXPECT_TRUE(m.path_known);
  EXPECT_EQ(m.allow, "GET, PUT, DELETE");
  auto none = MatchRoute("GET", {"v1", "nothing"});
  EXPECT_FALSE(none.path_known);
  EXPECT_FALSE(MatchRoute("GET", {"v1", "products", ""}).path_known);
}

TEST(Router, RolesOfWrites) {
  for (const auto& r : Routes()) {
    if (r.is_write) {
      EXPECT_NE(r.role, Role::kAnonymous) << r.pattern;
    }
  }
  EXPECT_EQ(InfoOf(Route::kCreateOrder).role, Role::kClient);
  EXPECT_EQ(InfoOf(Route::kCreateProduct).role, Role::kAdmin);
  EXPECT_EQ(RouteLabel(Route::kGetProduct), "GET /v1/products/{id}");
}

}  // namespace
}  // namespace techmoda::http
