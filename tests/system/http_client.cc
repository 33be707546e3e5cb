#include "tests/system/http_client.h"

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
  std::string out;
  try {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::milliseconds(timeout_ms));
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    beast::error_code ec;
    net::write(stream.socket(), net::buffer(bytes), ec);
    if (end_of_input) stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    char buf[65536];
    while (true) {
      stream.expires_after(std::chrono::milliseconds(timeout_ms));
      std::size_t n = stream.read_some(net::buffer(buf), ec);
      out.append(buf, n);
      if (ec) break;
    }
  } catch (const std::exception&) {
  }
  return out;
}

int StatusOfRaw(const std::string& raw) {
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || raw.size() < 12) return 0;
  return std::stoi(raw.substr(9, 3));
}

}  // namespace techmoda::test
