#include "catalogd/copy/feed.h"

#include <malloc.h>
#include <poll.h>

#include <unordered_map>

#include "common/json_util.h"
#include "common/log.h"
#include "common/pg.h"

namespace techmoda::copy {
namespace {

using Clock = std::chrono::steady_clock;

// Output the copy parses: timestamps in UTC, ISO style.
const std::vector<std::pair<std::string, std::string>> kSessionSettings = {
    {"options", "-c TimeZone=UTC -c DateStyle=ISO,YMD"}, {"application_name", "catalogd-copy"}};

std::int64_t UnixMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ErrorText(PGconn* c) {
  std::string m = PQerrorMessage(c);
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

struct Relation {
  std::string name;  // "public.products"
  std::unordered_map<std::string, int> columns;
};

// A replicated tuple's columns in the order of `names`.
template <std::size_t N>
std::array<std::optional<std::string_view>, N> RowOf(const Relation& rel, const Tuple& t,
                                                     const std::array<std::string_view, N>& names) {
  std::array<std::optional<std::string_view>, N> row;
  for (std::size_t i = 0; i < N; ++i) {
    auto it = rel.columns.find(std::string(names[i]));
    if (it == rel.columns.end() || it->second >= static_cast<int>(t.size())) continue;
    const Column& c = t[it->second];
    if (c.kind == Column::Kind::kText) row[i] = std::string_view(c.text);
  }
  return row;
}

bool Unchanged(const Relation& rel, const Tuple& t, const char* column) {
  auto it = rel.columns.find(column);
  return it != rel.columns.end() && it->second < static_cast<int>(t.size()) &&
         t[it->second].kind == Column::Kind::kUnchangedToast;
}

template <std::size_t N>
std::string ColumnList(const std::array<std::string_view, N>& names) {
  std::string out;
  for (auto n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

// Streams one table of the exported snapshot into the Snapshot, on a connection of its own.
Status LoadTable(const std::string& conninfo, const std::string& snapshot_name, bool products,
                 CatalogCopy::Snapshot& snap, const std::atomic<bool>& stop) {
  auto conn = pg::Connect(conninfo, std::chrono::seconds(5), kSessionSettings);
  if (!conn.ok()) return conn.status();
  pg::Connection& c = **conn;
  if (auto r = c.ExecScript("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '" +
                            snapshot_name + "'");
      auto* e = std::get_if<pg::Error>(&r))
    return Status::Unavailable("loading the snapshot: " + e->message);
  // Products in id order: each word's list of products is then built by appending.
  std::string sql = products ? "COPY (SELECT " + ColumnList(kProductColumns) + " FROM products ORDER BY id) TO STDOUT"
                             : "COPY (SELECT " + ColumnList(kStockColumns) + " FROM inventory) TO STDOUT";
  // The planner's row estimate sizes the hash tables once, instead of rehashing as they grow.
  auto estimate = c.Exec("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = $1::regclass",
                         {std::string(products ? "products" : "inventory")});
  if (auto* rows = std::get_if<pg::Rows>(&estimate); rows && rows->size() == 1) {
    auto n = static_cast<std::size_t>(rows->GetInt(0, 0));
    products ? snap.ReserveProducts(n) : snap.ReserveStock(n);
  }
  auto started = std::chrono::steady_clock::now();
  std::int64_t count = 0;
  Status s = pg::CopyOut(c, sql, [&](const pg::CopyRow& r) -> Status {
    if (++count % 4096 == 0 && stop.load()) return Status::Unavailable("stopping");
    if (products) {
      ProductRow row;
      if (r.fields.size() != row.size()) return Status::Internal("a products row with the wrong column count");
      std::copy(r.fields.begin(), r.fields.end(), row.begin());
      if (auto added = snap.AddProductRow(row); !added.ok()) return added;
    } else {
      StockRow row;
      if (r.fields.size() != row.size()) return Status::Internal("an inventory row with the wrong column count");
      std::copy(r.fields.begin(), r.fields.end(), row.begin());
      auto st = StockFromRow(row);
      if (!st.ok()) return st.status();
      snap.AddStock(st->first, st->second);
    }
    return Status::Ok();
  });
  if (!c.IsBroken()) c.ExecScript("COMMIT");  // a broken COPY would be read to its end first
  log::Info(
      "copy.table_loaded",
      {{"table", products ? "products" : "inventory"},
       {"rows", count},
       {"ms",
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()}});
  return s;
}

// Loads products and stock as of the exported snapshot, the two tables at once.
Result<CatalogCopy::Snapshot> LoadSnapshot(const std::string& conninfo, const std::string& snapshot_name,
                                           const std::atomic<bool>& stop) {
  CatalogCopy::Snapshot snap;
  Status stock_status = Status::Ok();
  std::thread stock([&] { stock_status = LoadTable(conninfo, snapshot_name, false, snap, stop); });
  Status products_status = LoadTable(conninfo, snapshot_name, true, snap, stop);
  stock.join();
  if (!products_status.ok()) return products_status;
  if (!stock_status.ok()) return stock_status;
  return snap;
}

}  // namespace

Feed::Feed(CatalogCopy& copy, FeedOptions options) : copy_(copy), options_(std::move(options)) {}

Feed::~Feed() { Stop(); }

void Feed::Start() {
  feed_thread_ = std::thread([this] { RunFeed(); });
  probe_thread_ = std::thread([this] { RunProbe(); });
}

void Feed::Stop() {
  stop_.store(true);
  if (feed_thread_.joinable()) feed_thread_.join();
  if (probe_thread_.joinable()) probe_thread_.join();
}

std::string Feed::Conninfo() const {
  MutexLock lock(state_mu_);
  return options_.conninfo;
}

void Feed::Retarget(std::string conninfo) {
  {
    MutexLock lock(state_mu_);
    if (conninfo == options_.conninfo) return;
    options_.conninfo = std::move(conninfo);
  }
  retarget_ = true;
  probe_retarget_ = true;
}

std::string Feed::state() const {
  MutexLock lock(state_mu_);
  return state_;
}

void Feed::SetState(std::string s) {
  MutexLock lock(state_mu_);
  state_ = std::move(s);
}

void Feed::RunFeed() {
  int failures = 0;
  while (!stop_.load()) {
    Status s = Session();
    if (stop_.load()) break;
    ++failures;
    SetState("reconnecting: " + s.detail());
    if (failures == 1 || failures % 20 == 0)
      log::Warn("copy.feed_interrupted", {{"reason", s.detail()}, {"attempts", failures}});
    auto delay = std::chrono::milliseconds(std::min(250, 50 << std::min(failures - 1, 3)));
    for (auto until = Clock::now() + delay; Clock::now() < until && !stop_.load();)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (s.code() == Code::kOk) failures = 0;
  }
  SetState("stopped");
}

Status Feed::Session() {
  const std::string conninfo = Conninfo();
  retarget_ = false;
  auto repl = pg::Connect(conninfo, std::chrono::seconds(5),
                          {{"replication", "database"}, kSessionSettings[0], kSessionSettings[1]});
  if (!repl.ok()) return repl.status();
  PGconn* c = (*repl)->raw();

  // Which history the server is on: a failover or switchover starts a new timeline.
  pg::ResultPtr ident(PQexec(c, "IDENTIFY_SYSTEM"));
  if (PQresultStatus(ident.get()) != PGRES_TUPLES_OK)
    return Status::Unavailable("identifying the server: " + ErrorText(c));
  std::string history = std::string(PQgetvalue(ident.get(), 0, 0)) + "/" + PQgetvalue(ident.get(), 0, 1);
  bool new_history = !history_.empty() && history != history_;

  // A temporary slot disappears with this connection, so a catalogd that dies leaves nothing behind.
  std::string slot = "catalogd_copy_" + RandomHex(8);
  SetState("loading a snapshot");
  auto started = Clock::now();
  pg::ResultPtr made(
      PQexec(c, ("CREATE_REPLICATION_SLOT " + slot + " TEMPORARY LOGICAL pgoutput EXPORT_SNAPSHOT").c_str()));
  if (PQresultStatus(made.get()) != PGRES_TUPLES_OK)
    return Status::Unavailable("creating a replication slot: " + ErrorText(c));
  auto start = ParseLsn(PQgetvalue(made.get(), 0, 1));
  std::string snapshot_name = PQgetvalue(made.get(), 0, 2);
  if (!start) return Status::Internal("the server named no consistent point");

  auto snap = LoadSnapshot(conninfo, snapshot_name, stop_);
  if (!snap.ok()) return snap.status();
  std::size_t products = snap->products();
  std::size_t kept = copy_.Install(std::move(snap).value(), *start, new_history);
  if (new_history)
    log::Info("copy.new_history", {{"from", history_}, {"to", history}, {"note", "the snapshot replaced the copy"}});
  history_ = history;
#ifdef __GLIBC__
  malloc_trim(0);  // hand back what loading used and freed (row buffers, the old copy), not only keep it
#endif
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  sessions_.fetch_add(1);
  log::Info("copy.snapshot_installed", {{"products", static_cast<std::int64_t>(products)},
                                        {"stock", static_cast<std::int64_t>(copy_.stock_count())},
                                        {"lsn", FormatLsn(*start)},
                                        {"ms", ms},
                                        {"kept_newer_rows", static_cast<std::int64_t>(kept)}});

  std::string cmd = "START_REPLICATION SLOT " + slot + " LOGICAL " + FormatLsn(*start) +
                    " (proto_version '1', publication_names '" + options_.publication + "')";
  pg::ResultPtr streaming(PQexec(c, cmd.c_str()));
  if (PQresultStatus(streaming.get()) != PGRES_COPY_BOTH)
    return Status::Unavailable("starting replication: " + ErrorText(c));
  SetState("streaming");

  std::unordered_map<std::uint32_t, Relation> relations;
  std::vector<Change> pending;
  bool in_txn = false;
  auto last_status = Clock::now();
  // Periodic updates confirm ("flushed") what is applied here, but no further than a physical
  // standby has flushed (confirm_bound_): a slot must advance, and must never acknowledge a commit.
  // Answers to the server's pings confirm nothing and say how far this copy has written: a server
  // shutting down waits for each walsender's client to reach its end, and learns it from these.
  auto send_status = [&](bool ping_answer) {
    if (!ping_answer && Clock::now() - last_status < options_.status_interval) return true;
    Lsn applied = copy_.applied();
    std::string msg = ping_answer ? StatusUpdate(applied, 0, applied, UnixMicros(), false)
                                  : StatusUpdate(applied, std::min<Lsn>(applied, confirm_bound_.load()), applied,
                                                 UnixMicros(), false);
    last_status = Clock::now();
    return PQputCopyData(c, msg.data(), static_cast<int>(msg.size())) == 1 && PQflush(c) == 0;
  };

  while (!stop_.load()) {
    if (retarget_.load()) return Status::Unavailable("the active region changed: following its database");
    char* buf = nullptr;
    int n = PQgetCopyData(c, &buf, 1);
    if (n == 0) {
      if (!send_status(false)) return Status::Unavailable("sending status: " + ErrorText(c));
      pollfd pfd{PQsocket(c), POLLIN, 0};
      poll(&pfd, 1, 100);
      if (PQconsumeInput(c) == 0) return Status::Unavailable("the replication connection failed: " + ErrorText(c));
      continue;
    }
    if (n == -1) return Status::Unavailable("the server ended replication");
    if (n < 0) return Status::Unavailable("the replication connection failed: " + ErrorText(c));
    std::string frame_bytes(buf, static_cast<std::size_t>(n));
    PQfreemem(buf);
    auto frame = ParseFrame(frame_bytes);
    if (!frame.ok()) return frame.status();
    if (frame->kind == Frame::Kind::kKeepalive) {
      // Everything before wal_end has been sent; between transactions nothing is pending.
      if (!in_txn) copy_.Advance(frame->wal_end);
      if (!send_status(frame->reply_requested)) return Status::Unavailable("sending status: " + ErrorText(c));
      continue;
    }
    auto msg = ParseMessage(frame->payload);
    if (!msg.ok()) return msg.status();
    switch (msg->kind) {
      case Message::Kind::kBegin:
        in_txn = true;
        pending.clear();
        break;
      case Message::Kind::kRelation: {
        Relation rel{msg->relation_name, {}};
        for (std::size_t i = 0; i < msg->columns.size(); ++i) rel.columns[msg->columns[i]] = static_cast<int>(i);
        relations[msg->relation] = std::move(rel);
        break;
      }
      case Message::Kind::kInsert:
      case Message::Kind::kUpdate:
      case Message::Kind::kDelete: {
        auto rel = relations.find(msg->relation);
        if (rel == relations.end()) return Status::Internal("a change for an unannounced relation");
        bool products = rel->second.name == "public.products";
        if (!products && rel->second.name != "public.inventory") break;
        if (msg->kind == Message::Kind::kDelete) {
          auto key = products ? RowOf(rel->second, *msg->old_tuple, kProductColumns)[0]
                              : RowOf(rel->second, *msg->old_tuple, kStockColumns)[0];
          if (!key) return Status::Internal("a delete without its key");
          pending.push_back({products ? Change::Kind::kDeleteProduct : Change::Kind::kDeleteStock, std::string(*key)});
          break;
        }
        if (products) {
          auto p = ProductFromRow(RowOf(rel->second, msg->new_tuple, kProductColumns));
          if (!p.ok()) return p.status();
          // Large values an update left alone come as "unchanged": take them from the copy.
          bool any_unchanged = false;
          for (const auto& col : msg->new_tuple) any_unchanged |= col.kind == Column::Kind::kUnchangedToast;
          if (any_unchanged) {
            auto held = copy_.ProductOf(p->id);
            if (!held) return Status::Internal("an update left values out for a product the copy lacks");
            if (Unchanged(rel->second, msg->new_tuple, "name")) p->name = held->name;
            if (Unchanged(rel->second, msg->new_tuple, "description")) p->description = held->description;
            if (Unchanged(rel->second, msg->new_tuple, "brand")) p->brand = held->brand;
            if (Unchanged(rel->second, msg->new_tuple, "attributes")) p->attributes = held->attributes;
            if (Unchanged(rel->second, msg->new_tuple, "variants")) p->variants = held->variants;
          }
          Change ch{Change::Kind::kPutProduct, p->id};
          ch.product = std::move(p).value();
          pending.push_back(std::move(ch));
        } else {
          auto s = StockFromRow(RowOf(rel->second, msg->new_tuple, kStockColumns));
          if (!s.ok()) return s.status();
          Change ch{Change::Kind::kPutStock, std::string(s->first)};
          ch.stock = s->second;
          pending.push_back(std::move(ch));
        }
        break;
      }
      case Message::Kind::kTruncate:
        for (auto relid : msg->truncated) {
          auto rel = relations.find(relid);
          if (rel == relations.end()) continue;
          if (rel->second.name == "public.products") pending.push_back({Change::Kind::kClearProducts, ""});
          if (rel->second.name == "public.inventory") pending.push_back({Change::Kind::kClearStock, ""});
        }
        break;
      case Message::Kind::kCommit: {
        if (options_.apply_delay.count() > 0) {
          auto due = msg->commit_time + kPgEpochOffsetMicros + options_.apply_delay.count() * 1000;
          if (auto wait = due - UnixMicros(); wait > 0) std::this_thread::sleep_for(std::chrono::microseconds(wait));
        }
        copy_.Apply(pending, msg->end_lsn);
        in_txn = false;
        if (options_.observe_propagation && !pending.empty()) {
          double secs = static_cast<double>(UnixMicros() - (msg->commit_time + kPgEpochOffsetMicros)) / 1e6;
          options_.observe_propagation(std::max(0.0, secs));
        }
        pending.clear();
        break;
      }
      case Message::Kind::kOther:
        break;
    }
  }
  return Status::Ok();
}

void Feed::RunProbe() {
  std::unique_ptr<pg::Connection> conn;
  while (!stop_.load()) {
    auto t0 = Clock::now();
    if (probe_retarget_.exchange(false)) conn.reset();
    if (!conn || conn->IsBroken()) {
      conn.reset();
      auto c = pg::Connect(Conninfo(), std::chrono::seconds(2), {kSessionSettings[1]});
      if (c.ok()) conn = std::move(c).value();
    }
    if (conn) {
      // Physical standbys' walsenders are the ones not attached to a database.
      auto r = conn->Exec(
          "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_flush_lsn() "
          "END)::text, CASE WHEN current_setting('synchronous_standby_names') = '' THEN NULL ELSE "
          "coalesce((SELECT max(r.flush_lsn) FROM pg_stat_replication r JOIN pg_stat_activity a ON a.pid = r.pid "
          "WHERE a.datname IS NULL), '0/0')::text END");
      if (auto* rows = std::get_if<pg::Rows>(&r); rows && !rows->IsNull(0, 0)) {
        auto bound = rows->IsNull(0, 1) ? std::optional<Lsn>(kNoBound) : ParseLsn(rows->Get(0, 1));
        if (bound) confirm_bound_.store(*bound);
        auto lsn = ParseLsn(rows->Get(0, 0));
        // Current as of t0 once everything the server had flushed then is applied here.
        if (copy_.ready() && lsn && copy_.WaitFor(*lsn, t0 + std::chrono::seconds(2))) copy_.MarkCurrent(t0);
      } else {
        conn->MarkBroken();
      }
    }
    for (auto until = t0 + options_.probe_interval; Clock::now() < until && !stop_.load();)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace techmoda::copy
