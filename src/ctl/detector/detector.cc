#include "ctl/detector/detector.h"

#include <sys/socket.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "common/etcd_v2.h"
#include "common/http_client.h"
#include "common/log.h"
#include "common/pg.h"
#include "ctl/base/loop.h"
#include "ctl/base/stop.h"
#include "techmoda/mutex.h"

namespace json = boost::json;

namespace techmoda::ctl::detector {

namespace {

using SteadyClock = std::chrono::steady_clock;

long long Ms(SteadyClock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

long long UnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<Config> LoadConfig(const std::string& path) {
  YAML::Node y;
  try {
    y = YAML::LoadFile(path);
  } catch (const std::exception& e) {
    return Status::Invalid("cannot read " + path + ": " + e.what());
  }
  Config c;
  try {
    c.zone = y["zone"].as<std::string>("");
    c.cluster_path = y["cluster_path"].as<std::string>("");
    for (const auto& e : y["etcd"]) c.etcd.push_back(e.as<std::string>());
    for (const auto& m : y["members"])
      c.members.push_back(
          {m["name"].as<std::string>(""), m["postgres"].as<std::string>(""), m["patroni"].as<std::string>("")});
    c.probe_conninfo = y["probe_conninfo"].as<std::string>("");
    c.probe_interval = std::chrono::milliseconds(y["probe_interval_ms"].as<int>(250));
    c.probe_timeout = std::chrono::milliseconds(y["probe_timeout_ms"].as<int>(500));
    c.suspect_after = std::chrono::milliseconds(y["suspect_after_ms"].as<int>(1500));
    c.record_ttl_s = y["record_ttl_s"].as<int>(2);
    c.cooldown = std::chrono::seconds(y["cooldown_s"].as<int>(20));
    c.act = y["act"].as<bool>(true);
    c.agent_listen = y["agent_listen"].as<std::string>("");
    c.agent_stale = std::chrono::milliseconds(y["agent_stale_ms"].as<int>(3000));
  } catch (const std::exception& e) {
    return Status::Invalid(path + ": " + e.what());
  }
  std::string missing;
  if (c.zone.empty()) missing += " zone";
  if (c.cluster_path.empty()) missing += " cluster_path";
  if (c.etcd.empty()) missing += " etcd";
  if (c.members.empty()) missing += " members";
  if (!missing.empty()) return Status::Invalid(path + ": missing" + missing);
  if (c.probe_timeout >= c.suspect_after)
    return Status::Invalid(path + ": probe_timeout_ms must be shorter than suspect_after_ms");
  return c;
}

std::string RecordJson(const Record& r) {
  return json::serialize(json::object{{"zone", r.zone},
                                      {"leader", r.leader},
                                      {"leader_index", r.leader_index},
                                      {"failing_ms", r.failing_ms},
                                      {"failure", r.failure},
                                      {"max_gap_ms", r.max_gap_ms},
                                      {"removed_at_ms", r.removed_at_ms}});
}

Result<Record> ParseRecord(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return Status::Invalid("a detector record is not a JSON object");
  const auto& o = v.as_object();
  auto str = [&](const char* k) {
    const auto* f = o.if_contains(k);
    return f && f->is_string() ? std::string(f->as_string()) : std::string();
  };
  auto num = [&](const char* k) {
    const auto* f = o.if_contains(k);
    return f && f->is_number() ? f->to_number<long long>() : 0LL;
  };
  Record r{str("zone"),    str("leader"),     num("leader_index"), num("failing_ms"),
           str("failure"), num("max_gap_ms"), num("removed_at_ms")};
  if (r.zone.empty()) return Status::Invalid("a detector record names no zone");
  return r;
}

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kNoLeader:
      return "no-leader";
    case Verdict::kHealthy:
      return "healthy";
    case Verdict::kSuspect:
      return "suspect";
    case Verdict::kNoMajority:
      return "no-majority";
    case Verdict::kStandbyNotReady:
      return "standby-not-ready";
    case Verdict::kCoolingDown:
      return "cooling-down";
    case Verdict::kRemove:
      return "remove";
  }
  return "?";
}

Decision Decide(const View& v, const std::string& self, std::chrono::milliseconds suspect_after) {
  Decision d;
  d.needed = v.zones / 2 + 1;
  if (v.leader.empty()) {
    d.verdict = Verdict::kNoLeader;
    d.reason = "no leader key: Patroni is electing one";
    return d;
  }
  const Record* own = nullptr;
  for (const auto& r : v.records) {
    if (r.zone == self) own = &r;
    // Only what was seen of this leader counts: a record about the one before says nothing.
    if (r.leader == v.leader && r.failing_ms >= suspect_after.count()) ++d.agreeing;
  }
  if (!own || own->leader != v.leader || own->failing_ms == 0) {
    d.verdict = Verdict::kHealthy;
    d.reason = "the leader " + v.leader + " answers";
    return d;
  }
  if (own->failing_ms < suspect_after.count()) {
    d.verdict = Verdict::kSuspect;
    d.reason =
        "the leader " + v.leader + " has failed for " + std::to_string(own->failing_ms) + " ms (" + own->failure + ")";
    return d;
  }
  if (d.agreeing < d.needed) {
    d.verdict = Verdict::kNoMajority;
    d.reason = std::to_string(d.agreeing) + " of " + std::to_string(v.zones) + " zones see the leader " + v.leader +
               " fail; " + std::to_string(d.needed) + " are needed";
    return d;
  }
  if (v.sync_standby.empty() || v.sync_standby == v.leader || !v.standby_ready) {
    d.verdict = Verdict::kStandbyNotReady;
    d.reason = v.sync_standby.empty() || v.sync_standby == v.leader
                   ? "no synchronous standby is named: nobody could take over"
                   : "the synchronous standby " + v.sync_standby + " is not ready: " + v.standby_detail;
    return d;
  }
  if (v.cooling_down) {
    d.verdict = Verdict::kCoolingDown;
    d.reason = "the key of leader " + v.leader + " was removed a moment ago";
    return d;
  }
  d.verdict = Verdict::kRemove;
  d.reason = std::to_string(d.agreeing) + " of " + std::to_string(v.zones) + " zones see the leader " + v.leader +
             " fail for " + std::to_string(suspect_after.count()) + " ms or more; the synchronous standby " +
             v.sync_standby + " is ready";
  return d;
}

std::string AgentAnswer(const std::string& self, const std::optional<std::string>& fresh_leader,
                        std::optional<bool> in_recovery, std::string* why) {
  if (fresh_leader && (*fresh_leader == self || fresh_leader->empty())) return "up";
  if (in_recovery.value_or(false)) return "up";
  if (why)
    *why = (fresh_leader ? "the leader key names " + *fresh_leader : std::string("no quorum read of the leader key")) +
           (in_recovery ? ", and a primary runs here" : ", and this zone's PostgreSQL does not answer");
  // The bare word: HAProxy 2.6 ignores a "down#why" reply ("agent reports an error"), seen here.
  return "down";
}

namespace {

// One detector's state between rounds.
class Detector {
 public:
  explicit Detector(const Config& c) : c_(c), etcd_(c.etcd, std::chrono::milliseconds(400)) {}

  // On the agent's thread: the answer for HAProxy, from the last quorum read and, when that does
  // not settle it, this zone's own PostgreSQL.
  std::string Agent() {
    std::optional<std::string> fresh;
    {
      MutexLock l(read_mu_);
      if (read_at_ && SteadyClock::now() - *read_at_ <= c_.agent_stale) fresh = read_leader_;
    }
    std::optional<bool> in_recovery;
    if (!fresh || (*fresh != c_.zone && !fresh->empty())) in_recovery = OwnPostgresInRecovery();
    std::string why;
    std::string answer = AgentAnswer(c_.zone, fresh, in_recovery, &why);
    if (answer != last_agent_answer_)
      log::Info("detector.agent", {{"zone", c_.zone}, {"answer", answer}, {"why", why}});
    last_agent_answer_ = answer;
    return answer;
  }

  void Round() {
    auto leader = etcd_.Get(c_.cluster_path + "/leader");
    if (!leader.ok()) return EtcdUnreachable(leader.status());
    {
      MutexLock l(read_mu_);
      read_at_ = SteadyClock::now();
      read_leader_ = *leader ? (*leader)->value : "";
    }
    if (etcd_down_) log::Info("detector.etcd_reachable", {{"zone", c_.zone}});
    etcd_down_ = false;
    View v;
    if (*leader) {
      v.leader = (*leader)->value;
      v.leader_index = (*leader)->modified_index;
    }
    if (v.leader != own_.leader) NewLeader(v.leader);
    own_.leader_index = v.leader_index;
    if (!v.leader.empty()) Probe(v.leader);
    own_.max_gap_ms = max_gap_ms_;
    if (auto st = etcd_.Set(RecordKey(c_.zone), RecordJson(own_), c_.record_ttl_s); !st.ok())
      return EtcdUnreachable(st);
    auto nodes = etcd_.List(c_.cluster_path + "/detector");
    if (!nodes.ok()) return EtcdUnreachable(nodes.status());
    for (const auto& n : *nodes)
      if (auto r = ParseRecord(n.value); r.ok()) v.records.push_back(*r);
    v.zones = static_cast<int>(c_.members.size());
    auto until = cooldown_.find(v.leader);
    v.cooling_down = until != cooldown_.end() && SteadyClock::now() < until->second;
    // The standby is asked only when the rest would remove the key.
    if (own_.failing_ms >= c_.suspect_after.count()) ReadStandby(&v);
    Decision d = Decide(v, c_.zone, c_.suspect_after);
    if (d.verdict != last_verdict_ && d.verdict != Verdict::kHealthy && d.verdict != Verdict::kSuspect)
      log::Info("detector.verdict", {{"zone", c_.zone},
                                     {"leader", v.leader},
                                     {"verdict", VerdictName(d.verdict)},
                                     {"agreeing", d.agreeing},
                                     {"needed", d.needed},
                                     {"reason", d.reason}});
    last_verdict_ = d.verdict;
    if (d.verdict == Verdict::kRemove) RemoveLeaderKey(v);
  }

  void Stopped() { log::Info("detector.stopped", {{"zone", c_.zone}, {"max_gap_ms", max_gap_ms_}}); }

 private:
  std::string RecordKey(const std::string& zone) const { return c_.cluster_path + "/detector/" + zone; }

  const Member* MemberNamed(const std::string& name) const {
    for (const auto& m : c_.members)
      if (m.name == name) return &m;
    return nullptr;
  }

  void EtcdUnreachable(const Status& st) {
    // Cut off from the majority: it cannot read who leads, nor count, nor act. Its record lapses.
    if (!etcd_down_) log::Warn("detector.etcd_unreachable", {{"zone", c_.zone}, {"reason", st.detail()}});
    etcd_down_ = true;
  }

  void NewLeader(const std::string& leader) {
    if (!own_.leader.empty() || !leader.empty())
      log::Info("detector.leader", {{"zone", c_.zone}, {"leader", leader}, {"was", own_.leader}});
    own_.leader = leader;
    own_.failing_ms = 0;
    own_.failure.clear();
    failing_since_.reset();
    last_pass_.reset();
    conn_.reset();
  }

  // A real query on the leader's PostgreSQL, and Patroni's REST API, at once; each within the
  // probe timeout. Either failing fails the probe: a Patroni that cannot answer cannot keep its lock.
  void Probe(const std::string& leader) {
    const Member* m = MemberNamed(leader);
    auto start = SteadyClock::now();
    std::string failure;
    if (!m) {
      failure = "the leader " + leader + " is not a member this detector knows";
    } else {
      auto deadline = start + c_.probe_timeout;
      auto patroni = std::async(std::launch::async, [&] {
        auto [host, port] = HostPort(m->patroni);
        return HttpCall(host, port, "GET", "/liveness", "", {}, c_.probe_timeout);
      });
      failure = ProbePostgres(*m, deadline);
      auto p = patroni.get();
      if (p.status == 0 && failure.empty()) failure = "patroni: " + (p.error.empty() ? "no answer" : p.error);
    }
    auto now = SteadyClock::now();
    if (failure.empty()) {
      if (last_pass_) max_gap_ms_ = std::max(max_gap_ms_, Ms(now - *last_pass_));
      if (failing_since_)
        log::Info("detector.recovered",
                  {{"zone", c_.zone}, {"leader", leader}, {"failed_for_ms", Ms(now - *failing_since_)}});
      last_pass_ = now;
      failing_since_.reset();
      own_.failing_ms = 0;
      own_.failure.clear();
      return;
    }
    if (!failing_since_) {
      failing_since_ = start;
      log::Info("detector.suspect", {{"zone", c_.zone}, {"leader", leader}, {"failure", failure}});
    }
    own_.failing_ms = std::max<long long>(1, Ms(now - *failing_since_));
    own_.failure = failure;
  }

  // "" when it answered the query in time.
  std::string ProbePostgres(const Member& m, SteadyClock::time_point deadline) {
    if (!conn_ || conn_->IsBroken()) {
      auto [host, port] = HostPort(m.postgres);
      auto c = pg::ConnectUntil("host=" + host + " port=" + std::to_string(port) + " " + c_.probe_conninfo +
                                    " application_name=techmoda-detector-" + c_.zone,
                                deadline);
      if (!c.ok()) return "postgres: " + c.status().detail();
      conn_ = std::move(*c);
    }
    // A query, not just a connection: a hung disk or a frozen backend accepts connections. Whether
    // it is in recovery is not asked: a standby region's leader is (Patroni's standby leader).
    auto r = conn_->ExecScriptUntil("SELECT 1", deadline, std::chrono::milliseconds(0));
    if (auto* e = std::get_if<pg::Error>(&r)) {
      conn_.reset();
      return "postgres: " + e->message;
    }
    return "";
  }

  // pg_is_in_recovery() of this zone's PostgreSQL within 300 ms (nullopt: no answer). Agent thread.
  std::optional<bool> OwnPostgresInRecovery() {
    const Member* self = MemberNamed(c_.zone);
    if (!self) return std::nullopt;
    auto deadline = SteadyClock::now() + std::chrono::milliseconds(300);
    if (!agent_conn_ || agent_conn_->IsBroken()) {
      auto [host, port] = HostPort(self->postgres);
      auto c = pg::ConnectUntil("host=" + host + " port=" + std::to_string(port) + " " + c_.probe_conninfo +
                                    " application_name=techmoda-agent-" + c_.zone,
                                deadline);
      if (!c.ok()) return std::nullopt;
      agent_conn_ = std::move(*c);
    }
    auto r = agent_conn_->ExecScriptUntil("SELECT pg_is_in_recovery()", deadline, std::chrono::milliseconds(0));
    auto* rows = std::get_if<pg::Rows>(&r);
    if (!rows || rows->size() != 1) {
      agent_conn_.reset();
      return std::nullopt;
    }
    return rows->Get(0, 0) == "t";
  }

  void ReadStandby(View* v) {
    auto sync = etcd_.Get(c_.cluster_path + "/sync");
    if (!sync.ok() || !*sync) {
      v->standby_detail = sync.ok() ? "no /sync key" : sync.status().detail();
      return;
    }
    boost::system::error_code ec;
    auto s = json::parse((*sync)->value, ec);
    if (ec || !s.is_object()) {
      v->standby_detail = "the /sync key is not JSON";
      return;
    }
    const auto* standby = s.as_object().if_contains("sync_standby");
    if (!standby || !standby->is_string()) {
      v->standby_detail = "the /sync key names no synchronous standby";
      return;
    }
    v->sync_standby = std::string(standby->as_string());
    const Member* m = MemberNamed(v->sync_standby);
    if (!m) {
      v->standby_detail = "the synchronous standby is not a known member";
      return;
    }
    auto [host, port] = HostPort(m->patroni);
    auto r = HttpCall(host, port, "GET", "/patroni", "", {}, c_.probe_timeout);
    auto doc = r.Json();
    if (r.status != 200 || !doc.is_object()) {
      v->standby_detail = "its Patroni: " + (r.status ? std::to_string(r.status) : r.error);
      return;
    }
    const auto& o = doc.as_object();
    std::string state = o.contains("state") ? std::string(o.at("state").as_string()) : "";
    std::string role = o.contains("role") ? std::string(o.at("role").as_string()) : "";
    v->standby_ready = state == "running" && role == "replica";
    if (!v->standby_ready) v->standby_detail = "its PostgreSQL is " + state + " as " + role;
  }

  void RemoveLeaderKey(const View& v) {
    cooldown_[v.leader] = SteadyClock::now() + c_.cooldown;
    // First the leader's member key, exactly as read: the standby's Patroni asks every member it
    // knows for its state before it takes the lock, and a frozen or cut-off one costs it 2 s. A
    // Patroni that still runs rewrites that key every loop: then the delete fails and nothing more
    // is done (docs/failure-detector.md, "a slow primary").
    const std::string member_key = c_.cluster_path + "/members/" + v.leader;
    if (auto member = etcd_.Get(member_key); member.ok() && *member) {
      auto gone = etcd_.CompareAndDelete(member_key, (*member)->value, (*member)->modified_index);
      if (gone.ok() && !*gone) {
        log::Info("detector.remove_skipped",
                  {{"zone", c_.zone}, {"leader", v.leader}, {"reason", "its Patroni rewrote its member key"}});
        return;
      }
    }
    auto removed = etcd_.CompareAndDelete(c_.cluster_path + "/leader", v.leader, v.leader_index);
    if (!removed.ok()) {
      log::Warn("detector.remove_failed",
                {{"zone", c_.zone}, {"leader", v.leader}, {"reason", removed.status().detail()}});
      cooldown_.erase(v.leader);
      return;
    }
    if (!*removed) {
      // Another detector came first, or the leader renewed its key meanwhile: nothing to do.
      log::Info("detector.remove_skipped", {{"zone", c_.zone}, {"leader", v.leader}, {"reason", "the key changed"}});
      return;
    }
    own_.removed_at_ms = UnixMs();
    log::Warn("detector.removed_leader_key", {{"zone", c_.zone},
                                              {"leader", v.leader},
                                              {"leader_index", v.leader_index},
                                              {"sync_standby", v.sync_standby},
                                              {"failing_ms", own_.failing_ms},
                                              {"failure", own_.failure}});
    // Said at once, so that `catalogctl status` shows who removed it.
    etcd_.Set(RecordKey(c_.zone), RecordJson(own_), c_.record_ttl_s);
  }

  const Config& c_;
  etcd::V2Client etcd_;
  Record own_{c_.zone, "", 0, 0, "", 0, 0};
  std::optional<SteadyClock::time_point> failing_since_, last_pass_;
  long long max_gap_ms_ = 0;
  std::unique_ptr<pg::Connection> conn_;
  std::map<std::string, SteadyClock::time_point> cooldown_;  // leader -> not before
  Verdict last_verdict_ = Verdict::kHealthy;
  bool etcd_down_ = false;
  // The last quorum read of the leader key, for the agent's thread.
  Mutex read_mu_;
  std::optional<SteadyClock::time_point> read_at_ GUARDED_BY(read_mu_);
  std::string read_leader_ GUARDED_BY(read_mu_);
  // The agent's thread's own.
  std::unique_ptr<pg::Connection> agent_conn_;
  std::string last_agent_answer_;
};

// HAProxy's agent-check: a connection, one line back, closed. Serves on its own thread until
// destroyed.
class AgentServer {
 public:
  explicit AgentServer(Detector& d) : d_(d) {}
  ~AgentServer() {
    stopping_ = true;
    // shutdown() wakes an accept() blocked on another thread (close() alone does not, on Linux).
    if (acceptor_.is_open()) ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    boost::system::error_code ec;
    acceptor_.close(ec);
    if (thread_.joinable()) thread_.join();
  }
  Status Start(const std::string& listen) {
    auto [host, port] = HostPort(listen);
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(host, ec);
    if (ec) return Status::Invalid("agent_listen: " + listen + ": " + ec.message());
    boost::asio::ip::tcp::endpoint at(address, port);
    acceptor_.open(at.protocol(), ec);
    if (!ec) acceptor_.set_option(boost::asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(at, ec);
    if (!ec) acceptor_.listen(16, ec);
    if (ec) return Status::Unavailable("agent: cannot listen on " + listen + ": " + ec.message());
    thread_ = std::thread([this] {
      while (!stopping_) {
        boost::system::error_code aec;
        boost::asio::ip::tcp::socket sock(ioc_);
        acceptor_.accept(sock, aec);
        if (aec) {
          if (stopping_) return;
          std::this_thread::sleep_for(std::chrono::milliseconds(50));  // out of descriptors: no spin
          continue;
        }
        std::string line = d_.Agent() + "\n";
        boost::asio::write(sock, boost::asio::buffer(line), aec);
        sock.close(aec);
      }
    });
    return Status::Ok();
  }

 private:
  Detector& d_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_{ioc_};
  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

}  // namespace

Status Run(const Config& c, const RunOptions& o) {
  InstallStopHandlers();
  log::Info("detector.started", {{"zone", c.zone},
                                 {"cluster", c.cluster_path},
                                 {"members", static_cast<int>(c.members.size())},
                                 {"probe_interval_ms", c.probe_interval.count()},
                                 {"probe_timeout_ms", c.probe_timeout.count()},
                                 {"suspect_after_ms", c.suspect_after.count()},
                                 {"act", c.act}});
  Detector d(c);
  std::optional<AgentServer> agent;
  if (!c.agent_listen.empty()) {
    agent.emplace(d);
    if (auto st = agent->Start(c.agent_listen); !st.ok()) return st;
  }
  ControlLoop loop({"detector", c.probe_interval, o.duration});
  loop.Run([&] { d.Round(); });
  d.Stopped();
  return Status::Ok();
}

Result<std::vector<Record>> ReadRecords(const std::vector<std::string>& etcd, const std::string& cluster_path) {
  etcd::V2Client client(etcd, std::chrono::milliseconds(500));
  auto nodes = client.List(cluster_path + "/detector");
  if (!nodes.ok()) return nodes.status();
  std::vector<Record> out;
  for (const auto& n : *nodes)
    if (auto r = ParseRecord(n.value); r.ok()) out.push_back(*r);
  return out;
}

}  // namespace techmoda::ctl::detector
