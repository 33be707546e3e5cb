#include "ctl/gameday/load.h"

#include <boost/json.hpp>
#include <map>

#include "common/http_client.h"

namespace json = boost::json;

namespace techmoda::ctl::gameday {

namespace {

using Clock = std::chrono::steady_clock;

// The region of an X-Served-By value ("a/a1/a1-1").
std::string RegionOf(const HttpResult& r) {
  auto v = r.Header("x-served-by");
  return v.substr(0, v.find('/'));
}

}  // namespace

OpenLoopLoad::OpenLoopLoad(LoadTarget target, Load load) : t_(std::move(target)), load_(load) {}

double OpenLoopLoad::Now() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }

void OpenLoopLoad::Start() {
  t0_ = Clock::now();
  stop_ = false;
  threads_.emplace_back([this] { Schedule(); });
  for (int i = 0; i < t_.workers; ++i) threads_.emplace_back([this, i] { Work(i); });
}

void OpenLoopLoad::Stop() {
  stop_ = true;
  cv_.NotifyAll();
  for (auto& th : threads_)
    if (th.joinable()) th.join();
  threads_.clear();
}

std::vector<Operation> OpenLoopLoad::History() const {
  MutexLock lock(mu_);
  return history_;
}

OpenLoopLoad::Counts OpenLoopLoad::Count() const {
  MutexLock lock(mu_);
  Counts c;
  c.started = started_;
  c.answered = static_cast<long>(history_.size());
  for (const auto& op : history_) c.succeeded += op.Succeeded();
  return c;
}

void OpenLoopLoad::Schedule() {
  // Exponential gaps (a Poisson process) at rate x factor: arrivals bunch as real ones do.
  std::mt19937 rng(t_.seed);
  const auto& m = load_.mix;
  std::discrete_distribution<int> pick({double(m.read_product), double(m.list), double(m.search), double(m.place_order),
                                        double(m.cancel_order), double(m.read_order)});
  const OpKind kinds[] = {OpKind::kReadProduct, OpKind::kList,        OpKind::kList,
                          OpKind::kPlaceOrder,  OpKind::kCancelOrder, OpKind::kReadOrder};
  double next = 0;
  while (!stop_) {
    double rate = load_.rate * factor_.load();
    next += std::exponential_distribution<double>(rate)(rng);
    while (!stop_ && Now() < next) std::this_thread::sleep_for(std::chrono::microseconds(500));
    if (stop_) break;
    int k = pick(rng);
    {
      MutexLock lock(mu_);
      queue_.push_back({kinds[k], next, k == 2});
    }
    cv_.NotifyOne();
  }
}

void OpenLoopLoad::Work(int worker) {
  std::mt19937 rng(t_.seed * 7919 + worker);
  while (true) {
    Planned p;
    {
      MutexLock lock(mu_);
      cv_.Wait(mu_, [&] {
        mu_.AssertHeld();
        return stop_ || !queue_.empty();
      });
      if (stop_) return;
      p = queue_.front();
      queue_.pop_front();
      ++started_;
    }
    Record(Run(p, rng));
  }
}

void OpenLoopLoad::Record(Operation op) {
  MutexLock lock(mu_);
  history_.push_back(std::move(op));
}

Operation OpenLoopLoad::Run(const Planned& p, std::mt19937& rng) {
  Operation op;
  op.kind = p.kind;
  op.start_s = p.start_s;
  const HttpHeaders client{{"Authorization", "Bearer " + t_.client_token}};
  auto pick = [&](const std::vector<std::string>& v) -> const std::string& { return v[rng() % v.size()]; };
  HttpResult r;
  switch (p.kind) {
    case OpKind::kReadProduct:
      r = HttpCall(t_.host, t_.port, "GET", "/v1/products/" + pick(t_.product_ids), "", {}, t_.timeout);
      break;
    case OpKind::kList:
      r = HttpCall(
          t_.host, t_.port, "GET",
          p.search && !t_.words.empty() ? "/v1/products?limit=20&q=" + pick(t_.words) : "/v1/products?limit=20", "", {},
          t_.timeout);
      break;
    case OpKind::kPlaceOrder: {
      op.idempotency_key = "gameday-" + std::to_string(t_.seed) + "-" + std::to_string(rng()) + "-" +
                           std::to_string(static_cast<long long>(op.start_s * 1e6));
      op.lines = {{pick(t_.skus), 1}};
      json::object body{{"customer_id", "c-" + std::to_string(rng() % std::max(1, load_.customers))},
                        {"lines", json::array{{{"sku", op.lines[0].first}, {"quantity", 1}}}}};
      auto headers = client;
      headers.emplace_back("Idempotency-Key", op.idempotency_key);
      r = HttpCall(t_.host, t_.port, "POST", "/v1/orders", json::serialize(body), headers, t_.timeout);
      if (r.status == 201) {
        auto doc = r.Json();
        if (doc.is_object() && doc.as_object().contains("id")) op.order_id = std::string(doc.at("id").as_string());
        MutexLock lock(mu_);
        orders_[op.order_id] = {op.lines, r.Header("x-consistency-token"), "confirmed"};
        confirmed_.push_back(op.order_id);
      }
      break;
    }
    case OpKind::kCancelOrder:
    case OpKind::kReadOrder: {
      // An order this run placed (and, for a cancellation, has not cancelled yet).
      std::string id;
      OrderState state;
      {
        MutexLock lock(mu_);
        if (!confirmed_.empty()) {
          std::size_t i = rng() % confirmed_.size();
          id = confirmed_[i];
          state = orders_[id];
          if (p.kind == OpKind::kCancelOrder) confirmed_.erase(confirmed_.begin() + static_cast<long>(i));
        }
      }
      if (id.empty()) {  // nothing to act on yet: a product read instead
        op.kind = OpKind::kReadProduct;
        r = HttpCall(t_.host, t_.port, "GET", "/v1/products/" + pick(t_.product_ids), "", {}, t_.timeout);
        break;
      }
      op.order_id = id;
      op.lines = state.lines;
      if (p.kind == OpKind::kCancelOrder) {
        op.idempotency_key = "gameday-cancel-" + id;
        auto headers = client;
        headers.emplace_back("Idempotency-Key", op.idempotency_key);
        r = HttpCall(t_.host, t_.port, "POST", "/v1/orders/" + id + "/cancel", "", headers, t_.timeout);
        MutexLock lock(mu_);
        if (r.status == 200)  // reads that follow expect it cancelled, with this write's token
          orders_[id] = {state.lines, r.Header("x-consistency-token"), "cancelled"};
        else if (r.status != 404)
          confirmed_.push_back(id);  // not cancelled: it may be cancelled later
      } else {
        auto headers = client;
        if (!state.token.empty() && std::uniform_real_distribution<double>(0, 1)(rng) < load_.token_reads) {
          headers.emplace_back("X-Consistency-Token", state.token);
          op.token_sent = state.token;
          op.expected_status = state.status;
        }
        r = HttpCall(t_.host, t_.port, "GET", "/v1/orders/" + id, "", headers, t_.timeout);
        if (r.status == 200) {
          auto doc = r.Json();
          if (doc.is_object() && doc.as_object().contains("status"))
            op.observed_status = std::string(doc.at("status").as_string());
        }
      }
      break;
    }
  }
  op.end_s = Now();
  op.status = r.status;
  op.region = RegionOf(r);
  if (!op.Succeeded()) {  // what a failure was, to look into it afterwards
    op.served_by = r.Header("x-served-by");
    auto doc = r.Json();  // a problem document names its type
    const auto* type = doc.is_object() ? doc.as_object().if_contains("type") : nullptr;
    op.problem = type && type->is_string() ? std::string(type->as_string()) : r.error;
  }
  return op;
}

}  // namespace techmoda::ctl::gameday
