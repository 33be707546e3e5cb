// HTTP-level rules: auth, media types, limits, standard headers, operations endpoints, tokens.
#include <thread>

#include "catalogd/http/routes.h"
#include "tests/system/test_util.h"

namespace techmoda::test {
namespace {

namespace json = boost::json;

TEST(Protocol, Authentication) {
  ExpectProblem(Send(Port(), "POST", "/v1/products", "", "{}"), 401, "unauthenticated");
  EXPECT_EQ(Send(Port(), "POST", "/v1/products", "", "{}").Header("www-authenticate").rfind("Bearer", 0), 0u);
  ExpectProblem(Send(Port(), "POST", "/v1/products", kClientToken, "{}"), 403, "forbidden");
  // An unknown token is 401 even where no token is needed.
  ExpectProblem(Get(Port(), "/v1/products", "no-such-token-0123456789"), 401);
  ExpectProblem(Get(Port(), "/healthz", "no-such-token-0123456789"), 401);
  ExpectProblem(Call(Port(), "GET", "/v1/products", "", {{"Authorization", "Basic dXNlcjpwYXNz"}}), 401);
  EXPECT_EQ(Get(Port(), "/v1/products", kClientToken).status, 200);
  // Tokens never reach the log.
  auto log = ReadFile(SharedCatalogd().log_path()).value_or("");
  EXPECT_EQ(log.find(kAdminToken), std::string::npos);
  EXPECT_EQ(log.find(kClientToken), std::string::npos);
}

TEST(Protocol, MediaTypeAndBodies) {
  std::string body = json::serialize(ProductBody(Unique("p"), {Unique("s")}));
  ExpectProblem(Send(Port(), "POST", "/v1/products", kAdminToken, body, {{"Content-Type", ""}}), 415);
  ExpectProblem(Send(Port(), "POST", "/v1/products", kAdminToken, body, {{"Content-Type", "text/plain"}}), 415);
  ExpectProblem(
      Send(Port(), "POST", "/v1/products", kAdminToken, body, {{"Content-Type", "application/json; charset=latin1"}}),
      415);
  EXPECT_EQ(
      Send(Port(), "POST", "/v1/products", kAdminToken, body, {{"Content-Type", "application/json; charset=UTF-8"}})
          .status,
      201);
  ExpectProblem(Send(Port(), "POST", "/v1/products", kAdminToken, ""), 400);
}

TEST(Protocol, StandardHeaders) {
  auto r = Get(Port(), "/v1/products", "", {{"X-Request-Id", "my-request-1"}});
  EXPECT_EQ(r.Header("x-request-id"), "my-request-1");
  EXPECT_EQ(r.Header("x-served-by").rfind("test/z1/", 0), 0u) << r.Header("x-served-by");
  auto gen = Get(Port(), "/v1/products");
  EXPECT_FALSE(gen.Header("x-request-id").empty());
  EXPECT_NE(gen.Header("x-request-id"), Get(Port(), "/v1/products").Header("x-request-id"));
  auto err = Get(Port(), "/nowhere");
  EXPECT_FALSE(err.Header("x-request-id").empty());
  EXPECT_FALSE(err.Header("x-served-by").empty());
}

TEST(Protocol, RoutingErrors) {
  ExpectProblem(Get(Port(), "/nowhere"), 404, "not-found");
  ExpectProblem(Get(Port(), "/v1/products/"), 404);
  ExpectProblem(Call(Port(), "PATCH", "/v1/products/x", "{}", {{"Authorization", "Bearer " + kAdminToken}}), 405);
  auto r = Call(Port(), "DELETE", "/v1/orders", "");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("allow"), "POST");
}

TEST(Protocol, SizeLimits) {
  // Body over 1 MiB: 413.
  std::string big = "{\"name\":\"" + std::string((1 << 20) + 10, 'a') + "\"}";
  auto r = Send(Port(), "POST", "/v1/products", kAdminToken, big);
  ExpectProblem(r, 413);
  // Header block over 16 KiB: 431.
  ExpectProblem(Get(Port(), "/v1/products", "", {{"X-Big", std::string(17 * 1024, 'h')}}), 431);
  ExpectProblem(Get(Port(), "/v1/products", "", {{"X-Huge", std::string(40 * 1024, 'h')}}), 431);
  // Request target over 8 KiB: 414; just under is fine.
  ExpectProblem(Get(Port(), "/v1/products?q=" + std::string(8200, 'a')), 414);
  EXPECT_EQ(Get(Port(), "/v1/products?q=" + std::string(150, 'a')).status, 200);
  EXPECT_EQ(Get(Port(), "/v1/products?x=" + std::string(8000, 'a')).status, 400);  // under the limit, unknown param
}

TEST(Protocol, MalformedHttpGetsAProblemNotAHang) {
  std::string raw = RawExchange(Port(), "GARBAGE\r\n\r\n");
  EXPECT_EQ(StatusOfRaw(raw), 400) << raw;
  EXPECT_NE(raw.find("application/problem+json"), std::string::npos);
  raw = RawExchange(Port(), "POST /v1/products HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n");
  EXPECT_EQ(StatusOfRaw(raw), 400) << raw;
  raw = RawExchange(Port(), "POST /v1/products HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n");
  EXPECT_EQ(StatusOfRaw(raw), 413) << raw;
}

TEST(Protocol, ExpectContinueGetsAnInterimAnswer) {
  // The client sends only the header and waits: the server must say 100 Continue, not wait for the body.
  std::string raw = RawExchange(Port(),
                                "PUT /v1/inventory/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                "Expect: 100-continue\r\nContent-Length: 15\r\n\r\n",
                                1500);
  EXPECT_EQ(raw.rfind("HTTP/1.1 100 Continue", 0), 0u) << raw;
  // Over the limit: refused at once, no 100.
  raw = RawExchange(Port(),
                    "POST /v1/products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    "Expect: 100-continue\r\nContent-Length: 5000000\r\n\r\n");
  EXPECT_EQ(StatusOfRaw(raw), 413) << raw;
}

TEST(Protocol, KeepAliveServesSeveralRequestsOnOneConnection) {
  std::string two =
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  std::string raw = RawExchange(Port(), two);
  std::size_t first = raw.find("HTTP/1.1 200");
  ASSERT_NE(first, std::string::npos);
  EXPECT_NE(raw.find("HTTP/1.1 200", first + 1), std::string::npos) << raw;
}

TEST(Protocol, SlowClientIsCutOffAfterReadTimeout) {
  // The harness runs catalogd with --read-timeout 5: a half-sent request is dropped, not held forever.
  auto start = std::chrono::steady_clock::now();
  std::string raw = RawExchange(Port(), "GET /v1/products HTTP/1.1\r\nHost: x\r\n", 15000);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(raw, "");
  EXPECT_GE(secs, 4.0);
  EXPECT_LT(secs, 12.0);
}

TEST(Protocol, OperationsEndpoints) {
  auto h = Get(Port(), "/healthz");
  EXPECT_EQ(h.status, 200);
  auto ready = Get(Port(), "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.Json().at("status").as_string(), "ready");
  auto m = Get(Port(), "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.Header("content-type").rfind("text/plain", 0), 0u);
  EXPECT_NE(m.body.find("catalogd_http_requests_total{code=\"2xx\",route=\"GET /healthz\"}"), std::string::npos);
  EXPECT_NE(m.body.find("catalogd_http_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(m.body.find("catalogd_db_pool_max"), std::string::npos);
}

TEST(Protocol, ActiveRegionWithOneRegionServesWrites) {
  // With one region there is no global etcd: the instance's region is the one that takes writes
  // (the front door of several regions routes by this answer; the region drills cover that case).
  auto r = Get(Port(), "/active-region");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Json().at("serves_writes").as_bool(), true) << r.body;
}

TEST(Protocol, OpenApiDescribesEveryRoute) {
  auto r = Get(Port(), "/v1/openapi.json");
  ASSERT_EQ(r.status, 200);
  auto doc = r.Json();
  ASSERT_TRUE(doc.is_object()) << "not JSON";
  EXPECT_EQ(doc.at("openapi").as_string().subview().substr(0, 3), "3.1");
  const auto& paths = doc.at("paths").as_object();
  for (const auto& route : http::Routes()) {
    std::string pattern(route.pattern);
    ASSERT_TRUE(paths.contains(pattern)) << pattern << " missing from openapi.json";
    std::string method(route.method);
    for (auto& c : method) c = static_cast<char>(std::tolower(c));
    EXPECT_TRUE(paths.at(pattern).as_object().contains(method)) << route.method << " " << pattern;
  }
  // And nothing more: every documented operation is served.
  for (const auto& [path, ops] : paths)
    for (const auto& [method, op] : ops.as_object()) {
      if (method == "parameters") continue;
      bool served = false;
      for (const auto& route : http::Routes()) {
        std::string m(route.method);
        for (auto& c : m) c = static_cast<char>(std::tolower(c));
        served |= route.pattern == path && m == method;
      }
      EXPECT_TRUE(served) << method << " " << path << " is documented but not served";
    }
}

TEST(Protocol, ConsistencyTokens) {
  std::string id = Unique("p");
  auto w = Send(Port(), "POST", "/v1/products", kAdminToken, json::serialize(ProductBody(id, {id + "-a"})));
  ASSERT_EQ(w.status, 201);
  std::string token = w.Header("x-consistency-token");
  EXPECT_NE(token.find('/'), std::string::npos);
  auto r = Get(Port(), "/v1/products/" + id, "", {{"X-Consistency-Token", token}});
  EXPECT_EQ(r.status, 200);
  ExpectProblem(Get(Port(), "/v1/products/" + id, "", {{"X-Consistency-Token", "not-a-token"}}), 400);
  // A token from a future this database has not reached: wait up to 2 s, then 503 with Retry-After.
  auto start = std::chrono::steady_clock::now();
  auto f = Get(Port(), "/v1/products/" + id, "", {{"X-Consistency-Token", "FFFFFFFF/0"}});
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ExpectProblem(f, 503);
  EXPECT_EQ(f.Header("retry-after"), "1");
  EXPECT_GE(secs, 1.5);
  EXPECT_LT(secs, 5.0);
}

TEST(Protocol, RequestTimeoutHeader) {
  std::string id = Unique("p");
  MakeProduct(id, {id + "-a"}, 2);
  ExpectProblem(Send(Port(), "POST", "/v1/inventory/" + id + "-a/adjust", kAdminToken, R"({"delta":1})",
                     {{"Request-Timeout", "soon"}}),
                400);
  EXPECT_EQ(Send(Port(), "POST", "/v1/inventory/" + id + "-a/adjust", kAdminToken, R"({"delta":1})",
                 {{"Request-Timeout", "5"}})
                .status,
            200);
}

}  // namespace
}  // namespace techmoda::test
