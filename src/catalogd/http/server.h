// The network edge: Accept -> (Beast) Parse -> Admit (limits, admission control) -> Api -> Respond.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "catalogd/admission/admission.h"
#include "catalogd/http/handlers.h"
#include "catalogd/http/request_parser.h"
#include "catalogd/metrics/metrics.h"
#include "techmoda/status.h"

namespace techmoda::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  unsigned short port = 8080;
  int io_threads = 0;                      // 0: one per core
  int worker_threads = 16;                 // handlers that wait on the database run here
  int max_in_flight = 1024;                // a hard cap: above this, answer 503 at once
  std::chrono::seconds read_timeout{30};   // a whole request, or an idle keep-alive gap
  std::chrono::seconds drain_timeout{20};  // graceful stop: how long in-flight work may finish
  bool access_log = true;
};

// Not copyable. Listen, then Run (blocks) on one thread; Stop from any thread.
class Server {
 public:
  // `admission` decides which requests start, wait or are refused; it outlives the server.
  Server(Api& api, metrics::Metrics& metrics, admission::Admission& admission, ServerOptions options);
  ~Server();

  // Binds and listens. Fails with a message when the address is taken or invalid.
  Status Listen();
  // Serves until Stop() and the drain finish.
  void Run();
  // Stops accepting, lets in-flight requests finish within the drain timeout, then returns from Run.
  void Stop();
  unsigned short port() const;

  struct Impl;  // the io_context, acceptor and worker pool; public only for the session code

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace techmoda::http
