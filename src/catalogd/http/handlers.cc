#include "catalogd/http/handlers.h"

#include <boost/json/serialize.hpp>

#include "catalogd/model/cursor.h"
#include "catalogd/model/etag.h"
#include "catalogd/model/json_model.h"
#include "catalogd/model/validate.h"
#include "common/json_util.h"
#include "common/log.h"

namespace json = boost::json;

namespace techmoda {
namespace embedded {
std::vector<std::pair<std::string_view, std::string_view>> OpenApi();
}

namespace http {
namespace {

using Clock = std::chrono::steady_clock;

std::string Header(const Request& req, const std::string& name) {
  auto it = req.headers.find(name);
  return it == req.headers.end() ? std::string() : it->second;
}

bool HasHeader(const Request& req, const std::string& name) { return req.headers.count(name) > 0; }

// Request-Timeout: a whole number of seconds, at least 1 (nullopt for anything else).
std::optional<long long> ParseRequestTimeout(const std::string& t) {
  bool digits =
      !t.empty() && t.size() <= 6 && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || std::stoll(t) < 1) return std::nullopt;
  return std::stoll(t);
}

Response Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// "application/json", optionally with parameters; only UTF-8 is accepted as a charset.
bool IsJsonMediaType(std::string_view ct) {
  auto semi = ct.find(';');
  std::string type(ct.substr(0, semi));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  for (auto& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (type != "application/json") return false;
  if (semi == std::string_view::npos) return true;
  std::string params(ct.substr(semi + 1));
  for (auto& c : params) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto cs = params.find("charset=");
  if (cs == std::string::npos) return true;
  std::string charset = params.substr(cs + 8);
  charset.erase(std::remove(charset.begin(), charset.end(), '"'), charset.end());
  while (!charset.empty() && charset.back() == ' ') charset.pop_back();
  return charset.rfind("utf-8", 0) == 0;
}

}  // namespace

Api::Api(Store& store, const auth::TokenRegistry& tokens, metrics::Metrics& metrics, ApiOptions options)
    : store_(store), tokens_(tokens), metrics_(metrics), options_(std::move(options)) {}

std::string Api::RequestIdFor(const Request& req) {
  std::string given = Header(req, "x-request-id");
  if (model::IsValidIdempotencyKey(given)) return given;  // same rule: 1..200 printable ASCII
  return UniqueHex(12);
}

Clock::time_point Api::DeadlineOf(const Request& req) const {
  auto deadline = req.received + options_.default_deadline;
  if (auto t = ParseRequestTimeout(Header(req, "request-timeout")))
    deadline = std::min(deadline, req.received + std::chrono::seconds(*t));
  return deadline;
}

std::string Api::ClientKey(const Request& req, const auth::Identity& who) const {
  if (!who.scope.empty()) return "token:" + who.scope;
  std::string address = req.peer_address;
  if (options_.trust_forwarded_for && HasHeader(req, "x-forwarded-for")) {
    // The proxy appends the address it saw; anything before it the client may have written.
    std::string xff = Header(req, "x-forwarded-for");
    auto comma = xff.rfind(',');
    address = xff.substr(comma == std::string::npos ? 0 : comma + 1);
    address.erase(0, address.find_first_not_of(' '));
  }
  return "addr:" + address;
}

void Api::MarkCacheable(Response& r, int max_age_s) const {
  r.headers.emplace_back("Cache-Control", "public, max-age=" + std::to_string(max_age_s) + ", stale-while-revalidate=" +
                                              std::to_string(options_.stale_while_revalidate_s) +
                                              ", stale-if-error=" + std::to_string(options_.stale_if_error_s));
  // A read with a consistency token must not be answered from a cache filled by one without.
  r.headers.emplace_back("Vary", "X-Consistency-Token");
}

void Api::Stamp(Response& r, const std::string& request_id) const {
  r.headers.emplace_back("X-Request-Id", request_id);
  r.headers.emplace_back("X-Served-By", options_.served_by);
}

bool Api::AnswersWithoutBlocking(const Request& req, const RouteMatch& m) {
  if (!m.info) return false;
  if (m.info->source == Source::kProcess) return true;
  return m.info->source == Source::kMemory && !HasHeader(req, "x-consistency-token") && store_.ReadsFromMemory();
}

Served Api::Serve(const Request& req) {
  Target target = ParseTarget(req.target);
  RouteMatch match = target.valid ? MatchRoute(req.method, target.segments) : RouteMatch{};
  return Serve(req, target, match);
}

Served Api::Serve(const Request& req, const Target& target, const RouteMatch& m) {
  Served out;
  out.request_id = RequestIdFor(req);
  out.route = m.route();
  try {
    out.response = Admit(req, target, m, out.request_id);
  } catch (const std::exception& e) {
    log::Error("request.exception", {{"request_id", out.request_id}, {"what", e.what()}});
    out.response =
        Problem(500, "internal", "an internal error occurred; quote the instance when reporting it", out.request_id);
  } catch (...) {
    log::Error("request.exception", {{"request_id", out.request_id}, {"what", "unknown"}});
    out.response =
        Problem(500, "internal", "an internal error occurred; quote the instance when reporting it", out.request_id);
  }
  Stamp(out.response, out.request_id);
  return out;
}

Response Api::Admit(const Request& req, const Target& target, const RouteMatch& m, const std::string& rid) {
  if (!target.valid) return Problem(400, "invalid-request", "the request target is not a valid URL path", rid);
  // A token that is sent must be valid, whatever the route needs.
  auth::Identity who = tokens_.Authenticate(Header(req, "authorization"));
  if (!who.valid) {
    Response r = Problem(401, "unauthenticated", "the bearer token is not valid", rid);
    r.headers.emplace_back("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    return r;
  }
  if (!m.path_known) return Problem(404, "not-found", "no such resource: " + target.path, rid);
  if (!m.info) {
    Response r = Problem(405, "method-not-allowed", req.method + " is not allowed here", rid);
    r.headers.emplace_back("Allow", m.allow);
    return r;
  }
  if (!auth::RoleAllows(who.role, m.info->role)) {
    if (who.role != auth::Role::kAnonymous)
      return Problem(403, "forbidden", "this token's role may not make this call", rid);
    Response r = Problem(401, "unauthenticated", "this call needs a bearer token", rid);
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  // Ids and skus follow one rule; anything else names nothing, whatever its bytes, and never reaches
  // the database (nor is echoed).
  if (!m.param.empty() && !IsValidIdentifier(m.param)) return Problem(404, "not-found", "no such resource", rid);
  if (!req.body.empty() && !IsJsonMediaType(Header(req, "content-type")))
    return Problem(415, "unsupported-media-type", "a request body must be sent as application/json", rid);
  if (rate_limiter_ && m.info->priority) {
    if (auto wait = rate_limiter_->Take(who.role, ClientKey(req, who))) {
      Response r =
          Problem(429, "too-many-requests", "this client is over its request rate; retry after the given delay", rid);
      for (auto& [name, value] : r.headers)
        if (name == "Retry-After") value = std::to_string(*wait);
      return r;
    }
  }
  Call call{req, target, m, who, rid, DeadlineOf(req), {}, std::nullopt};
  // The operations routes answer at once: no deadline, token wait or write gate applies to them.
  if (!m.info->priority) return (this->*m.info->handler)(call);
  return HandleGated(call);
}

Response Api::AnswerWrite(const Result<WriteAnswer>& r, const std::string& instance) {
  if (!r.ok()) return ProblemFromStatus(r.status(), instance);
  Response resp;
  resp.status = r->status;
  resp.body = r->body;
  if (resp.status == 204) resp.content_type.clear();
  resp.headers = r->headers;
  resp.headers.emplace_back("X-Consistency-Token", r->consistency_token);
  if (r->replayed) resp.headers.emplace_back("Idempotent-Replayed", "true");
  return resp;
}

void Api::MarkIfStale(Response& r) {
  std::int64_t age = store_.DataAgeMs();
  if (age <= options_.freshness_bound.count()) return;
  r.headers.emplace_back("Warning", "110 - \"stale\"");
  r.headers.emplace_back("X-Data-Age-Ms", std::to_string(age));
  metrics_.CountStaleRead();
}

Response Api::Readyz(const Call&) {
  if (draining_.load()) return Json(503, R"({"status":"not_ready","reason":"shutting down"})");
  Status s = store_.CheckReady();
  if (!s.ok()) {
    json::object o{{"status", "not_ready"}, {"reason", s.detail()}};
    Response r = Json(503, json::serialize(o));
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  return Json(200, R"({"status":"ready"})");
}

Response Api::MetricsText(const Call&) {
  Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = metrics_.Render([this](metrics::Families& out) {
    using metrics::AddCounter;
    using metrics::AddGauge;
    AddGauge(out, "catalogd_db_pool_in_use", "Database connections in use.", store_.PoolInUse());
    AddGauge(out, "catalogd_db_pool_max", "Size limit of the database connection pool.", store_.PoolMax());
    AddCounter(out, "catalogd_db_transaction_retries_total",
               "Write transactions retried after a deadlock or serialisation failure.",
               static_cast<double>(store_.TransactionRetries()));
    auto& orders = metrics::AddFamily(out, "catalogd_orders_created_total",
                                      "Orders created (idempotent replays not counted); kind=\"synthetic\" are the "
                                      "canary's, left out of business figures.",
                                      prometheus::MetricType::Counter);
    metrics::AddSample(orders, static_cast<double>(orders_created_.load(std::memory_order_relaxed)),
                       {{"kind", "customer"}});
    metrics::AddSample(orders, static_cast<double>(synthetic_orders_created_.load(std::memory_order_relaxed)),
                       {{"kind", "synthetic"}});
    // Read against the scrape's own timestamp, this finds a node whose clock has drifted.
    AddGauge(out, "catalogd_time_seconds", "The node's clock (Unix seconds).",
             std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
    store_.CollectMetrics(out);
    for (const auto& source : metrics_sources_) source(out);
  });
  return r;
}

Response Api::HandleGated(Call& call) {
  if (!call.match.info->is_write || !write_gate_.begin) return Handle(call);
  if (Status may = write_gate_.begin(); !may.ok()) {
    Response r = Problem(503, "region-fenced", may.detail(), call.request_id);
    r.headers.emplace_back("Retry-After", "2");
    return r;
  }
  Response r = Handle(call);
  if (Status ack = write_gate_.end(); !ack.ok() && r.status < 300)
    r = Problem(503, "outcome-unknown", ack.detail() + "; retry with the same Idempotency-Key to learn it",
                call.request_id);
  return r;
}

Response Api::Handle(Call& call) {
  const Request& req = call.req;
  const RouteInfo& info = *call.match.info;
  const std::string& rid = call.request_id;
  if (HasHeader(req, "request-timeout") && !ParseRequestTimeout(Header(req, "request-timeout")))
    return Problem(400, "invalid-request", "Request-Timeout must be a whole number of seconds, at least 1", rid);
  if (Clock::now() >= call.deadline)
    return Problem(503, "deadline-exceeded", "the request's deadline passed before it could be handled", rid);

  // Reads that carry a consistency token are answered from data at least that fresh.
  if (!info.is_write && HasHeader(req, "x-consistency-token")) {
    metrics_.CountConsistencyWait();
    Status fresh = store_.WaitForToken(Header(req, "x-consistency-token"),
                                       std::min(call.deadline, Clock::now() + options_.consistency_wait));
    if (!fresh.ok()) return ProblemFromStatus(fresh, rid);
  }
  if (info.is_write) {
    WriteContext& ctx = call.ctx;
    ctx.request_id = rid;
    ctx.write_id = UniqueHex(16);
    ctx.deploy_id = options_.deploy_id;
    ctx.idempotency_scope = call.who.scope;
    ctx.deadline = call.deadline;
    if (HasHeader(req, "idempotency-key")) {
      std::string key = Header(req, "idempotency-key");
      if (!model::IsValidIdempotencyKey(key))
        return Problem(400, "invalid-idempotency-key", "Idempotency-Key must be 1 to 200 printable ASCII characters",
                       rid);
      ctx.idempotency_key = key;
    } else if (info.route == Route::kCreateOrder) {
      return Problem(400, "idempotency-key-required", "POST /v1/orders needs an Idempotency-Key header", rid);
    }
    std::string canonical;
    if (info.body == Body::kJson) {
      auto parsed = model::ParseJsonBody(req.body);
      if (!parsed.ok()) return ProblemFromStatus(parsed.status(), rid);
      call.body = std::move(parsed).value();
      canonical = CanonicalJson(*call.body);
    } else if (!req.body.empty()) {
      return Problem(400, "invalid-request", "this call takes no request body", rid);
    }
    ctx.fingerprint = Sha256Hex(req.method + " " + call.target.path + "\n" + canonical);
  }
  return (this->*info.handler)(call);
}

Response Api::Healthz(const Call&) { return Json(200, R"({"status":"alive"})"); }

Response Api::OpenApiDocument(const Call&) { return Json(200, std::string(embedded::OpenApi().at(0).second)); }

Response Api::ActiveRegion(const Call&) {
  // One region: it is the active one. Several: what this instance's view of the global etcd says.
  if (!active_region_probe_) return Json(200, R"({"serves_writes":true})");
  auto [serves, body] = active_region_probe_();
  return Json(serves ? 200 : 503, body);
}

Response Api::GetProduct(const Call& call) {
  auto p = store_.GetProduct(call.match.param, call.deadline);
  if (!p.ok()) return ProblemFromStatus(p.status(), call.request_id);
  std::string etag = model::EtagOf(p->version);
  if (HasHeader(call.req, "if-none-match") &&
      model::EtagListMatches(Header(call.req, "if-none-match"), etag, model::EtagComparison::kWeak)) {
    Response r;
    r.status = 304;
    r.content_type.clear();
    r.headers.emplace_back("ETag", etag);
    MarkCacheable(r, options_.cache_max_age_s);
    return r;
  }
  Response r = Json(200, *p->json);
  r.headers.emplace_back("ETag", etag);
  MarkCacheable(r, options_.cache_max_age_s);
  MarkIfStale(r);
  return r;
}

Response Api::ListProducts(const Call& call) {
  auto q = model::ParseProductQuery(call.target.query);
  if (!q.ok()) return ProblemFromStatus(q.status(), call.request_id);
  auto page = store_.ListProducts(*q, call.deadline);
  if (!page.ok()) return ProblemFromStatus(page.status(), call.request_id);
  // The page is the products' stored answers joined, never serialised again.
  std::size_t size = 64;
  for (const auto& p : page->items) size += p.json->size() + 1;
  std::string body;
  body.reserve(size);
  body += R"({"items":[)";
  for (std::size_t i = 0; i < page->items.size(); ++i) {
    if (i) body += ',';
    body += *page->items[i].json;
  }
  body += R"(],"next_cursor":)";
  if (page->has_more && !page->items.empty())
    body += json::serialize(json::value(model::EncodeCursor(page->items.back().id)));
  else
    body += "null";
  body += '}';
  Response r = Json(200, std::move(body));
  MarkCacheable(r, options_.cache_max_age_s);
  MarkIfStale(r);
  return r;
}

Response Api::CreateProduct(const Call& call) {
  auto p = model::ParseProduct(*call.body, std::nullopt, "tm-" + UniqueHex(8));
  if (!p.ok()) return ProblemFromStatus(p.status(), call.request_id);
  return AnswerWrite(store_.CreateProduct(call.ctx, *p), call.request_id);
}

Response Api::ReplaceProduct(const Call& call) {
  auto p = model::ParseProduct(*call.body, call.match.param, "");
  if (!p.ok()) return ProblemFromStatus(p.status(), call.request_id);
  Precondition pre;
  if (HasHeader(call.req, "if-match")) pre.if_match = Header(call.req, "if-match");
  return AnswerWrite(store_.ReplaceProduct(call.ctx, *p, pre), call.request_id);
}

Response Api::ArchiveProduct(const Call& call) {
  return AnswerWrite(store_.ArchiveProduct(call.ctx, call.match.param), call.request_id);
}

Response Api::GetStock(const Call& call) {
  auto s = store_.GetStock(call.match.param, call.deadline);
  if (!s.ok()) return ProblemFromStatus(s.status(), call.request_id);
  Response r = Json(200, json::serialize(model::ToJson(*s)));
  MarkCacheable(r, options_.stock_max_age_s);
  MarkIfStale(r);
  return r;
}

Response Api::SetStock(const Call& call) {
  auto n = model::ParseOnHand(*call.body);
  if (!n.ok()) return ProblemFromStatus(n.status(), call.request_id);
  return AnswerWrite(store_.SetStock(call.ctx, call.match.param, *n), call.request_id);
}

Response Api::AdjustStock(const Call& call) {
  auto n = model::ParseDelta(*call.body);
  if (!n.ok()) return ProblemFromStatus(n.status(), call.request_id);
  return AnswerWrite(store_.AdjustStock(call.ctx, call.match.param, *n), call.request_id);
}

Response Api::CreateOrder(const Call& call) {
  auto o = model::ParseOrder(*call.body, call.who.marks_synthetic);
  if (!o.ok()) return ProblemFromStatus(o.status(), call.request_id);
  auto made = store_.CreateOrder(call.ctx, *o);
  if (made.ok() && made->status == 201 && !made->replayed)
    (o->synthetic ? synthetic_orders_created_ : orders_created_).fetch_add(1, std::memory_order_relaxed);
  return AnswerWrite(std::move(made), call.request_id);
}

Response Api::GetOrder(const Call& call) {
  auto o = store_.GetOrder(call.match.param, call.deadline);
  if (!o.ok()) return ProblemFromStatus(o.status(), call.request_id);
  Response r = Json(200, json::serialize(model::ToJson(*o)));
  // An order is the customer's own: no shared cache may keep it.
  r.headers.emplace_back("Cache-Control", "private, no-store");
  return r;
}

Response Api::CancelOrder(const Call& call) {
  return AnswerWrite(store_.CancelOrder(call.ctx, call.match.param), call.request_id);
}

}  // namespace http
}  // namespace techmoda
