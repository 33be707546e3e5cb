#include "tests/ha/workload.h"

#include <algorithm>
#include <boost/json.hpp>
#include <random>

#include "common/http_client.h"
#include "tests/system/harness.h"

namespace techmoda::test {

void Workload::Start() {
  t0_ = std::chrono::steady_clock::now();
  for (int i = 0; i < o_.readers; ++i) threads_.emplace_back([this, i] { Read(i); });
  for (int i = 0; i < o_.writers; ++i) threads_.emplace_back([this, i] { Write(i); });
}

void Workload::Stop() {
  stop_ = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

double Workload::Now() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count(); }

std::vector<Op> Workload::History() const {
  MutexLock lock(mu_);
  return history_;
}

int Workload::Acknowledged() const {
  MutexLock lock(mu_);
  return acknowledged_;
}

bool Workload::WaitForOrders(int more, std::chrono::seconds timeout) const {
  int want = Acknowledged() + more;
  return WaitFor([&] { return Acknowledged() >= want; }, timeout);
}

void Workload::Record(Op op) {
  MutexLock lock(mu_);
  acknowledged_ += op.kind == Op::Kind::kOrder && op.status == 201;
  history_.push_back(std::move(op));
}

void Workload::Read(int worker) {
  std::mt19937 rng(1000 + worker);
  while (!stop_) {
    Op op{Op::Kind::kRead};
    const auto& id = o_.product_ids[rng() % o_.product_ids.size()];
    op.start_s = Now();
    auto r = HttpCall(o_.host, o_.port, "GET", "/v1/products/" + id, "", {}, o_.client_timeout);
    op.end_s = Now();
    op.status = r.status;
    if (r.status != 200) op.error = r.error.empty() ? r.body.substr(0, 200) : r.error;
    Record(std::move(op));
    std::this_thread::sleep_for(o_.read_pause);
  }
}

void Workload::Write(int worker) {
  std::mt19937 rng(2000 + worker);
  for (int n = 0; !stop_; ++n) {
    Op op{Op::Kind::kOrder};
    op.sku = o_.skus[rng() % o_.skus.size()];
    op.quantity = 1;
    op.key = "drill-" + std::to_string(worker) + "-" + std::to_string(n) + "-" + std::to_string(rng());
    boost::json::object body{{"customer_id", "drill-" + std::to_string(worker)},
                             {"lines", boost::json::array{{{"sku", op.sku}, {"quantity", op.quantity}}}}};
    op.start_s = Now();
    HttpHeaders headers{{"Authorization", "Bearer " + o_.client_token}, {"Idempotency-Key", op.key}};
    if (o_.request_timeout_s > 0) headers.push_back({"Request-Timeout", std::to_string(o_.request_timeout_s)});
    auto r = HttpCall(o_.host, o_.port, "POST", "/v1/orders", boost::json::serialize(body), headers, o_.client_timeout);
    op.end_s = Now();
    op.status = r.status;
    if (r.status == 201) {
      auto j = r.Json();
      if (j.is_object() && j.as_object().contains("id")) op.order_id = std::string(j.at("id").as_string());
    } else {
      op.error = r.error.empty() ? r.body.substr(0, 300) : r.error;
    }
    Record(std::move(op));
    std::this_thread::sleep_for(o_.write_pause);
  }
}

DrillFigures Measure(const std::vector<Op>& history, double fault_s) {
  DrillFigures f;
  std::vector<double> ok_ends;
  for (const auto& op : history) {
    if (op.kind == Op::Kind::kRead) {
      ++f.reads;
      if (op.status != 200) {
        ++f.read_failures;
        if (f.error_samples.size() < 5) f.error_samples.push_back("read " + std::to_string(op.status) + " " + op.error);
      }
      continue;
    }
    ++f.orders;
    f.max_order_latency_s = std::max(f.max_order_latency_s, op.end_s - op.start_s);
    if (op.status == 201) {
      ++f.orders_ok;
      ok_ends.push_back(op.end_s);
    } else {
      ++f.order_errors;
      if (f.error_samples.size() < 10) f.error_samples.push_back("order " + std::to_string(op.status) + " " + op.error);
    }
  }
  std::sort(ok_ends.begin(), ok_ends.end());
  double last = fault_s;
  for (double e : ok_ends) {
    if (e < fault_s) continue;
    f.write_window_s = std::max(f.write_window_s, e - last);
    last = e;
  }
  return f;
}

}  // namespace techmoda::test
