#include "catalogd/http/routes.h"

#include <array>
#include <boost/url/parse.hpp>

#include "catalogd/http/handlers.h"

namespace techmoda::http {

using admission::Priority;
using auth::Role;

const std::vector<RouteInfo>& Routes() {
  // Orders are kept last under overload; listings and searches go first.
  static const std::vector<RouteInfo> kRoutes = {
      {Route::kHealthz, "GET", "/healthz", Role::kAnonymous, false, std::nullopt, Body::kNone, Source::kProcess,
       &Api::Healthz},
      {Route::kReadyz, "GET", "/readyz", Role::kAnonymous, false, std::nullopt, Body::kNone, Source::kDatabase,
       &Api::Readyz},
      {Route::kMetrics, "GET", "/metrics", Role::kAnonymous, false, std::nullopt, Body::kNone, Source::kDatabase,
       &Api::MetricsText},
      {Route::kOpenApi, "GET", "/v1/openapi.json", Role::kAnonymous, false, std::nullopt, Body::kNone, Source::kProcess,
       &Api::OpenApiDocument},
      {Route::kActiveRegion, "GET", "/active-region", Role::kAnonymous, false, std::nullopt, Body::kNone,
       Source::kProcess, &Api::ActiveRegion},
      {Route::kListProducts, "GET", "/v1/products", Role::kAnonymous, false, Priority::kSheddable, Body::kNone,
       Source::kMemory, &Api::ListProducts},
      {Route::kCreateProduct, "POST", "/v1/products", Role::kAdmin, true, Priority::kNormal, Body::kJson,
       Source::kDatabase, &Api::CreateProduct},
      {Route::kGetProduct, "GET", "/v1/products/{id}", Role::kAnonymous, false, Priority::kNormal, Body::kNone,
       Source::kMemory, &Api::GetProduct},
      {Route::kReplaceProduct, "PUT", "/v1/products/{id}", Role::kAdmin, true, Priority::kNormal, Body::kJson,
       Source::kDatabase, &Api::ReplaceProduct},
      {Route::kArchiveProduct, "DELETE", "/v1/products/{id}", Role::kAdmin, true, Priority::kNormal, Body::kNone,
       Source::kDatabase, &Api::ArchiveProduct},
      {Route::kGetStock, "GET", "/v1/inventory/{sku}", Role::kAnonymous, false, Priority::kNormal, Body::kNone,
       Source::kMemory, &Api::GetStock},
      {Route::kSetStock, "PUT", "/v1/inventory/{sku}", Role::kAdmin, true, Priority::kNormal, Body::kJson,
       Source::kDatabase, &Api::SetStock},
      {Route::kAdjustStock, "POST", "/v1/inventory/{sku}/adjust", Role::kAdmin, true, Priority::kNormal, Body::kJson,
       Source::kDatabase, &Api::AdjustStock},
      {Route::kCreateOrder, "POST", "/v1/orders", Role::kClient, true, Priority::kCritical, Body::kJson,
       Source::kDatabase, &Api::CreateOrder},
      {Route::kGetOrder, "GET", "/v1/orders/{id}", Role::kClient, false, Priority::kNormal, Body::kNone,
       Source::kDatabase, &Api::GetOrder},
      {Route::kCancelOrder, "POST", "/v1/orders/{id}/cancel", Role::kClient, true, Priority::kCritical, Body::kNone,
       Source::kDatabase, &Api::CancelOrder},
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

Target ParseTarget(std::string_view target) {
  Target t;
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return t;
  t.valid = true;
  t.path = std::string(url->path());
  for (auto s : url->segments()) t.segments.push_back(s);
  for (auto p : url->params()) t.query.emplace(p.key, p.has_value ? p.value : std::string());
  return t;
}

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
      m.info = &r;
      m.param = std::move(param);
    }
  }
  return m;
}

std::optional<admission::Priority> PriorityOf(const RouteMatch& m) {
  return m.info ? m.info->priority : std::optional<admission::Priority>(admission::Priority::kNormal);
}

const RouteInfo& InfoOf(Route r) {
  for (const auto& info : Routes())
    if (info.route == r) return info;
  static const RouteInfo kNone{Route::kNone, "",          "(unmatched)",    Role::kAnonymous, false,
                               std::nullopt, Body::kNone, Source::kProcess, nullptr};
  return kNone;
}

std::vector<std::string> RouteLabels() {
  std::vector<std::string> labels(kRouteCount);
  labels[0] = "unmatched";
  for (const auto& info : Routes())
    labels[static_cast<int>(info.route)] = std::string(info.method) + " " + std::string(info.pattern);
  return labels;
}

std::string_view RouteLabel(Route r) {
  static const std::vector<std::string> kLabels = RouteLabels();
  return kLabels[static_cast<int>(r)];
}

}  // namespace techmoda::http
