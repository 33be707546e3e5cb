// The game day's open-loop load: operations start on a schedule (rate x factor per second) whatever
// the answers, so a slow or failing service shows as latency and errors instead of as less load (no
// coordinated omission). Every operation is recorded as the checker reads it (intended start, end,
// status, the region that answered, order ids, lines, tokens).
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ctl/gameday/checker.h"
#include "ctl/gameday/scenario.h"
#include "techmoda/mutex.h"

namespace techmoda::ctl::gameday {

struct LoadTarget {
  std::string host;
  unsigned short port = 0;
  std::string client_token;
  std::vector<std::string> product_ids;  // to read
  std::vector<std::string> skus;         // to order (one unit each)
  std::vector<std::string> words;        // to search for
  int workers = 512;  // requests in flight at most (enough that writes stalled for 20 s do not hold reads back)
  std::chrono::milliseconds timeout{35000};
  unsigned seed = 1;
};

class OpenLoopLoad {
 public:
  OpenLoopLoad(LoadTarget target, Load load);
  ~OpenLoopLoad() { Stop(); }
  void Start();
  void Stop();
  // Multiplies the rate (a surge: 10 for ten times the load); 1 is the scenario's rate.
  void SetFactor(double factor) { factor_.store(factor); }
  double Now() const;  // seconds since Start
  std::vector<Operation> History() const;
  // Counts for progress lines: started, answered, answered 2xx.
  struct Counts {
    long started = 0, answered = 0, succeeded = 0;
  };
  Counts Count() const;

 private:
  struct Planned {
    OpKind kind;
    double start_s;
    bool search = false;  // a listing with a full-text query
  };
  void Schedule();
  void Work(int worker);
  Operation Run(const Planned& p, std::mt19937& rng);
  void Record(Operation op);

  LoadTarget t_;
  Load load_;
  std::chrono::steady_clock::time_point t0_;
  std::atomic<double> factor_{1};
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  mutable Mutex mu_;
  CondVar cv_;
  std::deque<Planned> queue_ GUARDED_BY(mu_);
  std::vector<Operation> history_ GUARDED_BY(mu_);
  // The orders this run placed: the token of their last acknowledged write and the status it left.
  struct OrderState {
    std::vector<std::pair<std::string, int>> lines;
    std::string token, status;
  };
  std::map<std::string, OrderState> orders_ GUARDED_BY(mu_);
  std::vector<std::string> confirmed_ GUARDED_BY(mu_);  // ids of orders placed and not cancelled
  long started_ GUARDED_BY(mu_) = 0;
};

}  // namespace techmoda::ctl::gameday
