// The request chain without the network: Parse -> Admit -> Route -> Handle. The server feeds it
// parsed HTTP requests; tests and the fuzzer call it directly with a Store of their own.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "catalogd/admission/rate_limit.h"
#include "catalogd/auth/auth.h"
#include "catalogd/http/problem.h"
#include "catalogd/http/routes.h"
#include "catalogd/metrics/metrics.h"
#include "techmoda/store.h"

namespace techmoda::http {

struct Request {
  std::string method;
  std::string target;                          // the raw request target
  std::map<std::string, std::string> headers;  // lower-case names; repeated fields joined by ", "
  std::string body;
  std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();
  std::string peer_address;  // the connection's remote address; empty in tests
};

struct ApiOptions {
  std::string served_by = "local/local/catalogd";  // region/zone/instance
  std::string deploy_id = "dev";
  std::chrono::milliseconds default_deadline{30000};
  std::chrono::milliseconds consistency_wait{2000};
  // Reads from data older than this carry Warning: 110 and X-Data-Age-Ms.
  std::chrono::milliseconds freshness_bound{5000};
  // Behind a trusted proxy (HAProxy adds X-Forwarded-For), rate-limit anonymous clients by the
  // address the proxy saw rather than the proxy's own.
  bool trust_forwarded_for = false;
  // Cache-Control of product, listing and stock reads, for a CDN in front: fresh for max_age, then
  // served stale while revalidating, and served stale when the origin fails.
  int cache_max_age_s = 5;
  int stock_max_age_s = 1;
  int stale_while_revalidate_s = 30;
  int stale_if_error_s = 86400;
};

struct Served {
  Response response;
  Route route = Route::kNone;
  std::string request_id;
};

// A request on its way through the chain: parsed and matched once, then what the common steps
// established before its route's handler runs.
struct Call {
  const Request& req;
  const Target& target;
  const RouteMatch& match;
  const auth::Identity& who;
  const std::string& request_id;
  std::chrono::steady_clock::time_point deadline;
  WriteContext ctx;                        // writes: request and write ids, idempotency, fingerprint
  std::optional<boost::json::value> body;  // Body::kJson routes: the parsed document
};

// Thread-safe: any number of threads may call Serve at once.
class Api {
 public:
  Api(Store& store, const auth::TokenRegistry& tokens, metrics::Metrics& metrics, ApiOptions options);

  // Answers one request. Never throws: an unexpected exception becomes a logged 500.
  Served Serve(const Request& req);
  // The same for a request the caller has already parsed and matched (the server does, to admit it).
  Served Serve(const Request& req, const Target& target, const RouteMatch& match);

  // True when Serve would answer the matched request from this process alone, without blocking
  // (health, the OpenAPI document; reads the loaded in-memory copy answers when the request carries no
  // consistency token), so the network thread may call it directly.
  bool AnswersWithoutBlocking(const Request& req, const RouteMatch& match);

  // The request's deadline: its arrival plus the default deadline, or sooner when it sends a valid
  // Request-Timeout (an invalid one is answered 400 by Serve).
  std::chrono::steady_clock::time_point DeadlineOf(const Request& req) const;

  // Per-client rate limits; none when never set. Requires: called before the first Serve; the
  // limiter outlives the Api.
  void SetRateLimiter(admission::RateLimiter* limiter) { rate_limiter_ = limiter; }
  // Adds series to /metrics (admission control, rate limits). Requires: before the first Serve.
  void AddMetricsSource(std::function<void(metrics::Families&)> source) {
    metrics_sources_.push_back(std::move(source));
  }

  // With several regions: `begin` says whether a write may start (the instance's lease on the active
  // epoch), `end` whether its outcome may be acknowledged. Requires: before the first Serve.
  struct WriteGate {
    std::function<Status()> begin, end;
  };
  void SetWriteGate(WriteGate gate) { write_gate_ = std::move(gate); }
  // With several regions: GET /active-region answers 200 when this instance's region is the active
  // one (the front door routes clients by it), else 503; the probe gives that and the JSON body.
  // Requires: before the first Serve.
  void SetActiveRegionProbe(std::function<std::pair<bool, std::string>()> probe) {
    active_region_probe_ = std::move(probe);
  }

  // Names this instance in X-Served-By. Requires: called before the first Serve.
  void SetServedBy(std::string served_by) { options_.served_by = std::move(served_by); }

  // While draining, /readyz answers 503 so balancers stop sending new work.
  void SetDraining(bool draining) { draining_.store(draining); }

  // The X-Request-Id to use: the client's when it is 1..200 printable ASCII characters, else new.
  static std::string RequestIdFor(const Request& req);
  // Adds X-Request-Id and X-Served-By.
  void Stamp(Response& r, const std::string& request_id) const;
  const ApiOptions& options() const { return options_; }

 private:
  // The route table names the handlers.
  friend const std::vector<RouteInfo>& Routes();

  // Auth, routing errors, the id rule, the media type and rate limits; then the route.
  Response Admit(const Request& req, const Target& target, const RouteMatch& m, const std::string& request_id);
  // The write gate around a write; then Handle.
  Response HandleGated(Call& call);
  // What every route but the operations ones needs: the deadline, the consistency wait of reads, the
  // write context and body of writes; then the route's handler.
  Response Handle(Call& call);

  // One handler per route (the table in routes.cc points at them). Requires: Handle's steps done.
  Response Healthz(const Call& call);
  Response Readyz(const Call& call);
  Response MetricsText(const Call& call);
  Response OpenApiDocument(const Call& call);
  Response ActiveRegion(const Call& call);
  Response ListProducts(const Call& call);
  Response GetProduct(const Call& call);
  Response CreateProduct(const Call& call);
  Response ReplaceProduct(const Call& call);
  Response ArchiveProduct(const Call& call);
  Response GetStock(const Call& call);
  Response SetStock(const Call& call);
  Response AdjustStock(const Call& call);
  Response CreateOrder(const Call& call);
  Response GetOrder(const Call& call);
  Response CancelOrder(const Call& call);

  // Adds the stale-read headers when the store's data is older than the freshness bound.
  void MarkIfStale(Response& r);
  Response AnswerWrite(const Result<WriteAnswer>& r, const std::string& instance);
  // Adds Cache-Control and Vary to a cacheable read.
  void MarkCacheable(Response& r, int max_age_s) const;
  // The key of a client's rate-limit bucket: its token's digest, else its address.
  std::string ClientKey(const Request& req, const auth::Identity& who) const;

  Store& store_;
  const auth::TokenRegistry& tokens_;
  metrics::Metrics& metrics_;
  ApiOptions options_;
  std::atomic<bool> draining_{false};
  // Orders created (not replayed): by customers, and by the canary (synthetic).
  std::atomic<std::uint64_t> orders_created_{0}, synthetic_orders_created_{0};
  admission::RateLimiter* rate_limiter_ = nullptr;
  std::vector<std::function<void(metrics::Families&)>> metrics_sources_;
  WriteGate write_gate_;
  std::function<std::pair<bool, std::string>()> active_region_probe_;
};

}  // namespace techmoda::http
