#include "ctl/base/http_server.h"

#include <sys/socket.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

namespace techmoda::ctl {

namespace http = boost::beast::http;

void MetricsPage::Set(std::string text) {
  MutexLock lock(mu_);
  text_ = std::move(text);
}

HttpReply MetricsPage::Reply(const std::string& target) const {
  if (target != "/metrics") return {404, "text/plain; charset=utf-8", "see /metrics\n"};
  MutexLock lock(mu_);
  return {200, "text/plain; version=0.0.4; charset=utf-8", text_};
}

Status SmallHttpServer::Start(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return Status::Invalid("listen address must be HOST:PORT, not '" + listen + "'");
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(listen.substr(0, colon), ec);
  if (ec) return Status::Invalid("not an IP address: " + listen);
  int port = std::atoi(listen.c_str() + colon + 1);
  if (port <= 0 || port > 65535) return Status::Invalid("not a port: " + listen);
  boost::asio::ip::tcp::endpoint ep(addr, static_cast<unsigned short>(port));
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(boost::asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(64, ec);
  if (ec) return Status::Unavailable("cannot listen on " + listen + ": " + ec.message());
  thread_ = std::thread([this] { Accept(); });
  return Status::Ok();
}

void SmallHttpServer::Stop() {
  boost::system::error_code ec;
  // Wakes the thread blocked in accept (closing alone does not, from another thread).
  if (acceptor_.is_open()) ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
  acceptor_.close(ec);
  if (thread_.joinable()) thread_.join();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (active_.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

void SmallHttpServer::Accept() {
  while (true) {
    boost::system::error_code ec;
    boost::asio::ip::tcp::socket sock(ioc_);
    acceptor_.accept(sock, ec);
    if (ec) return;  // closed
    // Too many at once: drop this one (the socket closes). A client that connects and sends nothing
    // holds only its own thread until it hangs up.
    if (active_.load() >= 64) continue;
    active_.fetch_add(1);
    std::thread([this, s = std::move(sock)]() mutable {
      Serve(std::move(s));
      active_.fetch_sub(1);
    }).detach();
  }
}

void SmallHttpServer::Serve(boost::asio::ip::tcp::socket sock) {
  boost::system::error_code ec;
  boost::beast::flat_buffer buf;
  http::request_parser<http::string_body> parser;
  parser.body_limit(4 << 20);  // Alertmanager's largest batch fits many times over
  http::read(sock, buf, parser, ec);
  if (ec) return;
  const auto& req = parser.get();
  HttpReply reply;
  try {
    reply = handler_(std::string(req.method_string()), std::string(req.target()), req.body());
  } catch (const std::exception& e) {
    reply = {500, "text/plain; charset=utf-8", std::string("internal error: ") + e.what() + "\n"};
  }
  http::response<http::string_body> res(static_cast<http::status>(reply.status), 11);
  res.set(http::field::content_type, reply.content_type);
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(reply.body);
  res.keep_alive(false);
  res.prepare_payload();
  http::write(sock, res, ec);
  sock.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
}

}  // namespace techmoda::ctl
