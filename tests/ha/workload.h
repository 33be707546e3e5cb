// A closed-loop mixed workload against the API (product reads and orders with distinct
// idempotency keys) that records every operation, for the drills to judge afterwards.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "techmoda/mutex.h"

namespace techmoda::test {

struct Op {
  enum class Kind { kRead, kOrder };
  Kind kind;
  double start_s = 0;  // seconds since the workload started
  double end_s = 0;
  int status = 0;  // 0: no answer (connection failed)
  std::string error;
  std::string key;       // the order's Idempotency-Key
  std::string order_id;  // from a 201
  std::string sku;
  int quantity = 0;
};

struct WorkloadOptions {
  std::string host;
  unsigned short port = 0;
  std::string client_token;
  std::vector<std::string> product_ids;
  std::vector<std::string> skus;  // orders take one unit of one of these
  int readers = 3;
  int writers = 3;
  std::chrono::milliseconds read_pause{5};
  std::chrono::milliseconds write_pause{20};
  std::chrono::seconds client_timeout{60};  // longer than catalogd's write deadline
  int request_timeout_s = 0;                // > 0: orders carry `Request-Timeout: N` (catalogd's deadline for them)
};

class Workload {
 public:
  explicit Workload(WorkloadOptions o) : o_(std::move(o)) {}
  ~Workload() { Stop(); }
  void Start();
  void Stop();
  double Now() const;
  std::vector<Op> History() const;
  // Orders acknowledged (201) so far.
  int Acknowledged() const;
  // Polls until `more` orders beyond those acknowledged now have been acknowledged, or `timeout`
  // passes; true when they were. What a drill waits for before (and after) its fault.
  bool WaitForOrders(int more, std::chrono::seconds timeout) const;

 private:
  void Read(int worker);
  void Write(int worker);
  void Record(Op op);
  WorkloadOptions o_;
  std::chrono::steady_clock::time_point t0_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  mutable Mutex mu_;
  std::vector<Op> history_ GUARDED_BY(mu_);
  int acknowledged_ GUARDED_BY(mu_) = 0;
};

// What a drill measured from a history, around a fault at `fault_s`.
struct DrillFigures {
  int reads = 0, read_failures = 0;
  int orders = 0, orders_ok = 0, order_errors = 0;
  double write_window_s = 0;  // the longest time without a successful order completing, from the fault on
  double max_order_latency_s = 0;
  std::vector<std::string> error_samples;
};
DrillFigures Measure(const std::vector<Op>& history, double fault_s);

}  // namespace techmoda::test
