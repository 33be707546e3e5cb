// The catalog's data model and the Store interface that request handlers call. Handlers never
// call libpq; a test can give the server a Store of its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "techmoda/metric_families.h"
#include "techmoda/status.h"

namespace techmoda {

struct Money {
  std::int64_t amount = 0;  // minor units
  std::string currency;     // ISO 4217, three capital letters
};

struct Variant {
  std::string sku;
  std::optional<std::string> size;
  std::optional<std::string> color;
};

// A product as the client describes it (POST and PUT bodies), already validated.
struct ProductInput {
  std::string id;
  std::string name;
  std::optional<std::string> description;
  std::optional<std::string> brand;
  std::string category;
  Money price;
  std::vector<std::pair<std::string, std::string>> attributes;  // in the client's order
  std::vector<Variant> variants;
  std::string status = "active";
};

// A stored product: the input plus what the server owns.
struct Product : ProductInput {
  std::int64_t version = 1;
  std::string created_at;
  std::string updated_at;
};

struct Stock {
  std::string sku;
  std::int64_t on_hand = 0;
  std::int64_t reserved = 0;
  std::int64_t available() const { return on_hand - reserved; }
};

struct OrderLineInput {
  std::string sku;
  std::int64_t quantity = 0;
};

struct OrderInput {
  std::string customer_id;
  bool synthetic = false;  // placed by the canary: left out of business figures
  std::vector<OrderLineInput> lines;
};

struct OrderLine {
  std::string sku;
  std::string product_id;
  std::int64_t quantity = 0;
  Money unit_price;
  Money line_total;
};

struct Order {
  std::string id;
  std::string customer_id;
  std::string status;  // "confirmed" or "cancelled"
  std::vector<OrderLine> lines;
  Money total;
  bool synthetic = false;
  std::string created_at;
  std::string updated_at;
};

// Filters of GET /v1/products, validated.
struct ProductQuery {
  std::optional<std::string> category;
  std::optional<std::string> text;  // q
  std::optional<std::int64_t> min_price;
  std::optional<std::int64_t> max_price;
  std::string status = "active";
  int limit = 50;
  std::optional<std::string> after_id;  // from the cursor
};

// A product as the read path serves it: its JSON answer, serialised once when the product changed
// and shared by every read until it changes again.
struct ProductDoc {
  std::string id;
  std::int64_t version = 0;
  std::shared_ptr<const std::string> json;
};

struct ProductPage {
  std::vector<ProductDoc> items;
  bool has_more = false;
};

// Who asked for a write and how to make it idempotent.
struct WriteContext {
  std::string request_id;
  std::string write_id;  // unique per attempt; recorded in the change log
  std::string deploy_id;
  std::string idempotency_scope;  // SHA-256 of the caller's token; empty when anonymous
  std::optional<std::string> idempotency_key;
  std::string fingerprint;  // SHA-256 of method, path and canonical body
  std::chrono::steady_clock::time_point deadline;
};

// The answer to a write, stored with an idempotency key and replayed verbatim.
struct WriteAnswer {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // ETag, Location
  std::string body;                                          // JSON text; empty for 204
  std::string consistency_token;                             // LSN at which the write became durable
  bool replayed = false;
};

// Conditions that guard a product replacement.
struct Precondition {
  std::optional<std::string> if_match;  // a list of ETags or "*", as sent
};

// The storage behind the API. Implementations are thread-safe. Every write returns the stored
// answer (replayed when the idempotency key was seen with the same fingerprint) or a Status:
// kNotFound, kConflict, kUnprocessable, kPreconditionFailed, kUnavailable (retry later),
// kOverloaded, kInternal.
class Store {
 public:
  // Reads that reach the database give up at their deadline (kUnavailable); it bounds the wait for
  // a connection and is the statement_timeout of their query.
  using Deadline = std::chrono::steady_clock::time_point;
  virtual ~Store() = default;

  virtual Result<ProductDoc> GetProduct(const std::string& id, Deadline deadline) = 0;
  virtual Result<ProductPage> ListProducts(const ProductQuery& q, Deadline deadline) = 0;
  virtual Result<WriteAnswer> CreateProduct(const WriteContext& ctx, const ProductInput& p) = 0;
  virtual Result<WriteAnswer> ReplaceProduct(const WriteContext& ctx, const ProductInput& p,
                                             const Precondition& pre) = 0;
  virtual Result<WriteAnswer> ArchiveProduct(const WriteContext& ctx, const std::string& id) = 0;

  virtual Result<Stock> GetStock(const std::string& sku, Deadline deadline) = 0;
  virtual Result<WriteAnswer> SetStock(const WriteContext& ctx, const std::string& sku, std::int64_t on_hand) = 0;
  virtual Result<WriteAnswer> AdjustStock(const WriteContext& ctx, const std::string& sku, std::int64_t delta) = 0;

  virtual Result<WriteAnswer> CreateOrder(const WriteContext& ctx, const OrderInput& o) = 0;
  virtual Result<Order> GetOrder(const std::string& id, Deadline deadline) = 0;
  virtual Result<WriteAnswer> CancelOrder(const WriteContext& ctx, const std::string& id) = 0;

  // Waits until the data this store reads is at least as fresh as `token` (an LSN), up to
  // `deadline`. kInvalidArgument for a malformed token, kUnavailable when it did not catch up.
  virtual Status WaitForToken(const std::string& token, std::chrono::steady_clock::time_point deadline) = 0;

  // Readiness: OK when reads and writes can be served now, else the reason.
  virtual Status CheckReady() = 0;

  // How old the data that reads are answered from is, in milliseconds: 0 when reads go to the
  // database itself, else the time since the copy they come from was last known to be current.
  virtual std::int64_t DataAgeMs() { return 0; }

  // True when product and stock reads are answered from memory, without blocking.
  virtual bool ReadsFromMemory() { return false; }

  // Appends the store's own series to a Prometheus text exposition.
  virtual void CollectMetrics(metrics::Families& /*out*/) {}

  // Figures for /metrics: pool use, and write transactions retried after a deadlock or
  // serialisation failure since start.
  virtual int PoolInUse() const = 0;
  virtual int PoolMax() const = 0;
  virtual std::uint64_t TransactionRetries() const = 0;
};

// Sets, for the calling thread, what to run the first time the request it is serving starts waiting
// for a database to come back (no primary reachable: down, restarting, failing over; the write then
// waits up to its deadline). The server gives back the request's admission slot there: a request
// waiting out an outage is not load, and must not crowd out others into 503 overloaded. Runs once;
// an empty function clears it.
void SetDatabaseWaitHook(std::function<void()> hook);

}  // namespace techmoda
