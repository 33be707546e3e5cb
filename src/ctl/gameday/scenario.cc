#include "ctl/gameday/scenario.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>

#include "ctl/faults/drills.h"
#include "ctl/topology/yaml_fields.h"

namespace techmoda::ctl::gameday {

std::string Step::Describe() const {
  char buf[160];
  if (action == "surge") {
    std::snprintf(buf, sizeof buf, "surge x%g for %g s", factor, for_s);
    return buf;
  }
  if (const Drill* d = FindDrill(action)) {
    std::string out = action + " " + (d->target == DrillTarget::kZone ? zone : region);
    if (by_s != 0) {
      std::snprintf(buf, sizeof buf, " by %+g s", by_s);
      out += buf;
    }
    if (for_s > 0) {
      std::snprintf(buf, sizeof buf, " for %g s", for_s);
      out += buf;
    }
    return out;
  }
  if (action == "failover") return "failover to " + to + (force ? " (forced)" : "");
  if (action == "failback") return "failback to " + to;
  if (action == "bad-deploy") return "bad deployment rewriting " + std::to_string(products) + " prices";
  return action;
}

std::string Step::FaultClass() const {
  if (const Drill* d = FindDrill(action)) return std::string(RecoveryClassName(d->recovery));
  if (action == "bad-deploy") return std::string(RecoveryClassName(RecoveryClass::kDeploy));
  return "";
}

Result<Scenario> ParseScenario(const std::string& yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return Status::Invalid(std::string("the scenario is not YAML: ") + e.what());
  }
  if (!root.IsMap()) return Status::Invalid("the scenario must be a YAML mapping");
  Scenario s;
  std::vector<std::string> errors;
  CheckKeys(root, {"name", "topology", "duration_s", "load", "timeline", "objectives"}, "scenario", &errors);
  ReadString(root, "name", "scenario", &s.name, &errors);
  if (s.name.empty()) errors.push_back("scenario.name: required");
  ReadString(root, "topology", "scenario", &s.topology, &errors);
  ReadDouble(root, "duration_s", 10, 24 * 3600, "scenario", &s.duration_s, &errors);

  const auto& load = root["load"];
  CheckKeys(load, {"rate", "mix", "token_reads", "customers", "products"}, "load", &errors);
  ReadDouble(load, "rate", 0.1, 100000, "load", &s.load.rate, &errors);
  ReadDouble(load, "token_reads", 0, 1, "load", &s.load.token_reads, &errors);
  ReadInt(load, "customers", 1, 1000000, "load", &s.load.customers, &errors);
  ReadInt(load, "products", 10, 10000000, "load", &s.load.products, &errors);
  if (load && load["mix"]) {
    const auto& mix = load["mix"];
    auto& m = s.load.mix;
    m = LoadMix{0, 0, 0, 0, 0, 0};  // a given mix replaces the default: absent weights are 0
    CheckKeys(mix, {"read_product", "list", "search", "place_order", "cancel_order", "read_order"}, "load.mix",
              &errors);
    for (auto [key, field] : {std::pair<const char*, int*>{"read_product", &m.read_product},
                              {"list", &m.list},
                              {"search", &m.search},
                              {"place_order", &m.place_order},
                              {"cancel_order", &m.cancel_order},
                              {"read_order", &m.read_order}}) {
      ReadInt(mix, key, 0, 1000, "load.mix", field, &errors);
    }
    if (m.Total() == 0) errors.push_back("load.mix: every weight is 0");
  }

  const auto& timeline = root["timeline"];
  if (timeline && !timeline.IsSequence()) errors.push_back("timeline: must be a list of steps");
  for (std::size_t i = 0; timeline && timeline.IsSequence() && i < timeline.size(); ++i) {
    const auto& n = timeline[i];
    std::string where = "timeline[" + std::to_string(i) + "]";
    Step st;
    CheckKeys(n, {"at_s", "action", "zone", "region", "to", "force", "factor", "for_s", "by_s", "products"}, where,
              &errors);
    if (!n["at_s"]) errors.push_back(where + ".at_s: required");
    ReadDouble(n, "at_s", 0, s.duration_s, where, &st.at_s, &errors);
    ReadString(n, "action", where, &st.action, &errors);
    ReadString(n, "zone", where, &st.zone, &errors);
    ReadString(n, "region", where, &st.region, &errors);
    ReadString(n, "to", where, &st.to, &errors);
    ReadBool(n, "force", where, &st.force, &errors);
    ReadDouble(n, "factor", 1, 100, where, &st.factor, &errors);
    ReadDouble(n, "for_s", 1, s.duration_s, where, &st.for_s, &errors);
    ReadDouble(n, "by_s", -86400 * 365, 86400 * 365, where, &st.by_s, &errors);
    ReadInt(n, "products", 1, 10000000, where, &st.products, &errors);
    const Drill* drill = FindDrill(st.action);
    if (!drill && std::find(kRepairActions.begin(), kRepairActions.end(), st.action) == kRepairActions.end()) {
      std::string known = DrillNames();
      for (const auto& a : kRepairActions) known += ", " + a;
      errors.push_back(where + ".action: '" + st.action + "' is not one of " + known);
    }
    auto need = [&](const std::string& value, const char* key) {
      if (value.empty()) errors.push_back(where + "." + key + ": required by " + st.action);
    };
    if (drill)
      need(drill->target == DrillTarget::kZone ? st.zone : st.region,
           drill->target == DrillTarget::kZone ? "zone" : "region");
    if (st.action == "failover" || st.action == "failback") need(st.to, "to");
    if (st.action == "surge" && !n["for_s"]) errors.push_back(where + ".for_s: required by surge");
    if (drill && n["for_s"] && !drill->timed)
      errors.push_back(where + ".for_s: " + st.action +
                       " is not a pause (for_s applies to stop-zone, stop-postgres, "
                       "stop-patroni and skew-clock)");
    if (drill && drill->offset && st.by_s == 0) errors.push_back(where + ".by_s: required by " + st.action);
    if (n["by_s"] && !(drill && drill->offset))
      errors.push_back(where + ".by_s: applies to skew-clock, not to " + st.action);
    if (st.action == "bad-deploy" && st.products == 0) errors.push_back(where + ".products: required by bad-deploy");
    s.timeline.push_back(st);
  }
  for (std::size_t i = 1; i < s.timeline.size(); ++i)
    if (s.timeline[i].at_s < s.timeline[i - 1].at_s)
      errors.push_back("timeline[" + std::to_string(i) + "].at_s: steps must be in time order");
  // A recovery undoes a bad deployment: it needs one before it.
  bool deployed = false;
  for (std::size_t i = 0; i < s.timeline.size(); ++i) {
    deployed |= s.timeline[i].action == "bad-deploy";
    if (s.timeline[i].action == "recover" && !deployed)
      errors.push_back("timeline[" + std::to_string(i) + "]: recover without a bad-deploy before it");
  }

  const auto& obj = root["objectives"];
  CheckKeys(obj, {"availability", "rpo_s", "rto_s"}, "objectives", &errors);
  ReadDouble(obj, "availability", 0, 1, "objectives", &s.objectives.availability, &errors);
  ReadDouble(obj, "rpo_s", 0, 3600, "objectives", &s.objectives.rpo_s, &errors);
  if (obj && obj["rto_s"]) {
    CheckKeys(obj["rto_s"], {"zone", "database", "region", "deploy"}, "objectives.rto_s", &errors);
    for (auto& [cls, secs] : s.objectives.rto_s)
      ReadDouble(obj["rto_s"], cls.c_str(), 0, 3600, "objectives.rto_s", &secs, &errors);
  }

  if (!errors.empty()) {
    std::string text = "the scenario has " + std::to_string(errors.size()) + " problem(s):";
    for (const auto& e : errors) text += "\n  " + e;
    return Status::Invalid(text);
  }
  return s;
}

}  // namespace techmoda::ctl::gameday
