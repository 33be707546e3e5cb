// A small HTTP/1.1 server for catalogctl's own endpoints: the autoscaler's and the canary's /metrics,
// the responder's Alertmanager webhook, the status page. One connection per request, each on its
// own short-lived thread (a browser's idle pre-connection must not hold up the next request).
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "techmoda/mutex.h"
#include "techmoda/status.h"

namespace techmoda::ctl {

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Called on a connection's thread, possibly on several at once.
using HttpHandler =
    std::function<HttpReply(const std::string& method, const std::string& target, const std::string& body)>;

// The last text handed to Set, served at GET /metrics (the autoscaler's own series).
class MetricsPage {
 public:
  void Set(std::string text);
  HttpReply Reply(const std::string& target) const;

 private:
  mutable Mutex mu_;
  std::string text_ GUARDED_BY(mu_);
};

class SmallHttpServer {
 public:
  explicit SmallHttpServer(HttpHandler handler) : handler_(std::move(handler)) {}
  ~SmallHttpServer() { Stop(); }
  SmallHttpServer(const SmallHttpServer&) = delete;
  SmallHttpServer& operator=(const SmallHttpServer&) = delete;

  // Listens on HOST:PORT and serves on a thread of its own.
  Status Start(const std::string& listen);
  // Stops accepting and waits (at most a second) for the requests being answered.
  void Stop();

 private:
  void Accept();
  void Serve(boost::asio::ip::tcp::socket sock);

  HttpHandler handler_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_{ioc_};
  std::thread thread_;
  std::atomic<int> active_{0};
};

}  // namespace techmoda::ctl
