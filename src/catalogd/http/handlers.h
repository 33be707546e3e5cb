// The request chain without the network: Parse -> Admit -> Route -> Handle. The server feeds it
// parsed HTTP requests; tests and the fuzzer call it directly with a Store of their own.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <string>

#include "catalogd/http/auth.h"
#include "catalogd/http/problem.h"
#include "catalogd/http/router.h"
#include "catalogd/metrics/metrics.h"
#include "techmoda/store.h"

namespace techmoda::http {

struct Request {
  std::string method;
  std::string target;                          // the raw request target
  std::map<std::string, std::string> headers;  // lower-case names; repeated fields joined by ", "
  std::string body;
  std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();
};

struct ApiOptions {
  std::string served_by = "local/local/catalogd";  // region/zone/instance
  std::string deploy_id = "dev";
  std::chrono::milliseconds default_deadline{30000};
  std::chrono::milliseconds consistency_wait{2000};
  // Reads from data older than this carry Warning: 110 and X-Data-Age-Ms.
  std::chrono::milliseconds freshness_bound{5000};
};

struct Served {
  Response response;
  Route route = Route::kNone;
  std::string request_id;
};

// Thread-safe: any number of threads may call Serve at once.
class Api {
 public:
  Api(Store& store, const TokenRegistry& tokens, metrics::Metrics& metrics, ApiOptions options);

  // Answers one request. Never throws: an unexpected exception becomes a logged 500.
  Served Serve(const Request& req);

  // True when Serve would answer `req` from memory without blocking (a product, listing or stock
  // read with no consistency token to wait for), so the network thread may call it directly.
  bool AnswersWithoutBlocking(const Request& req);

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
  Response Handle(const Request& req, const RouteMatch& m, const Identity& who, const std::string& request_id,
                  const std::string& path, const std::multimap<std::string, std::string>& query);
  Response Readyz();
  Response MetricsText();
  // Adds the stale-read headers when the store's data is older than the freshness bound.
  void MarkIfStale(Response& r);
  Response AnswerWrite(const Result<WriteAnswer>& r, const std::string& instance);

  Store& store_;
  const TokenRegistry& tokens_;
  metrics::Metrics& metrics_;
  ApiOptions options_;
  std::atomic<bool> draining_{false};
};

}  // namespace techmoda::http
