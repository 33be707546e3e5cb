#include "catalogd/http/server.h"

#include <time.h>

#include <array>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>
#include <utility>
#include <vector>

#include "common/log.h"

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace techmoda::http {

struct Server::Impl {
  Api& api;
  metrics::Metrics& metrics;
  admission::Admission& admission;
  ServerOptions options;
  // One io_context per network thread: a connection lives on one thread from accept to close, so
  // no handler ever waits on a lock or wakes another thread to run.
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::size_t next_context = 0;  // only the accepting thread uses it
  net::thread_pool workers;
  tcp::acceptor acceptor;
  net::steady_timer accept_backoff;
  std::atomic<bool> stopping{false};
  std::atomic<int> in_flight{0};
  std::thread drainer;
  // One probe timer per network thread: how late it fires is the queueing delay there.
  std::vector<std::unique_ptr<net::steady_timer>> probes;
  // Per network thread, touched only by that thread: its CPU time and the wall time at the last
  // busy measurement.
  struct BusyMark {
    double cpu_s = -1;
    std::chrono::steady_clock::time_point at;
  };
  std::vector<BusyMark> busy_marks;

  Impl(Api& a, metrics::Metrics& m, admission::Admission& adm, ServerOptions o)
      : api(a),
        metrics(m),
        admission(adm),
        options(std::move(o)),
        contexts(MakeContexts(options.io_threads)),
        workers(options.worker_threads),
        acceptor(*contexts[0]),
        accept_backoff(*contexts[0]) {}

  static std::vector<std::unique_ptr<net::io_context>> MakeContexts(int n) {
    std::vector<std::unique_ptr<net::io_context>> out;
    for (int i = 0; i < n; ++i) out.push_back(std::make_unique<net::io_context>(1));
    return out;
  }

  void DoAccept();
  // Runs one network thread's context until it stops, surviving handlers that throw.
  static void RunContext(net::io_context& context);
  void StartProbe(std::size_t i, int tick);
};

namespace {

// A request read whole, with its target parsed and its route matched (once).
struct Routed {
  Request req;
  Target target;
  RouteMatch match;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server::Impl& srv) : stream_(std::move(socket)), srv_(srv) {}

  void Start() {
    // Once per connection, not per request: the rate limiter's key for clients without a token.
    beast::error_code ec;
    auto peer = stream_.socket().remote_endpoint(ec);
    if (!ec) peer_address_ = peer.address().to_string();
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->DoRead(); });
  }

 private:
  void DoRead() {
    parser_.emplace();
    stream_.expires_after(srv_.options.read_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnHeader(ec); });
  }

  // Some clients send "Expect: 100-continue" with a body and wait for the interim answer before
  // sending it; the header has passed the limits by now, so give it.
  void OnHeader(beast::error_code ec) {
    if (ec) return OnRead(ec);
    auto self = shared_from_this();
    auto read_body = [self] {
      bhttp::async_read(self->stream_, self->buffer_, *self->parser_,
                        [self](beast::error_code e, std::size_t) { self->OnRead(e); });
    };
    if (!parser_->is_done() && parser_->ExpectsContinue()) {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
      bhttp::async_write(stream_, *cont, [self, cont, read_body](beast::error_code e, std::size_t) {
        if (e) return self->Close();
        read_body();
      });
      return;
    }
    read_body();
  }

  void OnRead(beast::error_code ec) {
    auto started = std::chrono::steady_clock::now();
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == beast::error::timeout ||
        ec == net::error::connection_reset || ec == net::error::operation_aborted) {
      return Close();
    }
    if (ec) {
      // Whatever broke the request's rules, the answer comes from the parser's refusal, and the
      // connection closes after it: its remaining bytes cannot be framed safely.
      std::string rid = RandomRequestId();
      auto unparsed = static_cast<const char*>(buffer_.cdata().data());
      Refusal refusal = parser_->RefusalFor(ec, std::string_view(unparsed, buffer_.size()));
      return Reject(Problem(refusal.status, refusal.type, refusal.detail, rid), rid, started);
    }

    keep_alive_ = parser_->keep_alive();
    // Matched once, here: admission and the handler read the same row of the route table.
    auto routed = std::make_shared<Routed>();
    routed->req = parser_->Release();
    routed->req.received = started;
    routed->req.peer_address = peer_address_;
    routed->target = ParseTarget(routed->req.target);
    if (routed->target.valid) routed->match = MatchRoute(routed->req.method, routed->target.segments);
    const Request& req = routed->req;
    // Admit: over the hard in-flight cap, answer now rather than queue until the client gives up.
    auto priority = PriorityOf(routed->match);
    if (srv_.in_flight.load() >= srv_.options.max_in_flight && priority) {
      srv_.admission.CountRefusedAtCap(*priority);
      return Shed(req, started, false);
    }
    srv_.in_flight.fetch_add(1);
    srv_.metrics.AddInFlight(1);
    if (srv_.api.AnswersWithoutBlocking(req, routed->match)) {
      // Reads from memory are answered here, on the network thread: no hop to the workers and back.
      // Their overload signal is how late this thread runs (see Admission).
      if (priority && !srv_.admission.AdmitNow(*priority)) return Shed(req, started, true);
      Served served = srv_.api.Serve(req, routed->target, routed->match);
      return Write(std::move(served.response), served.route, served.request_id, req.method, started, true);
    }
    if (!priority) return ServeOnWorker(routed, started, false);
    srv_.admission.Acquire(
        *priority, srv_.api.DeadlineOf(req), [self = shared_from_this(), routed, started](bool admitted) {
          if (admitted) return self->ServeOnWorker(routed, started, true);
          net::post(self->stream_.get_executor(), [self, routed, started] { self->Shed(routed->req, started, true); });
        });
  }

  // Runs the request on the worker pool and writes the answer from this connection's thread.
  // `admitted`: it holds an admission slot, given back when the handler returns.
  void ServeOnWorker(const std::shared_ptr<Routed>& routed, std::chrono::steady_clock::time_point started,
                     bool admitted) {
    net::post(srv_.workers, [self = shared_from_this(), routed, started, admitted] {
      auto begun = std::chrono::steady_clock::now();
      bool holds_slot = admitted;
      // Waiting for a database to come back, it gives its slot back, and its time is no sample.
      SetDatabaseWaitHook([&] {
        if (std::exchange(holds_slot, false)) self->srv_.admission.Finish(0, false);
      });
      Served served;
      try {
        served = self->srv_.api.Serve(routed->req, routed->target, routed->match);
      } catch (...) {
        // Serve answers every failure itself; this is the worker pool's last line: an exception
        // that escaped would end the process.
        served.request_id = Api::RequestIdFor(routed->req);
        served.response = Problem(500, "internal", "an internal error occurred", served.request_id);
        self->srv_.api.Stamp(served.response, served.request_id);
      }
      SetDatabaseWaitHook(nullptr);
      if (holds_slot)
        self->srv_.admission.Finish(std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count());
      net::post(self->stream_.get_executor(),
                [self, served = std::move(served), method = routed->req.method, started]() mutable {
                  self->Write(std::move(served.response), served.route, served.request_id, method, started, true);
                });
    });
  }

  // 503 now: cheaper than any answer, so that refusing work frees capacity for the work kept.
  // `counted`: the request is in the in-flight count (Write takes it out).
  void Shed(const Request& req, std::chrono::steady_clock::time_point started, bool counted) {
    std::string id = Api::RequestIdFor(req);
    Response r = Problem(503, "overloaded", "the service is over capacity; retry after the given delay", id);
    srv_.api.Stamp(r, id);
    Write(std::move(r), Route::kNone, id, req.method, started, counted);
  }

  static std::string RandomRequestId() { return Api::RequestIdFor(Request{}); }

  // Answers a request we could not read whole, then closes: the rest of the stream is unusable.
  void Reject(Response r, const std::string& rid, std::chrono::steady_clock::time_point started) {
    keep_alive_ = false;
    unread_input_ = true;
    srv_.api.Stamp(r, rid);
    Write(std::move(r), Route::kNone, rid, "-", started, false);
  }

  void Write(Response r, Route route, const std::string& rid, const std::string& method,
             std::chrono::steady_clock::time_point started, bool counted) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(r.status), 11);
    for (const auto& [k, v] : r.headers) res->insert(k, v);
    if (!r.content_type.empty()) res->set(bhttp::field::content_type, r.content_type);
    bool close = r.close || !keep_alive_ || srv_.stopping.load();
    res->keep_alive(!close);
    res->body() = std::move(r.body);
    if (r.status != 204 && r.status != 304) res->prepare_payload();
    stream_.expires_after(srv_.options.read_timeout);
    int status = r.status;
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res, route, rid, method, started, counted, close, status](
                           beast::error_code ec, std::size_t bytes) {
                         double secs =
                             std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
                         self->srv_.metrics.ObserveRequest(static_cast<std::size_t>(route), status, secs);
                         if (counted) {
                           self->srv_.in_flight.fetch_sub(1);
                           self->srv_.metrics.AddInFlight(-1);
                         }
                         if (self->srv_.options.access_log)
                           log::Info("http.access", {{"request_id", rid},
                                                     {"method", method},
                                                     {"route", RouteLabel(route)},
                                                     {"status", status},
                                                     {"ms", secs * 1000.0},
                                                     {"bytes", bytes}});
                         if (ec) return self->Close();
                         if (close) return self->unread_input_ ? self->LingerAndClose() : self->Close();
                         self->DoRead();
                       });
  }

  // After answering a request we could not read whole, the client may still be sending its body; a
  // plain close would reset the connection and it might never read our answer. Stop sending, then
  // read and discard for a bounded time before closing (a "lingering close", as nginx does).
  void LingerAndClose() {
    if (!linger_buf_) {
      // One deadline for the whole linger: a client that keeps sending does not keep it open.
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      linger_buf_ = std::make_unique<std::array<char, 16384>>();
      stream_.expires_after(kLingerTime);
    }
    stream_.async_read_some(net::buffer(*linger_buf_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->Close();
      self->LingerAndClose();
    });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  static constexpr auto kLingerTime = std::chrono::seconds(2);

  beast::tcp_stream stream_;
  Server::Impl& srv_;
  // Bounded: bytes the parser has not taken yet never exceed kMaxUnparsedBytes (a longer element
  // ends the read with buffer_overflow, which RefusalFor turns into 413 or 431).
  beast::flat_buffer buffer_{kMaxUnparsedBytes};
  std::optional<RequestParser> parser_;
  bool keep_alive_ = true;
  std::string peer_address_;
  bool unread_input_ = false;  // the request was rejected before it was read whole
  std::unique_ptr<std::array<char, 16384>> linger_buf_;
};

}  // namespace

void Server::Impl::DoAccept() {
  net::io_context& home = *contexts[next_context++ % contexts.size()];
  acceptor.async_accept(home, [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<Session>(std::move(socket), *this)->Start();
      return DoAccept();
    }
    // Out of descriptors or memory: accepting again at once would only spin this thread. Back off
    // and let connections close; the kernel keeps the backlog meanwhile.
    log::Warn("server.accept_failed", {{"reason", ec.message()}});
    accept_backoff.expires_after(std::chrono::milliseconds(50));
    accept_backoff.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec) DoAccept();
    });
  });
}

void Server::Impl::RunContext(net::io_context& context) {
  // A handler that throws unwinds out of run(); the connection it served is dropped with it (its
  // handler held the last reference), and the thread goes back to serving the others.
  while (true) {
    try {
      context.run();
      return;
    } catch (const std::exception& e) {
      log::Error("server.handler_exception", {{"what", e.what()}});
    } catch (...) {
      log::Error("server.handler_exception", {{"what", "unknown"}});
    }
  }
}

void Server::Impl::StartProbe(std::size_t i, int tick) {
  constexpr auto kPeriod = std::chrono::milliseconds(5);
  auto expected = std::chrono::steady_clock::now() + kPeriod;
  probes[i]->expires_at(expected);
  probes[i]->async_wait([this, i, tick, expected](beast::error_code ec) {
    // The probes keep running while draining: queued requests must still time out.
    if (ec) return;
    auto now = std::chrono::steady_clock::now();
    admission.ObserveNetworkDelay(std::chrono::duration<double>(now - expected).count());
    if (tick % 10 == 9) {
      // How much of the last 50 ms this thread spent working: the utilisation of in-memory serving.
      timespec ts{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
      double cpu = ts.tv_sec + ts.tv_nsec / 1e9;
      BusyMark& mark = busy_marks[i];
      if (mark.cpu_s >= 0)
        admission.ObserveNetworkBusy((cpu - mark.cpu_s) / std::chrono::duration<double>(now - mark.at).count());
      mark = {cpu, now};
    }
    if (i == 0) {
      admission.ExpireWaiters(now);
      if (tick % 10 == 9) admission.AdjustShedding();  // every 50 ms
    }
    StartProbe(i, tick + 1);
  });
}

Server::Server(Api& api, metrics::Metrics& metrics, admission::Admission& admission, ServerOptions options) {
  if (options.io_threads <= 0) options.io_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  impl_ = std::make_unique<Impl>(api, metrics, admission, std::move(options));
}

Server::~Server() {
  if (impl_->drainer.joinable()) impl_->drainer.join();
  impl_->workers.join();
}

Status Server::Listen() {
  beast::error_code ec;
  auto addr = net::ip::make_address(impl_->options.address, ec);
  if (ec) return Status::Invalid("--listen: not an IP address: " + impl_->options.address);
  tcp::endpoint ep(addr, impl_->options.port);
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return Status::Unavailable("cannot listen on " + impl_->options.address + ":" +
                               std::to_string(impl_->options.port) + ": " + ec.message());
  return Status::Ok();
}

unsigned short Server::port() const { return impl_->acceptor.local_endpoint().port(); }

void Server::Run() {
  // Work guards keep every run() going while a request is only on the worker pool; Stop's drainer
  // ends them.
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  for (auto& c : impl_->contexts) guards.push_back(net::make_work_guard(*c));
  impl_->DoAccept();
  impl_->busy_marks.resize(impl_->contexts.size());
  for (std::size_t i = 0; i < impl_->contexts.size(); ++i) {
    impl_->probes.push_back(std::make_unique<net::steady_timer>(*impl_->contexts[i]));
    impl_->StartProbe(i, 0);
  }
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < impl_->contexts.size(); ++i)
    threads.emplace_back([this, i] { impl_->RunContext(*impl_->contexts[i]); });
  impl_->RunContext(*impl_->contexts[0]);
  for (auto& t : threads) t.join();
}

void Server::Stop() {
  if (impl_->stopping.exchange(true)) return;
  impl_->api.SetDraining(true);
  net::post(*impl_->contexts[0], [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
  });
  // Drain on a helper thread so Stop may be called from an io thread (the signal handler).
  impl_->drainer = std::thread([this] {
    auto deadline = std::chrono::steady_clock::now() + impl_->options.drain_timeout;
    while (impl_->in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    log::Info("server.drained", {{"unfinished", impl_->in_flight.load()}});
    for (auto& c : impl_->contexts) c->stop();
  });
}

}  // namespace techmoda::http
