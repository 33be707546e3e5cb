// The store the fuzz targets serve from: it holds nothing, answers at once, and never fails in a
// way that would be a 5xx, so any 5xx (other than 503) a target sees is the chain's own finding.
#pragma once

#include "catalogd/auth/auth.h"
#include "techmoda/store.h"

namespace techmoda::fuzz {

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

// The tokens the corpora use.
inline const auth::TokenRegistry& FuzzTokens() {
  static const auth::TokenRegistry tokens = [] {
    auth::TokenRegistry t;
    t.Add("fuzz-admin-token-000000", auth::Role::kAdmin);
    t.Add("fuzz-client-token-00000", auth::Role::kClient);
    t.Add("fuzz-canary-token-00000", auth::Role::kClient, true);
    return t;
  }();
  return tokens;
}

}  // namespace techmoda::fuzz
