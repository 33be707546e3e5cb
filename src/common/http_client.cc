#include "common/http_client.h"

#include <cstdlib>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace techmoda {

boost::json::value HttpResult::Json() const {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  return ec ? boost::json::value() : v;
}

std::string HttpResult::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

HttpResult HttpCall(const std::string& host, unsigned short port, const std::string& method, const std::string& target,
                    const std::string& body, const HttpHeaders& headers, std::chrono::milliseconds timeout) {
  HttpResult out;
  // Asynchronous operations on a private io_context, so that the whole call (connect included) ends
  // within `timeout`: a synchronous connect to an address whose packets are dropped (a partition)
  // would otherwise wait for the kernel's retries, minutes.
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  bhttp::request<bhttp::string_body> req;
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  beast::error_code failure;
  bool done = false;
  try {
    req = bhttp::request<bhttp::string_body>(bhttp::string_to_verb(method), target, 11);
    req.set(bhttp::field::host, host);
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
    parser.body_limit(64 << 20);
    if (method == "HEAD") parser.skip(true);
    stream.expires_after(timeout);
    stream.async_connect(tcp::endpoint(net::ip::make_address(host), port), [&](beast::error_code ec) {
      if (ec) {
        failure = ec;
        return;
      }
      bhttp::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
        if (wec) {
          failure = wec;
          return;
        }
        bhttp::async_read(stream, buf, parser, [&](beast::error_code rec, std::size_t) {
          if (rec)
            failure = rec;
          else
            done = true;
        });
      });
    });
    // The stream's own timer ends any step that runs past the deadline; run_for is the backstop.
    ioc.run_for(timeout + std::chrono::milliseconds(200));
  } catch (const std::exception& e) {
    out.error = e.what();
    return out;
  }
  if (!done) {
    out.error = failure ? failure.message() : "timed out after " + std::to_string(timeout.count()) + " ms";
    return out;
  }
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
  return out;
}

std::pair<std::string, unsigned short> HostPort(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  return {host_port.substr(0, colon), static_cast<unsigned short>(std::atoi(host_port.substr(colon + 1).c_str()))};
}

Result<HttpResult> CallAnyMember(const std::vector<std::string>& members, std::size_t* preferred,
                                 const std::string& method, const std::string& target, const std::string& body,
                                 const HttpHeaders& headers, std::chrono::milliseconds timeout,
                                 const std::function<bool(const HttpResult&)>& accept) {
  if (members.empty()) return Status::Invalid("no members configured");
  std::string errors;
  for (std::size_t i = 0; i < members.size(); ++i) {
    std::size_t n = (*preferred + i) % members.size();
    auto [host, port] = HostPort(members[n]);
    auto r = HttpCall(host, port, method, target, body, headers, timeout);
    if (accept(r)) {
      *preferred = n;
      return r;
    }
    errors += (errors.empty() ? "" : "; ") + members[n] + ": " +
              (r.status ? std::to_string(r.status) + " " + r.body : r.error);
  }
  return Status::Unavailable("no member answered " + method + " " + target + " (" + errors + ")");
}

}  // namespace techmoda
