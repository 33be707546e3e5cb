// The game day's checker: it reads the history a workload recorded (every operation with its
// intended start, end, outcome, order id and consistency token) and the database's final state, and
// rules on every promise of shared/architecture.md:
//   1. every acknowledged order is present (or missing only within the allowed RPO after a region loss);
//   2. stock is conserved per sku: available at the start, minus what confirmed orders of the run hold,
//      equals available at the end, and never goes below zero;
//   3. one idempotency key never makes two orders;
//   4. a read that carried a consistency token saw the write it named;
//   5. no write was acknowledged by a region while it was fenced;
// and reports availability per minute and the recovery time after each fault.
// Pure: histories and states in, verdicts out; unit tests plant violations and see each one caught.
#pragma once

#include <boost/json/value.hpp>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace techmoda::ctl::gameday {

enum class OpKind { kReadProduct, kList, kPlaceOrder, kCancelOrder, kReadOrder };
const char* KindName(OpKind kind);  // "read_product", "list", "place_order", "cancel_order", "read_order"

struct Operation {
  OpKind kind = OpKind::kReadProduct;
  double start_s = 0;     // intended start (open loop), seconds since the run began
  double end_s = 0;       // answer received (or given up)
  int status = 0;         // HTTP status; 0: no answer
  std::string region;     // the region that answered (X-Served-By), if any
  std::string served_by;  // a failed answer: who gave it (X-Served-By: "a/a3/a3-1", "a/haproxy"; "" for none)
  std::string problem;    // a failed answer: its problem type ("/problems/overloaded"), or the client's error
  std::string idempotency_key;
  std::string order_id;                            // the order placed, cancelled or read
  std::vector<std::pair<std::string, int>> lines;  // orders: sku and quantity
  std::string token_sent;                          // X-Consistency-Token the request carried
  std::string expected_status;                     // reads with a token: the order status the writer left
  std::string observed_status;                     // what the read saw ("" when not 200)
  bool IsWrite() const { return kind == OpKind::kPlaceOrder || kind == OpKind::kCancelOrder; }
  bool Succeeded() const { return status >= 200 && status < 300; }
  // The service answered: below 500 (a 404, a 409 for no stock, a 429 over a client's rate are
  // answers); a 5xx or no answer is the service failing, counted against availability.
  bool Answered() const { return status != 0 && status < 500; }
};

struct StoredOrder {
  std::string status;  // confirmed or cancelled
  std::vector<std::pair<std::string, int>> lines;
};

struct Stock {
  long long on_hand = 0;
  long long reserved = 0;
  long long Available() const { return on_hand - reserved; }
};

struct DatabaseState {
  std::map<std::string, StoredOrder> orders;                    // order id -> order (orders of the run)
  std::map<std::string, Stock> stock;                           // sku -> stock
  std::map<std::string, std::vector<std::string>> keys_orders;  // idempotency key -> order ids it made
};

struct Fault {
  std::string name;  // "zone a1 killed"
  double at_s = 0;
  std::string kind;  // zone, region, database, deploy, surge: the RTO class
};

// A region that lost its lease: it must not acknowledge a write within [from_s, to_s).
struct FencedInterval {
  std::string region;
  double from_s = 0, to_s = 0;
};

struct CheckOptions {
  // After a region loss at `region_lost_at_s`, orders acknowledged up to `rpo_s` before it may be missing.
  std::optional<double> region_lost_at_s;
  double rpo_s = 0;
  std::vector<FencedInterval> fenced;
  std::vector<Fault> faults;
  double recovery_horizon_s = 300;
  int max_examples = 5;
};

struct Verdict {
  std::string promise;  // "acknowledged orders present", ...
  bool kept = true;
  long checked = 0;  // how many things were checked
  long violations = 0;
  long tolerated = 0;  // allowed exceptions (orders lost within the RPO)
  std::vector<std::string> examples;
};

struct MinuteAvailability {
  int minute = 0;
  long requests = 0, succeeded = 0;
  double Ratio() const { return requests ? static_cast<double>(succeeded) / requests : 1.0; }
};

// How long the service was out after a fault: the longest stretch without a successful answer
// (the fault's time opening the first stretch) within CheckOptions::recovery_horizon_s or until the
// next fault, whichever is sooner, and when
// answers were back, counted from the fault. -1: nothing succeeded after the fault.
struct Recovery {
  Fault fault;
  double write_outage_s = -1, writes_back_s = -1;
  double read_outage_s = -1, reads_back_s = -1;
};

// Requests the service failed (not Answered), grouped by what they were and what they got, to see
// where availability went: which fault, which kind of request, which answer from which instance.
struct FailureGroup {
  std::string kind;       // "place_order", ...
  int status = 0;         // 0: no answer
  std::string problem;    // the problem type, or the client's error
  std::string served_by;  // the instance or proxy that answered ("" for none)
  long count = 0;
  double first_s = 0, last_s = 0;  // intended starts of the first and last
};

struct CheckReport {
  std::vector<Verdict> verdicts;
  std::vector<MinuteAvailability> availability;
  std::vector<Recovery> recoveries;
  std::vector<FailureGroup> failures;  // most first
  bool AllKept() const;
};

CheckReport Check(const std::vector<Operation>& history, const DatabaseState& before, const DatabaseState& after,
                  const CheckOptions& options);

boost::json::value ReportJson(const CheckReport& r);
// A terminal table: one line per promise, then availability, recoveries and the failed requests.
std::string FormatReport(const CheckReport& r);

}  // namespace techmoda::ctl::gameday
