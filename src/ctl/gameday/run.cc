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

}  // namespace

Result<GamedayReport> RunGameday(const Scenario& s, const Topology& t, const std::string& out_dir, bool keep_up,
                                 const Progress& progress) {
  if (geteuid() != 0) return Status::Invalid("catalogctl gameday runs as root (it brings a topology up and breaks it)");
  if (!t.MultiRegion()) return Status::Invalid("the game day needs a topology of several regions");
  fs::create_directories(out_dir);
  GamedayReport report;
  report.scenario = s;
  report.started_utc = UtcNow();
  progress("game day '" + s.name + "': " + std::to_string(s.timeline.size()) + " steps over " +
           std::to_string(static_cast<int>(s.duration_s)) + " s; report in " + out_dir);

  // 1. A fresh topology, a catalog, stock to order, a backup to recover from.
  if (auto st = Down(t, true, progress); !st.ok()) return st;
  if (auto st = Up(t, std::chrono::seconds(600), progress); !st.ok()) return st;
  auto secrets = LoadOrCreateSecrets(t);
  if (!secrets.ok()) return secrets.status();
  SeedOptions seed;
  seed.products = s.load.products;
  seed.replace = true;
  if (auto st = RunSeed(CatalogConninfo(t, ActiveRegion(t), *secrets), seed, {}); !st.ok()) return st;
  auto db = ActiveDatabase(t);
  if (!db.ok()) return db.status();
  auto product_ids = Column(**db,
                            "SELECT id FROM products WHERE status = 'active' AND category NOT LIKE 'synthetic/%' "
                            "ORDER BY id LIMIT 1000");
  auto skus = Column(**db,
                     "SELECT i.sku FROM inventory i JOIN products p ON p.id = i.product_id WHERE p.status = "
                     "'active' AND p.category NOT LIKE 'synthetic/%' ORDER BY i.sku LIMIT 50");
  if (product_ids.empty() || skus.empty()) return Status::Internal("the seeded catalog has no active products");
  for (const auto& sku : skus)
    (*db)->Exec("UPDATE inventory SET on_hand = 1000000, version = version + 1 WHERE sku = $1", {sku});
  progress("catalog: " + std::to_string(s.load.products) + " products; " + std::to_string(skus.size()) +
           " skus stocked for the orders");
  // A full backup of this catalog (the recovery restores it). The scheduler may be taking one already
  // (a fresh repository has none): then that one, once it ends, serves.
  long long seeded_at = static_cast<long long>(std::time(nullptr));
  for (auto deadline = Clock::now() + std::chrono::minutes(10);;) {
    auto info = backup::List(t);
    bool have = false;
    if (info.ok())
      for (const auto& b : info->sets) have |= b.type == "full" && b.start >= seeded_at - 1;
    if (have) break;
    auto st = backup::Run(t, "full", progress);
    if (st.ok()) break;
    if (st.detail().find("unable to acquire lock") == std::string::npos || Clock::now() > deadline) return st;
    progress("backup: the scheduler is taking one; waiting for it");
    std::this_thread::sleep_for(std::chrono::seconds(3));
  }
  auto before = ReadDatabaseState(**db, skus, secrets->client_token);
  if (!before.ok()) return before.status();
  db->reset();

  // 2. The load, through the front door.
  LoadTarget target{t.dr.witness_address,
                    static_cast<unsigned short>(t.ports.haproxy_api),
                    secrets->client_token,
                    product_ids,
                    skus,
                    {"linen", "wool", "cotton", "silk", "denim"}};
  OpenLoopLoad load(target, s.load);
  load.Start();
  progress("load: " + std::to_string(static_cast<int>(s.load.rate)) +
           " operations/s (open loop) through the front "
           "door " +
           t.dr.witness_address + ":" + std::to_string(t.ports.haproxy_api));

  // 3. The timeline.
  CheckOptions check;
  check.rpo_s = s.objectives.rpo_s;
  std::string bad_time;
  std::map<std::string, std::string> prices_before;
  double surge_end = -1;
  auto next_print = 0.0;
  auto wait_until = [&](double at) {
    while (load.Now() < at) {
      if (surge_end > 0 && load.Now() >= surge_end) {
        load.SetFactor(1);
        surge_end = -1;
        progress("  surge over");
      }
      if (load.Now() >= next_print) {
        auto c = load.Count();
        char line[160];
        std::snprintf(line, sizeof line, "t=%4.0f s  operations %ld started, %ld answered, %.2f %% ok", load.Now(),
                      c.started, c.answered, c.answered ? 100.0 * c.succeeded / c.answered : 100.0);
        progress(line);
        next_print = load.Now() + 15;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  };
  for (const auto& step : s.timeline) {
    wait_until(step.at_s);
    double at = load.Now();
    std::string detail;
    Status st = Status::Ok();
    auto t0 = Clock::now();
    progress("t=" + std::to_string(static_cast<int>(at)) + " s  " + step.Describe());
    if (step.action == "surge") {
      load.SetFactor(step.factor);
      surge_end = step.at_s + step.for_s;
    } else if (const Drill* drill = FindDrill(step.action)) {
      // Aimed at a role ("primary") resolved now; the detail names the zone and role it hit.
      st = drill->inject(t, drill->target == DrillTarget::kZone ? step.zone : step.region, &detail);
      if (drill->recovery == RecoveryClass::kRegion) check.region_lost_at_s = at;
    } else if (step.action == "heal") {
      st = FaultHeal(t, &detail);
    } else if (step.action == "failover") {
      // The same path as an operator's command: an intent of the journal, carried out.
      auto r = RecordAndCarryOut(t, "failover", {{"to", step.to}, {"force", step.force}}, "gameday", progress);
      st = r.ok() ? Status::Ok() : r.status();
    } else if (step.action == "failback") {
      auto r = RecordAndCarryOut(t, "failback", {{"to", step.to}}, "gameday", progress);
      st = r.ok() ? Status::Ok() : r.status();
    } else if (step.action == "bad-deploy") {
      auto c = ActiveDatabase(t);
      if (c.ok()) {
        auto now = Column(**c, "SELECT now()::text");
        bad_time = now.empty() ? "" : now[0];
        std::vector<std::string> victims(
            product_ids.begin(), product_ids.begin() + std::min<std::size_t>(product_ids.size(), step.products));
        for (const auto& id : victims) {
          auto p = (*c)->Exec("SELECT price_amount::text FROM products WHERE id = $1", {id});
          if (auto* rows = std::get_if<pg::Rows>(&p); rows && rows->size())
            prices_before[id] = std::string(rows->Get(0, 0));
        }
        auto n = BadDeployment(t, victims, out_dir + "/bad-deployment");
        st = n.ok() ? Status::Ok() : n.status();
        if (n.ok()) detail = std::to_string(*n) + " prices set to 1 cent";
      } else {
        st = c.status();
      }
    } else if (step.action == "recover") {
      auto r =
          RecordAndCarryOut(t, "recover", {{"to_time", bad_time}, {"exclude_deploy", "gameday-bad"}, {"json", true}},
                            "gameday", progress);
      st = r.ok() ? Status::Ok() : r.status();
      if (r.ok()) {
        boost::system::error_code ec;
        auto report = json::parse(r->output, ec);
        if (!ec && report.is_object() && report.as_object().contains("replayed"))
          detail = json::serialize(report.at("replayed")) + " replayed, " + json::serialize(report.at("skipped")) +
                   " skipped, " + std::to_string(report.at("conflicts").as_array().size()) + " conflicts";
      }
    }
    // A drill's report opens with what it hit ("zone a1 (leader): SIGKILL ..."): the fault's name says it.
    std::string hit = FindDrill(step.action) && st.ok() ? detail.substr(0, detail.find(':')) : "";
    std::string name =
        step.Describe() + (hit.empty() ? "" : " → " + hit) + (st.ok() ? "" : " (FAILED: " + st.detail() + ")");
    progress("t=" + std::to_string(static_cast<int>(load.Now())) + " s  " + (st.ok() ? "done: " : "FAILED: ") +
             step.Describe() + "  " + FormatSeconds(SecondsSince(t0)) + (detail.empty() ? "" : "  (" + detail + ")") +
             (st.ok() ? "" : ": " + st.detail()));
    if (!st.ok()) report.failed_steps.push_back(name);
    Fault f{name, at, step.FaultClass()};
    report.faults.push_back(f);
    if (!f.kind.empty()) check.faults.push_back(f);
  }
  wait_until(s.duration_s);
  load.Stop();
  report.seconds = load.Now();
  auto history = load.History();
  progress("load stopped: " + std::to_string(history.size()) + " operations recorded");

  // 4. The verdicts.
  auto after_db = ActiveDatabase(t);
  if (!after_db.ok()) return after_db.status();
  auto after = ReadDatabaseState(**after_db, skus, secrets->client_token);
  if (!after.ok()) return after.status();
  report.check = Check(history, *before, *after, check);
  report.objectives = MeasureObjectives(s, report.check, history);
  if (!prices_before.empty()) {
    int restored = 0;
    for (const auto& [id, price] : prices_before) {
      auto p = (*after_db)->Exec("SELECT price_amount::text FROM products WHERE id = $1", {id});
      if (auto* rows = std::get_if<pg::Rows>(&p); rows && rows->size() && rows->Get(0, 0) == price) ++restored;
    }
    report.objectives.push_back({"bad deployment undone (prices as before it)", "undone (< 5 min, see RTO deploy)",
                                 std::to_string(prices_before.size()) + " of " + std::to_string(prices_before.size()),
                                 std::to_string(restored) + " of " + std::to_string(prices_before.size()),
                                 restored == static_cast<int>(prices_before.size())});
  }
  report.series = Bucketize(history, 5);
  std::string svg_path = out_dir + "/plot.svg", svg;
  if (auto st = Plot(report.series, report.faults, out_dir, svg_path); st.ok())
    svg = ReadFile(svg_path).value_or("");
  else
    svg = "<p>The plot could not be drawn: " + st.detail() + "</p>";
  std::ofstream(out_dir + "/report.html") << ReportHtml(report, svg);
  std::ofstream(out_dir + "/report.json") << json::serialize(ReportJson(report)) << "\n";
  std::ofstream(out_dir + "/history.jsonl") << HistoryJsonLines(history);
  if (!keep_up) {
    if (auto st = Down(t, false, progress); !st.ok()) progress("warning: taking the topology down: " + st.detail());
  }
  return report;
}

}  // namespace techmoda::ctl::gameday
