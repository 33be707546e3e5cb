#include "catalogd/store/copy_store.h"

#include <algorithm>
#include <cstdio>

namespace techmoda {

using Clock = std::chrono::steady_clock;

CopyStore::CopyStore(Store& db, copy::CatalogCopy& copy, const copy::Feed* feed, CopyStoreOptions options)
    : db_(db), copy_(copy), feed_(feed), options_(options) {}

Result<ProductDoc> CopyStore::GetProduct(const std::string& id, Deadline deadline) {
  return copy_.ready() ? copy_.Get(id) : db_.GetProduct(id, deadline);
}

Result<ProductPage> CopyStore::ListProducts(const ProductQuery& q, Deadline deadline) {
  return copy_.ready() ? copy_.List(q) : db_.ListProducts(q, deadline);
}

Result<Stock> CopyStore::GetStock(const std::string& sku, Deadline deadline) {
  return copy_.ready() ? copy_.GetStock(sku) : db_.GetStock(sku, deadline);
}

Result<WriteAnswer> CopyStore::Visible(Result<WriteAnswer> r, const WriteContext& ctx) {
  if (!r.ok() || !copy_.ready()) return r;
  // Only a streaming feed brings the write soon; while it reloads (after a failover, say) waiting
  // would only delay the answer. The token still gives read-your-writes wherever it is sent.
  if (feed_ && feed_->state() != "streaming") return r;
  if (auto lsn = copy::ParseLsn(r->consistency_token))
    copy_.WaitFor(*lsn, std::min(ctx.deadline, Clock::now() + options_.write_visible_wait));
  return r;
}

Result<WriteAnswer> CopyStore::CreateProduct(const WriteContext& ctx, const ProductInput& p) {
  return Visible(db_.CreateProduct(ctx, p), ctx);
}
Result<WriteAnswer> CopyStore::ReplaceProduct(const WriteContext& ctx, const ProductInput& p, const Precondition& pre) {
  return Visible(db_.ReplaceProduct(ctx, p, pre), ctx);
}
Result<WriteAnswer> CopyStore::ArchiveProduct(const WriteContext& ctx, const std::string& id) {
  return Visible(db_.ArchiveProduct(ctx, id), ctx);
}
Result<WriteAnswer> CopyStore::SetStock(const WriteContext& ctx, const std::string& sku, std::int64_t on_hand) {
  return Visible(db_.SetStock(ctx, sku, on_hand), ctx);
}
Result<WriteAnswer> CopyStore::AdjustStock(const WriteContext& ctx, const std::string& sku, std::int64_t delta) {
  return Visible(db_.AdjustStock(ctx, sku, delta), ctx);
}
Result<WriteAnswer> CopyStore::CreateOrder(const WriteContext& ctx, const OrderInput& o) {
  return Visible(db_.CreateOrder(ctx, o), ctx);
}
Result<WriteAnswer> CopyStore::CancelOrder(const WriteContext& ctx, const std::string& id) {
  return Visible(db_.CancelOrder(ctx, id), ctx);
}

Status CopyStore::WaitForToken(const std::string& token, Clock::time_point deadline) {
  if (!copy_.ready()) return db_.WaitForToken(token, deadline);
  auto lsn = copy::ParseLsn(token);
  if (!lsn) return Status::Invalid("X-Consistency-Token is not a token this service issued");
  if (copy_.WaitFor(*lsn, deadline)) return Status::Ok();
  return Status::Unavailable("this instance's copy has not reached the consistency token yet; retry");
}

Status CopyStore::CheckReady() {
  if (!copy_.ready())
    return Status::Unavailable("the catalog copy is not loaded yet (" + (feed_ ? feed_->state() : "no feed") + ")");
  if (copy_.AgeMs() > options_.freshness_bound.count())
    return Status::Unavailable("the catalog copy is stale: last current " + std::to_string(copy_.AgeMs()) +
                               " ms ago (" + (feed_ ? feed_->state() : "no feed") + ")");
  return db_.CheckReady();
}

void CopyStore::CollectMetrics(metrics::Families& out) {
  using metrics::AddCounter;
  using metrics::AddGauge;
  db_.CollectMetrics(out);
  bool ready = copy_.ready();
  AddGauge(out, "catalogd_copy_ready", "1 when reads are answered from the in-memory copy.", ready ? 1 : 0);
  AddGauge(out, "catalogd_copy_age_seconds", "Time since the copy was last known to be current.",
           ready ? static_cast<double>(copy_.AgeMs()) / 1000.0 : 0.0);
  AddGauge(out, "catalogd_copy_applied_lsn_bytes", "WAL position up to which the copy has applied every commit.",
           static_cast<double>(copy_.applied()));
  AddGauge(out, "catalogd_copy_products", "Products held in the copy.", static_cast<double>(copy_.product_count()));
  AddGauge(out, "catalogd_copy_skus", "Stock rows held in the copy.", static_cast<double>(copy_.stock_count()));
  AddCounter(out, "catalogd_copy_sessions_total", "Snapshots loaded: the first, then one after each feed interruption.",
             feed_ ? static_cast<double>(feed_->sessions()) : 0.0);
  AddCounter(out, "catalogd_copy_rows_kept_newer_total",
             "Rows the copy kept because it held them at a higher version than the database sent (never backwards).",
             static_cast<double>(copy_.rows_kept_newer()));
}

}  // namespace techmoda
