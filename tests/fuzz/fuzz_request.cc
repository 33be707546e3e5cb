// libFuzzer target: raw bytes -> the server's request parser (its limits and framing rules) -> the
// whole request chain (URL parsing, auth, routing, JSON parsing and validation) on a store that
// holds nothing. Any crash, sanitizer report, 5xx (but 503) or problem document that is not valid
// UTF-8 JSON is a finding. fuzz_network drives the same bytes through the real sockets and read loop.
#include <boost/json/parse.hpp>
#include <cstdio>
#include <cstdlib>

#include "catalogd/http/request_parser.h"
#include "tests/fuzz/empty_store.h"

using namespace techmoda;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::EmptyStore store;
  static metrics::Metrics metrics(http::RouteLabels());
  static http::Api api(store, fuzz::FuzzTokens(), metrics, http::ApiOptions{});

  http::RequestParser parser;
  parser.eager(true);
  boost::beast::error_code ec;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // As the server does: feed what arrived, keep what the parser did not take.
  std::size_t used = parser.put(boost::asio::buffer(input.data(), input.size()), ec);
  if (ec == boost::beast::http::error::need_more) return 0;
  if (ec) {
    http::Refusal refusal = parser.RefusalFor(ec, input.substr(used));
    if (refusal.status < 400 || refusal.status > 501) {
      std::fprintf(stderr, "refusal with status %d\n", refusal.status);
      std::abort();
    }
    return 0;
  }
  if (!parser.is_done()) return 0;
  http::Served served = api.Serve(parser.Release());
  if (served.response.status >= 500 && served.response.status != 503) {
    std::fprintf(stderr, "5xx for a request: %d %s\n", served.response.status, served.response.body.c_str());
    std::abort();
  }
  if (served.response.content_type == "application/problem+json") {
    boost::system::error_code json_ec;
    boost::json::parse(served.response.body, json_ec);
    if (json_ec) {
      std::fprintf(stderr, "a problem document that is not valid JSON: %s\n", served.response.body.c_str());
      std::abort();
    }
  }
  return 0;
}
