// The one libpq wrapper: owned handles, parameterised queries, SQLSTATE kept, and a bounded pool.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "techmoda/mutex.h"
#include "techmoda/status.h"

namespace techmoda::pg {

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// SQLSTATEs the code reacts to. We keep the SQLSTATE and never flatten it into a message.
inline constexpr std::string_view kUniqueViolation = "23505";
inline constexpr std::string_view kCheckViolation = "23514";
inline constexpr std::string_view kForeignKeyViolation = "23503";
inline constexpr std::string_view kSerializationFailure = "40001";
inline constexpr std::string_view kDeadlockDetected = "40P01";
inline constexpr std::string_view kReadOnlyTransaction = "25006";
inline constexpr std::string_view kQueryCanceled = "57014";

// A failed statement: the SQLSTATE (empty when the connection itself failed), the message and the
// constraint name, if any.
struct Error {
  std::string sqlstate;
  std::string message;
  std::string constraint;
  // True when the server may or may not have executed the statement (connection lost mid-way).
  bool connection_lost = false;
  bool IsRetryable() const { return sqlstate == kSerializationFailure || sqlstate == kDeadlockDetected; }
  // No database could run the statement: the connection broke, or the server is going away, or it is
  // read-only now (the primary moved). Nothing was committed, unless `connection_lost` during COMMIT.
  bool IsUnreachable() const;
};

// The Status of a failed statement, keeping what PostgreSQL said: the SQLSTATE (Status::sqlstate),
// a code by its class (08, 57, 25006: kUnavailable with Retry::kReconnect; 40001, 40P01: Retry::
// kTransaction; 23: kConflict; 22: kInvalidArgument; else kInternal) and "<during>: <message>".
Status ToStatus(const Error& e, std::string_view during);

// Rows of a successful statement. Cheap to move; owns the PGresult.
class Rows {
 public:
  explicit Rows(ResultPtr r) : r_(std::move(r)) {}
  int size() const { return PQntuples(r_.get()); }
  int columns() const { return PQnfields(r_.get()); }
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string_view Get(int row, int col) const {
    return {PQgetvalue(r_.get(), row, col), static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
  }
  std::int64_t GetInt(int row, int col) const;
  std::optional<std::string> GetOpt(int row, int col) const {
    if (IsNull(row, col)) return std::nullopt;
    return std::string(Get(row, col));
  }
  int affected() const;
  // The position of a result column by name, or -1.
  int ColumnIndex(const char* name) const { return PQfnumber(r_.get(), name); }

 private:
  ResultPtr r_;
};

// A parameter: nullopt is SQL NULL. Values are sent as text.
using Param = std::optional<std::string>;

// One open connection. Not thread-safe: one user at a time (the pool enforces it).
class Connection {
 public:
  explicit Connection(ConnPtr c);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  // Runs one statement with parameters ($1...). On failure returns the Error with its SQLSTATE.
  // Each distinct statement text is prepared once per connection (up to kMaxPrepared) and then
  // executed by name, so the server parses and plans it once, not on every call.
  std::variant<Rows, Error> Exec(std::string_view sql, const std::vector<Param>& params = {});
  static constexpr std::size_t kMaxPrepared = 256;
  // Runs several statements separated by ';' (simple protocol, no parameters): for migrations only,
  // never with text that came from a request.
  std::variant<Rows, Error> ExecScript(std::string_view sql);
  // ExecScript that gives up at `deadline`: it asks the server to cancel, waits `grace` for the
  // answer (a cancelled COMMIT answers, committed locally), and then gives the connection up
  // (connection_lost). For COMMIT, whose wait for a synchronous standby statement_timeout does
  // not end. A grace of 0 gives up at the deadline without a cancel (a probe).
  std::variant<Rows, Error> ExecScriptUntil(std::string_view sql, std::chrono::steady_clock::time_point deadline,
                                            std::chrono::milliseconds grace = std::chrono::seconds(2));
  bool IsAlive() const { return PQstatus(c_.get()) == CONNECTION_OK; }
  PGconn* raw() { return c_.get(); }
  // Marks the connection as unusable, so the pool drops it instead of reusing it.
  void MarkBroken() { broken_ = true; }
  bool IsBroken() const { return broken_ || !IsAlive(); }
  int pool_generation = 0;  // the Pool's target when this connection was made
  // True when the server said, since the last call, that it stopped waiting for synchronous
  // replication of a commit ("committed locally, but might not have been replicated"): that
  // commit is not known to be durable, whatever COMMIT answered. Clears the flag.
  bool TakeUnreplicatedCommit() { return std::exchange(unreplicated_commit_, false); }

 private:
  std::variant<Rows, Error> Finish(ResultPtr r);
  ConnPtr c_;
  bool broken_ = false;
  bool unreplicated_commit_ = false;                       // set by the notice receiver
  std::unordered_map<std::string, std::string> prepared_;  // statement text -> name
};

// Opens a connection with the given libpq conninfo (URL or key=value); the error text never
// contains the password, since libpq does not echo it.
// `extra` adds or overrides libpq settings (for example replication=database).
Result<std::unique_ptr<Connection>> Connect(const std::string& conninfo, std::chrono::seconds timeout,
                                            const std::vector<std::pair<std::string, std::string>>& extra = {});

// Connect that gives up at `deadline` (libpq's connect_timeout counts whole seconds, at least 2):
// for probes that must answer within a fraction of a second.
Result<std::unique_ptr<Connection>> ConnectUntil(const std::string& conninfo,
                                                 std::chrono::steady_clock::time_point deadline);

// A bounded pool. Acquire waits up to the deadline for a free connection, then fails with
// kOverloaded; a connection that cannot be opened fails with kUnavailable. Thread-safe.
class Pool {
 public:
  Pool(std::string conninfo, int max_size);
  ~Pool();

  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Connection> c) : pool_(pool), c_(std::move(c)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = default;
    ~Lease() {
      if (pool_ && c_) pool_->Release(std::move(c_));
    }
    Connection* operator->() { return c_.get(); }
    Connection& operator*() { return *c_; }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> c_;
  };

  Result<Lease> Acquire(std::chrono::steady_clock::time_point deadline);
  // From now on connect to `conninfo` (the active region changed). Idle connections to the old
  // target are dropped; busy ones have their socket shut down, so a statement waiting on a database
  // that no longer answers (a region cut off) fails at once and its caller retries on the new target.
  void Retarget(std::string conninfo);
  int in_use() const;
  int max_size() const { return max_size_; }

 private:
  void Release(std::unique_ptr<Connection> c);
  mutable Mutex mu_;
  CondVar cv_;
  std::string conninfo_ GUARDED_BY(mu_);
  int generation_ GUARDED_BY(mu_) = 0;  // bumped by Retarget
  const int max_size_;
  std::vector<std::unique_ptr<Connection>> idle_ GUARDED_BY(mu_);
  std::set<Connection*> busy_ GUARDED_BY(mu_);  // handed out, not yet back
  int in_use_ GUARDED_BY(mu_) = 0;
};

// Escapes a value as a PostgreSQL COPY text-format field.
void AppendCopyField(std::string& out, std::string_view value);

// One row of COPY text format split into fields (nullopt for \N), escapes decoded. The views point
// into the line or into `decoded`, and stay valid until the next call with the same CopyRow.
struct CopyRow {
  std::vector<std::optional<std::string_view>> fields;
  std::vector<std::string> decoded;
};
void SplitCopyLine(std::string_view line, CopyRow& row);

// Runs `COPY (...) TO STDOUT` and calls `on_row` with each row as it streams in, so the server
// produces while the caller consumes. A non-OK Status from `on_row` stops at once and is returned;
// the connection is then marked broken (the rest of the COPY is unread).
Status CopyOut(Connection& c, const std::string& copy_sql, const std::function<Status(const CopyRow&)>& on_row);

}  // namespace techmoda::pg
