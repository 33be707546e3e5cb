// Store on PostgreSQL through the pooled libpq wrapper.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "common/pg.h"
#include "techmoda/store.h"

namespace techmoda {

// Thread-safe. Every write is one READ COMMITTED transaction holding the change itself, its change
// log row and, when the client sent an Idempotency-Key, the stored answer. Within the request's
// deadline, deadlocks and serialisation failures are retried, and so are writes that found no
// database (down, restarting, read-only); a commit whose connection dropped is settled by looking
// its write id up in the change log, never guessed.
class PgStore final : public Store {
 public:
  // `replicas` (optional) reaches the region's streaming replicas (HAProxy's read port): catalog
  // reads that must go to the database use it while every primary connection is busy.
  explicit PgStore(std::unique_ptr<pg::Pool> pool, std::unique_ptr<pg::Pool> replicas = nullptr);

  Result<ProductDoc> GetProduct(const std::string& id, Deadline deadline) override;
  Result<ProductPage> ListProducts(const ProductQuery& q, Deadline deadline) override;
  Result<WriteAnswer> CreateProduct(const WriteContext& ctx, const ProductInput& p) override;
  Result<WriteAnswer> ReplaceProduct(const WriteContext& ctx, const ProductInput& p, const Precondition& pre) override;
  Result<WriteAnswer> ArchiveProduct(const WriteContext& ctx, const std::string& id) override;
  Result<Stock> GetStock(const std::string& sku, Deadline deadline) override;
  Result<WriteAnswer> SetStock(const WriteContext& ctx, const std::string& sku, std::int64_t on_hand) override;
  Result<WriteAnswer> AdjustStock(const WriteContext& ctx, const std::string& sku, std::int64_t delta) override;
  Result<WriteAnswer> CreateOrder(const WriteContext& ctx, const OrderInput& o) override;
  Result<Order> GetOrder(const std::string& id, Deadline deadline) override;
  Result<WriteAnswer> CancelOrder(const WriteContext& ctx, const std::string& id) override;
  Status WaitForToken(const std::string& token, std::chrono::steady_clock::time_point deadline) override;
  Status CheckReady() override;
  void CollectMetrics(metrics::Families& out) override;
  int PoolInUse() const override { return pool_->in_use(); }
  int PoolMax() const override { return pool_->max_size(); }
  std::uint64_t TransactionRetries() const override { return retries_.load(std::memory_order_relaxed); }

 private:
  using Body = std::function<Result<WriteAnswer>(pg::Connection&)>;
  // Whether the write `ctx.write_id` committed (and the current LSN), asked of any database that
  // answers before the deadline; kUnavailable if none does.
  Result<std::pair<bool, std::string>> SettleUnknownCommit(const WriteContext& ctx);
  Result<WriteAnswer> RunWrite(const WriteContext& ctx, const Body& body);
  // The pool a catalog read uses: the replicas' while the primary's is fully in use.
  pg::Pool& PoolForCatalogRead();
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<pg::Pool> replicas_;
  std::atomic<std::uint64_t> replica_reads_{0};
  std::atomic<std::uint64_t> retries_{0};
};

// True when `token` has the form of a PostgreSQL LSN ("16/B374D848"), the form of our tokens.
bool IsValidConsistencyToken(std::string_view token);

}  // namespace techmoda
