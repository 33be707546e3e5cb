// The feed that keeps a CatalogCopy following the database, by logical decoding: a temporary
// replication slot (pgoutput, publication techmoda_copy) exports a snapshot, the snapshot is
// loaded in one REPEATABLE READ transaction, and the stream then applies every committed
// transaction after it, in commit order. Any interruption (a dropped connection, a failover, a
// restart of PostgreSQL) ends the session; the next one takes a new slot and snapshot and merges
// it into the copy without letting any row go back. A probe marks the copy current whenever it
// has applied the server's flush position, which is what "stale" is measured from.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "catalogd/copy/catalog_copy.h"
#include "techmoda/mutex.h"
#include "techmoda/status.h"

namespace techmoda::copy {

struct FeedOptions {
  std::string conninfo;  // libpq URL or key=value; the role needs the REPLICATION attribute
  std::string publication = "techmoda_copy";
  std::chrono::milliseconds probe_interval{500};
  std::chrono::milliseconds status_interval{1000};  // standby status updates to the server
  // Applies each transaction this long after its commit: a lagging copy, for drills and tests.
  std::chrono::milliseconds apply_delay{0};
  // Seconds from a transaction's commit on the server to its being visible in the copy.
  std::function<void(double)> observe_propagation;
};

class Feed {
 public:
  Feed(CatalogCopy& copy, FeedOptions options);
  ~Feed();  // stops
  void Start();
  void Stop();

  // Follows another database from now on (the active region changed): the session ends and the
  // next one starts there (a new history: its snapshot replaces the copy).
  void Retarget(std::string conninfo);

  // "streaming", "loading a snapshot", or why it is reconnecting; for /readyz and logs.
  std::string state() const;
  std::uint64_t sessions() const { return sessions_.load(); }

 private:
  void RunFeed();
  void RunProbe();
  Status Session();
  void SetState(std::string s);

  CatalogCopy& copy_;
  FeedOptions options_;
  // The highest position this feed may confirm to the server: what a physical standby has flushed.
  // With synchronous replication a confirming logical walsender can count as a synchronous standby
  // (Patroni's strict mode sets synchronous_standby_names to '*' when no standby is left), and a
  // copy in memory must never be what makes a commit acknowledged. kNoBound: the server uses no
  // synchronous replication, confirm what is applied.
  static constexpr std::uint64_t kNoBound = ~std::uint64_t{0};
  std::atomic<std::uint64_t> confirm_bound_{0};
  std::string Conninfo() const;
  std::atomic<bool> stop_{false};
  std::atomic<bool> retarget_{false}, probe_retarget_{false};
  std::atomic<std::uint64_t> sessions_{0};
  std::string history_;     // "<system id>/<timeline>" of the last session's server (feed thread only)
  mutable Mutex state_mu_;  // also over options_.conninfo (Retarget)
  std::string state_ GUARDED_BY(state_mu_) = "starting";
  std::thread feed_thread_;
  std::thread probe_thread_;
};

}  // namespace techmoda::copy
