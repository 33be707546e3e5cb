#include "ctl/gameday/report.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "common/process.h"

namespace json = boost::json;

namespace techmoda::ctl::gameday {

namespace {

// An answer the service gave on purpose (not found, conflict such as out of stock) is not an error.
bool IsError(const Operation& op) { return !op.Succeeded() && op.status != 404 && op.status != 409; }

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

Series Bucketize(const std::vector<Operation>& history, double bucket_s) {
  Series s;
  s.bucket_s = bucket_s;
  double end = 0;
  for (const auto& op : history) end = std::max(end, op.start_s);
  auto n = static_cast<std::size_t>(end / bucket_s) + 1;
  std::vector<long> ok(n), err(n);
  std::vector<std::vector<double>> lat(n);
  for (const auto& op : history) {
    auto b = static_cast<std::size_t>(op.start_s / bucket_s);
    if (b >= n) continue;
    if (IsError(op))
      ++err[b];
    else
      ++ok[b];
    if (op.status != 0) lat[b].push_back((op.end_s - op.start_s) * 1000);
  }
  for (std::size_t b = 0; b < n && !history.empty(); ++b) {
    s.t.push_back(static_cast<double>(b) * bucket_s);
    s.ok_per_s.push_back(static_cast<double>(ok[b]) / bucket_s);
    s.errors_per_s.push_back(static_cast<double>(err[b]) / bucket_s);
    s.p50_ms.push_back(Percentile(lat[b], 0.5));
    s.p99_ms.push_back(Percentile(lat[b], 0.99));
  }
  return s;
}

std::string MandateOf(std::string_view objective) {
  if (objective == "availability") return "99.99 % (of a month)";
  if (objective == "rpo") return "< 15 min (aim: 0 on a zone's loss, < 1 s on a region's)";
  if (objective == "zone" || objective == "database") return "< 30 min (aim 30 s)";
  if (objective == "region") return "< 30 min (aim 60 s)";
  if (objective == "deploy") return "< 30 min (aim 5 min)";
  if (objective == "surge") return "10x normal without errors";
  return "-";
}

std::vector<Objective> MeasureObjectives(const Scenario& s, const CheckReport& r,
                                         const std::vector<Operation>& history) {
  std::vector<Objective> out;
  const auto& obj = s.objectives;
  // Availability over the whole run (the objective), and the worst minute (shown: a minute that loses a
  // region cannot meet a month's objective by itself, and is not asked to).
  double worst = 1;
  int worst_minute = 0;
  long all = 0, answered = 0;
  for (const auto& m : r.availability) {
    all += m.requests;
    answered += m.succeeded;
    if (m.Ratio() < worst) worst = m.Ratio(), worst_minute = m.minute;
  }
  double overall = all ? static_cast<double>(answered) / static_cast<double>(all) : 1;
  out.push_back({"availability (whole run)", MandateOf("availability"), Fixed(obj.availability * 100, 2) + " %",
                 Fixed(overall * 100, 2) + " % of " + std::to_string(all) + " requests", overall >= obj.availability});
  out.push_back({"availability (worst minute: minute " + std::to_string(worst_minute) + ")", "-", "shown, not judged",
                 Fixed(worst * 100, 2) + " %", true});
  // Against the mandate itself: the failed requests as seconds of a full outage at the run's mean rate,
  // beside what 99.99 % of a 30-day month allows (259 s). A game day packs a bad month into minutes.
  if (all > 0 && s.duration_s > 0) {
    double equivalent = static_cast<double>(all - answered) * s.duration_s / static_cast<double>(all);
    const double month_budget = (1 - 0.9999) * 30 * 86400;
    out.push_back({"downtime (failed requests as seconds of a full outage)", MandateOf("availability"),
                   "<= " + Fixed(month_budget, 0) + " s (the month's budget)",
                   Fixed(equivalent, 1) + " s (" + std::to_string(all - answered) + " failed)",
                   equivalent <= month_budget});
  }
  // RPO: acknowledged orders missing (tolerated only within rpo_s before a region loss).
  for (const auto& v : r.verdicts)
    if (v.promise == "acknowledged orders present")
      out.push_back(
          {"RPO (acknowledged orders lost)", MandateOf("rpo"), "within " + Fixed(obj.rpo_s, 0) + " s of writes",
           std::to_string(v.tolerated + v.violations) + " lost, " + std::to_string(v.violations) + " beyond the RPO",
           v.violations == 0});
  // RTO per class: the longest write outage after a fault of that class.
  for (const auto& [cls, limit] : obj.rto_s) {
    double longest = -2;  // -2: no fault of the class; -1: writes never came back
    for (const auto& rec : r.recoveries)
      if (rec.fault.kind == cls) longest = rec.write_outage_s < 0 ? -1 : std::max(longest, rec.write_outage_s);
    out.push_back({"RTO " + cls, MandateOf(cls), Fixed(limit, 0) + " s",
                   longest == -2   ? "not exercised"
                   : longest == -1 ? "writes never came back"
                                   : Fixed(longest, 1) + " s",
                   longest != -1 && longest <= limit});
  }
  // The surge: availability while it ran.
  for (const auto& st : s.timeline)
    if (st.action == "surge") {
      long all = 0, ok = 0;
      for (const auto& op : history)
        if (op.start_s >= st.at_s && op.start_s < st.at_s + st.for_s) ++all, ok += !IsError(op);
      double ratio = all ? static_cast<double>(ok) / static_cast<double>(all) : 1;
      out.push_back({"surge x" + Fixed(st.factor, 0) + " (availability while it ran)", MandateOf("surge"),
                     Fixed(obj.availability * 100, 2) + " %",
                     Fixed(ratio * 100, 2) + " % of " + std::to_string(all) + " requests", ratio >= obj.availability});
    }
  return out;
}

Status Plot(const Series& series, const std::vector<Fault>& faults, const std::string& work_dir,
            const std::string& svg_path) {
  std::string data = work_dir + "/series.dat", script = work_dir + "/plot.gp";
  {
    std::ofstream d(data);
    d << "# t ok_per_s errors_per_s p50_ms p99_ms\n";
    for (std::size_t i = 0; i < series.t.size(); ++i)
      d << series.t[i] << ' ' << series.ok_per_s[i] << ' ' << series.errors_per_s[i] << ' ' << series.p50_ms[i] << ' '
        << series.p99_ms[i] << '\n';
  }
  std::string marks;
  int n = 0;
  for (const auto& f : faults) {
    marks += "set arrow " + std::to_string(++n) + " from " + Fixed(f.at_s, 1) + ", graph 0 to " + Fixed(f.at_s, 1) +
             ", graph 1 nohead dashtype 2 linecolor rgb '#888888'\n";
    std::string label = f.name;
    for (auto& c : label)
      if (c == '"' || c == '\\') c = '\'';
    marks += "set label " + std::to_string(n) + " \"" + label + "\" at " + Fixed(f.at_s, 1) +
             ", graph 0.98 rotate by 90 right font ',8' textcolor rgb '#555555'\n";
  }
  {
    std::ofstream g(script);
    g << "set terminal svg size 1100,700 dynamic font 'sans,10'\n"
      << "set output '" << svg_path << "'\n"
      << "set multiplot layout 2,1\n"
      << "set xlabel 'seconds since the start'\n"
      << "set grid\n"
      << marks << "set ylabel 'requests per second'\n"
      << "set title 'throughput and errors (per " << series.bucket_s << " s)'\n"
      << "plot '" << data << "' using 1:2 with lines linewidth 2 title 'answered', '" << data
      << "' using 1:3 with lines linewidth 2 linecolor rgb '#d62728' title 'errors'\n"
      << "set ylabel 'latency (ms)'\n"
      << "set logscale y\n"
      << "set title 'latency from the intended start (open loop)'\n"
      << "plot '" << data << "' using 1:($4 > 0 ? $4 : 1/0) with lines linewidth 2 title 'p50', '" << data
      << "' using 1:($5 > 0 ? $5 : 1/0) with lines linewidth 2 title 'p99'\n"
      << "unset multiplot\n";
  }
  std::string out;
  if (RunCapture({"/usr/bin/gnuplot", script}, &out) != 0)
    return Status::Internal("gnuplot failed (is gnuplot-nox installed? scripts/deps.sh installs it): " + out);
  return Status::Ok();
}

bool GamedayReport::Passed() const {
  if (!failed_steps.empty() || !check.AllKept()) return false;
  for (const auto& o : objectives)
    if (!o.met) return false;
  return true;
}

json::value ReportJson(const GamedayReport& r) {
  json::array objectives, faults, failed_steps;
  for (const auto& f : r.failed_steps) failed_steps.emplace_back(f);
  for (const auto& o : r.objectives)
    objectives.push_back({{"objective", o.name},
                          {"mandate", o.mandate},
                          {"target", o.target},
                          {"measured", o.measured},
                          {"met", o.met}});
  for (const auto& f : r.faults) faults.push_back({{"name", f.name}, {"at_s", f.at_s}, {"kind", f.kind}});
  json::object series{{"bucket_s", r.series.bucket_s},
                      {"t", json::value_from(r.series.t)},
                      {"ok_per_s", json::value_from(r.series.ok_per_s)},
                      {"errors_per_s", json::value_from(r.series.errors_per_s)},
                      {"p50_ms", json::value_from(r.series.p50_ms)},
                      {"p99_ms", json::value_from(r.series.p99_ms)}};
  return {{"scenario", r.scenario.name}, {"started_utc", r.started_utc}, {"seconds", r.seconds}, {"passed", r.Passed()},
          {"objectives", objectives},    {"check", ReportJson(r.check)}, {"faults", faults},     {"series", series},
          {"failed_steps", failed_steps}};
}

std::string HistoryJsonLines(const std::vector<Operation>& history) {
  std::string out;
  for (const auto& op : history) {
    json::object o{{"kind", KindName(op.kind)}, {"start_s", op.start_s}, {"end_s", op.end_s}, {"status", op.status}};
    if (!op.region.empty()) o["region"] = op.region;
    if (!op.served_by.empty()) o["served_by"] = op.served_by;
    if (!op.problem.empty()) o["problem"] = op.problem;
    if (!op.idempotency_key.empty()) o["idempotency_key"] = op.idempotency_key;
    if (!op.order_id.empty()) o["order_id"] = op.order_id;
    if (!op.token_sent.empty()) {
      o["token_sent"] = true;
      o["expected_status"] = op.expected_status;
      o["observed_status"] = op.observed_status;
    }
    out += json::serialize(o) + "\n";
  }
  return out;
}

std::string ReportHtml(const GamedayReport& r, const std::string& svg) {
  std::string html =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Game day: " + Escape(r.scenario.name) +
      "</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:1150px}table{border-collapse:collapse;"
      "margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}.met{color:#1a7f37;font-weight:bold}"
      ".missed{color:#cf222e;font-weight:bold}</style></head><body>\n<h1>Game day: " +
      Escape(r.scenario.name) + "</h1>\n<p id=\"verdict\" class=\"" + (r.Passed() ? "met" : "missed") + "\">" +
      (r.Passed() ? "PASSED: every objective met, every promise kept"
       : r.failed_steps.empty()
           ? "FAILED: see the tables"
           : "FAILED: " + std::to_string(r.failed_steps.size()) + " step(s) of the timeline failed; see the timeline") +
      "</p>\n<p>Started " + Escape(r.started_utc) + ", " + Fixed(r.seconds, 0) + " s of load.</p>\n";
  html +=
      "<h2>Objectives</h2>\n<table id=\"objectives\"><tr><th>objective</th><th>business mandate</th>"
      "<th>game day target</th><th>measured</th>"
      "<th>verdict</th></tr>\n";
  for (const auto& o : r.objectives)
    html += "<tr><td>" + Escape(o.name) + "</td><td>" + Escape(o.mandate) + "</td><td>" + Escape(o.target) +
            "</td><td>" + Escape(o.measured) + "</td><td class=\"" + (o.met ? "met\">met" : "missed\">missed") +
            "</td></tr>\n";
  html +=
      "</table>\n<h2>Safety properties</h2>\n<table id=\"promises\"><tr><th>promise</th><th>checked</th>"
      "<th>violations</th><th>tolerated</th><th>verdict</th></tr>\n";
  for (const auto& v : r.check.verdicts) {
    std::string examples;
    for (const auto& e : v.examples) examples += "<br><small>" + Escape(e) + "</small>";
    html += "<tr><td>" + Escape(v.promise) + examples + "</td><td>" + std::to_string(v.checked) + "</td><td>" +
            std::to_string(v.violations) + "</td><td>" + std::to_string(v.tolerated) + "</td><td class=\"" +
            (v.kept ? "met\">kept" : "missed\">broken") + "</td></tr>\n";
  }
  html += "</table>\n<h2>Over time</h2>\n" + svg +
          "\n<h2>Timeline</h2>\n<table id=\"timeline\"><tr><th>at</th>"
          "<th>step</th></tr>\n";
  for (const auto& f : r.faults)
    html += "<tr><td>" + Fixed(f.at_s, 1) + " s</td><td>" + Escape(f.name) + "</td></tr>\n";
  html +=
      "</table>\n<h2>Recovery after each fault</h2>\n<table id=\"recoveries\"><tr><th>fault</th><th>write "
      "outage</th><th>read outage</th></tr>\n";
  for (const auto& rec : r.check.recoveries)
    html += "<tr><td>" + Escape(rec.fault.name) + "</td><td>" +
            (rec.write_outage_s < 0 ? std::string("never back") : Fixed(rec.write_outage_s, 1) + " s") + "</td><td>" +
            (rec.read_outage_s < 0 ? std::string("never back") : Fixed(rec.read_outage_s, 1) + " s") + "</td></tr>\n";
  html += "</table>\n</body></html>\n";
  return html;
}

}  // namespace techmoda::ctl::gameday
