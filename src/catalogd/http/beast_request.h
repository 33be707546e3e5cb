// Converting a parsed Beast request into the chain's Request. Shared by the server and the fuzzer.
#pragma once

#include <boost/beast/http.hpp>
#include <cctype>

#include "catalogd/http/handlers.h"

namespace techmoda::http {

// Moves the body out of `msg`. `header_bytes` receives the size of the header fields, which the
// caller compares with the 16 KiB limit.
inline Request FromBeast(boost::beast::http::request<boost::beast::http::string_body>& msg, std::size_t* header_bytes) {
  Request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  *header_bytes = 0;
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    *header_bytes += f.name_string().size() + f.value().size() + 4;
    auto [it, fresh] = req.headers.emplace(name, std::string(f.value()));
    if (!fresh) it->second += ", " + std::string(f.value());
  }
  req.body = std::move(msg.body());
  return req;
}

}  // namespace techmoda::http
