#include "common/pg.h"

#include <sys/socket.h>

#include <poll.h>

#include <cerrno>
#include <cstdlib>
#include <thread>
#include <variant>

namespace techmoda::pg {

std::int64_t Rows::GetInt(int row, int col) const { return std::strtoll(PQgetvalue(r_.get(), row, col), nullptr, 10); }

int Rows::affected() const {
  const char* n = PQcmdTuples(r_.get());
  return n && *n ? std::atoi(n) : 0;
}

std::variant<Rows, Error> Connection::Exec(std::string_view sql, const std::vector<Param>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  std::string query(sql);
  int n = static_cast<int>(params.size());
  auto it = prepared_.find(query);
  if (it == prepared_.end() && prepared_.size() < kMaxPrepared) {
    std::string name = "s" + std::to_string(prepared_.size());
    ResultPtr prep(PQprepare(c_.get(), name.c_str(), query.c_str(), n, nullptr));
    if (!prep || PQresultStatus(prep.get()) != PGRES_COMMAND_OK) return Finish(std::move(prep));
    it = prepared_.emplace(std::move(query), std::move(name)).first;
  }
  ResultPtr r(it != prepared_.end()
                  ? PQexecPrepared(c_.get(), it->second.c_str(), n, values.data(), nullptr, nullptr, 0)
                  : PQexecParams(c_.get(), query.c_str(), n, nullptr, values.data(), nullptr, nullptr, 0));
  return Finish(std::move(r));
}

Connection::Connection(ConnPtr c) : c_(std::move(c)) {
  // Server notices would go to stderr as plain text; our logs are JSON lines only. One notice
  // matters: a commit whose wait for the synchronous standby was cancelled (by statement_timeout,
  // or a shutdown) is committed only locally, so its durability is unknown.
  PQsetNoticeReceiver(
      c_.get(),
      [](void* arg, const PGresult* r) {
        const char* msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        if (msg && std::string_view(msg).find("wait for synchronous replication") != std::string_view::npos)
          static_cast<Connection*>(arg)->unreplicated_commit_ = true;
      },
      this);
}

std::variant<Rows, Error> Connection::ExecScript(std::string_view sql) {
  std::string query(sql);
  return Finish(ResultPtr(PQexec(c_.get(), query.c_str())));
}

std::variant<Rows, Error> Connection::ExecScriptUntil(std::string_view sql,
                                                      std::chrono::steady_clock::time_point deadline,
                                                      std::chrono::milliseconds grace) {
  std::string query(sql);
  if (!PQsendQuery(c_.get(), query.c_str())) return Finish(nullptr);
  bool cancelled = false;
  while (PQisBusy(c_.get())) {
    auto now = std::chrono::steady_clock::now();
    auto limit = cancelled ? deadline + grace : deadline;
    if (now >= limit) {
      if (!cancelled && grace.count() > 0) {
        cancelled = true;
        // PQcancel (libpq 15) waits, without a limit, for the server to close the cancel's connection:
        // a frozen server (SIGSTOP) accepts it and never does. So it runs on a thread of its own and
        // this one waits `grace` for the answer only.
        if (PGcancel* k = PQgetCancel(c_.get())) {
          std::thread([k] {
            char err[256];
            PQcancel(k, err, sizeof err);
            PQfreeCancel(k);
          }).detach();
        }
        continue;
      }
      // Not even the cancel was answered: the server is gone or cut off. Whether the statement
      // ran is unknown, and this connection is of no further use.
      broken_ = true;
      Error e;
      e.connection_lost = true;
      e.message = "no answer from the server before the deadline, even to a cancel";
      return e;
    }
    pollfd p{PQsocket(c_.get()), POLLIN, 0};
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(limit - now).count() + 1;
    if (poll(&p, 1, static_cast<int>(std::min<long long>(ms, 1000))) < 0 && errno != EINTR) break;
    if (!PQconsumeInput(c_.get())) break;  // the connection failed; PQgetResult says so
  }
  // As PQexec: the last result, unless one was an error.
  ResultPtr kept;
  while (PGresult* r = PQgetResult(c_.get())) {
    bool error = PQresultStatus(r) == PGRES_FATAL_ERROR;
    if (kept && PQresultStatus(kept.get()) == PGRES_FATAL_ERROR && !error) {
      PQclear(r);
      continue;
    }
    kept.reset(r);
  }
  return Finish(std::move(kept));
}

std::variant<Rows, Error> Connection::Finish(ResultPtr r) {
  ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_IN) return Rows(std::move(r));
  Error e;
  if (r) {
    const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
    const char* msg = PQresultErrorField(r.get(), PG_DIAG_MESSAGE_PRIMARY);
    const char* cons = PQresultErrorField(r.get(), PG_DIAG_CONSTRAINT_NAME);
    if (state) e.sqlstate = state;
    if (msg) e.message = msg;
    if (cons) e.constraint = cons;
  }
  if (e.message.empty()) e.message = PQerrorMessage(c_.get());
  if (PQstatus(c_.get()) != CONNECTION_OK) {
    // The statement may or may not have run on the server; callers must not guess.
    e.connection_lost = true;
    broken_ = true;
  }
  if (e.sqlstate == kReadOnlyTransaction) broken_ = true;  // the primary moved: reconnect
  return e;
}

Result<std::unique_ptr<Connection>> Connect(const std::string& conninfo, std::chrono::seconds timeout,
                                            const std::vector<std::pair<std::string, std::string>>& extra) {
  // The conninfo (URL or key=value) is expanded in place of dbname: a connect_timeout before it
  // is the default it may override; the extra settings after it override it.
  std::vector<const char*> keys{"connect_timeout", "dbname"};
  std::string t = std::to_string(timeout.count());
  std::vector<const char*> values{t.c_str(), conninfo.c_str()};
  for (const auto& [k, v] : extra) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  ConnPtr c(PQconnectdbParams(keys.data(), values.data(), 1));
  if (!c || PQstatus(c.get()) != CONNECTION_OK) {
    std::string msg = c ? PQerrorMessage(c.get()) : "out of memory";
    // libpq's message spans lines ("...\n\tIs the server running...?"): make it one.
    std::string flat;
    for (char ch : msg) {
      bool space = ch == '\n' || ch == '\t' || ch == ' ';
      if (space && (flat.empty() || flat.back() == ' ')) continue;
      flat += space ? ' ' : ch;
    }
    while (!flat.empty() && flat.back() == ' ') flat.pop_back();
    return Status::Unavailable("cannot connect to PostgreSQL: " + flat);
  }
  return std::make_unique<Connection>(std::move(c));
}

Result<std::unique_ptr<Connection>> ConnectUntil(const std::string& conninfo,
                                                 std::chrono::steady_clock::time_point deadline) {
  const char* keys[] = {"dbname", nullptr};
  const char* values[] = {conninfo.c_str(), nullptr};
  ConnPtr c(PQconnectStartParams(keys, values, 1));
  if (!c || PQstatus(c.get()) == CONNECTION_BAD)
    return Status::Unavailable("cannot connect to PostgreSQL: " +
                               std::string(c ? PQerrorMessage(c.get()) : "no memory"));
  // PQconnectPoll says what it waits for; the first wait is for writing (the connect).
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) {
      std::string msg = PQerrorMessage(c.get());
      while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
      for (char& ch : msg)
        if (ch == '\n' || ch == '\t') ch = ' ';
      return Status::Unavailable("cannot connect to PostgreSQL: " + msg);
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status::Unavailable("cannot connect to PostgreSQL: no answer in time");
    pollfd p{PQsocket(c.get()), static_cast<short>(state == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0};
    int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) return Status::Unavailable("cannot connect to PostgreSQL: poll failed");
    if (n > 0) state = PQconnectPoll(c.get());
  }
  return std::make_unique<Connection>(std::move(c));
}

Pool::Pool(std::string conninfo, int max_size) : conninfo_(std::move(conninfo)), max_size_(max_size) {}
Pool::~Pool() = default;

Result<Pool::Lease> Pool::Acquire(std::chrono::steady_clock::time_point deadline) {
  std::string conninfo;
  int generation = 0;
  {
    MutexLock lock(mu_);
    bool free = cv_.WaitUntil(mu_, deadline, [&] {
      mu_.AssertHeld();
      return !idle_.empty() || in_use_ < max_size_;
    });
    if (!free) return Status::Overloaded("all database connections are busy");
    ++in_use_;
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      busy_.insert(c.get());
      return Lease(this, std::move(c));
    }
    conninfo = conninfo_;
    generation = generation_;
  }
  // Connecting takes a round trip or a timeout: not under the lock.
  auto c = Connect(conninfo, std::chrono::seconds(5));
  MutexLock lock(mu_);
  if (!c.ok()) {
    --in_use_;
    cv_.NotifyOne();
    return c.status();
  }
  (*c)->pool_generation = generation;
  busy_.insert(c->get());
  return Lease(this, std::move(c).value());
}

void Pool::Retarget(std::string conninfo) {
  MutexLock lock(mu_);
  if (conninfo == conninfo_) return;
  conninfo_ = std::move(conninfo);
  ++generation_;
  idle_.clear();
  for (Connection* c : busy_)
    if (int fd = PQsocket(c->raw()); fd >= 0) shutdown(fd, SHUT_RDWR);
}

void Pool::Release(std::unique_ptr<Connection> c) {
  MutexLock lock(mu_);
  --in_use_;
  busy_.erase(c.get());
  // A connection left inside a transaction or broken is dropped, never handed to another request.
  // A broken one usually means the server restarted or moved: the idle ones are stale too, and
  // handing them out one by one would cost every caller a failure. Drop them all.
  if (c->IsBroken())
    idle_.clear();
  else if (PQtransactionStatus(c->raw()) == PQTRANS_IDLE && c->pool_generation == generation_)
    idle_.push_back(std::move(c));
  cv_.NotifyOne();
}

int Pool::in_use() const {
  MutexLock lock(mu_);
  return in_use_;
}

void AppendCopyField(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
}

void SplitCopyLine(std::string_view line, CopyRow& row) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  row.fields.clear();
  row.decoded.clear();
  row.decoded.reserve(line.size() / 2 + 1);  // never reallocates below: views into it stay valid
  std::size_t start = 0;
  while (true) {
    std::size_t end = line.find('\t', start);
    std::string_view f = line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (f == "\\N") {
      row.fields.emplace_back(std::nullopt);
    } else if (f.find('\\') == std::string_view::npos) {
      row.fields.emplace_back(f);
    } else {
      std::string& out = row.decoded.emplace_back();
      for (std::size_t i = 0; i < f.size(); ++i) {
        if (f[i] != '\\' || i + 1 == f.size()) {
          out += f[i];
          continue;
        }
        char e = f[++i];
        switch (e) {
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'v':
            out += '\v';
            break;
          case 'x': {  // \xHH: one or two hex digits
            int v = 0, n = 0;
            while (n < 2 && i + 1 < f.size() && std::isxdigit(static_cast<unsigned char>(f[i + 1]))) {
              char h = f[++i];
              v = v * 16 + (h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
              ++n;
            }
            out += n ? static_cast<char>(v) : 'x';
            break;
          }
          default:
            if (e >= '0' && e <= '7') {  // \ooo: one to three octal digits
              int v = e - '0', n = 1;
              while (n < 3 && i + 1 < f.size() && f[i + 1] >= '0' && f[i + 1] <= '7') {
                v = v * 8 + (f[++i] - '0');
                ++n;
              }
              out += static_cast<char>(v);
            } else {
              out += e;  // \\ and any other escaped character stand for themselves
            }
        }
      }
      row.fields.emplace_back(std::string_view(out));
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
}

Status CopyOut(Connection& c, const std::string& copy_sql, const std::function<Status(const CopyRow&)>& on_row) {
  PGconn* conn = c.raw();
  ResultPtr started(PQexec(conn, copy_sql.c_str()));
  if (PQresultStatus(started.get()) != PGRES_COPY_OUT)
    return Status::Unavailable(std::string("COPY failed: ") + PQerrorMessage(conn));
  CopyRow row;
  while (true) {
    char* buf = nullptr;
    int n = PQgetCopyData(conn, &buf, 0);
    if (n < 0) break;  // -1: done; -2: error, reported by PQgetResult below
    SplitCopyLine(std::string_view(buf, static_cast<std::size_t>(n)), row);  // views into buf
    Status s = on_row(row);
    PQfreemem(buf);
    if (!s.ok()) {
      c.MarkBroken();  // the rest of the COPY is still on the wire: the connection cannot be reused
      return s;
    }
  }
  ResultPtr done(PQgetResult(conn));
  while (PGresult* extra = PQgetResult(conn)) PQclear(extra);
  if (PQresultStatus(done.get()) != PGRES_COMMAND_OK)
    return Status::Unavailable(std::string("COPY failed: ") + PQerrorMessage(conn));
  return Status::Ok();
}

bool Error::IsUnreachable() const {
  bool class_08 = sqlstate.size() == 5 && sqlstate.compare(0, 2, "08") == 0;  // connection exception
  bool class_57 = sqlstate.size() == 5 && sqlstate.compare(0, 2, "57") == 0 &&
                  sqlstate != kQueryCanceled;  // operator intervention (shutdown), not a timeout
  return connection_lost || class_08 || class_57 || sqlstate == kReadOnlyTransaction;
}

Status ToStatus(const Error& e, std::string_view during) {
  std::string detail =
      std::string(during) + ": " + e.message + (e.sqlstate.empty() ? "" : " (SQLSTATE " + e.sqlstate + ")");
  Status s;
  if (e.IsRetryable())
    s = Status::Unavailable(detail).WithRetry(Retry::kTransaction);
  else if (e.IsUnreachable())
    s = Status::Unavailable(detail).WithRetry(Retry::kReconnect);
  else if (e.sqlstate == kQueryCanceled)
    s = Status::Unavailable(detail);
  else if (e.sqlstate.compare(0, 2, "23") == 0)
    s = Status::Conflict("conflict", detail);
  else if (e.sqlstate.compare(0, 2, "22") == 0)
    s = Status::Invalid(detail);
  else
    s = Status::Internal(detail);
  return s.WithSqlstate(e.sqlstate);
}

}  // namespace techmoda::pg
