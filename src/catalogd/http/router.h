// The routing table of the API: method and path pattern to a named route and the role it needs.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "catalogd/http/auth.h"

namespace techmoda::http {

enum class Route {
  kNone,
  kHealthz,
  kReadyz,
  kMetrics,
  kOpenApi,
  kActiveRegion,
  kListProducts,
  kGetProduct,
  kCreateProduct,
  kReplaceProduct,
  kArchiveProduct,
  kGetStock,
  kSetStock,
  kAdjustStock,
  kCreateOrder,
  kGetOrder,
  kCancelOrder,
};
inline constexpr int kRouteCount = static_cast<int>(Route::kCancelOrder) + 1;

struct RouteInfo {
  Route route;
  std::string_view method;
  std::string_view pattern;  // "/v1/products/{id}"; "{...}" is one path segment
  Role role;                 // the least role that may call it
  bool is_write;
};

// Every route, in one table. The OpenAPI test checks that each appears in api/openapi.json.
const std::vector<RouteInfo>& Routes();

struct RouteMatch {
  Route route = Route::kNone;
  std::string param;        // the decoded {..} segment, if the pattern has one
  bool path_known = false;  // some route has this path (so a wrong method is 405, not 404)
  std::string allow;        // the methods allowed on this path, for the Allow header
};

// Matches decoded path segments ("v1", "products", "tm-1") and a method.
RouteMatch MatchRoute(std::string_view method, const std::vector<std::string>& segments);

// "GET /v1/products/{id}": a label for metrics and logs (never a raw path, so labels stay bounded).
std::string_view RouteLabel(Route r);
const RouteInfo& InfoOf(Route r);

}  // namespace techmoda::http
