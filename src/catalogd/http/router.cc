#include "catalogd/http/router.h"

namespace techmoda::http {

const std::vector<RouteInfo>& Routes() {
  static const std::vector<RouteInfo> kRoutes = {
      {Route::kHealthz, "GET", "/healthz", Role::kAnonymous, false},
      {Route::kReadyz, "GET", "/readyz", Role::kAnonymous, false},
      {Route::kMetrics, "GET", "/metrics", Role::kAnonymous, false},
      {Route::kOpenApi, "GET", "/v1/openapi.json", Role::kAnonymous, false},
      {Route::kActiveRegion, "GET", "/active-region", Role::kAnonymous, false},
      {Route::kListProducts, "GET", "/v1/products", Role::kAnonymous, false},
      {Route::kCreateProduct, "POST", "/v1/products", Role::kAdmin, true},
      {Route::kGetProduct, "GET", "/v1/products/{id}", Role::kAnonymous, false},
      {Route::kReplaceProduct, "PUT", "/v1/products/{id}", Role::kAdmin, true},
      {Route::kArchiveProduct, "DELETE", "/v1/products/{id}", Role::kAdmin, true},
      {Route::kGetStock, "GET", "/v1/inventory/{sku}", Role::kAnonymous, false},
      {Route::kSetStock, "PUT", "/v1/inventory/{sku}", Role::kAdmin, true},
      {Route::kAdjustStock, "POST", "/v1/inventory/{sku}/adjust", Role::kAdmin, true},
      {Route::kCreateOrder, "POST", "/v1/orders", Role::kClient, true},
      {Route::kGetOrder, "GET", "/v1/orders/{id}", Role::kClient, false},
      {Route::kCancelOrder, "POST", "/v1/orders/{id}/cancel", Role::kClient, true},
  };
  return kRoutes;
}

namespace {
// Splits "/v1/products/{id}" into {"v1", "products", "{id}"}.
std::vector<std::string_view> PatternSegments(std::string_view pattern) {
  std::vector<std::string_view> out;
  pattern.remove_prefix(1);
  while (!pattern.empty()) {
    auto slash = pattern.find('/');
    out.push_back(pattern.substr(0, slash));
    if (slash == std::string_view::npos) break;
    pattern.remove_prefix(slash + 1);
  }
  return out;
}
}  // namespace

RouteMatch MatchRoute(std::string_view method, const std::vector<std::string>& segments) {
  RouteMatch m;
  for (const auto& r : Routes()) {
    auto pat = PatternSegments(r.pattern);
    if (pat.size() != segments.size()) continue;
    std::string param;
    bool ok = true;
    for (std::size_t i = 0; i < pat.size() && ok; ++i) {
      if (pat[i].front() == '{') {
        param = segments[i];
        ok = !param.empty();
      } else {
        ok = pat[i] == segments[i];
      }
    }
    if (!ok) continue;
    m.path_known = true;
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += r.method;
    if (r.method == method) {
      m.route = r.route;
      m.param = std::move(param);
    }
  }
  return m;
}

const RouteInfo& InfoOf(Route r) {
  for (const auto& info : Routes())
    if (info.route == r) return info;
  static const RouteInfo kNone{Route::kNone, "", "(unmatched)", Role::kAnonymous, false};
  return kNone;
}

std::string_view RouteLabel(Route r) {
  static const std::array<std::string, kRouteCount> kLabels = [] {
    std::array<std::string, kRouteCount> a;
    a[0] = "unmatched";
    for (const auto& info : Routes())
      a[static_cast<int>(info.route)] = std::string(info.method) + " " + std::string(info.pattern);
    return a;
  }();
  return kLabels[static_cast<int>(r)];
}

}  // namespace techmoda::http
