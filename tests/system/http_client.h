// A small synchronous HTTP/1.1 client for the system tests (Boost.Beast).
#pragma once

#include <string>

#include "common/http_client.h"

namespace techmoda::test {

using techmoda::HttpResult;
using Headers = techmoda::HttpHeaders;

// One request on a new connection to 127.0.0.1:port. A non-empty body is sent as application/json
// unless `headers` names a Content-Type (an empty value means: send none).
HttpResult Call(unsigned short port, const std::string& method, const std::string& target, const std::string& body = "",
                const Headers& headers = {});

// Shorthands with a bearer token ("" for none).
HttpResult Get(unsigned short port, const std::string& target, const std::string& token = "",
               const Headers& extra = {});
HttpResult Send(unsigned short port, const std::string& method, const std::string& target, const std::string& token,
                const std::string& body, const Headers& extra = {});

// Writes raw bytes and reads until the server closes or `timeout_ms` passes; returns all it read.
// `end_of_input`: after the bytes, shut the sending side (the server reads end of stream).
std::string RawExchange(unsigned short port, const std::string& bytes, int timeout_ms = 3000,
                        bool end_of_input = false);

// RawExchange with a server on another loopback address.
std::string RawExchangeAt(const std::string& host, unsigned short port, const std::string& bytes, int timeout_ms = 3000,
                          bool end_of_input = false);

// Parses the status code of the first response in raw text (0 if none).
int StatusOfRaw(const std::string& raw);

}  // namespace techmoda::test
