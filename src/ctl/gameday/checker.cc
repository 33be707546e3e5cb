#include "ctl/gameday/checker.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <set>
#include <tuple>

namespace techmoda::ctl::gameday {

const char* KindName(OpKind kind) {
  static const char* const kNames[] = {"read_product", "list", "place_order", "cancel_order", "read_order"};
  return kNames[static_cast<int>(kind)];
}

namespace json = boost::json;

namespace {

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

void Violate(Verdict* v, const CheckOptions& o, std::string example) {
  v->kept = false;
  ++v->violations;
  if (static_cast<int>(v->examples.size()) < o.max_examples) v->examples.push_back(std::move(example));
}

Verdict AcknowledgedOrdersPresent(const std::vector<Operation>& h, const DatabaseState& after, const CheckOptions& o) {
  Verdict v{"acknowledged orders present"};
  for (const auto& op : h) {
    if (!op.Succeeded() || op.order_id.empty()) continue;
    if (op.kind == OpKind::kPlaceOrder) {
      ++v.checked;
      if (after.orders.count(op.order_id)) continue;
      bool within_rpo = o.region_lost_at_s && op.end_s > *o.region_lost_at_s - o.rpo_s;
      if (within_rpo) {
        ++v.tolerated;
        continue;
      }
      Violate(&v, o,
              "order " + op.order_id + " (key " + op.idempotency_key + ") acknowledged at " + Seconds(op.end_s) +
                  " is missing");
    } else if (op.kind == OpKind::kCancelOrder) {
      ++v.checked;
      auto it = after.orders.find(op.order_id);
      if (it == after.orders.end() || it->second.status == "cancelled") continue;  // a missing order is counted above
      bool within_rpo = o.region_lost_at_s && op.end_s > *o.region_lost_at_s - o.rpo_s;
      if (within_rpo) {
        ++v.tolerated;
        continue;
      }
      Violate(&v, o,
              "cancellation of " + op.order_id + " acknowledged at " + Seconds(op.end_s) +
                  " is lost: " + it->second.status);
    }
  }
  return v;
}

Verdict StockConserved(const DatabaseState& before, const DatabaseState& after, const CheckOptions& o) {
  Verdict v{"stock conserved per sku"};
  std::map<std::string, long long> held;  // sku -> units the run's orders hold now, net of releases
  for (const auto& [id, order] : after.orders) {
    auto prior = before.orders.find(id);
    bool held_before = prior != before.orders.end() && prior->second.status == "confirmed";
    bool holds_now = order.status == "confirmed";
    if (held_before == holds_now) continue;
    for (const auto& [sku, q] : order.lines) held[sku] += holds_now ? q : -q;
  }
  std::set<std::string> skus;
  for (const auto& [sku, s] : before.stock) skus.insert(sku);
  for (const auto& [sku, s] : after.stock) skus.insert(sku);
  for (const auto& sku : skus) {
    ++v.checked;
    auto b = before.stock.find(sku), a = after.stock.find(sku);
    if (a == after.stock.end()) {
      Violate(&v, o, sku + ": gone from the final stock");
      continue;
    }
    long long start = b == before.stock.end() ? 0 : b->second.Available();
    long long expected = start - held[sku];
    if (a->second.Available() < 0 || a->second.reserved > a->second.on_hand)
      Violate(&v, o,
              sku + ": oversold (on hand " + std::to_string(a->second.on_hand) + ", reserved " +
                  std::to_string(a->second.reserved) + ")");
    else if (a->second.Available() != expected)
      Violate(&v, o,
              sku + ": " + std::to_string(start) + " available at the start, orders hold " + std::to_string(held[sku]) +
                  ", so " + std::to_string(expected) + " expected; " + std::to_string(a->second.Available()) +
                  " at the end");
  }
  return v;
}

Verdict OneOrderPerKey(const std::vector<Operation>& h, const DatabaseState& after, const CheckOptions& o) {
  Verdict v{"one order per idempotency key"};
  std::map<std::string, std::set<std::string>> answered;  // key -> order ids answered with 2xx
  for (const auto& op : h)
    if (op.kind == OpKind::kPlaceOrder && op.Succeeded() && !op.idempotency_key.empty() && !op.order_id.empty())
      answered[op.idempotency_key].insert(op.order_id);
  std::set<std::string> keys;
  for (const auto& [k, ids] : answered) keys.insert(k);
  for (const auto& [k, ids] : after.keys_orders) keys.insert(k);
  for (const auto& k : keys) {
    ++v.checked;
    std::set<std::string> ids;
    if (auto it = answered.find(k); it != answered.end()) ids.insert(it->second.begin(), it->second.end());
    if (auto it = after.keys_orders.find(k); it != after.keys_orders.end())
      ids.insert(it->second.begin(), it->second.end());
    if (ids.size() > 1) {
      std::string list;
      for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
      Violate(&v, o, "key " + k + " made " + std::to_string(ids.size()) + " orders: " + list);
    }
  }
  return v;
}

Verdict TokenReadsSawTheirWrites(const std::vector<Operation>& h, const CheckOptions& o) {
  Verdict v{"token-bearing reads saw their writes"};
  for (const auto& op : h) {
    if (op.kind != OpKind::kReadOrder || op.token_sent.empty()) continue;
    if (op.status == 404) {
      ++v.checked;
      Violate(&v, o, "order " + op.order_id + " read with its token at " + Seconds(op.start_s) + ": 404");
      continue;
    }
    if (op.status != 200) continue;  // unavailable, not stale: counted in availability
    ++v.checked;
    if (!op.expected_status.empty() && op.observed_status != op.expected_status)
      Violate(&v, o,
              "order " + op.order_id + " read with its token at " + Seconds(op.start_s) + ": saw '" +
                  op.observed_status + "', its write left '" + op.expected_status + "'");
  }
  return v;
}

Verdict NoFencedWrites(const std::vector<Operation>& h, const CheckOptions& o) {
  Verdict v{"no write acknowledged by a fenced region"};
  for (const auto& op : h) {
    if (!op.IsWrite() || !op.Succeeded()) continue;
    ++v.checked;
    for (const auto& f : o.fenced)
      if (op.region == f.region && op.end_s >= f.from_s && op.end_s < f.to_s)
        Violate(&v, o,
                "region " + f.region + " acknowledged a write (order " + op.order_id + ") at " + Seconds(op.end_s) +
                    " while fenced from " + Seconds(f.from_s));
  }
  return v;
}

}  // namespace

bool CheckReport::AllKept() const {
  for (const auto& v : verdicts)
    if (!v.kept) return false;
  return true;
}

CheckReport Check(const std::vector<Operation>& history, const DatabaseState& before, const DatabaseState& after,
                  const CheckOptions& options) {
  CheckReport r;
  r.verdicts.push_back(AcknowledgedOrdersPresent(history, after, options));
  r.verdicts.push_back(StockConserved(before, after, options));
  r.verdicts.push_back(OneOrderPerKey(history, after, options));
  r.verdicts.push_back(TokenReadsSawTheirWrites(history, options));
  r.verdicts.push_back(NoFencedWrites(history, options));
  std::map<int, MinuteAvailability> minutes;
  std::map<std::tuple<std::string, int, std::string, std::string>, FailureGroup> failed;
  for (const auto& op : history) {
    auto& m = minutes[static_cast<int>(op.start_s / 60)];
    m.minute = static_cast<int>(op.start_s / 60);
    ++m.requests;
    if (op.Answered()) {
      ++m.succeeded;
      continue;
    }
    auto& g = failed[{KindName(op.kind), op.status, op.problem, op.served_by}];
    if (g.count++ == 0) {
      g = {KindName(op.kind), op.status, op.problem, op.served_by, 1, op.start_s, op.start_s};
      continue;
    }
    g.first_s = std::min(g.first_s, op.start_s);
    g.last_s = std::max(g.last_s, op.start_s);
  }
  for (const auto& [n, m] : minutes) r.availability.push_back(m);
  for (auto& [key, g] : failed) r.failures.push_back(std::move(g));
  std::stable_sort(r.failures.begin(), r.failures.end(),
                   [](const FailureGroup& a, const FailureGroup& b) { return a.count > b.count; });
  for (const auto& f : options.faults) {
    Recovery rec{f};
    // A fault's window ends at the horizon or at the next fault, whichever comes first: an outage the
    // next fault causes is that fault's.
    double until = f.at_s + options.recovery_horizon_s;
    for (const auto& g : options.faults)
      if (g.at_s > f.at_s) until = std::min(until, g.at_s);
    for (bool writes : {true, false}) {
      std::vector<double> done;  // completions of successful answers after the fault
      for (const auto& op : history)
        if (op.IsWrite() == writes && op.Succeeded() && op.end_s >= f.at_s && op.end_s <= until)
          done.push_back(op.end_s);
      std::sort(done.begin(), done.end());
      double previous = f.at_s, longest = -1, back = -1;
      for (double t : done) {
        if (t - previous > longest) {
          longest = t - previous;
          back = t - f.at_s;
        }
        previous = t;
      }
      (writes ? rec.write_outage_s : rec.read_outage_s) = longest;
      (writes ? rec.writes_back_s : rec.reads_back_s) = back;
    }
    r.recoveries.push_back(rec);
  }
  return r;
}

json::value ReportJson(const CheckReport& r) {
  json::array verdicts, availability, recoveries;
  for (const auto& v : r.verdicts) {
    json::array ex;
    for (const auto& e : v.examples) ex.push_back(json::string(e));
    verdicts.push_back({{"promise", v.promise},
                        {"kept", v.kept},
                        {"checked", v.checked},
                        {"violations", v.violations},
                        {"tolerated", v.tolerated},
                        {"examples", ex}});
  }
  for (const auto& m : r.availability)
    availability.push_back(
        {{"minute", m.minute}, {"requests", m.requests}, {"succeeded", m.succeeded}, {"ratio", m.Ratio()}});
  for (const auto& rec : r.recoveries)
    recoveries.push_back({{"fault", rec.fault.name},
                          {"kind", rec.fault.kind},
                          {"at_s", rec.fault.at_s},
                          {"write_outage_s", rec.write_outage_s},
                          {"writes_back_s", rec.writes_back_s},
                          {"read_outage_s", rec.read_outage_s},
                          {"reads_back_s", rec.reads_back_s}});
  json::array failures;
  for (const auto& g : r.failures)
    failures.push_back({{"kind", g.kind},
                        {"status", g.status},
                        {"problem", g.problem},
                        {"served_by", g.served_by},
                        {"count", g.count},
                        {"first_s", g.first_s},
                        {"last_s", g.last_s}});
  return {{"all_kept", r.AllKept()},
          {"verdicts", verdicts},
          {"availability", availability},
          {"recoveries", recoveries},
          {"failed_requests", failures}};
}

std::string FormatReport(const CheckReport& r) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-42s %-6s %9s %10s %9s\n", "PROMISE", "KEPT", "CHECKED", "VIOLATIONS",
                "TOLERATED");
  out += line;
  for (const auto& v : r.verdicts) {
    std::snprintf(line, sizeof line, "%-42s %-6s %9ld %10ld %9ld\n", v.promise.c_str(), v.kept ? "yes" : "NO",
                  v.checked, v.violations, v.tolerated);
    out += line;
    for (const auto& e : v.examples) out += "    ! " + e + "\n";
  }
  for (const auto& m : r.availability) {
    std::snprintf(line, sizeof line, "minute %3d: %7ld requests, %8.4f %% answered\n", m.minute, m.requests,
                  100.0 * m.Ratio());
    out += line;
  }
  for (const auto& rec : r.recoveries) {
    std::snprintf(line, sizeof line,
                  "%-24s at %7.1f s: writes out %5.1f s (back after %5.1f s), reads out %5.1f s (back after %5.1f s)\n",
                  rec.fault.name.c_str(), rec.fault.at_s, rec.write_outage_s, rec.writes_back_s, rec.read_outage_s,
                  rec.reads_back_s);
    out += line;
  }
  if (!r.failures.empty()) {
    std::snprintf(line, sizeof line, "%-13s %6s %6s %15s  %-16s %s\n", "FAILED", "STATUS", "COUNT", "BETWEEN (s)",
                  "SERVED BY", "PROBLEM");
    out += line;
    const std::size_t shown = std::min<std::size_t>(r.failures.size(), 15);
    for (std::size_t i = 0; i < shown; ++i) {
      const auto& g = r.failures[i];
      std::snprintf(line, sizeof line, "%-13s %6d %6ld %7.1f-%-7.1f  %-16s %s\n", g.kind.c_str(), g.status, g.count,
                    g.first_s, g.last_s, g.served_by.empty() ? "-" : g.served_by.c_str(),
                    g.problem.empty() ? "-" : g.problem.substr(0, 120).c_str());
      out += line;
    }
    if (shown < r.failures.size())
      out += "(" + std::to_string(r.failures.size() - shown) + " more groups in report.json)\n";
  }
  return out;
}

}  // namespace techmoda::ctl::gameday
