#include "ctl/intents/intents.h"

#include <boost/json.hpp>
#include <thread>

#include "ctl/autoscale/autoscale.h"
#include "ctl/cluster/cluster.h"
#include "ctl/dr/dr.h"
#include "ctl/dr/recover.h"

namespace json = boost::json;

namespace techmoda::ctl {

namespace {
std::string Arg(const json::object& args, const char* key) {
  auto* v = args.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : "";
}
bool Flag(const json::object& args, const char* key) {
  auto* v = args.if_contains(key);
  return v && v->is_bool() && v->as_bool();
}
}  // namespace

IntentLog Journal(const Topology& t) { return IntentLog(t.var_dir + "/intents"); }

Result<IntentResult> CarryOut(const Topology& t, const Intent& intent, const Progress& progress) {
  const auto& a = intent.args;
  IntentResult r;
  if (intent.action == "failover" || intent.action == "failback") {
    std::string to = Arg(a, "to");
    if (to.empty()) return Status::Invalid(intent.action + " needs a region to go to");
    Status s =
        intent.action == "failback" ? dr::Failback(t, to, progress) : dr::Failover(t, to, Flag(a, "force"), progress);
    if (!s.ok()) return s;
    return r;
  }
  if (intent.action == "recover") {
    auto report = dr::Recover(t, {Arg(a, "to_time"), Arg(a, "exclude_deploy")}, progress);
    if (!report.ok()) return report.status();
    r.output = Flag(a, "json") ? json::serialize(dr::RecoverJson(*report)) + "\n" : dr::FormatRecover(*report);
    r.exit_code = report->conflicts.empty() ? 0 : 4;
    return r;
  }
  if (intent.action == "switchover") {
    if (auto s = Switchover(t, Arg(a, "region"), Arg(a, "candidate"), &r.output); !s.ok()) return s;
    r.output += "\n";
    return r;
  }
  if (intent.action == "scale") {
    auto* n = a.if_contains("instances");
    if (!n || !n->is_int64()) return Status::Invalid("scale needs a number of instances");
    if (auto s = autoscale::ScaleZone(t, Arg(a, "zone"), static_cast<int>(n->as_int64()), &r.output); !s.ok()) return s;
    r.output += "\n";
    return r;
  }
  return Status::Invalid("no such intent: " + intent.action);
}

Result<IntentResult> RecordAndCarryOut(const Topology& t, const std::string& action, json::object args,
                                       const std::string& by, const Progress& progress) {
  IntentLog journal = Journal(t);
  auto intent = journal.Record(action, std::move(args), by);
  if (!intent.ok()) return intent.status();
  if (!journal.Claim(*intent, by)) {
    // A controller took it first: its outcome is this command's.
    progress("intent " + intent->id + ": carried out by a controller; waiting for its outcome");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::hours(1);
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto outcome = journal.OutcomeOf(intent->id)) {
        if (!outcome->ok()) return *outcome;
        return IntentResult{};
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return Status::Unavailable("intent " + intent->id + " was claimed but has no outcome after an hour");
  }
  auto result = CarryOut(t, *intent, progress);
  journal.Finish(*intent, result.ok() ? Status::Ok() : result.status(), result.ok() ? result->output : "");
  return result;
}

}  // namespace techmoda::ctl
