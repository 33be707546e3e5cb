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

boost::json::value HttpResult::Json() const {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  return ec ? boost::json::value() : v;
}

std::string HttpResult::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

HttpResult Call(unsigned short port, const std::string& method, const std::string& target, const std::string& body,
                const Headers& headers) {
  HttpResult out;
  try {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::seconds(60));
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    bhttp::request<bhttp::string_body> req(bhttp::string_to_verb(method), target, 11);
    req.set(bhttp::field::host, "127.0.0.1");
    bool has_ct = false;
    for (const auto& [k, v] : headers) {
      if (beast::iequals(k, "content-type")) {
        has_ct = true;
        if (v.empty()) continue;
      }
      req.insert(k, v);
    }
    if (!body.empty() && !has_ct) req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
    if (!body.empty() || method == "POST" || method == "PUT") req.prepare_payload();
    bhttp::write(stream, req);
    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 << 20);
    if (method == "HEAD") parser.skip(true);
    bhttp::read(stream, buf, parser);
    auto& res = parser.get();
    out.status = res.result_int();
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(f.value());
    }
    out.body = res.body();
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  return out;
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

std::string RawExchange(unsigned short port, const std::string& bytes, int timeout_ms) {
  std::string out;
  try {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::milliseconds(timeout_ms));
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    beast::error_code ec;
    net::write(stream.socket(), net::buffer(bytes), ec);
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
