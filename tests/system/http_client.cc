#include "tests/system/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace techmoda::test {

HttpResult Call(unsigned short port, const std::string& method, const std::string& target, const std::string& body,
                const Headers& headers) {
  return HttpCall("127.0.0.1", port, method, target, body, headers);
}

HttpResult Get(unsigned short port, const std::string& target, const std::string& token, const Headers& extra) {
  Headers h = extra;
  if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
  return Call(port, "GET", target, "", h);
}

HttpResult Send(unsigned short port, const std::string& method, const std::string& target, const std::string& token,
                const std::string& body, const Headers& extra) {
  Headers h = extra;
  if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
  return Call(port, method, target, body, h);
}

std::string RawExchange(unsigned short port, const std::string& bytes, int timeout_ms, bool end_of_input) {
  return RawExchangeAt("127.0.0.1", port, bytes, timeout_ms, end_of_input);
}

std::string RawExchangeAt(const std::string& host, unsigned short port, const std::string& bytes, int timeout_ms,
                          bool end_of_input) {
  // Plain sockets and poll: every wait has a deadline, whatever the peer does (keeps the connection
  // open without sending, or stops reading).
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return {};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  auto wait = [&](short events) {
    pollfd p{fd, events, 0};
    int ready;
    do ready = poll(&p, 1, timeout_ms);
    while (ready < 0 && errno == EINTR);
    return ready > 0;
  };
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && (errno != EINPROGRESS || !wait(POLLOUT))) {
    close(fd);
    return out;
  }
  for (std::size_t sent = 0; sent < bytes.size();) {
    ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait(POLLOUT)) break;
    } else {
      break;  // the peer closed: read what it answered
    }
  }
  if (end_of_input) shutdown(fd, SHUT_WR);
  char buf[65536];
  while (wait(POLLIN)) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return out;
}

int StatusOfRaw(const std::string& raw) {
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || raw.size() < 12) return 0;
  return std::stoi(raw.substr(9, 3));
}

}  // namespace techmoda::test
