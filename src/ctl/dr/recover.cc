#include "ctl/dr/recover.h"
#include "ctl/cluster/cluster.h"
#include "ctl/infra/health.h"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "common/pg.h"
#include "common/process.h"
#include "ctl/backup/backup.h"
#include "ctl/dr/dr.h"
#include "ctl/topology/render.h"

namespace json = boost::json;
namespace fs = std::filesystem;

namespace techmoda::ctl::dr {

namespace {

using Clock = std::chrono::steady_clock;

// How far before T the change log is searched for changes that committed after T: a transaction's
// `at` is its start, and no write runs longer than its deadline (seconds), far below this.
constexpr const char* kLookBack = "interval '10 minutes'";

constexpr const char* kProductFields[] = {"name",  "description", "brand",    "category",
                                          "price", "attributes",  "variants", "status"};

const json::value& FieldOf(const json::value& doc, const char* name) {
  static const json::value kNull;
  if (!doc.is_object()) return kNull;
  const auto* v = doc.as_object().if_contains(name);
  return v ? *v : kNull;
}

// What a failed statement said, SQLSTATE included (a replay conflict's reason quotes it); "" on success.
std::string Text(const std::variant<pg::Rows, pg::Error>& r) {
  if (auto* e = std::get_if<pg::Error>(&r)) return pg::ToStatus(*e, "").detail().substr(2);
  return "";
}

// The last `n` bytes of a file, for an error message.
std::string Tail(const std::string& path, std::size_t n = 1500) {
  auto text = ReadFile(path).value_or("");
  return text.substr(text.size() > n ? text.size() - n : 0);
}

// Runs statements one after the other, each on its own (ALTER SYSTEM may not share a transaction
// block); stops at the first error and returns it ("" when all ran). The order matters: a reload
// before the ALTER SYSTEM it should read would leave the setting unapplied.
std::string RunInOrder(pg::Connection& c, std::initializer_list<const char*> statements) {
  for (const char* sql : statements)
    if (auto e = Text(c.ExecScript(sql)); !e.empty()) return std::string(sql) + ": " + e;
  return "";
}

// One row of the change log.
struct Change {
  long long id = 0;
  std::string at, txid, entity, entity_id, action, request_id, write_id, deploy_id;
  std::optional<std::string> old_value, new_value, idempotency_key;
};

// Replays changes of the live cluster's log onto the recovered database, one pass at a time; every
// change is decided once (already there, replayed, skipped or a conflict).
class Replayer {
 public:
  Replayer(pg::Connection& live, pg::Connection& target, std::string to_time, std::string exclude, RecoverReport& r)
      : live_(live), target_(target), to_time_(std::move(to_time)), exclude_(std::move(exclude)), report_(r) {}

  // The changes the recovered database already has (committed by T).
  Status LoadPresent() {
    auto rows =
        target_.Exec(std::string("SELECT id FROM change_log WHERE at >= $1::timestamptz - ") + kLookBack, {to_time_});
    if (auto* e = std::get_if<pg::Error>(&rows)) return pg::ToStatus(*e, "reading the recovered change log");
    auto& r = std::get<pg::Rows>(rows);
    for (int i = 0; i < r.size(); ++i) decided_.insert(r.GetInt(i, 0));
    before_t_ = static_cast<long long>(decided_.size());
    return Status::Ok();
  }

  // Applies every change not yet decided; returns how many were new in this pass.
  Result<long long> Pass() {
    auto rows = live_.Exec(
        std::string("SELECT id, at::text, txid::text, entity, entity_id, action, old_value::text, new_value::text, "
                    "request_id, write_id, deploy_id, idempotency_key FROM change_log "
                    "WHERE at >= $1::timestamptz - ") +
            kLookBack + " AND id > $2 ORDER BY id",
        {to_time_, std::to_string(floor_)});
    if (auto* e = std::get_if<pg::Error>(&rows)) return pg::ToStatus(*e, "reading the live change log");
    auto& r = std::get<pg::Rows>(rows);
    std::vector<Change> undecided;
    long long max_id = floor_;
    for (int i = 0; i < r.size(); ++i) {
      Change c;
      c.id = r.GetInt(i, 0);
      max_id = std::max(max_id, c.id);
      if (decided_.count(c.id)) continue;
      c.at = std::string(r.Get(i, 1));
      c.txid = std::string(r.Get(i, 2));
      c.entity = std::string(r.Get(i, 3));
      c.entity_id = std::string(r.Get(i, 4));
      c.action = std::string(r.Get(i, 5));
      c.old_value = r.GetOpt(i, 6);
      c.new_value = r.GetOpt(i, 7);
      c.request_id = std::string(r.Get(i, 8));
      c.write_id = std::string(r.Get(i, 9));
      c.deploy_id = std::string(r.Get(i, 10));
      c.idempotency_key = r.GetOpt(i, 11);
      undecided.push_back(std::move(c));
    }
    // A change may commit after a later id did (ids are taken before commit), but not thousands of
    // ids later: later passes start a margin below the highest id seen.
    floor_ = std::max(floor_, max_id - 5000);
    if (undecided.empty()) return 0;
    if (auto e = Text(target_.ExecScript("BEGIN")); !e.empty())
      return Status::Internal("BEGIN on the recovered database: " + e);
    for (const auto& c : undecided) {
      decided_.insert(c.id);
      if (!exclude_.empty() && c.deploy_id == exclude_) {
        ++report_.skipped;
        ++report_.skipped_by_action[c.entity + "." + c.action];
        if (c.idempotency_key) unusable_keys_.insert(*c.idempotency_key);
        continue;
      }
      target_.ExecScript("SAVEPOINT change");
      std::string reason = Apply(c);
      if (reason.empty()) reason = Log(c);
      if (reason.empty()) {
        target_.ExecScript("RELEASE SAVEPOINT change");
        ++report_.replayed;
        ++report_.replayed_by_action[c.entity + "." + c.action];
      } else {
        target_.ExecScript("ROLLBACK TO SAVEPOINT change");
        report_.conflicts.push_back({c.id, c.entity, c.entity_id, c.action, c.deploy_id, reason});
        if (c.idempotency_key) unusable_keys_.insert(*c.idempotency_key);
      }
    }
    auto commit = target_.ExecScript("COMMIT");
    if (auto* e = std::get_if<pg::Error>(&commit)) return pg::ToStatus(*e, "COMMIT on the recovered database");
    return static_cast<long long>(undecided.size());
  }

  // Copies the stored answers of idempotency keys used after T, but for the writes that were skipped
  // or could not be applied (a retry of those runs again, on the recovered data).
  Status CopyKeys() {
    auto rows = live_.Exec(std::string("SELECT scope, key, fingerprint, status::text, headers::text, body, "
                                       "created_at::text FROM idempotency_keys WHERE status <> 0 AND "
                                       "created_at >= $1::timestamptz - ") +
                               kLookBack,
                           {to_time_});
    if (auto* e = std::get_if<pg::Error>(&rows)) return pg::ToStatus(*e, "reading the live idempotency keys");
    auto& r = std::get<pg::Rows>(rows);
    for (int i = 0; i < r.size(); ++i) {
      std::string key(r.Get(i, 1));
      if (unusable_keys_.count(key) || !copied_.insert(std::string(r.Get(i, 0)) + "/" + key).second) continue;
      auto ins = target_.Exec(
          "INSERT INTO idempotency_keys (scope, key, fingerprint, status, headers, body, created_at) "
          "VALUES ($1, $2, $3, $4::integer, $5::jsonb, $6, $7::timestamptz) ON CONFLICT DO NOTHING",
          {std::string(r.Get(i, 0)), key, std::string(r.Get(i, 2)), std::string(r.Get(i, 3)), std::string(r.Get(i, 4)),
           std::string(r.Get(i, 5)), std::string(r.Get(i, 6))});
      if (auto* e = std::get_if<pg::Error>(&ins)) return pg::ToStatus(*e, "copying idempotency keys");
      report_.keys_copied += std::get<pg::Rows>(ins).affected();
    }
    return Status::Ok();
  }

  long long before_t() const { return before_t_; }

 private:
  // Applies one change; returns why it could not be ("" when applied).
  std::string Apply(const Change& c) {
    if (!c.new_value) return "the change has no new value";
    const std::string& doc = *c.new_value;
    if (c.entity == "product" && c.action == "create") {
      auto made = target_.Exec(
          "INSERT INTO products (id, name, description, brand, category, price_amount, currency, attributes, "
          "variants, status, version, created_at, updated_at) SELECT d->>'id', d->>'name', d->>'description', "
          "d->>'brand', d->>'category', (d->'price'->>'amount')::bigint, d->'price'->>'currency', d->'attributes', "
          "d->'variants', d->>'status', (d->>'version')::bigint, (d->>'created_at')::timestamptz, "
          "(d->>'updated_at')::timestamptz FROM (SELECT $1::jsonb AS d) s ON CONFLICT (id) DO NOTHING RETURNING 1",
          {doc});
      if (auto e = Text(made); !e.empty()) return e;
      if (std::get<pg::Rows>(made).size() == 0) return "a product with this id exists in the recovered catalog";
      return CreateStock(c.entity_id, doc);
    }
    if (c.entity == "product" && (c.action == "replace" || c.action == "archive")) {
      auto cur = target_.Exec(
          "SELECT jsonb_build_object('name', name, 'description', description, 'brand', brand, 'category', "
          "category, 'price', jsonb_build_object('amount', price_amount, 'currency', currency), 'attributes', "
          "attributes, 'variants', variants, 'status', status)::text FROM products WHERE id = $1 FOR UPDATE",
          {c.entity_id});
      if (auto e = Text(cur); !e.empty()) return e;
      auto& rows = std::get<pg::Rows>(cur);
      if (rows.size() == 0) return "the product is not in the recovered catalog";
      boost::system::error_code ec;
      auto current = json::parse(rows.Get(0, 0), ec);
      auto before = c.old_value ? json::parse(*c.old_value, ec) : json::value();
      auto after = json::parse(doc, ec);
      if (ec || !current.is_object()) return "unreadable JSON in the change log";
      auto m = MergeProductChange(current.as_object(), before, after);
      if (!m.conflicts.empty()) {
        std::string fields;
        for (const auto& f : m.conflicts) fields += (fields.empty() ? "" : ", ") + f;
        return "a skipped change altered the same field(s): " + fields;
      }
      if (m.changed.empty()) return "";  // nothing left to change
      auto upd = target_.Exec(
          "UPDATE products SET name = d->>'name', description = d->>'description', brand = d->>'brand', "
          "category = d->>'category', price_amount = (d->'price'->>'amount')::bigint, currency = "
          "d->'price'->>'currency', attributes = d->'attributes', variants = d->'variants', status = d->>'status', "
          "version = version + 1, updated_at = $3::timestamptz FROM (SELECT $1::jsonb AS d) s WHERE id = $2",
          {json::serialize(m.merged), c.entity_id, c.at});
      if (auto e = Text(upd); !e.empty()) return e;
      return CreateStock(c.entity_id, json::serialize(m.merged));
    }
    if (c.entity == "inventory" && (c.action == "set_stock" || c.action == "adjust_stock")) {
      boost::system::error_code ec;
      auto after = json::parse(doc, ec);
      auto before = c.old_value ? json::parse(*c.old_value, ec) : json::value();
      if (ec || !after.is_object()) return "unreadable JSON in the change log";
      auto on_hand = [](const json::value& v) { return v.is_object() ? v.at("on_hand").to_number<long long>() : 0; };
      // An absolute count stays absolute; an adjustment is replayed as the same delta.
      bool set = c.action == "set_stock";
      long long value = set ? on_hand(after) : on_hand(after) - on_hand(before);
      auto upd = target_.Exec(set ? "UPDATE inventory SET on_hand = $2::bigint, version = version + 1, updated_at = "
                                    "$3::timestamptz WHERE sku = $1 AND reserved <= $2::bigint RETURNING 1"
                                  : "UPDATE inventory SET on_hand = on_hand + $2::bigint, version = version + 1, "
                                    "updated_at = $3::timestamptz WHERE sku = $1 AND on_hand + $2::bigint >= "
                                    "reserved RETURNING 1",
                              {c.entity_id, std::to_string(value), c.at});
      if (auto e = Text(upd); !e.empty()) return e;
      if (std::get<pg::Rows>(upd).size() == 0) return "unknown sku, or on_hand would fall below the reserved units";
      return "";
    }
    if (c.entity == "order" && c.action == "create_order") {
      // The order as it was acknowledged (its prices included); its stock reserved again.
      auto lines = target_.Exec(
          "WITH l AS (SELECT x->>'sku' AS sku, sum((x->>'quantity')::bigint) AS qty "
          "FROM jsonb_array_elements($1::jsonb->'lines') x GROUP BY 1) "
          "UPDATE inventory i SET reserved = i.reserved + l.qty, version = i.version + 1, updated_at = "
          "$2::timestamptz FROM l WHERE i.sku = l.sku AND i.on_hand - i.reserved >= l.qty "
          "RETURNING (SELECT count(*) FROM l)",
          {doc, c.at});
      if (auto e = Text(lines); !e.empty()) return e;
      auto& lr = std::get<pg::Rows>(lines);
      if (lr.size() == 0 || lr.GetInt(0, 0) != lr.size()) return "not enough stock in the recovered catalog";
      auto made = target_.Exec(
          "INSERT INTO orders (id, customer_id, status, lines, total_amount, currency, synthetic, created_at, "
          "updated_at) SELECT d->>'id', d->>'customer_id', 'confirmed', d->'lines', (d->'total'->>'amount')::bigint, "
          "d->'total'->>'currency', coalesce((d->>'synthetic')::boolean, false), (d->>'created_at')::timestamptz, "
          "(d->>'updated_at')::timestamptz FROM (SELECT $1::jsonb AS d) s ON CONFLICT (id) DO NOTHING RETURNING 1",
          {doc});
      if (auto e = Text(made); !e.empty()) return e;
      if (std::get<pg::Rows>(made).size() == 0) return "an order with this id exists in the recovered database";
      return "";
    }
    if (c.entity == "order" && c.action == "cancel_order") {
      auto upd = target_.Exec(
          "UPDATE orders SET status = 'cancelled', updated_at = $2::timestamptz WHERE id = $1 AND status = "
          "'confirmed' RETURNING lines::text",
          {c.entity_id, c.at});
      if (auto e = Text(upd); !e.empty()) return e;
      auto& ur = std::get<pg::Rows>(upd);
      if (ur.size() == 0) return "the order is not in the recovered database, or is cancelled there already";
      auto released = target_.Exec(
          "WITH l AS (SELECT x->>'sku' AS sku, sum((x->>'quantity')::bigint) AS qty "
          "FROM jsonb_array_elements($1::jsonb) x GROUP BY 1) "
          "UPDATE inventory i SET reserved = i.reserved - l.qty, version = i.version + 1, updated_at = "
          "$2::timestamptz FROM l WHERE i.sku = l.sku",
          {std::string(ur.Get(0, 0)), c.at});
      return Text(released);
    }
    return "a " + c.entity + " " + c.action + " cannot be replayed (apply it again by hand if it is wanted)";
  }

  // Stock rows (on_hand 0) for skus of the product's variants that have none yet.
  std::string CreateStock(const std::string& product_id, const std::string& doc) {
    return Text(target_.Exec(
        "INSERT INTO inventory (sku, product_id) SELECT v->>'sku', $2 FROM jsonb_array_elements($1::jsonb->'variants') "
        "v ON CONFLICT (sku) DO NOTHING",
        {doc, product_id}));
  }

  // The change's own row in the recovered log, as it was: the log stays the history of the data.
  std::string Log(const Change& c) {
    return Text(target_.Exec(
        "INSERT INTO change_log (id, at, txid, entity, entity_id, action, old_value, new_value, request_id, "
        "write_id, deploy_id, idempotency_key) VALUES ($1::bigint, $2::timestamptz, $3::bigint, $4, $5, $6, "
        "$7::jsonb, $8::jsonb, $9, $10, $11, $12)",
        {std::to_string(c.id), c.at, c.txid, c.entity, c.entity_id, c.action, c.old_value, c.new_value, c.request_id,
         c.write_id, c.deploy_id, c.idempotency_key}));
  }

  pg::Connection& live_;
  pg::Connection& target_;
  std::string to_time_, exclude_;
  RecoverReport& report_;
  std::set<long long> decided_;
  std::set<std::string> unusable_keys_;
  std::set<std::string> copied_;  // scope/key already copied
  long long floor_ = 0, before_t_ = 0;
};

// pgBackRest or a PostgreSQL program as the zone's user.
int AsZoneUser(const Zone& z, std::vector<std::string> argv, std::string* out,
               const std::function<void(const std::string&)>& on_line = {}) {
  argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", z.os_user, "--"});
  return RunCapture(argv, out, on_line);
}

}  // namespace

ProductMerge MergeProductChange(const json::object& current, const json::value& before, const json::value& after) {
  ProductMerge m;
  m.merged = current;
  const json::value current_doc = current;  // FieldOf returns references into it
  for (const char* f : kProductFields) {
    const json::value& b = FieldOf(before, f);
    const json::value& a = FieldOf(after, f);
    if (b == a) continue;
    const json::value& c = FieldOf(current_doc, f);
    if (c == b) {
      m.merged[f] = a;
      m.changed.emplace_back(f);
    } else if (c != a) {
      m.conflicts.emplace_back(f);
    }
  }
  return m;
}

namespace {

// One recovery, step by step: each step returns Ok or why it failed; a failure after the scratch
// PostgreSQL started stops it, and one after the fence lifts the fence (the live cluster goes on as it
// was) — `Fail` knows which applies.
class Recovery {
 public:
  Recovery(const Topology& t, const RecoverOptions& o, const Progress& progress)
      : t_(t), o_(o), progress_(progress), started_(Clock::now()), phase_start_(started_) {
    report_.exclude_deploy = o.exclude_deploy;
  }

  Result<RecoverReport> Run() {
    for (auto step : {&Recovery::ChooseTarget, &Recovery::RestoreBesideTheLeader, &Recovery::ReplayToTheTime,
                      &Recovery::ReplayWhileLive, &Recovery::FenceAndFinish, &Recovery::MoveAheadOfTheLive,
                      &Recovery::SwitchTheRegion}) {
      if (Status st = (this->*step)(); !st.ok()) return Fail(st);
    }
    RebuildOtherRegions();
    std::error_code ec;
    fs::remove_all(run_, ec);
    report_.total_s = SecondsSince(started_);
    return report_;
  }

 private:
  void Phase(const std::string& name) {
    double s = SecondsSince(phase_start_);
    report_.phases.emplace_back(name, s);
    progress_("done: " + name + "  " + FormatSeconds(s));
    phase_start_ = Clock::now();
  }

  // Undoes what a failure must not leave behind: the fence, the scratch PostgreSQL.
  Status Fail(Status s) {
    if (fenced_ && live_)
      RunInOrder(*live_, {"ALTER SYSTEM RESET default_transaction_read_only", "SELECT pg_reload_conf()"});
    if (scratch_started_) StopScratch();
    return s;
  }

  void StopScratch() {
    std::string out;
    AsZoneUser(*zone_, {t_.postgres_bin_dir + "/pg_ctl", "-D", data_, "-w", "-t", "120", "-m", "fast", "stop"}, &out);
    scratch_started_ = false;
  }

  // 1. The active region, its primary, T (in UTC, in the past), the newest backup that ended before it.
  Status ChooseTarget() {
    if (geteuid() != 0)
      return Status::Invalid("catalogctl dr recover runs as root: pgBackRest and PostgreSQL run as the zone's user");
    if (o_.to_time.empty()) return Status::Invalid("--to-time is required");
    region_ = &t_.regions.front();
    if (t_.MultiRegion()) {
      auto st = ReadDrStatus(t_);
      if (st.active_region.empty())
        return Status::Unavailable("the global etcd does not say which region is active: " + st.global_error);
      region_ = t_.FindRegion(st.active_region);
      if (!region_) return Status::Internal("the active region " + st.active_region + " is not in the topology");
    }
    report_.region = region_->name;
    auto secrets = LoadOrCreateSecrets(t_);
    if (!secrets.ok()) return secrets.status();
    auto live = pg::Connect(SuperuserConninfo(t_, *region_, *secrets, "techmoda"), std::chrono::seconds(5));
    if (!live.ok()) return Status::Unavailable("region " + region_->name + "'s primary: " + live.status().detail());
    live_ = std::move(*live);
    auto when = live_->Exec(
        "SELECT to_char($1::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00', "
        "extract(epoch FROM $1::timestamptz)::bigint, $1::timestamptz < now()",
        {o_.to_time});
    if (auto* e = std::get_if<pg::Error>(&when))
      return Status::Invalid("--to-time '" + o_.to_time + "' is not a time PostgreSQL reads: " + e->message);
    auto& wr = std::get<pg::Rows>(when);
    report_.to_time = std::string(wr.Get(0, 0));
    long long to_unix = wr.GetInt(0, 1);
    if (wr.Get(0, 2) != "t") return Status::Invalid("--to-time " + report_.to_time + " is not in the past");
    auto info = backup::List(t_);
    if (!info.ok()) return info.status();
    for (const auto& s : info->sets)
      if (s.stop < to_unix) report_.backup_label = s.label;
    if (report_.backup_label.empty())
      return Status::Invalid("no backup ended before " + report_.to_time + " (" + std::to_string(info->sets.size()) +
                             " in the repository; see `catalogctl backup list`)");
    progress_("recovering region " + region_->name + " to " + report_.to_time + " from backup " + report_.backup_label +
              (o_.exclude_deploy.empty() ? "" : ", leaving out the changes of deployment " + o_.exclude_deploy));
    return Status::Ok();
  }

  // 2. In the leader's zone, as its user, beside its data: everything written until now is archived
  //    (pgBackRest's check switches WAL and waits; run there, it involves no other database host, some
  //    of which may be down — a lost region's), then the backup is restored with a target of T.
  Status RestoreBesideTheLeader() {
    zone_ = t_.FindZone(LeaderName(RegionClusterView(t_, *region_)));
    if (!zone_) return Status::Unavailable("region " + region_->name + " has no leader");
    std::string out;
    std::vector<std::string> pgbackrest{"/usr/bin/pgbackrest", "--config=" + Topology::ZoneBackupConf(*zone_),
                                        "--stanza=" + t_.backup.stanza};
    auto check = pgbackrest;
    check.push_back("check");
    if (AsZoneUser(*zone_, check, &out) != 0)
      return Status::Unavailable("WAL archiving does not reach the repository (pgbackrest check on " + zone_->name +
                                 "):\n" + out);
    Phase("WAL archived up to now");
    report_.zone = zone_->name;
    data_ = zone_->dir + "/pg/recover";
    run_ = zone_->dir + "/pg/recover-run";
    std::error_code ec;
    fs::remove_all(data_, ec);
    fs::remove_all(run_, ec);
    fs::create_directories(run_, ec);
    RunCapture({"/bin/chown", zone_->os_user + ":", run_}, &out);
    chmod(run_.c_str(), 0700);
    auto restore = pgbackrest;
    for (const auto& a : {"--pg1-path=" + data_, "--set=" + report_.backup_label, std::string("--type=time"),
                          "--target=" + report_.to_time, std::string("--target-action=promote"),
                          std::string("--log-level-console=detail"), std::string("restore")})
      restore.push_back(a);
    int shown = -1;
    int rc = AsZoneUser(*zone_, restore, &out, [&](const std::string& line) {
      auto pct = line.find("%)");
      if (line.find("restore file") == std::string::npos || pct == std::string::npos) return;
      auto comma = line.rfind(", ", pct);
      if (comma == std::string::npos) return;
      int step = static_cast<int>(std::atof(line.substr(comma + 2, pct - comma - 2).c_str()) / 10);
      if (step > shown) progress_("restore: " + std::to_string((shown = step) * 10) + "% of the backup's files");
    });
    if (rc != 0) return Status::Internal("pgbackrest restore failed (exit " + std::to_string(rc) + "):\n" + out);
    Phase("backup " + report_.backup_label + " restored into " + data_);
    return Status::Ok();
  }

  // 3. The WAL replayed up to T on a private socket (nothing listens on TCP), its new timeline archived
  //    into the repository like the zone's; pgBackRest's recovery settings removed, so the nodes that
  //    clone this one do not inherit them.
  Status ReplayToTheTime() {
    std::string out;
    std::ofstream(run_ + "/hba.conf") << "local all all peer map=recover\n";
    std::ofstream(run_ + "/ident.conf") << "recover " << zone_->os_user << " postgres\nrecover root postgres\n";
    RunCapture({"/bin/chown", zone_->os_user + ":", run_ + "/hba.conf", run_ + "/ident.conf"}, &out);
    std::string port = std::to_string(t_.ports.postgres);
    std::string opts = "-c port=" + port + " -c listen_addresses='' -c unix_socket_directories=" + run_ +
                       " -c hba_file=" + run_ + "/hba.conf -c ident_file=" + run_ +
                       "/ident.conf -c synchronous_standby_names='' -c logging_collector=off -c cluster_name=recover "
                       "-c archive_mode=on -c \"archive_command=" +
                       ZoneArchiveCommand(t_, *region_, *zone_, RenderTarget::kLocal) + "\"";
    log_ = run_ + "/postgres.log";
    int rc = AsZoneUser(
        *zone_, {t_.postgres_bin_dir + "/pg_ctl", "-D", data_, "-w", "-t", "900", "-l", log_, "-o", opts, "start"},
        &out);
    if (rc != 0) return Status::Internal("starting the recovered PostgreSQL failed:\n" + out + "\n" + Tail(log_));
    scratch_started_ = true;
    std::string conninfo = "host=" + run_ + " port=" + port + " user=postgres dbname=techmoda";
    auto deadline = Clock::now() + std::chrono::minutes(30);
    for (int waited = 0; !target_; ++waited) {
      auto c = pg::Connect(conninfo, std::chrono::seconds(5));
      if (c.ok()) {
        auto res = (*c)->Exec("SELECT pg_is_in_recovery()");
        if (auto* rows = std::get_if<pg::Rows>(&res); rows && rows->Get(0, 0) == "f") target_ = std::move(*c);
      }
      if (target_) break;
      if (Clock::now() > deadline || !fs::exists(data_ + "/postmaster.pid"))
        return Status::Internal("the recovery to " + report_.to_time + " did not finish:\n" + Tail(log_));
      if (waited % 25 == 24)
        progress_("replaying WAL up to " + report_.to_time + " ... " + FormatSeconds(SecondsSince(phase_start_)));
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (auto e = RunInOrder(*target_, {"ALTER SYSTEM RESET ALL", "SELECT pg_reload_conf()"}); !e.empty())
      return Status::Internal("clearing the recovery settings: " + e);
    Phase("state at " + report_.to_time + " recovered (a new timeline)");
    return Status::Ok();
  }

  // 4. What happened since T replayed, twice, while the live cluster goes on taking writes.
  Status ReplayWhileLive() {
    replayer_ = std::make_unique<Replayer>(*live_, *target_, report_.to_time, o_.exclude_deploy, report_);
    if (auto st = replayer_->LoadPresent(); !st.ok()) return st;
    for (int pass = 1; pass <= 2; ++pass) {
      auto n = replayer_->Pass();
      if (!n.ok()) return n.status();
      progress_("replay pass " + std::to_string(pass) + " (live): " + std::to_string(*n) + " change(s); " +
                std::to_string(report_.replayed) + " replayed, " + std::to_string(report_.skipped) + " skipped, " +
                std::to_string(report_.conflicts.size()) + " conflict(s) so far");
    }
    if (auto st = replayer_->CopyKeys(); !st.ok()) return st;
    Phase("changes since " + report_.to_time + " replayed while the live cluster took writes");
    return Status::Ok();
  }

  // 5. The fence: the live primary turns read-only (catalogd answers writes 503 and clients retry);
  //    transactions that began before it may finish within a write deadline, then are ended; a last
  //    pass then replays what they wrote.
  Status FenceAndFinish() {
    fenced_at_ = Clock::now();
    if (auto e = RunInOrder(*live_, {"ALTER SYSTEM SET default_transaction_read_only = on", "SELECT pg_reload_conf()"});
        !e.empty())
      return Status::Unavailable("making the live primary read-only: " + e);
    fenced_ = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // every backend has read its new settings
    if (auto st = EndLiveSessions(); !st.ok()) return st;
    progress_("live primary read-only: writes refused from now until the recovered cluster leads");
    auto last = replayer_->Pass();
    if (!last.ok()) return last.status();
    if (auto st = replayer_->CopyKeys(); !st.ok()) return st;
    progress_("final replay pass: " + std::to_string(*last) +
              " change(s); idempotency keys copied: " + std::to_string(report_.keys_copied));
    return Status::Ok();
  }

  // A backend idle at the reload reads the new setting only after its next command, so one more
  // transaction on it would start read-write: give those that began before the fence a moment to
  // finish, then end every session of the catalog database (a write cut short is answered 503 and
  // retried; a new session starts read-only, and catalogd's, asking for read-write, is refused).
  Status EndLiveSessions() {
    auto fence_ts = live_->Exec("SELECT clock_timestamp()::text");
    if (auto e = Text(fence_ts); !e.empty()) return Status::Unavailable("reading the fence time: " + e);
    std::string fence_time(std::get<pg::Rows>(fence_ts).Get(0, 0));
    const std::string sessions =
        "FROM pg_stat_activity WHERE datname = 'techmoda' AND backend_type = 'client backend' AND pid <> "
        "pg_backend_pid()";
    auto drain_deadline = Clock::now() + std::chrono::seconds(3);
    while (Clock::now() < drain_deadline) {
      auto n = live_->Exec("SELECT count(*) " + sessions + " AND xact_start < $1::timestamptz", {fence_time});
      if (auto* r = std::get_if<pg::Rows>(&n); r && r->GetInt(0, 0) == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    auto gone_deadline = Clock::now() + std::chrono::seconds(10);
    while (true) {
      auto n = live_->Exec("SELECT count(pg_terminate_backend(pid)) " + sessions);
      if (auto e = Text(n); !e.empty()) return Status::Unavailable("ending the live sessions: " + e);
      if (std::get<pg::Rows>(n).GetInt(0, 0) == 0) return Status::Ok();
      if (Clock::now() > gone_deadline)
        return Status::Unavailable("sessions of the live primary did not end within 10 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // 6. Consistency tokens are WAL positions of the live cluster: the recovered one moves past its
  //    last, so every token a client holds is satisfied by data that includes its write. The recovery
  //    is recorded in the change log, and the scratch PostgreSQL stopped cleanly.
  Status MoveAheadOfTheLive() {
    auto end = live_->Exec("SELECT pg_current_wal_lsn()::text");
    if (auto e = Text(end); !e.empty()) return Status::Unavailable("reading the live position: " + e);
    std::string live_end(std::get<pg::Rows>(end).Get(0, 0));
    for (int i = 0; i < 100000; ++i) {
      auto ahead = target_->Exec("SELECT pg_current_wal_lsn() > $1::pg_lsn", {live_end});
      if (auto* r = std::get_if<pg::Rows>(&ahead); !r || r->Get(0, 0) == "t") break;
      target_->ExecScript("SELECT pg_logical_emit_message(false, 'techmoda', 'recover'); SELECT pg_switch_wal()");
    }
    json::object summary{
        {"to_time", report_.to_time},     {"exclude_deploy", o_.exclude_deploy},
        {"backup", report_.backup_label}, {"replayed", report_.replayed},
        {"skipped", report_.skipped},     {"conflicts", static_cast<std::int64_t>(report_.conflicts.size())}};
    // Replayed rows kept their ids: the sequence goes on after the highest.
    auto seq = target_->ExecScript("SELECT setval('change_log_id_seq', (SELECT max(id) FROM change_log))");
    auto ins = target_->Exec(
        "INSERT INTO change_log (entity, entity_id, action, new_value, request_id, write_id, deploy_id) VALUES "
        "('catalog', '*', 'recover', $1::jsonb, 'catalogctl-dr-recover', md5(random()::text), 'catalogctl')",
        {json::serialize(summary)});
    if (auto e = Text(seq) + Text(ins); !e.empty())
      return Status::Internal("recording the recovery in the change log: " + e);
    replayer_.reset();
    target_.reset();
    StopScratch();
    if (fs::exists(data_ + "/postmaster.pid"))
      return Status::Internal("the recovered PostgreSQL did not stop:\n" + Tail(log_));
    Phase("final changes replayed; the recovered database is ahead of the live one");
    return Status::Ok();
  }

  // 7. The switch: the recovered data becomes the region's cluster; the old data is kept.
  Status SwitchTheRegion() {
    live_.reset();
    char stamp[32];
    std::time_t now = std::time(nullptr);
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", std::gmtime(&now));
    report_.kept_old_data = zone_->dir + "/pg/data.before-recover-" + stamp;
    fenced_ = false;  // from here the old cluster is gone: nothing to lift
    if (auto st = ReplaceRegionCluster(t_, region_->name, zone_->name, data_, report_.kept_old_data, progress_);
        !st.ok())
      return Status::Internal("switching region " + region_->name + " to the recovered cluster: " + st.detail() +
                              " (the recovered data is at " + zone_->dir + "/pg/data or " + data_ +
                              "; the old data at " + report_.kept_old_data + ")");
    report_.writes_refused_s = SecondsSince(fenced_at_);
    Phase("region " + region_->name + " runs the recovered cluster");
    return Status::Ok();
  }

  // 8. Other regions followed the old history: each becomes a standby of the recovered cluster again.
  //    A region that is down (lost, say) is rebuilt when it returns, by `dr failback`: not a failure.
  void RebuildOtherRegions() {
    for (const auto& r : t_.regions) {
      if (&r == region_) continue;
      if (auto st = RebuildRegionAsStandby(t_, r.name, region_->name, progress_); !st.ok()) {
        progress_("warning: region " + r.name + " was not rebuilt as a standby (" + st.detail() +
                  "); `catalogctl dr failback --to " + r.name + "` rebuilds it when it is back");
        report_.not_rebuilt.push_back(r.name);
        continue;
      }
      Phase("region " + r.name + " rebuilt as a standby of the recovered cluster");
    }
  }

  const Topology& t_;
  const RecoverOptions& o_;
  const Progress& progress_;
  RecoverReport report_;
  const Clock::time_point started_;
  Clock::time_point phase_start_, fenced_at_{};
  const Region* region_ = nullptr;
  const Zone* zone_ = nullptr;
  std::unique_ptr<pg::Connection> live_, target_;
  std::unique_ptr<Replayer> replayer_;
  std::string data_, run_, log_;  // the recovered data, its private socket and files, its log
  bool scratch_started_ = false;
  bool fenced_ = false;
};

}  // namespace

Result<RecoverReport> Recover(const Topology& t, const RecoverOptions& o, const Progress& progress) {
  return Recovery(t, o, progress).Run();
}

std::string FormatRecover(const RecoverReport& r) {
  std::string out = "recovered region " + r.region + " to " + r.to_time + " (backup " + r.backup_label + ", zone " +
                    r.zone + ")" + (r.exclude_deploy.empty() ? "" : ", without deployment " + r.exclude_deploy) +
                    "\n\n";
  char line[160];
  std::snprintf(line, sizeof line, "  %-28s %8s\n", "change", "count");
  out += line;
  for (const auto& [action, n] : r.replayed_by_action) {
    std::snprintf(line, sizeof line, "  %-28s %8lld  replayed\n", action.c_str(), n);
    out += line;
  }
  for (const auto& [action, n] : r.skipped_by_action) {
    std::snprintf(line, sizeof line, "  %-28s %8lld  skipped (deployment %s)\n", action.c_str(), n,
                  r.exclude_deploy.c_str());
    out += line;
  }
  std::snprintf(line, sizeof line, "\n  replayed %lld, skipped %lld, conflicts %zu, idempotency keys copied %lld\n",
                r.replayed, r.skipped, r.conflicts.size(), r.keys_copied);
  out += line;
  for (std::size_t i = 0; i < r.conflicts.size() && i < 50; ++i) {
    const auto& c = r.conflicts[i];
    out += "  conflict: change " + std::to_string(c.id) + " " + c.entity + " " + c.entity_id + " " + c.action +
           " (deploy " + c.deploy_id + "): " + c.reason + "\n";
  }
  if (r.conflicts.size() > 50) out += "  ... " + std::to_string(r.conflicts.size() - 50) + " more (--json)\n";
  out += "\n";
  for (const auto& [name, s] : r.phases) {
    std::snprintf(line, sizeof line, "  %7.1f s  %s\n", s, name.c_str());
    out += line;
  }
  std::snprintf(line, sizeof line,
                "  %7.1f s  in all; writes refused for at most %.1f s (from the fence until every node of the "
                "new cluster runs)\n",
                r.total_s, r.writes_refused_s);
  out += line;
  out += "\nthe old primary's data is kept at " + r.kept_old_data +
         "\nnext: take a full backup (`catalogctl backup run --type full`)\n";
  return out;
}

json::value RecoverJson(const RecoverReport& r) {
  json::object by_action, skipped;
  for (const auto& [a, n] : r.replayed_by_action) by_action[a] = n;
  for (const auto& [a, n] : r.skipped_by_action) skipped[a] = n;
  json::array conflicts, phases;
  for (const auto& c : r.conflicts)
    conflicts.push_back({{"id", c.id},
                         {"entity", c.entity},
                         {"entity_id", c.entity_id},
                         {"action", c.action},
                         {"deploy_id", c.deploy_id},
                         {"reason", c.reason}});
  for (const auto& [name, s] : r.phases) phases.push_back({{"phase", name}, {"seconds", s}});
  return {{"region", r.region},
          {"zone", r.zone},
          {"to_time", r.to_time},
          {"exclude_deploy", r.exclude_deploy},
          {"backup", r.backup_label},
          {"replayed", r.replayed},
          {"skipped", r.skipped},
          {"keys_copied", r.keys_copied},
          {"replayed_by_action", by_action},
          {"skipped_by_action", skipped},
          {"conflicts", conflicts},
          {"phases", phases},
          {"writes_refused_s", r.writes_refused_s},
          {"total_s", r.total_s},
          {"kept_old_data", r.kept_old_data},
          {"not_rebuilt", json::value_from(r.not_rebuilt)}};
}

}  // namespace techmoda::ctl::dr
