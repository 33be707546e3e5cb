// The failure detector (docs/failure-detector.md): one in every zone of a region, run as the zone's
// OS user, so that it is cut off, frozen and killed with its zone. A few times a second it probes the
// region's primary (a real query on its PostgreSQL, and Patroni's REST API) and keeps what it sees in
// the region's etcd, beside Patroni's keys, under a key that lapses within 2 s. When a majority of
// the region's zones have seen the primary fail without a break for `suspect_after`, and the
// synchronous standby is up, one of them removes the dead leader's key with a compare-and-delete on
// its exact value and index. The synchronous standby's Patroni, which watches that key, takes the
// lock at once instead of waiting for it to expire. Patroni, etcd and PostgreSQL stay the engines:
// the detector only ends the wait.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "techmoda/status.h"

namespace techmoda::ctl::detector {

// One member of the region: a zone's Patroni node.
struct Member {
  std::string name;      // the zone, as Patroni names the member
  std::string postgres;  // host:port
  std::string patroni;   // host:port of its REST API
};

// What `catalogctl detector --config` reads (rendered per zone: <zone dir>/detector.yaml, 0600).
struct Config {
  std::string zone;               // whose detector this is
  std::string cluster_path;       // Patroni's keys: <namespace><scope>, e.g. "/techmoda/local-a"
  std::vector<std::string> etcd;  // the region's members, host:port, this zone's first
  std::vector<Member> members;    // every zone of the region
  std::string probe_conninfo;     // libpq settings but host and port ("user=... password=... dbname=...")
  std::chrono::milliseconds probe_interval{250};
  std::chrono::milliseconds probe_timeout{500};
  std::chrono::milliseconds suspect_after{1500};
  int record_ttl_s = 2;               // a detector that stops writing is forgotten after this
  std::chrono::seconds cooldown{20};  // after removing a leader's key, not again for the same leader
  bool act = true;                    // false: watch and record, never remove the key
  // HAProxy's agent-check on the write port asks here (host:port; "" for none) whether this zone
  // may take writes: see AgentAnswer.
  std::string agent_listen;
  std::chrono::milliseconds agent_stale{3000};  // a quorum read of the leader key older than this is none
};

Result<Config> LoadConfig(const std::string& path);

// What one detector saw, as it keeps it in etcd (<cluster_path>/detector/<zone>).
struct Record {
  std::string zone;
  std::string leader;           // the leader key's value it probed ("" when there was none)
  long long leader_index = 0;   // the leader key's modifiedIndex then
  long long failing_ms = 0;     // how long its probes of the leader have failed without a break
  std::string failure;          // what failed last ("postgres: no answer in time"), "" when passing
  long long max_gap_ms = 0;     // the longest time between two passing probes it saw: its margin
  long long removed_at_ms = 0;  // unix ms when it last removed a leader's key, 0 if never
};

std::string RecordJson(const Record& r);
Result<Record> ParseRecord(std::string_view json);

// What a detector decides each round, from what every detector of the region says.
enum class Verdict {
  kNoLeader,         // no leader key: Patroni is electing one
  kHealthy,          // its own probes pass
  kSuspect,          // its own probes fail, not yet for suspect_after
  kNoMajority,       // it suspects the leader, but fewer than a majority of zones agree
  kStandbyNotReady,  // a majority agree, but no synchronous standby could take over
  kCoolingDown,      // it removed this leader's key a moment ago
  kRemove,           // remove the leader's key
};
std::string_view VerdictName(Verdict v);

struct View {
  std::string leader;  // the leader key's value now
  long long leader_index = 0;
  std::string sync_standby;     // Patroni's /sync key: who may take over
  bool standby_ready = false;   // its Patroni answers and runs PostgreSQL as a replica
  std::string standby_detail;   // why not, when not
  std::vector<Record> records;  // the region's fresh records, this detector's own included
  int zones = 0;                // the region's zones (a majority is zones / 2 + 1)
  bool cooling_down = false;
};

struct Decision {
  Verdict verdict = Verdict::kHealthy;
  int agreeing = 0;  // zones whose probes failed for suspect_after, on this leader and index
  int needed = 0;
  std::string reason;
};

// Pure: the rule, case by case in docs/failure-detector.md.
Decision Decide(const View& v, const std::string& self, std::chrono::milliseconds suspect_after);

// What the zone's detector tells HAProxy's agent-check on the region's write port about its own
// zone: "up", or "down", which takes the zone off the write port (and cuts its sessions) until it
// says "up" again (`why` says why, for the log). Patroni's GET /primary answers 200 until the lock it last renewed
// would expire, so a primary cut off from etcd, or whose lock was taken away, keeps getting writes for up to ttl
// without this. Pure: `fresh_leader` is the leader key's value from a quorum read younger than
// agent_stale (nullopt: no such read), `in_recovery` what the zone's own PostgreSQL says
// (nullopt: it did not answer; asked only when the key does not settle it).
// - the key names this zone, or no one (Patroni is electing; its own check decides): up;
// - the zone's PostgreSQL is a replica: up (Patroni's check keeps a replica off the write port);
// - otherwise (another leader, or no quorum, and a primary or a silent PostgreSQL here): down.
std::string AgentAnswer(const std::string& self, const std::optional<std::string>& fresh_leader,
                        std::optional<bool> in_recovery, std::string* why = nullptr);

struct RunOptions {
  std::chrono::seconds duration{0};  // 0: until SIGTERM
};
// The detector's loop. Returns when stopped.
Status Run(const Config& c, const RunOptions& o);

// Every fresh record of a region, for `catalogctl status`.
Result<std::vector<Record>> ReadRecords(const std::vector<std::string>& etcd, const std::string& cluster_path);

}  // namespace techmoda::ctl::detector
