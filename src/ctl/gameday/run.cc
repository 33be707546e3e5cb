#include "ctl/gameday/run.h"

#include "ctl/faults/drills.h"
#include "ctl/faults/faults.h"
#include "ctl/intents/intents.h"
#include "ctl/region/region.h"

#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "common/http_client.h"
#include "common/log.h"
#include "common/pg.h"
#include "common/process.h"
#include "ctl/backup/backup.h"
#include "ctl/commands/seed.h"
#include "ctl/dr/dr.h"
#include "ctl/dr/recover.h"
#include "ctl/gameday/load.h"
#include "ctl/gameday/state.h"
#include "ctl/topology/render.h"

namespace json = boost::json;
namespace fs = std::filesystem;

namespace techmoda::ctl::gameday {

namespace {

using Clock = std::chrono::steady_clock;

const Region& ActiveRegion(const Topology& t) {
  if (t.MultiRegion())
    if (const Region* r = t.FindRegion(dr::ReadDrStatus(t).active_region)) return *r;
  return t.regions.front();
}

Result<std::unique_ptr<pg::Connection>> ActiveDatabase(const Topology& t) {
  auto secrets = LoadOrCreateSecrets(t);
  if (!secrets.ok()) return secrets.status();
  return pg::Connect(SuperuserConninfo(t, ActiveRegion(t), *secrets, "techmoda"), std::chrono::seconds(10));
}

std::vector<std::string> Column(pg::Connection& c, const std::string& sql) {
  std::vector<std::string> out;
  auto r = c.Exec(sql);
  if (auto* rows = std::get_if<pg::Rows>(&r))
    for (int i = 0; i < rows->size(); ++i) out.emplace_back(rows->Get(i, 0));
  return out;
}

std::string UtcNow() {
  char buf[32];
  std::time_t now = std::time(nullptr);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}

// The bad deployment: a catalogd of its own (deploy id gameday-bad) on the active region's database
// sets the price of `products` to one cent through its API. Returns how many it rewrote.
Result<int> BadDeployment(const Topology& t, const std::vector<std::string>& products, const std::string& dir) {
  auto secrets = LoadOrCreateSecrets(t);
  if (!secrets.ok()) return secrets.status();
  fs::create_directories(dir);
  const std::string token = "gameday-bad-admin-" + std::to_string(getpid()) + "-0123456789";
  SpawnOptions o;
  o.argv = {OwnBinDir() + "/catalogd",
            "--listen",
            "127.0.0.1:0",  // the kernel picks a free port; catalogd logs it
            "--data-dir",
            dir,
            "--database-url",
            CatalogConninfo(t, ActiveRegion(t), *secrets),
            "--deploy-id",
            "gameday-bad",
            "--read-copy",
            "false",
            "--access-log",
            "false"};
  o.log_path = dir + "/catalogd.log";
  o.extra_env = {"CATALOGD_ADMIN_TOKEN=" + token};
  auto pid = Spawn(o);
  if (!pid.ok()) return pid.status();
  bool up = false;
  unsigned short port = 0;
  for (int i = 0; i < 300 && !up; ++i) {
    if (port == 0) port = log::ListeningPort(ReadFile(o.log_path).value_or("")).value_or(0);
    up = port != 0 && HttpCall("127.0.0.1", port, "GET", "/healthz", "", {}, std::chrono::seconds(1)).status == 200;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  int rewritten = 0;
  for (const auto& id : products) {
    if (!up) break;
    auto got = HttpCall("127.0.0.1", port, "GET", "/v1/products/" + id, "", {}, std::chrono::seconds(10));
    if (got.status != 200) continue;
    auto doc = got.Json();
    doc.as_object()["price"].as_object()["amount"] = 1;
    auto put = HttpCall("127.0.0.1", port, "PUT", "/v1/products/" + id, json::serialize(doc),
                        {{"Authorization", "Bearer " + token}}, std::chrono::seconds(30));
    rewritten += put.status == 200;
  }
  StopChild(*pid, SIGTERM, std::chrono::seconds(10));
  if (!up) return Status::Unavailable("the bad deployment's catalogd did not start (see " + dir + "/catalogd.log)");
  return rewritten;
}

// One game day, in the order it happens: Prepare (a fresh topology, a catalog, stock, a backup),
// the load, the timeline's steps, the verdicts, the report.
class GameDay {
 public:
  GameDay(const Scenario& s, const Topology& t, std::string out_dir, const Progress& progress)
      : s_(s), t_(t), out_dir_(std::move(out_dir)), progress_(progress) {
    // The zones are made ready for the timeline's faults that need it before they start.
    for (const auto& step : s_.timeline) {
      if (step.action == "skew-clock") t_.drills.clock_skew = true;
      if (step.action == "fill-wal-disk" && t_.drills.wal_disk_mb == 0) t_.drills.wal_disk_mb = 1024;
    }
  }

  Result<GamedayReport> Run(bool keep_up) {
    fs::create_directories(out_dir_);
    report_.scenario = s_;
    report_.started_utc = UtcNow();
    progress_("game day '" + s_.name + "': " + std::to_string(s_.timeline.size()) + " steps over " +
              std::to_string(static_cast<int>(s_.duration_s)) + " s; report in " + out_dir_);
    if (auto st = Prepare(); !st.ok()) return st;
    StartLoad();
    check_.rpo_s = s_.objectives.rpo_s;
    for (const auto& step : s_.timeline) {
      WaitUntil(step.at_s);
      RunStep(step);
    }
    WaitUntil(s_.duration_s);
    load_->Stop();
    report_.seconds = load_->Now();
    auto history = load_->History();
    progress_("load stopped: " + std::to_string(history.size()) + " operations recorded");
    if (auto st = Verdicts(history); !st.ok()) return st;
    WriteReport(history);
    if (!keep_up) {
      if (auto st = Down(t_, false, progress_); !st.ok())
        progress_("warning: taking the topology down: " + st.detail());
    }
    return report_;
  }

 private:
  // 1. A fresh topology, a catalog, stock to order, a backup to recover from.
  Status Prepare() {
    if (auto st = Down(t_, true, progress_); !st.ok()) return st;
    if (auto st = Up(t_, std::chrono::seconds(600), progress_); !st.ok()) return st;
    auto secrets = LoadOrCreateSecrets(t_);
    if (!secrets.ok()) return secrets.status();
    client_token_ = secrets->client_token;
    SeedOptions seed;
    seed.products = s_.load.products;
    seed.replace = true;
    if (auto st = RunSeed(CatalogConninfo(t_, ActiveRegion(t_), *secrets), seed, {}); !st.ok()) return st;
    auto db = ActiveDatabase(t_);
    if (!db.ok()) return db.status();
    product_ids_ = Column(**db,
                          "SELECT id FROM products WHERE status = 'active' AND category NOT LIKE 'synthetic/%' "
                          "ORDER BY id LIMIT 1000");
    skus_ = Column(**db,
                   "SELECT i.sku FROM inventory i JOIN products p ON p.id = i.product_id WHERE p.status = "
                   "'active' AND p.category NOT LIKE 'synthetic/%' ORDER BY i.sku LIMIT 50");
    if (product_ids_.empty() || skus_.empty()) return Status::Internal("the seeded catalog has no active products");
    for (const auto& sku : skus_)
      (*db)->Exec("UPDATE inventory SET on_hand = 1000000, version = version + 1 WHERE sku = $1", {sku});
    progress_("catalog: " + std::to_string(s_.load.products) + " products; " + std::to_string(skus_.size()) +
              " skus stocked for the orders");
    if (auto st = FullBackup(); !st.ok()) return st;
    auto before = ReadDatabaseState(**db, skus_, client_token_);
    if (!before.ok()) return before.status();
    before_ = *before;
    return Status::Ok();
  }

  // A full backup of the seeded catalog (the recovery restores it). The scheduler may be taking one
  // already (a fresh repository has none): then that one, once it ends, serves.
  Status FullBackup() {
    long long seeded_at = static_cast<long long>(std::time(nullptr));
    for (auto deadline = Clock::now() + std::chrono::minutes(10);;) {
      auto info = backup::List(t_);
      bool have = false;
      if (info.ok())
        for (const auto& b : info->sets) have |= b.type == "full" && b.start >= seeded_at - 1;
      if (have) return Status::Ok();
      auto st = backup::Run(t_, "full", progress_);
      if (st.ok()) return st;
      if (st.detail().find("unable to acquire lock") == std::string::npos || Clock::now() > deadline) return st;
      progress_("backup: the scheduler is taking one; waiting for it");
      std::this_thread::sleep_for(std::chrono::seconds(3));
    }
  }

  // 2. The load, through the front door.
  void StartLoad() {
    LoadTarget target{t_.dr.witness_address,
                      static_cast<unsigned short>(t_.ports.haproxy_api),
                      client_token_,
                      product_ids_,
                      skus_,
                      {"linen", "wool", "cotton", "silk", "denim"}};
    load_ = std::make_unique<OpenLoopLoad>(target, s_.load);
    load_->Start();
    progress_("load: " + std::to_string(static_cast<int>(s_.load.rate)) +
              " operations/s (open loop) through the front door " + t_.dr.witness_address + ":" +
              std::to_string(t_.ports.haproxy_api));
  }

  // Waits for the load's clock to reach `at`, ending a surge on time and printing progress.
  void WaitUntil(double at) {
    while (load_->Now() < at) {
      if (surge_end_ > 0 && load_->Now() >= surge_end_) {
        load_->SetFactor(1);
        surge_end_ = -1;
        progress_("  surge over");
      }
      if (load_->Now() >= next_print_) {
        auto c = load_->Count();
        char line[160];
        std::snprintf(line, sizeof line, "t=%4.0f s  operations %ld started, %ld answered, %.2f %% ok", load_->Now(),
                      c.started, c.answered, c.answered ? 100.0 * c.succeeded / c.answered : 100.0);
        progress_(line);
        next_print_ = load_->Now() + 15;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // 3. One step of the timeline, recorded as a fault of the report (and of the check when it is one).
  void RunStep(const Step& step) {
    double at = load_->Now();
    std::string detail;
    auto t0 = Clock::now();
    progress_("t=" + std::to_string(static_cast<int>(at)) + " s  " + step.Describe());
    Status st = Carry(step, at, &detail);
    // A drill's report opens with what it hit ("zone a1 (leader): SIGKILL ..."): the fault's name says it.
    std::string hit = FindDrill(step.action) && st.ok() ? detail.substr(0, detail.find(':')) : "";
    std::string name =
        step.Describe() + (hit.empty() ? "" : " → " + hit) + (st.ok() ? "" : " (FAILED: " + st.detail() + ")");
    progress_("t=" + std::to_string(static_cast<int>(load_->Now())) + " s  " + (st.ok() ? "done: " : "FAILED: ") +
              step.Describe() + "  " + FormatSeconds(SecondsSince(t0)) + (detail.empty() ? "" : "  (" + detail + ")") +
              (st.ok() ? "" : ": " + st.detail()));
    if (!st.ok()) report_.failed_steps.push_back(name);
    Fault f{name, at, step.FaultClass()};
    report_.faults.push_back(f);
    if (!f.kind.empty()) check_.faults.push_back(f);
  }

  Status Carry(const Step& step, double at, std::string* detail) {
    if (step.action == "surge") {
      load_->SetFactor(step.factor);
      surge_end_ = step.at_s + step.for_s;
      return Status::Ok();
    }
    if (const Drill* drill = FindDrill(step.action)) {
      // Aimed at a role ("primary") resolved now; the detail names the zone and role it hit.
      if (drill->recovery == RecoveryClass::kRegion) check_.region_lost_at_s = at;
      return drill->inject(t_, {drill->target == DrillTarget::kZone ? step.zone : step.region, step.for_s, step.by_s},
                           detail);
    }
    if (step.action == "heal") return FaultHeal(t_, detail);
    // Failover, failback and recovery take the same path as an operator's command: an intent of the
    // journal, carried out.
    if (step.action == "failover") return CarryIntent("failover", {{"to", step.to}, {"force", step.force}});
    if (step.action == "failback") return CarryIntent("failback", {{"to", step.to}});
    if (step.action == "bad-deploy") return BadDeploy(step, detail);
    if (step.action == "recover") return Recover(detail);
    return Status::Invalid("unknown step '" + step.action + "'");
  }

  Status CarryIntent(const std::string& kind, json::object args, std::string* output = nullptr) {
    auto r = RecordAndCarryOut(t_, kind, std::move(args), "gameday", progress_);
    if (!r.ok()) return r.status();
    if (output) *output = r->output;
    return Status::Ok();
  }

  Status BadDeploy(const Step& step, std::string* detail) {
    auto c = ActiveDatabase(t_);
    if (!c.ok()) return c.status();
    auto now = Column(**c, "SELECT now()::text");
    bad_time_ = now.empty() ? "" : now[0];
    std::vector<std::string> victims(product_ids_.begin(),
                                     product_ids_.begin() + std::min<std::size_t>(product_ids_.size(), step.products));
    for (const auto& id : victims) {
      auto p = (*c)->Exec("SELECT price_amount::text FROM products WHERE id = $1", {id});
      if (auto* rows = std::get_if<pg::Rows>(&p); rows && rows->size())
        prices_before_[id] = std::string(rows->Get(0, 0));
    }
    auto n = BadDeployment(t_, victims, out_dir_ + "/bad-deployment");
    if (!n.ok()) return n.status();
    *detail = std::to_string(*n) + " prices set to 1 cent";
    return Status::Ok();
  }

  Status Recover(std::string* detail) {
    std::string output;
    if (auto st = CarryIntent("recover", {{"to_time", bad_time_}, {"exclude_deploy", "gameday-bad"}, {"json", true}},
                              &output);
        !st.ok())
      return st;
    boost::system::error_code ec;
    auto out = json::parse(output, ec);
    if (!ec && out.is_object() && out.as_object().contains("replayed"))
      *detail = json::serialize(out.at("replayed")) + " replayed, " + json::serialize(out.at("skipped")) +
                " skipped, " + std::to_string(out.at("conflicts").as_array().size()) + " conflicts";
    return Status::Ok();
  }

  // 4. The verdicts: the history against the database before and after, the objectives, and
  // whether the bad deployment's prices are back.
  Status Verdicts(const std::vector<Operation>& history) {
    auto db = ActiveDatabase(t_);
    if (!db.ok()) return db.status();
    auto after = ReadDatabaseState(**db, skus_, client_token_);
    if (!after.ok()) return after.status();
    report_.check = Check(history, before_, *after, check_);
    report_.objectives = MeasureObjectives(s_, report_.check, history);
    if (prices_before_.empty()) return Status::Ok();
    int restored = 0;
    for (const auto& [id, price] : prices_before_) {
      auto p = (*db)->Exec("SELECT price_amount::text FROM products WHERE id = $1", {id});
      if (auto* rows = std::get_if<pg::Rows>(&p); rows && rows->size() && rows->Get(0, 0) == price) ++restored;
    }
    std::string all = std::to_string(prices_before_.size());
    report_.objectives.push_back({"bad deployment undone (prices as before it)", "undone (< 5 min, see RTO deploy)",
                                  all + " of " + all, std::to_string(restored) + " of " + all,
                                  restored == static_cast<int>(prices_before_.size())});
    return Status::Ok();
  }

  void WriteReport(const std::vector<Operation>& history) {
    report_.series = Bucketize(history, 5);
    std::string svg_path = out_dir_ + "/plot.svg", svg;
    if (auto st = Plot(report_.series, report_.faults, out_dir_, svg_path); st.ok())
      svg = ReadFile(svg_path).value_or("");
    else
      svg = "<p>The plot could not be drawn: " + st.detail() + "</p>";
    std::ofstream(out_dir_ + "/report.html") << ReportHtml(report_, svg);
    std::ofstream(out_dir_ + "/report.json") << json::serialize(ReportJson(report_)) << "\n";
    std::ofstream(out_dir_ + "/history.jsonl") << HistoryJsonLines(history);
  }

  const Scenario& s_;
  Topology t_;  // the scenario's, with the drills its timeline needs
  const std::string out_dir_;
  const Progress& progress_;
  GamedayReport report_;
  CheckOptions check_;
  std::string client_token_;
  std::vector<std::string> product_ids_, skus_;
  DatabaseState before_;
  std::unique_ptr<OpenLoopLoad> load_;
  double surge_end_ = -1, next_print_ = 0;
  std::string bad_time_;
  std::map<std::string, std::string> prices_before_;
};

}  // namespace

Result<GamedayReport> RunGameday(const Scenario& s, const Topology& t, const std::string& out_dir, bool keep_up,
                                 const Progress& progress) {
  if (geteuid() != 0) return Status::Invalid("catalogctl gameday runs as root (it brings a topology up and breaks it)");
  if (!t.MultiRegion()) return Status::Invalid("the game day needs a topology of several regions");
  return GameDay(s, t, out_dir, progress).Run(keep_up);
}

}  // namespace techmoda::ctl::gameday
