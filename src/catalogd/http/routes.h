// The routing table of the API: one row per route, with everything the server and the chain decide by
// (who may call it, how it is admitted, what body it takes, whether memory answers it, its handler).
// A request is matched once, when it is read; admission and the handler read the same row.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalogd/admission/admission.h"
#include "catalogd/auth/auth.h"
#include "catalogd/http/problem.h"

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

// What a route's request body must be.
enum class Body {
  kNone,  // none; a write that sends one is 400
  kJson,  // a JSON document (application/json), parsed and validated by the handler
};

// Where the answer can come from.
enum class Source {
  kProcess,  // this process alone (health, the OpenAPI document, the active-region view): never blocks
  kMemory,   // the in-memory copy, when loaded and the request carries no consistency token
  kDatabase,
};

class Api;
struct Call;
using Handler = Response (Api::*)(const Call&);

struct RouteInfo {
  Route route;
  std::string_view method;
  std::string_view pattern;  // "/v1/products/{id}"; "{...}" is one path segment: an id or a sku
  auth::Role role;           // the least role that may call it
  bool is_write;
  // How admission treats it under overload; nullopt: never refused (health, readiness, metrics, the
  // OpenAPI document, the front door's active-region check).
  std::optional<admission::Priority> priority;
  Body body;
  Source source;
  Handler handler;
};

// Every route, in one table. The OpenAPI test checks that each appears in api/openapi.json.
const std::vector<RouteInfo>& Routes();

// A request target, parsed once: the decoded path segments and the query parameters.
struct Target {
  bool valid = false;  // an origin-form target that parses
  std::string path;    // decoded
  std::vector<std::string> segments;
  std::multimap<std::string, std::string> query;
};
Target ParseTarget(std::string_view target);

struct RouteMatch {
  const RouteInfo* info = nullptr;  // null: no route (404 or 405)
  std::string param;                // the decoded {..} segment, if the pattern has one
  bool path_known = false;          // some route has this path (so a wrong method is 405, not 404)
  std::string allow;                // the methods allowed on this path, for the Allow header
  Route route() const { return info ? info->route : Route::kNone; }
};

// Matches decoded path segments ("v1", "products", "tm-1") and a method.
RouteMatch MatchRoute(std::string_view method, const std::vector<std::string>& segments);

// The priority a request is admitted with: its route's, and kNormal for one that matches none (it is
// answered 404 or 405, cheaply, but must not skip admission).
std::optional<admission::Priority> PriorityOf(const RouteMatch& m);

// "GET /v1/products/{id}": a label for metrics and logs (never a raw path, so labels stay bounded).
std::string_view RouteLabel(Route r);
// Every route's label, indexed by Route (for the metrics registry).
std::vector<std::string> RouteLabels();
const RouteInfo& InfoOf(Route r);

}  // namespace techmoda::http
