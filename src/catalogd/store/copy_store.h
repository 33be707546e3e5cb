// The Store that catalogd serves: product, listing, search and stock reads come from the in-memory
// copy (once it has loaded), everything else from the database store behind it. A write answers
// once the copy shows it (bounded wait), so an instance always reads its own writes; a read with
// a consistency token waits for the copy to reach the token.
#pragma once

#include <chrono>

#include "catalogd/copy/catalog_copy.h"
#include "catalogd/copy/feed.h"
#include "techmoda/store.h"

namespace techmoda {

struct CopyStoreOptions {
  // How long a write waits for the copy to show it before answering anyway.
  std::chrono::milliseconds write_visible_wait{2000};
  // Reads older than this are stale (the contract's 5 s) and /readyz fails.
  std::chrono::milliseconds freshness_bound{5000};
};

class CopyStore final : public Store {
 public:
  CopyStore(Store& db, copy::CatalogCopy& copy, const copy::Feed* feed, CopyStoreOptions options = {});

  Result<ProductDoc> GetProduct(const std::string& id, Deadline deadline) override;
  Result<ProductPage> ListProducts(const ProductQuery& q, Deadline deadline) override;
  Result<WriteAnswer> CreateProduct(const WriteContext& ctx, const ProductInput& p) override;
  Result<WriteAnswer> ReplaceProduct(const WriteContext& ctx, const ProductInput& p, const Precondition& pre) override;
  Result<WriteAnswer> ArchiveProduct(const WriteContext& ctx, const std::string& id) override;
  Result<Stock> GetStock(const std::string& sku, Deadline deadline) override;
  Result<WriteAnswer> SetStock(const WriteContext& ctx, const std::string& sku, std::int64_t on_hand) override;
  Result<WriteAnswer> AdjustStock(const WriteContext& ctx, const std::string& sku, std::int64_t delta) override;
  Result<WriteAnswer> CreateOrder(const WriteContext& ctx, const OrderInput& o) override;
  Result<Order> GetOrder(const std::string& id, Deadline deadline) override { return db_.GetOrder(id, deadline); }
  Result<WriteAnswer> CancelOrder(const WriteContext& ctx, const std::string& id) override;
  Status WaitForToken(const std::string& token, std::chrono::steady_clock::time_point deadline) override;
  Status CheckReady() override;
  std::int64_t DataAgeMs() override { return copy_.ready() ? copy_.AgeMs() : 0; }
  bool ReadsFromMemory() override { return copy_.ready(); }
  int PoolInUse() const override { return db_.PoolInUse(); }
  int PoolMax() const override { return db_.PoolMax(); }
  std::uint64_t TransactionRetries() const override { return db_.TransactionRetries(); }
  void CollectMetrics(metrics::Families& out) override;

 private:
  // Waits (bounded) until the copy shows a successful write, then passes its answer on.
  Result<WriteAnswer> Visible(Result<WriteAnswer> r, const WriteContext& ctx);

  Store& db_;
  copy::CatalogCopy& copy_;
  const copy::Feed* feed_;
  CopyStoreOptions options_;
};

}  // namespace techmoda
