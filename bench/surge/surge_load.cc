// surge_load: the open-loop load generator of the surge benchmark (bench/surge/run).
//
// Requests are sent at a constant arrival rate per phase, whatever the server does: a slow server
// does not slow the arrivals (no coordinated omission), and every latency is measured from the
// moment the request was meant to be sent. Debian has no open-loop generator that reports shed
// requests and goodput per second (wrk and hey are closed-loop), so this is one, on Boost.Beast.
//
// Mix: 80 % product reads, 15 % listings and searches, 5 % orders (client token, Idempotency-Key).
// Per second it prints: offered, answered, goodput (2xx), shed (503 overloaded), errors, p50 and
// p99 of admitted (2xx) requests, orders ok/sent, and the catalogd instances HAProxy has up.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Phase {
  double multiple;  // of the normal rate
  int seconds;
};

enum class Kind { kProduct, kList, kOrder };

struct Second {
  long offered = 0, answered = 0, ok = 0, shed = 0, limited = 0, errors = 0;
  long orders = 0, orders_ok = 0;
  int instances = -1;
  std::vector<float> latency_ms;  // admitted (2xx) requests
};

double Percentile(std::vector<float> v, double q) {
  if (v.empty()) return 0;
  auto k = static_cast<std::size_t>(q * (v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

// HAProxy's servers of backend `catalogd` that are UP, from its stats socket (-1: no answer).
int InstancesUp(const std::string& socket_path) {
  if (socket_path.empty()) return -1;
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", socket_path.c_str());
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  std::string cmd = "show stat\n", out;
  if (write(fd, cmd.data(), cmd.size()) < 0) {
    close(fd);
    return -1;
  }
  char buf[8192];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  close(fd);
  int up = 0;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("catalogd,", 0) == 0 && line.find(",BACKEND,") == std::string::npos &&
        line.find(",UP,") != std::string::npos)
      ++up;
  return up;
}

class Generator {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    unsigned short port = 8080;
    std::string client_token;
    double rate = 100;
    std::vector<Phase> phases;
    int max_connections = 5000;  // under the API frontend's maxconn (6000)
    int timeout_ms = 10000;
    std::string haproxy_socket;
    std::vector<std::pair<std::string, std::string>> products;  // id, sku
  };

  explicit Generator(Options o) : o_(std::move(o)), tick_(ioc_), report_(ioc_), rng_(42) {
    endpoint_ = tcp::endpoint(net::ip::make_address(o_.host), o_.port);
    for (const auto& p : o_.phases) total_seconds_ += p.seconds;
  }

  std::map<long, Second>& Run() {
    start_ = Clock::now();
    next_ = start_;
    Tick();
    Report();
    ioc_.run();
    return seconds_;
  }

  double RateAt(double t) const {
    double acc = 0;
    for (const auto& p : o_.phases) {
      if (t < acc + p.seconds) return o_.rate * p.multiple;
      acc += p.seconds;
    }
    return 0;
  }

 private:
  struct Request {
    Kind kind;
    Clock::time_point intended;
    long second;
    std::string target, body, key;
  };
  struct Conn {
    explicit Conn(net::io_context& ioc) : stream(ioc) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
    bool connected = false;
  };

  double Elapsed(Clock::time_point t) const { return std::chrono::duration<double>(t - start_).count(); }

  void Tick() {
    auto now = Clock::now();
    // Every request whose intended time has come, at the phase's rate.
    while (next_ <= now && !done_scheduling_) {
      double t = Elapsed(next_);
      double rate = RateAt(t);
      if (rate <= 0) {
        done_scheduling_ = true;
        break;
      }
      Dispatch(MakeRequest(next_, static_cast<long>(t)));
      next_ += std::chrono::nanoseconds(static_cast<long long>(1e9 / rate));
    }
    if (done_scheduling_ && in_flight_ == 0 && pending_.empty()) {
      report_.cancel();
      return;
    }
    tick_.expires_after(std::chrono::microseconds(500));
    tick_.async_wait([this](beast::error_code) { Tick(); });
  }

  Request MakeRequest(Clock::time_point intended, long second) {
    Request r;
    r.intended = intended;
    r.second = second;
    seconds_[second].offered++;
    double draw = std::uniform_real_distribution<double>(0, 1)(rng_);
    const auto& p = o_.products[std::uniform_int_distribution<std::size_t>(0, o_.products.size() - 1)(rng_)];
    static const char* kWords[] = {"linen", "cotton", "wool", "dress", "shirt", "jacket", "sneaker", "coat"};
    static const char* kCategories[] = {"women/dresses", "women/tops", "men/shirts", "men/jackets", "women/shoes"};
    if (draw < 0.80) {
      r.kind = Kind::kProduct;
      r.target = "/v1/products/" + p.first;
    } else if (draw < 0.95) {
      r.kind = Kind::kList;
      r.target = draw < 0.875 ? std::string("/v1/products?limit=20&q=") + kWords[rng_() % 8]
                              : std::string("/v1/products?limit=20&category=") + kCategories[rng_() % 5];
    } else {
      r.kind = Kind::kOrder;
      r.target = "/v1/orders";
      r.key = "surge-" + std::to_string(++order_seq_) + "-" + std::to_string(start_.time_since_epoch().count());
      r.body = R"({"customer_id":"surge-)" + std::to_string(order_seq_ % 5000) + R"(","lines":[{"sku":")" + p.second +
               R"(","quantity":1}]})";
      seconds_[second].orders++;
    }
    return r;
  }

  void Dispatch(Request r) {
    if (!idle_.empty()) {
      auto c = idle_.back();
      idle_.pop_back();
      return Send(c, std::move(r));
    }
    if (open_ < o_.max_connections) {
      ++open_;
      auto c = std::make_shared<Conn>(ioc_);
      return Send(c, std::move(r));
    }
    pending_.push_back(std::move(r));  // waits for a connection; its latency counts from `intended`
  }

  void Send(const std::shared_ptr<Conn>& c, Request r) {
    ++in_flight_;
    auto left = std::chrono::milliseconds(o_.timeout_ms) -
                std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - r.intended);
    if (left.count() <= 0) {
      --in_flight_;
      Finish(r, 0, "");
      return Release(c, !c->connected);
    }
    c->stream.expires_after(left);
    c->req = {};
    c->req.method(r.kind == Kind::kOrder ? http::verb::post : http::verb::get);
    c->req.target(r.target);
    c->req.version(11);
    c->req.set(http::field::host, o_.host);
    c->req.keep_alive(true);
    if (r.kind == Kind::kOrder) {
      c->req.set(http::field::authorization, "Bearer " + o_.client_token);
      c->req.set("Idempotency-Key", r.key);
      c->req.set(http::field::content_type, "application/json");
      c->req.body() = r.body;
      c->req.prepare_payload();
    }
    auto req = std::make_shared<Request>(std::move(r));
    auto write = [this, c, req] {
      http::async_write(c->stream, c->req, [this, c, req](beast::error_code ec, std::size_t) {
        if (ec) return Failed(c, *req);
        c->res = {};
        http::async_read(c->stream, c->buffer, c->res, [this, c, req](beast::error_code ec2, std::size_t) {
          if (ec2) return Failed(c, *req);
          --in_flight_;
          Finish(*req, c->res.result_int(), c->res.body());
          Release(c, !c->res.keep_alive());
        });
      });
    };
    if (c->connected) return write();
    c->stream.async_connect(endpoint_, [this, c, req, write](beast::error_code ec) {
      if (ec) return Failed(c, *req);
      c->connected = true;
      c->stream.socket().set_option(tcp::no_delay(true));
      write();
    });
  }

  void Failed(const std::shared_ptr<Conn>& c, const Request& r) {
    --in_flight_;
    Finish(r, 0, "");
    Release(c, true);
  }

  // The oldest waiting request that its client has not given up on yet; the ones it has are
  // counted as errors here, without taking a connection's turn.
  std::optional<Request> NextPending() {
    auto now = Clock::now();
    while (!pending_.empty()) {
      Request r = std::move(pending_.front());
      pending_.pop_front();
      if (now - r.intended < std::chrono::milliseconds(o_.timeout_ms)) return r;
      Finish(r, 0, "");
    }
    return std::nullopt;
  }

  // Hands the connection to the next waiting request, or keeps it idle (or closes it).
  void Release(const std::shared_ptr<Conn>& c, bool broken) {
    if (broken) {
      beast::error_code ignored;
      c->stream.socket().close(ignored);
      --open_;
      if (auto r = NextPending()) Dispatch(std::move(*r));
      return;
    }
    if (auto r = NextPending()) return Send(c, std::move(*r));
    idle_.push_back(c);
  }

  void Finish(const Request& r, int status, const std::string& body) {
    Second& s = seconds_[r.second];
    if (status > 0) s.answered++;
    if (status >= 200 && status < 300) {
      s.ok++;
      s.latency_ms.push_back(
          static_cast<float>(std::chrono::duration<double, std::milli>(Clock::now() - r.intended).count()));
      if (r.kind == Kind::kOrder) s.orders_ok++;
    } else if (status == 503 && body.find("/problems/overloaded") != std::string::npos) {
      s.shed++;
    } else if (status == 429) {
      s.limited++;
    } else {
      s.errors++;
    }
  }

  void Report() {
    report_.expires_at(start_ + std::chrono::seconds(++reported_));
    report_.async_wait([this](beast::error_code ec) {
      if (ec) return;
      long sec = reported_ - 1;
      Second& s = seconds_[sec];
      s.instances = InstancesUp(o_.haproxy_socket);
      if (sec == 0)
        std::printf("%5s %7s %8s %8s %8s %7s %6s %8s %8s %9s %4s\n", "t", "rate", "offered", "answered", "goodput",
                    "shed", "errors", "p50 ms", "p99 ms", "orders", "inst");
      std::printf("%5ld %7.0f %8ld %8ld %8ld %7ld %6ld %8.1f %8.1f %4ld/%-4ld %4d\n", sec, RateAt(sec + 0.5), s.offered,
                  s.answered, s.ok, s.shed, s.errors + s.limited, Percentile(s.latency_ms, 0.5),
                  Percentile(s.latency_ms, 0.99), s.orders_ok, s.orders, s.instances);
      std::fflush(stdout);
      if (reported_ <= total_seconds_ + o_.timeout_ms / 1000 + 1) Report();
    });
  }

  Options o_;
  net::io_context ioc_{1};
  net::steady_timer tick_, report_;
  tcp::endpoint endpoint_;
  std::mt19937_64 rng_;
  Clock::time_point start_, next_;
  bool done_scheduling_ = false;
  int total_seconds_ = 0;
  long reported_ = 0;
  long order_seq_ = 0;
  int open_ = 0, in_flight_ = 0;
  std::vector<std::shared_ptr<Conn>> idle_;
  std::deque<Request> pending_;
  std::map<long, Second> seconds_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"surge_load: open-loop load at a rate per phase; prints per-second figures (bench/surge/run)"};
  Generator::Options o;
  std::string phases = "1x60,10x120,20x60", ids_file, csv, label = "run";
  app.add_option("--host", o.host)->capture_default_str();
  app.add_option("--port", o.port)->capture_default_str();
  app.add_option("--client-token", o.client_token, "token for orders")->required();
  app.add_option("--rate", o.rate, "the normal rate R, requests per second")->required();
  app.add_option("--phases", phases, "MULTIPLExSECONDS,... of R")->capture_default_str();
  app.add_option("--ids", ids_file, "file of 'product_id sku' lines")->required();
  app.add_option("--max-connections", o.max_connections)->capture_default_str();
  app.add_option("--timeout-ms", o.timeout_ms, "a request not answered this long after its intended time is an error")
      ->capture_default_str();
  app.add_option("--haproxy-socket", o.haproxy_socket, "HAProxy stats socket, to count catalogd instances up");
  app.add_option("--csv", csv, "append the per-second figures here");
  app.add_option("--label", label, "the run's name in the CSV")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::stringstream ps(phases);
  for (std::string item; std::getline(ps, item, ',');) {
    auto x = item.find('x');
    if (x == std::string::npos) {
      std::fprintf(stderr, "--phases: expected MULTIPLExSECONDS, got %s\n", item.c_str());
      return 2;
    }
    o.phases.push_back({std::stod(item.substr(0, x)), std::stoi(item.substr(x + 1))});
  }
  std::ifstream ids(ids_file);
  for (std::string id, sku; ids >> id >> sku;) o.products.emplace_back(id, sku);
  if (o.products.empty()) {
    std::fprintf(stderr, "--ids %s: no 'product_id sku' lines\n", ids_file.c_str());
    return 2;
  }
  Generator g(o);
  auto& seconds = g.Run();
  // Summary per phase, from the complete record (late answers included).
  std::printf("\n%-8s %6s %9s %9s %9s %7s %7s %8s %8s %9s %5s\n", "phase", "rate", "offered/s", "goodput/s", "shed/s",
              "shed%", "errors", "p50 ms", "p99 ms", "orders ok", "inst");
  double t0 = 0;
  std::ofstream out;
  if (!csv.empty()) out.open(csv, std::ios::app);
  for (const auto& [sec, s] : seconds)
    if (out)
      out << label << ',' << sec << ',' << g.RateAt(sec + 0.5) << ',' << s.offered << ',' << s.answered << ',' << s.ok
          << ',' << s.shed << ',' << s.errors + s.limited << ',' << Percentile(s.latency_ms, 0.5) << ','
          << Percentile(s.latency_ms, 0.99) << ',' << s.orders_ok << ',' << s.orders << ',' << s.instances << '\n';
  for (const auto& p : o.phases) {
    Second sum;
    int instances = 0;
    for (long sec = static_cast<long>(t0); sec < static_cast<long>(t0) + p.seconds; ++sec) {
      auto it = seconds.find(sec);
      if (it == seconds.end()) continue;
      const Second& s = it->second;
      sum.offered += s.offered;
      sum.ok += s.ok;
      sum.shed += s.shed;
      sum.errors += s.errors + s.limited;
      sum.orders += s.orders;
      sum.orders_ok += s.orders_ok;
      sum.latency_ms.insert(sum.latency_ms.end(), s.latency_ms.begin(), s.latency_ms.end());
      instances = std::max(instances, s.instances);
    }
    char name[32];
    std::snprintf(name, sizeof name, "%gR", p.multiple);
    std::printf("%-8s %6.0f %9.0f %9.0f %9.0f %6.1f%% %7ld %8.1f %8.1f %8.2f%% %5d\n", name, o.rate * p.multiple,
                sum.offered / double(p.seconds), sum.ok / double(p.seconds), sum.shed / double(p.seconds),
                sum.offered ? 100.0 * sum.shed / sum.offered : 0.0, sum.errors, Percentile(sum.latency_ms, 0.5),
                Percentile(sum.latency_ms, 0.99), sum.orders ? 100.0 * sum.orders_ok / sum.orders : 0.0, instances);
    t0 += p.seconds;
  }
  return 0;
}
