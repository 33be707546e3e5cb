// A small synchronous HTTP/1.1 client (Boost.Beast): catalogctl's health checks and the system
// tests. One request per connection; loopback or any host the caller names.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "techmoda/status.h"

namespace techmoda {

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string error;  // set when no response could be read
  boost::json::value Json() const;
  std::string Header(const std::string& lower_name) const;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// One request on a new connection to host:port. A non-empty body is sent as application/json
// unless `headers` names a Content-Type (an empty value means: send none).
HttpResult HttpCall(const std::string& host, unsigned short port, const std::string& method, const std::string& target,
                    const std::string& body = "", const HttpHeaders& headers = {},
                    std::chrono::milliseconds timeout = std::chrono::seconds(60));

// "host:port" split at its last colon, for addresses the topology rendered (no checks).
std::pair<std::string, unsigned short> HostPort(const std::string& host_port);

// One request to each of `members` ("host:port") in turn, from *preferred on, until `accept` takes an
// answer; *preferred then names that member, so the next call starts there. Unavailable, with every
// member's answer, when none is taken: "any member will do" for the etcd clients (v2 and v3).
Result<HttpResult> CallAnyMember(const std::vector<std::string>& members, std::size_t* preferred,
                                 const std::string& method, const std::string& target, const std::string& body,
                                 const HttpHeaders& headers, std::chrono::milliseconds timeout,
                                 const std::function<bool(const HttpResult&)>& accept);

}  // namespace techmoda
