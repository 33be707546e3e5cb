// The in-memory copy of products and stock that answers reads without a database round trip.
// One writer (the feed) installs snapshots and applies committed transactions; any number of
// readers query it at once. Every product's JSON answer is serialised once, when it changes.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "catalogd/copy/pgoutput.h"
#include "techmoda/mutex.h"
#include "techmoda/store.h"

namespace techmoda::copy {

// The words `q` matches: maximal runs of ASCII letters and digits and of non-ASCII (UTF-8) bytes,
// with ASCII letters lower-cased; the same rule as PostgreSQL's 'simple' configuration for
// ordinary words. Sorted and unique.
std::vector<std::string> SearchWords(std::string_view text);

// "2026-11-25 10:00:00.123456+00" (timestamptz text output with TimeZone UTC, DateStyle ISO) as
// "2026-11-25T10:00:00.123Z", the API's form (milliseconds, truncated like to_char's MS). Text
// already in the API's form passes unchanged.
std::string PgTimestampToRfc3339(std::string_view pg);

// A products row's columns as text (nullopt for NULL), in the order of kProductColumns.
inline constexpr std::array<std::string_view, 13> kProductColumns = {
    "id",         "name",     "description", "brand",   "category",   "price_amount", "currency",
    "attributes", "variants", "status",      "version", "created_at", "updated_at"};
using ProductRow = std::array<std::optional<std::string_view>, kProductColumns.size()>;
// Positions in a ProductRow.
namespace product_column {
enum : int {
  kId,
  kName,
  kDescription,
  kBrand,
  kCategory,
  kPrice,
  kCurrency,
  kAttributes,
  kVariants,
  kStatus,
  kVersion,
  kCreated,
  kUpdated
};
}  // namespace product_column
// A products row (from the snapshot or a replicated tuple) as a Product; kInternal when malformed.
Result<Product> ProductFromRow(const ProductRow& row);

// What the copy keeps of a stock row.
struct StockRecord {
  std::int64_t on_hand = 0;
  std::int64_t reserved = 0;
  std::int64_t version = 0;
};
inline constexpr std::array<std::string_view, 4> kStockColumns = {"sku", "on_hand", "reserved", "version"};
using StockRow = std::array<std::optional<std::string_view>, kStockColumns.size()>;
Result<std::pair<std::string_view, StockRecord>> StockFromRow(const StockRow& row);

// One row change of a committed transaction.
struct Change {
  enum class Kind { kPutProduct, kDeleteProduct, kPutStock, kDeleteStock, kClearProducts, kClearStock } kind;
  std::string key;                 // product id or sku
  std::optional<Product> product;  // kPutProduct
  StockRecord stock;               // kPutStock
};

class CatalogCopy {
 public:
  CatalogCopy();
  ~CatalogCopy();

  // A complete image of the tables, built by the feed without holding the copy's lock. One thread
  // may add products while another adds stock.
  class Snapshot {
   public:
    Snapshot();
    Snapshot(Snapshot&&) noexcept;
    Snapshot& operator=(Snapshot&&) noexcept;
    ~Snapshot();
    void AddProduct(Product p);
    // A products row as the snapshot query returns it (faster than building a Product first).
    Status AddProductRow(const ProductRow& row);
    void AddStock(std::string_view sku, StockRecord s);
    // Size hints: how many rows are coming.
    void ReserveProducts(std::size_t n);
    void ReserveStock(std::size_t n);
    std::size_t products() const;

   private:
    friend class CatalogCopy;
    struct Index;
    std::unique_ptr<Index> index_;
  };

  // Installs a snapshot taken at `lsn`. A row the copy holds at a higher version than the snapshot
  // is kept: on the same history the copy never goes back. Returns how many rows were kept that way.
  // With `new_history` (the server's timeline changed: a failover or switchover), the snapshot
  // replaces everything and the applied position may go back: whatever the copy holds beyond it
  // was never acknowledged (synchronous replication promotes only a standby with every
  // acknowledged commit), and keeping it would serve rows the database does not have.
  std::size_t Install(Snapshot snapshot, Lsn lsn, bool new_history = false);
  // Applies one committed transaction, atomically for readers. Rows older than those held are
  // ignored. `commit_unix_micros` feeds the propagation histogram.
  void Apply(const std::vector<Change>& changes, Lsn end_lsn);
  // Everything committed before `lsn` has been applied (a keepalive while idle).
  void Advance(Lsn lsn);
  // The copy was current as of `at` (a probe found the server's flush position applied).
  void MarkCurrent(std::chrono::steady_clock::time_point at);

  bool ready() const { return ready_.load(std::memory_order_acquire); }
  Lsn applied() const { return applied_.load(std::memory_order_acquire); }
  // Milliseconds since the copy was last known current; large when never.
  std::int64_t AgeMs() const;
  // Waits until applied() >= lsn or the deadline; true when reached.
  bool WaitFor(Lsn lsn, std::chrono::steady_clock::time_point deadline) const;

  Result<ProductDoc> Get(const std::string& id) const;
  Result<ProductPage> List(const ProductQuery& q) const;
  Result<Stock> GetStock(const std::string& sku) const;
  // The product as stored (for a replicated update that left large columns out).
  std::optional<Product> ProductOf(const std::string& id) const;

  std::size_t product_count() const;
  std::size_t stock_count() const;
  std::uint64_t rows_kept_newer() const { return kept_newer_.load(std::memory_order_relaxed); }

 private:
  using Index = Snapshot::Index;
  mutable SharedMutex mu_;
  // Written under mu_, and only by the feed's thread, which may therefore read it without the lock.
  std::unique_ptr<Index> index_ GUARDED_BY(mu_);
  std::atomic<bool> ready_{false};
  std::atomic<Lsn> applied_{0};
  std::atomic<std::int64_t> current_at_ns_{0};  // steady clock; 0 = never
  std::atomic<std::uint64_t> kept_newer_{0};
  mutable Mutex wait_mu_;
  mutable CondVar wait_cv_;
};

}  // namespace techmoda::copy
