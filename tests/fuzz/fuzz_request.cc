// libFuzzer target: raw bytes -> Beast parser (with the server's limits) -> the whole request chain
// (URL parsing, auth, routing, JSON parsing and validation) on a store that holds nothing.
// Any crash, sanitizer report or 5xx is a finding.
#include <boost/beast/core.hpp>
#include <cstdio>
#include <cstdlib>

#include "catalogd/http/beast_request.h"
#include "catalogd/http/server.h"

using namespace techmoda;

namespace {

class EmptyStore final : public Store {
 public:
  Result<ProductDoc> GetProduct(const std::string&, Deadline) override { return Status::NotFound("none"); }
  Result<ProductPage> ListProducts(const ProductQuery&, Deadline) override { return ProductPage{}; }
  Result<WriteAnswer> CreateProduct(const WriteContext&, const ProductInput&) override { return Answer(201); }
  Result<WriteAnswer> ReplaceProduct(const WriteContext&, const ProductInput&, const Precondition&) override {
    return Status::NotFound("none");
  }
  Result<WriteAnswer> ArchiveProduct(const WriteContext&, const std::string&) override {
    return Status::NotFound("none");
  }
  Result<Stock> GetStock(const std::string&, Deadline) override { return Status::NotFound("none"); }
  Result<WriteAnswer> SetStock(const WriteContext&, const std::string&, std::int64_t) override {
    return Status::NotFound("none");
  }
  Result<WriteAnswer> AdjustStock(const WriteContext&, const std::string&, std::int64_t) override {
    return Status::NotFound("none");
  }
  Result<WriteAnswer> CreateOrder(const WriteContext&, const OrderInput&) override { return Answer(201); }
  Result<Order> GetOrder(const std::string&, Deadline) override { return Status::NotFound("none"); }
  Result<WriteAnswer> CancelOrder(const WriteContext&, const std::string&) override { return Status::NotFound("none"); }
  Status WaitForToken(const std::string&, std::chrono::steady_clock::time_point) override { return Status::Ok(); }
  Status CheckReady() override { return Status::Ok(); }
  int PoolInUse() const override { return 0; }
  int PoolMax() const override { return 1; }
  std::uint64_t TransactionRetries() const override { return 0; }

 private:
  static WriteAnswer Answer(int status) { return WriteAnswer{status, {}, "{}", "0/0"}; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static EmptyStore store;
  static http::TokenRegistry tokens = [] {
    http::TokenRegistry t;
    t.Add("fuzz-admin-token-000000", http::Role::kAdmin);
    t.Add("fuzz-client-token-00000", http::Role::kClient);
    return t;
  }();
  static metrics::Metrics metrics;
  static http::Api api(store, tokens, metrics, http::ApiOptions{});

  namespace bhttp = boost::beast::http;
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(http::kMaxHeaderBytes + http::kMaxTargetBytes + 1024));
  parser.body_limit(http::kMaxBodyBytes);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_done()) return 0;  // the server answers these with 400/413/431 before the chain
  std::size_t header_bytes = 0;
  auto msg = parser.release();
  http::Request req = http::FromBeast(msg, &header_bytes);
  http::Served served = api.Serve(req);
  if (served.response.status >= 500 && served.response.status != 503) {
    std::fprintf(stderr, "5xx for a request: %d %s\n", served.response.status, served.response.body.c_str());
    std::abort();
  }
  return 0;
}
