#include "catalogd/store/pg_store.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <map>
#include <set>
#include <thread>
#include <utility>

#include "catalogd/copy/catalog_copy.h"
#include "catalogd/copy/pgoutput.h"
#include "catalogd/model/etag.h"
#include "catalogd/model/json_model.h"
#include "common/json_util.h"
#include "common/log.h"

namespace json = boost::json;

namespace techmoda {
namespace {

using Clock = std::chrono::steady_clock;
using pg::Param;

constexpr int kMaxAttempts = 5;

// The transaction met a deadlock or serialisation failure: it is run again.
Status RetryTransaction(std::string detail) {
  return Status::Unavailable(std::move(detail)).WithRetry(Retry::kTransaction);
}

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
constexpr const char* kProductColumns =
    "id, name, description, brand, category, price_amount, currency, attributes::text, variants::text, status, "
    "version, " TS("created_at") ", " TS("updated_at");
constexpr const char* kOrderColumns = "id, customer_id, status, lines::text, total_amount, currency, " TS(
    "created_at") ", " TS("updated_at") ", synthetic";
#undef TS

// Maps a failed statement to the Status the client sees. The SQLSTATE decides, never the text.
Status FromPgError(const pg::Error& e, std::string_view what) {
  if (e.IsRetryable()) return RetryTransaction("a deadlock or serialisation failure (SQLSTATE " + e.sqlstate + ")");
  if (e.sqlstate == pg::kQueryCanceled) return Status::Unavailable("the request's deadline passed in the database");
  if (e.IsUnreachable()) {
    log::Warn("store.database_unreachable", {{"sqlstate", e.sqlstate}, {"during", what}});
    // No database could run the statement: the write is retried on a new connection until its deadline.
    return Status::Unavailable("no database is reachable (down, restarting or read-only); retry")
        .WithRetry(Retry::kReconnect);
  }
  log::Error("store.sql_error", {{"sqlstate", e.sqlstate}, {"message", e.message}, {"during", what}});
  return Status::Internal("database error during " + std::string(what));
}

// Runs a statement; on failure returns the mapped Status through `status`.
#define EXEC_OR_RETURN(rows_var, conn, what, ...)                                    \
  auto rows_var##_r = (conn).Exec(__VA_ARGS__);                                      \
  if (auto* e = std::get_if<pg::Error>(&rows_var##_r)) return FromPgError(*e, what); \
  pg::Rows& rows_var = std::get<pg::Rows>(rows_var##_r)

thread_local std::function<void()> database_wait_hook;  // see SetDatabaseWaitHook

// Sleeps before the next attempt to reach a database (50 ms doubling to 250 ms: a failover ends
// at an unknown moment, and each attempt through HAProxy is cheap); false when that would pass the
// deadline. The first wait of a request runs the thread's database wait hook.
bool WaitToReconnect(Clock::time_point deadline, int* waits) {
  auto delay = std::chrono::milliseconds(std::min(250, 50 << std::min(*waits, 3)));
  if (Clock::now() + delay >= deadline) return false;
  ++*waits;
  if (database_wait_hook) std::exchange(database_wait_hook, nullptr)();
  std::this_thread::sleep_for(delay);
  return true;
}

// A read that finds no database (down, restarting, its connection lost in a failover) waits for
// one as a write does, but at most this long: reads hold a worker while they wait.
constexpr auto kReadReconnectWait = std::chrono::seconds(10);

// Runs one read under the request's deadline: it bounds the wait for a connection and is the
// query's statement_timeout (set for the session around it; writes set their own, per transaction).
Result<pg::Rows> ReadOnce(pg::Pool& pool, Clock::time_point deadline, std::string_view what, const std::string& sql,
                          const std::vector<Param>& params) {
  auto lease = pool.Acquire(deadline);
  if (!lease.ok()) return lease.status();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (ms <= 0) return Status::Unavailable("the request's deadline passed");
  pg::Connection& c = **lease;
  auto set = c.ExecScript("SET statement_timeout = " + std::to_string(ms));
  if (auto* e = std::get_if<pg::Error>(&set)) return FromPgError(*e, what);
  auto rows = c.Exec(sql, params);
  c.ExecScript("SET statement_timeout = 0");
  if (auto* e = std::get_if<pg::Error>(&rows)) return FromPgError(*e, what);
  return std::move(std::get<pg::Rows>(rows));
}

// ReadOnce, again on a new connection while no database is reachable (Retry::kReconnect, or no
// connection could be made), until the deadline or kReadReconnectWait, whichever comes first.
Result<pg::Rows> ReadWithin(pg::Pool& pool, Clock::time_point deadline, std::string_view what, const std::string& sql,
                            const std::vector<Param>& params) {
  const auto until = std::min(deadline, Clock::now() + kReadReconnectWait);
  for (int waits = 0;;) {
    auto rows = ReadOnce(pool, deadline, what, sql, params);
    if (rows.ok() || rows.status().code() != Code::kUnavailable || rows.status().retry() == Retry::kTransaction ||
        !WaitToReconnect(until, &waits))
      return rows;
  }
}

std::string PgArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

// Columns in kProductColumns order, which is copy::kProductColumns order: one conversion serves
// the database's rows, the copy's snapshot and its stream.
Result<Product> ProductFromRow(const pg::Rows& r, int i) {
  copy::ProductRow row;
  for (std::size_t c = 0; c < row.size(); ++c)
    if (!r.IsNull(i, static_cast<int>(c))) row[c] = r.Get(i, static_cast<int>(c));
  return copy::ProductFromRow(row);
}

Result<Order> OrderFromRow(const pg::Rows& r, int i) {
  Order o;
  o.id = std::string(r.Get(i, 0));
  o.customer_id = std::string(r.Get(i, 1));
  o.status = std::string(r.Get(i, 2));
  auto lines = model::OrderLinesFromJson(r.Get(i, 3));
  if (!lines.ok()) return lines.status();
  o.lines = std::move(lines).value();
  o.total = {r.GetInt(i, 4), std::string(r.Get(i, 5))};
  o.created_at = std::string(r.Get(i, 6));
  o.updated_at = std::string(r.Get(i, 7));
  o.synthetic = r.Get(i, 8) == "t";
  return o;
}

using model::EtagOf;

std::vector<Param> ProductParams(const ProductInput& p) {
  return {p.id,
          p.name,
          p.description,
          p.brand,
          p.category,
          std::to_string(p.price.amount),
          p.price.currency,
          json::serialize(model::AttributesToJson(p.attributes)),
          json::serialize(model::VariantsToJson(p.variants)),
          p.status};
}

std::vector<std::string> SkusOf(const std::vector<Variant>& variants) {
  std::vector<std::string> out;
  for (const auto& v : variants) out.push_back(v.sku);
  return out;
}

// Appends the change log row of a write. Requires: inside the write's transaction.
Status AppendChange(pg::Connection& c, const WriteContext& ctx, std::string_view entity, const std::string& entity_id,
                    std::string_view action, const std::optional<json::value>& old_value,
                    const std::optional<json::value>& new_value) {
  EXEC_OR_RETURN(rows, c, "the change log",
                 "INSERT INTO change_log (entity, entity_id, action, old_value, new_value, request_id, write_id, "
                 "deploy_id, idempotency_key) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, $8, $9)",
                 {std::string(entity), entity_id, std::string(action),
                  old_value ? Param(json::serialize(*old_value)) : std::nullopt,
                  new_value ? Param(json::serialize(*new_value)) : std::nullopt, ctx.request_id, ctx.write_id,
                  ctx.deploy_id, ctx.idempotency_key});
  (void)rows;
  return Status::Ok();
}

// Creates stock rows (on_hand 0) for new skus of `product_id`. kConflict "sku-exists" naming the skus
// that another product already has. Requires: inside the write's transaction.
Status CreateStockRows(pg::Connection& c, const std::vector<std::string>& skus, const std::string& product_id) {
  EXEC_OR_RETURN(made, c, "creating stock",
                 "INSERT INTO inventory (sku, product_id) SELECT unnest($1::text[]), $2 ON CONFLICT (sku) DO NOTHING "
                 "RETURNING sku",
                 {PgArray(skus), product_id});
  if (made.size() == static_cast<int>(skus.size())) return Status::Ok();
  std::set<std::string> created;
  for (int i = 0; i < made.size(); ++i) created.emplace(made.Get(i, 0));
  json::array taken;
  for (const auto& s : skus)
    if (!created.count(s)) taken.push_back(json::string(s));
  return Status::Conflict("sku-exists", "another product has sku " + std::string(taken[0].as_string()))
      .WithExtraJson(json::serialize(json::object{{"skus", taken}}));
}

Result<Stock> LockStock(pg::Connection& c, const std::string& sku) {
  EXEC_OR_RETURN(rows, c, "reading stock", "SELECT on_hand, reserved FROM inventory WHERE sku = $1 FOR UPDATE", {sku});
  if (rows.size() == 0) return Status::NotFound("no sku " + sku);
  return Stock{sku, rows.GetInt(0, 0), rows.GetInt(0, 1)};
}

Result<WriteAnswer> WriteStock(pg::Connection& c, const WriteContext& ctx, const Stock& before, std::int64_t on_hand,
                               std::string_view action) {
  if (on_hand < before.reserved)
    return Status::Conflict("stock-below-reserved", "on_hand " + std::to_string(on_hand) + " would fall below the " +
                                                        std::to_string(before.reserved) + " units reserved by orders");
  if (on_hand > 1'000'000'000) return Status::Conflict("stock-too-large", "on_hand would exceed 1000000000");
  EXEC_OR_RETURN(rows, c, "writing stock",
                 "UPDATE inventory SET on_hand = $2, version = version + 1, updated_at = now() WHERE sku = $1",
                 {before.sku, std::to_string(on_hand)});
  (void)rows;
  Stock after{before.sku, on_hand, before.reserved};
  if (auto s = AppendChange(c, ctx, "inventory", before.sku, action, model::ToJson(before), model::ToJson(after));
      !s.ok())
    return s;
  return WriteAnswer{200, {}, json::serialize(model::ToJson(after))};
}

}  // namespace

bool IsValidConsistencyToken(std::string_view token) { return copy::ParseLsn(token).has_value(); }

void SetDatabaseWaitHook(std::function<void()> hook) { database_wait_hook = std::move(hook); }

PgStore::PgStore(std::unique_ptr<pg::Pool> pool, std::unique_ptr<pg::Pool> replicas)
    : pool_(std::move(pool)), replicas_(std::move(replicas)) {}

pg::Pool& PgStore::PoolForCatalogRead() {
  // Orders and writes need the primary; a product, listing or stock read answered a little behind
  // it is still right (the copy serves such reads too), so under load it gives way.
  if (replicas_ && pool_->in_use() >= pool_->max_size()) {
    replica_reads_.fetch_add(1, std::memory_order_relaxed);
    return *replicas_;
  }
  return *pool_;
}

void PgStore::CollectMetrics(metrics::Families& out) {
  metrics::AddCounter(out, "catalogd_db_replica_reads_total",
                      "Catalog reads sent to a replica because every primary connection was busy.",
                      static_cast<double>(replica_reads_.load(std::memory_order_relaxed)));
}

namespace {
Status NoDatabase(const std::string& last_reason) {
  return Status::Unavailable("no database could take the write before its deadline" +
                             (last_reason.empty() ? std::string() : " (" + last_reason + ")"));
}
}  // namespace

Result<std::pair<bool, std::string>> PgStore::SettleUnknownCommit(const WriteContext& ctx) {
  // The change log row is written in the write's own transaction: it exists if and only if the
  // commit happened. But a server can show a commit that is not durable (it stopped waiting for
  // its synchronous standby, or it is a primary cut off from the others and about to be demoted).
  // So the answer counts only when read inside a transaction that itself commits with synchronous
  // replication: that commit's WAL follows the write's, so once a standby holds it, it holds the
  // write too, and a server whose commits a standby confirms is the one the cluster follows.
  // Keep asking until such an answer comes or the deadline passes.
  int waits = 0;
  while (true) {
    auto lease = pool_->Acquire(ctx.deadline);
    if (lease.ok()) {
      pg::Connection& c = **lease;
      auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.deadline - Clock::now()).count();
      if (remaining <= 0) break;
      c.TakeUnreplicatedCommit();
      auto begin = c.ExecScript("BEGIN; SET LOCAL statement_timeout = " + std::to_string(remaining));
      auto r = std::holds_alternative<pg::Rows>(begin)
                   ? c.Exec("SELECT EXISTS (SELECT 1 FROM change_log WHERE write_id = $1), pg_current_xact_id()::text",
                            {ctx.write_id})
                   : std::move(begin);
      if (auto* rows = std::get_if<pg::Rows>(&r)) {
        bool committed = rows->Get(0, 0) == "t";
        auto end = c.ExecScriptUntil("COMMIT; SELECT pg_current_wal_flush_lsn()::text", ctx.deadline);
        if (auto* lsn = std::get_if<pg::Rows>(&end); lsn && !c.TakeUnreplicatedCommit())
          return std::make_pair(committed, std::string(lsn->Get(0, 0)));
        c.MarkBroken();  // not confirmed by a standby: ask again, perhaps elsewhere
      } else {
        c.MarkBroken();
      }
    }
    if (!WaitToReconnect(ctx.deadline, &waits)) break;
  }
  return Status::Unavailable(
      "the database connection was lost during commit and no primary could confirm the outcome before the "
      "deadline; the outcome is unknown. Retry with the same Idempotency-Key to learn it");
}

Result<WriteAnswer> PgStore::RunWrite(const WriteContext& ctx, const Body& body) {
  int waits = 0;            // attempts to reach a database
  std::string last_reason;  // why the last attempt could not reach one
  for (int attempt = 1;; ++attempt) {
    auto lease = pool_->Acquire(ctx.deadline);
    if (!lease.ok()) {
      if (lease.status().code() != Code::kUnavailable) return lease.status();  // pool exhausted: overloaded
      last_reason = lease.status().detail();
      if (WaitToReconnect(ctx.deadline, &waits)) continue;
      return NoDatabase(last_reason);
    }
    pg::Connection& c = **lease;
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.deadline - Clock::now()).count();
    if (remaining <= 0) return Status::Unavailable("the request's deadline passed");
    auto begin = c.ExecScript("BEGIN; SET LOCAL statement_timeout = " + std::to_string(remaining));
    if (auto* e = std::get_if<pg::Error>(&begin)) {
      Status s = FromPgError(*e, "BEGIN");
      if (s.retry() != Retry::kReconnect) return s;
      last_reason = "the connection failed at BEGIN";
      if (WaitToReconnect(ctx.deadline, &waits)) continue;
      return NoDatabase(last_reason);
    }

    auto outcome = [&]() -> Result<WriteAnswer> {
      if (ctx.idempotency_key) {
        // A concurrent duplicate blocks on the unique key until the first commits or rolls back.
        EXEC_OR_RETURN(claim, c, "the idempotency key",
                       "INSERT INTO idempotency_keys (scope, key, fingerprint, status, headers, body) "
                       "VALUES ($1, $2, $3, 0, '[]', '') ON CONFLICT DO NOTHING RETURNING 1",
                       {ctx.idempotency_scope, *ctx.idempotency_key, ctx.fingerprint});
        if (claim.size() == 0) {
          EXEC_OR_RETURN(
              prev, c, "the idempotency key",
              "SELECT fingerprint, status, headers::text, body FROM idempotency_keys WHERE scope = $1 AND key = $2",
              {ctx.idempotency_scope, *ctx.idempotency_key});
          if (prev.size() == 0) return RetryTransaction("the first request with this key rolled back meanwhile");
          if (prev.Get(0, 0) != ctx.fingerprint)
            return Status::Unprocessable("idempotency-key-reused",
                                         "this Idempotency-Key was used for a different request");
          WriteAnswer replay;
          replay.replayed = true;
          replay.status = static_cast<int>(prev.GetInt(0, 1));
          replay.body = std::string(prev.Get(0, 3));
          boost::system::error_code ec;
          auto headers = json::parse(prev.Get(0, 2), ec);
          if (!ec && headers.is_array())
            for (const auto& h : headers.get_array())
              replay.headers.emplace_back(std::string(h.at(0).as_string()), std::string(h.at(1).as_string()));
          return replay;
        }
      }
      auto answer = body(c);
      if (!answer.ok() || !ctx.idempotency_key) return answer;
      json::array headers;
      for (const auto& [k, v] : answer->headers) headers.push_back(json::array{json::string(k), json::string(v)});
      EXEC_OR_RETURN(
          store, c, "the idempotency key",
          "UPDATE idempotency_keys SET status = $3, headers = $4::jsonb, body = $5 WHERE scope = $1 AND key = $2",
          {ctx.idempotency_scope, *ctx.idempotency_key, std::to_string(answer->status), json::serialize(headers),
           answer->body});
      (void)store;
      return answer;
    }();

    if (!outcome.ok() || outcome->replayed) {
      c.ExecScript("ROLLBACK");
      if (!outcome.ok() && outcome.status().retry() == Retry::kTransaction) {
        if (attempt < kMaxAttempts && Clock::now() < ctx.deadline) {
          retries_.fetch_add(1, std::memory_order_relaxed);
          std::this_thread::sleep_for(std::chrono::milliseconds(2 * attempt));
          continue;
        }
        return Status::Unavailable("the write kept conflicting with others; retry");
      }
      if (!outcome.ok() && outcome.status().retry() == Retry::kReconnect) {
        // Nothing was committed: the transaction died with its connection. Try again on a new one.
        last_reason = "the connection failed during the transaction";
        if (WaitToReconnect(ctx.deadline, &waits)) continue;
        return NoDatabase(last_reason);
      }
      if (outcome.ok()) {
        // A replay still names a point at least as fresh as the first answer's commit.
        auto lsn = c.Exec("SELECT pg_current_wal_flush_lsn()::text");
        if (auto* rows = std::get_if<pg::Rows>(&lsn)) outcome->consistency_token = std::string(rows->Get(0, 0));
      }
      return outcome;
    }
    // COMMIT and the LSN read travel in one round trip.
    c.TakeUnreplicatedCommit();
    // statement_timeout does not end COMMIT's wait for the synchronous standby: the deadline does.
    auto commit = c.ExecScriptUntil("COMMIT; SELECT pg_current_wal_flush_lsn()::text", ctx.deadline);
    bool unreplicated = c.TakeUnreplicatedCommit();
    if (unreplicated) c.MarkBroken();
    if (std::holds_alternative<pg::Error>(commit) || unreplicated) {
      auto* e = std::get_if<pg::Error>(&commit);
      if (e && e->IsRetryable() && attempt < kMaxAttempts) {
        retries_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      // A cancel (the deadline) may have landed after the commit, on the LSN read: unknown too.
      if (unreplicated || e->connection_lost || e->sqlstate == pg::kQueryCanceled) {
        // The commit may have happened, or happened only on this server and not on its
        // synchronous standby. Refuse to guess: learn it from the change log, durably.
        log::Warn("store.commit_outcome_unknown",
                  {{"request_id", ctx.request_id},
                   {"write_id", ctx.write_id},
                   {"reason", unreplicated ? "not confirmed by a standby" : "connection lost during COMMIT"}});
        auto settled = SettleUnknownCommit(ctx);
        if (!settled.ok()) return settled.status();
        log::Info("store.commit_outcome_settled", {{"write_id", ctx.write_id}, {"committed", settled->first}});
        if (settled->first) {
          outcome->consistency_token = settled->second;
          return outcome;
        }
        last_reason = "the connection failed during COMMIT, which did not happen";
        if (WaitToReconnect(ctx.deadline, &waits)) continue;
        return NoDatabase(last_reason);
      }
      return FromPgError(*e, "COMMIT");
    }
    outcome->consistency_token = std::string(std::get<pg::Rows>(commit).Get(0, 0));
    return outcome;
  }
}

namespace {
ProductDoc DocOf(const Product& p) {
  return ProductDoc{p.id, p.version, std::make_shared<const std::string>(model::ProductJson(p))};
}
}  // namespace

Result<ProductDoc> PgStore::GetProduct(const std::string& id, Deadline deadline) {
  auto read = ReadWithin(PoolForCatalogRead(), deadline, "reading a product",
                         std::string("SELECT ") + kProductColumns + " FROM products WHERE id = $1", {id});
  if (!read.ok()) return read.status();
  pg::Rows& rows = *read;
  if (rows.size() == 0) return Status::NotFound("no product " + id);
  auto p = ProductFromRow(rows, 0);
  if (!p.ok()) return p.status();
  return DocOf(*p);
}

Result<ProductPage> PgStore::ListProducts(const ProductQuery& q, Deadline deadline) {
  std::string sql = std::string("SELECT ") + kProductColumns + " FROM products WHERE status = $1";
  std::vector<Param> params{q.status};
  auto add = [&](const std::string& clause, std::string value) {
    params.emplace_back(std::move(value));
    std::string n = "$" + std::to_string(params.size());
    std::string c = clause;
    for (auto pos = c.find("$?"); pos != std::string::npos; pos = c.find("$?")) c.replace(pos, 2, n);
    sql += " AND " + c;
  };
  if (q.after_id) add("id > $?", *q.after_id);
  if (q.category) add("(category = $? OR starts_with(category, $? || '/'))", *q.category);
  if (q.text) add("catalog_search_text(name, description, brand) @@ plainto_tsquery('simple', $?)", *q.text);
  if (q.min_price) add("price_amount >= $?", std::to_string(*q.min_price));
  if (q.max_price) add("price_amount <= $?", std::to_string(*q.max_price));
  // LIMIT is a parameter too, so that the statement texts (each prepared once) stay few.
  params.emplace_back(std::to_string(q.limit + 1));
  sql += " ORDER BY id LIMIT $" + std::to_string(params.size());
  auto read = ReadWithin(PoolForCatalogRead(), deadline, "listing products", sql, params);
  if (!read.ok()) return read.status();
  pg::Rows& rows = *read;
  ProductPage page;
  for (int i = 0; i < std::min(rows.size(), q.limit); ++i) {
    auto p = ProductFromRow(rows, i);
    if (!p.ok()) return p.status();
    page.items.push_back(DocOf(*p));
  }
  page.has_more = rows.size() > q.limit;
  return page;
}

Result<WriteAnswer> PgStore::CreateProduct(const WriteContext& ctx, const ProductInput& in) {
  return RunWrite(ctx, [&](pg::Connection& c) -> Result<WriteAnswer> {
    EXEC_OR_RETURN(
        rows, c, "creating a product",
        std::string("INSERT INTO products (id, name, description, brand, category, price_amount, currency, "
                    "attributes, variants, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10) "
                    "ON CONFLICT (id) DO NOTHING RETURNING ") +
            kProductColumns,
        ProductParams(in));
    if (rows.size() == 0) return Status::Conflict("product-exists", "a product with id " + in.id + " exists");
    auto product = ProductFromRow(rows, 0);
    if (!product.ok()) return product.status();
    if (auto st = CreateStockRows(c, SkusOf(in.variants), in.id); !st.ok()) return st;
    json::value doc = model::ToJson(*product);
    if (auto s = AppendChange(c, ctx, "product", in.id, "create", std::nullopt, doc); !s.ok()) return s;
    return WriteAnswer{
        201, {{"ETag", EtagOf(product->version)}, {"Location", "/v1/products/" + in.id}}, json::serialize(doc)};
  });
}

Result<WriteAnswer> PgStore::ReplaceProduct(const WriteContext& ctx, const ProductInput& in, const Precondition& pre) {
  return RunWrite(ctx, [&](pg::Connection& c) -> Result<WriteAnswer> {
    EXEC_OR_RETURN(cur, c, "reading a product",
                   std::string("SELECT ") + kProductColumns + " FROM products WHERE id = $1 FOR UPDATE", {in.id});
    if (cur.size() == 0) return Status::NotFound("no product " + in.id);
    auto before = ProductFromRow(cur, 0);
    if (!before.ok()) return before.status();
    if (pre.if_match && !model::EtagListMatches(*pre.if_match, EtagOf(before->version), model::EtagComparison::kStrong))
      return Status::PreconditionFailed("If-Match does not match the current version " + EtagOf(before->version));
    std::set<std::string> old_skus, new_skus;
    for (const auto& v : before->variants) old_skus.insert(v.sku);
    for (const auto& v : in.variants) new_skus.insert(v.sku);
    std::vector<std::string> removed, added;
    std::set_difference(old_skus.begin(), old_skus.end(), new_skus.begin(), new_skus.end(),
                        std::back_inserter(removed));
    std::set_difference(new_skus.begin(), new_skus.end(), old_skus.begin(), old_skus.end(), std::back_inserter(added));
    if (!removed.empty()) {
      EXEC_OR_RETURN(
          gone, c, "removing stock",
          "DELETE FROM inventory WHERE sku = ANY($1::text[]) AND product_id = $2 AND reserved = 0 RETURNING sku",
          {PgArray(removed), in.id});
      if (gone.size() != static_cast<int>(removed.size()))
        return Status::Conflict("sku-has-reservations", "a removed variant's sku has stock reserved by orders");
    }
    if (!added.empty()) {
      if (auto st = CreateStockRows(c, added, in.id); !st.ok()) return st;
    }
    auto params = ProductParams(in);
    EXEC_OR_RETURN(rows, c, "replacing a product",
                   std::string("UPDATE products SET name = $2, description = $3, brand = $4, category = $5, "
                               "price_amount = $6, currency = $7, attributes = $8::jsonb, variants = $9::jsonb, "
                               "status = $10, version = version + 1, updated_at = now() WHERE id = $1 RETURNING ") +
                       kProductColumns,
                   params);
    auto after = ProductFromRow(rows, 0);
    if (!after.ok()) return after.status();
    json::value doc = model::ToJson(*after);
    if (auto s = AppendChange(c, ctx, "product", in.id, "replace", model::ToJson(*before), doc); !s.ok()) return s;
    return WriteAnswer{200, {{"ETag", EtagOf(after->version)}}, json::serialize(doc)};
  });
}

Result<WriteAnswer> PgStore::ArchiveProduct(const WriteContext& ctx, const std::string& id) {
  return RunWrite(ctx, [&](pg::Connection& c) -> Result<WriteAnswer> {
    EXEC_OR_RETURN(cur, c, "reading a product",
                   std::string("SELECT ") + kProductColumns + " FROM products WHERE id = $1 FOR UPDATE", {id});
    if (cur.size() == 0) return Status::NotFound("no product " + id);
    auto before = ProductFromRow(cur, 0);
    if (!before.ok()) return before.status();
    if (before->status == "archived") return WriteAnswer{204, {}, ""};  // already archived: nothing changes
    EXEC_OR_RETURN(rows, c, "archiving a product",
                   std::string("UPDATE products SET status = 'archived', version = version + 1, updated_at = now() "
                               "WHERE id = $1 RETURNING ") +
                       kProductColumns,
                   {id});
    auto after = ProductFromRow(rows, 0);
    if (!after.ok()) return after.status();
    if (auto s = AppendChange(c, ctx, "product", id, "archive", model::ToJson(*before), model::ToJson(*after)); !s.ok())
      return s;
    return WriteAnswer{204, {}, ""};
  });
}

Result<Stock> PgStore::GetStock(const std::string& sku, Deadline deadline) {
  auto read = ReadWithin(PoolForCatalogRead(), deadline, "reading stock",
                         "SELECT on_hand, reserved FROM inventory WHERE sku = $1", {sku});
  if (!read.ok()) return read.status();
  pg::Rows& rows = *read;
  if (rows.size() == 0) return Status::NotFound("no sku " + sku);
  return Stock{sku, rows.GetInt(0, 0), rows.GetInt(0, 1)};
}

Result<WriteAnswer> PgStore::SetStock(const WriteContext& ctx, const std::string& sku, std::int64_t on_hand) {
  return RunWrite(ctx, [&](pg::Connection& c) -> Result<WriteAnswer> {
    auto before = LockStock(c, sku);
    if (!before.ok()) return before.status();
    return WriteStock(c, ctx, *before, on_hand, "set_stock");
  });
}

Result<WriteAnswer> PgStore::AdjustStock(const WriteContext& ctx, const std::string& sku, std::int64_t delta) {
  return RunWrite(ctx, [&](pg::Connection& c) -> Result<WriteAnswer> {
    auto before = LockStock(c, sku);
    if (!before.ok()) return before.status();
    if (before->on_hand + delta < 0)
      return Status::Conflict("stock-below-reserved", "on_hand " + std::to_string(before->on_hand) +
                                                          " cannot change by " + std::to_string(delta));
    return WriteStock(c, ctx, *before, before->on_hand + delta, "adjust_stock");
  });
}

Result<WriteAnswer> PgStore::CreateOrder(const WriteContext& ctx, const OrderInput& in) {
  return RunWrite(ctx, [&](pg::Connection& c) -> Result<WriteAnswer> {
    std::vector<std::string> skus;
    for (const auto& l : in.lines) skus.push_back(l.sku);
    // Lock the stock rows in one fixed order (by sku) so concurrent orders cannot deadlock.
    EXEC_OR_RETURN(rows, c, "reserving stock",
                   "SELECT i.sku, i.product_id, i.on_hand - i.reserved, p.status, p.price_amount, p.currency "
                   "FROM inventory i JOIN products p ON p.id = i.product_id WHERE i.sku = ANY($1::text[]) "
                   "ORDER BY i.sku FOR UPDATE OF i",
                   {PgArray(skus)});
    struct Info {
      std::string product_id;
      std::int64_t available;
      std::string status;
      Money price;
    };
    std::map<std::string, Info> info;
    for (int i = 0; i < rows.size(); ++i)
      info[std::string(rows.Get(i, 0))] = {std::string(rows.Get(i, 1)),
                                           rows.GetInt(i, 2),
                                           std::string(rows.Get(i, 3)),
                                           {rows.GetInt(i, 4), std::string(rows.Get(i, 5))}};
    json::array unknown, unsellable, short_skus;
    std::set<std::string> currencies;
    for (const auto& l : in.lines) {
      auto it = info.find(l.sku);
      if (it == info.end())
        unknown.push_back(json::string(l.sku));
      else if (it->second.status != "active")
        unsellable.push_back(json::string(l.sku));
      else {
        currencies.insert(it->second.price.currency);
        if (it->second.available < l.quantity) short_skus.push_back(json::string(l.sku));
      }
    }
    if (!unknown.empty())
      return Status::Unprocessable("unknown-sku", "no such sku: " + std::string(unknown[0].as_string()))
          .WithExtraJson(json::serialize(json::object{{"skus", unknown}}));
    if (!unsellable.empty())
      return Status::Unprocessable("sku-not-for-sale", "the product of sku " + std::string(unsellable[0].as_string()) +
                                                           " is not active (archived or draft)")
          .WithExtraJson(json::serialize(json::object{{"skus", unsellable}}));
    if (currencies.size() > 1)
      return Status::Unprocessable("mixed-currencies", "the lines of one order must share one currency");
    if (!short_skus.empty()) {
      std::string names;
      for (const auto& s : short_skus) names += (names.empty() ? "" : ", ") + std::string(s.as_string());
      return Status::Conflict("out-of-stock", "not enough stock for: " + names)
          .WithExtraJson(json::serialize(json::object{{"skus", short_skus}}));
    }
    std::vector<std::string> quantities;
    Order order;
    order.id = "o-" + UniqueHex(10);
    order.customer_id = in.customer_id;
    order.status = "confirmed";
    order.total = {0, *currencies.begin()};
    for (const auto& l : in.lines) {
      const Info& i = info[l.sku];
      order.lines.push_back(
          {l.sku, i.product_id, l.quantity, i.price, {i.price.amount * l.quantity, i.price.currency}});
      order.total.amount += i.price.amount * l.quantity;
      quantities.push_back(std::to_string(l.quantity));
    }
    EXEC_OR_RETURN(
        reserved, c, "reserving stock",
        "UPDATE inventory i SET reserved = i.reserved + r.qty, version = i.version + 1, updated_at = now() "
        "FROM unnest($1::text[], $2::bigint[]) AS r(sku, qty) WHERE i.sku = r.sku AND i.on_hand - i.reserved >= r.qty",
        {PgArray(skus), PgArray(quantities)});
    if (reserved.affected() != static_cast<int>(skus.size()))
      return Status::Internal("stock changed under a row lock");  // cannot happen: the rows are locked
    std::string lines = json::serialize(model::OrderLinesToJson(order.lines));
    EXEC_OR_RETURN(made, c, "creating an order",
                   "INSERT INTO orders (id, customer_id, status, lines, total_amount, currency, synthetic) "
                   "VALUES ($1, $2, 'confirmed', $3::jsonb, $4, $5, $6) RETURNING " +
                       std::string(kOrderColumns),
                   {order.id, order.customer_id, lines, std::to_string(order.total.amount), order.total.currency,
                    in.synthetic ? "true" : "false"});
    auto stored = OrderFromRow(made, 0);
    if (!stored.ok()) return stored.status();
    json::value doc = model::ToJson(*stored);
    if (auto s = AppendChange(c, ctx, "order", order.id, "create_order", std::nullopt, doc); !s.ok()) return s;
    return WriteAnswer{201, {{"Location", "/v1/orders/" + order.id}}, json::serialize(doc)};
  });
}

Result<Order> PgStore::GetOrder(const std::string& id, Deadline deadline) {
  auto read = ReadWithin(*pool_, deadline, "reading an order",
                         std::string("SELECT ") + kOrderColumns + " FROM orders WHERE id = $1", {id});
  if (!read.ok()) return read.status();
  pg::Rows& rows = *read;
  if (rows.size() == 0) return Status::NotFound("no order " + id);
  return OrderFromRow(rows, 0);
}

Result<WriteAnswer> PgStore::CancelOrder(const WriteContext& ctx, const std::string& id) {
  return RunWrite(ctx, [&](pg::Connection& c) -> Result<WriteAnswer> {
    EXEC_OR_RETURN(cur, c, "reading an order",
                   std::string("SELECT ") + kOrderColumns + " FROM orders WHERE id = $1 FOR UPDATE", {id});
    if (cur.size() == 0) return Status::NotFound("no order " + id);
    auto before = OrderFromRow(cur, 0);
    if (!before.ok()) return before.status();
    if (before->status == "cancelled") return WriteAnswer{200, {}, json::serialize(model::ToJson(*before))};
    std::vector<std::string> skus, quantities;
    auto lines = before->lines;
    std::sort(lines.begin(), lines.end(), [](const auto& a, const auto& b) { return a.sku < b.sku; });
    for (const auto& l : lines) {
      skus.push_back(l.sku);
      quantities.push_back(std::to_string(l.quantity));
    }
    EXEC_OR_RETURN(locked, c, "releasing stock",
                   "SELECT sku FROM inventory WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE", {PgArray(skus)});
    (void)locked;
    EXEC_OR_RETURN(released, c, "releasing stock",
                   "UPDATE inventory i SET reserved = i.reserved - r.qty, version = i.version + 1, updated_at = now() "
                   "FROM unnest($1::text[], $2::bigint[]) AS r(sku, qty) WHERE i.sku = r.sku",
                   {PgArray(skus), PgArray(quantities)});
    (void)released;
    EXEC_OR_RETURN(rows, c, "cancelling an order",
                   "UPDATE orders SET status = 'cancelled', updated_at = now() WHERE id = $1 RETURNING " +
                       std::string(kOrderColumns),
                   {id});
    auto after = OrderFromRow(rows, 0);
    if (!after.ok()) return after.status();
    json::value doc = model::ToJson(*after);
    if (auto s = AppendChange(c, ctx, "order", id, "cancel_order", model::ToJson(*before), doc); !s.ok()) return s;
    return WriteAnswer{200, {}, json::serialize(doc)};
  });
}

Status PgStore::WaitForToken(const std::string& token, Clock::time_point deadline) {
  if (!IsValidConsistencyToken(token)) return Status::Invalid("X-Consistency-Token is not a token this service issued");
  while (true) {
    auto lease = pool_->Acquire(deadline);
    if (!lease.ok()) return lease.status();
    EXEC_OR_RETURN(rows, **lease, "checking freshness",
                   "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END "
                   ">= $1::pg_lsn",
                   {token});
    if (rows.Get(0, 0) == "t") return Status::Ok();
    if (Clock::now() + std::chrono::milliseconds(10) > deadline)
      return Status::Unavailable("this copy of the data has not caught up with the consistency token yet");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Status PgStore::CheckReady() {
  auto lease = pool_->Acquire(Clock::now() + std::chrono::seconds(1));
  if (!lease.ok()) return lease.status();
  EXEC_OR_RETURN(rows, **lease, "the readiness check", "SELECT pg_is_in_recovery()");
  if (rows.Get(0, 0) == "t") return Status::Unavailable("the database is a standby: writes cannot be served");
  return Status::Ok();
}

}  // namespace techmoda
