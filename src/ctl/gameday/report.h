// The game day's report: time series of the recorded history (throughput, errors, p50 and p99
// latency) drawn by gnuplot with the faults marked, a table of every objective beside the mandate and
// the measured value, and the checker's verdict on every safety property; as HTML and as JSON.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <vector>

#include "ctl/gameday/checker.h"
#include "ctl/gameday/scenario.h"
#include "techmoda/status.h"

namespace techmoda::ctl::gameday {

// Per bucket of `bucket_s` seconds (by intended start): answered 2xx per second, failed per second
// (non-2xx but 404 and 409, which are answers, plus no answer), and the p50 and p99 latency in ms.
struct Series {
  double bucket_s = 5;
  std::vector<double> t, ok_per_s, errors_per_s, p50_ms, p99_ms;
};
Series Bucketize(const std::vector<Operation>& history, double bucket_s);

// One objective, measured: the business mandate it serves (architecture.md, shown), the scenario's
// target (our aim, at least as strict; judged) and the measured value.
struct Objective {
  std::string name;      // "availability (whole run)", "RTO zone", ...
  std::string mandate;   // "99.99 % (of a month)", "< 30 min (aim 30 s)"
  std::string target;    // "99.00 %", "30 s"
  std::string measured;  // "99.95 %", "6.1 s", "not exercised"
  bool met = true;
};
// The business mandate behind an objective, from the architecture's table (mandate and our aim).
std::string MandateOf(std::string_view objective);
// The objectives from the checker's report and the scenario: availability per minute (the worst),
// the RPO (acknowledged orders lost, in seconds of writes), RTO per fault class (the longest write
// outage of its faults), the surge (availability while it ran).
std::vector<Objective> MeasureObjectives(const Scenario& s, const CheckReport& r,
                                         const std::vector<Operation>& history);

// gnuplot draws `series` with a vertical line per fault into `svg_path`.
Status Plot(const Series& series, const std::vector<Fault>& faults, const std::string& work_dir,
            const std::string& svg_path);

struct GamedayReport {
  Scenario scenario;
  std::string started_utc;
  double seconds = 0;
  std::vector<Fault> faults;
  CheckReport check;
  std::vector<Objective> objectives;
  Series series;
  std::vector<std::string> failed_steps;  // steps of the timeline whose command failed (the drill is void)
  bool Passed() const;                    // every step done, every objective met and every promise kept
};
boost::json::value ReportJson(const GamedayReport& r);
// The recorded history, one JSON object per line (kind, intended start, end, status, answering region,
// key, order id, whether a token was sent, the status expected and seen), for looking into a failure.
std::string HistoryJsonLines(const std::vector<Operation>& history);
// A self-contained HTML page: the verdict, the objectives table (id "objectives"), the promises
// table (id "promises"), the plot (inline SVG), the timeline.
std::string ReportHtml(const GamedayReport& r, const std::string& svg);

}  // namespace techmoda::ctl::gameday
