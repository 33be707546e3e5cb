#include "catalogd/http/request_parser.h"

#include <gtest/gtest.h>

#include <boost/beast/http/error.hpp>

namespace techmoda::http {
namespace {

struct Parsed {
  bool done = false;
  std::optional<Refusal> refusal;
  Request request;
};

// Feeds `bytes` as the server does, `piece` bytes at a time, with its bound on unparsed bytes.
Parsed Parse(const std::string& bytes, std::size_t piece = 7) {
  RequestParser parser;
  parser.eager(true);
  std::string unparsed;
  Parsed out;
  for (std::size_t at = 0; at < bytes.size() || !unparsed.empty();) {
    std::size_t take = std::min(piece, bytes.size() - at);
    unparsed += bytes.substr(at, take);
    at += take;
    boost::beast::error_code ec;
    std::size_t used = parser.put(boost::asio::buffer(unparsed), ec);
    unparsed.erase(0, used);
    // The error first: a refused header can leave Beast's parser in its "complete" state.
    if (!ec && parser.is_done()) {
      out.done = true;
      out.request = parser.Release();
      return out;
    }
    if (ec == boost::beast::http::error::need_more) {
      if (unparsed.size() >= kMaxUnparsedBytes)
        ec = boost::beast::http::error::buffer_overflow;
      else if (at < bytes.size())
        continue;
      else
        return out;
    }
    if (ec) {
      out.refusal = parser.RefusalFor(ec, unparsed);
      return out;
    }
  }
  return out;
}

TEST(RequestParser, ReadsAChunkedRequestWithTrailers) {
  auto p = Parse(
      "POST /v1/orders HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;ext=1\r\n{\"a\r\n2\r\n\"}\r\n0\r\nX-Trailer: t\r\n\r\n");
  ASSERT_TRUE(p.done);
  EXPECT_EQ(p.request.method, "POST");
  EXPECT_EQ(p.request.target, "/v1/orders");
  EXPECT_EQ(p.request.body, "{\"a\"}");
  EXPECT_EQ(p.request.headers.at("x-a"), "1, 2");
  EXPECT_EQ(p.request.headers.count("x-trailer"), 0u);  // trailers are counted, never kept
}

TEST(RequestParser, RefusesEveryFramingThatIsNotChunkedLastOnce) {
  for (std::string te : {"gzip", "identity", "chunked, gzip", "chunked, chunked", "xchunked"}) {
    auto p = Parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te + "\r\n\r\n");
    ASSERT_TRUE(p.refusal) << te;
    EXPECT_EQ(p.refusal->status, 400) << te;
  }
  auto gz = Parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
  ASSERT_TRUE(gz.refusal);
  EXPECT_EQ(gz.refusal->status, 501);
  auto both = Parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(both.refusal);
  EXPECT_EQ(both.refusal->status, 400);
}

TEST(RequestParser, HostMustBeThereOnceInHttp11) {
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\n\r\n").refusal->status, 400);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n").refusal->status, 400);
  EXPECT_TRUE(Parse("GET / HTTP/1.0\r\n\r\n").done);
}

TEST(RequestParser, LimitsGiveTheirOwnStatus) {
  // A long target is 414 however it arrives; a long header block is 431.
  EXPECT_EQ(Parse("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n").refusal->status, 414);
  EXPECT_EQ(Parse("GET /" + std::string(90000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 4096).refusal->status, 414);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(17000, 'a') + "\r\n\r\n").refusal->status, 431);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(90000, 'a') + "\r\n\r\n", 4096).refusal->status,
            431);
  std::string chunked = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  // Trailers share the header block's 16 KiB, however large one of them is.
  EXPECT_EQ(Parse(chunked + "0\r\nX: " + std::string(17000, 'a') + "\r\n\r\n", 4096).refusal->status, 431);
  EXPECT_EQ(Parse(chunked + "0\r\nX: " + std::string(100000, 'a') + "\r\n\r\n", 4096).refusal->status, 431);
  // Extensions count with the body; one too long for a size line is refused before it is kept.
  std::string many;
  for (int i = 0; i < 1100; ++i) many += "1;e=" + std::string(1000, 'x') + "\r\na\r\n";
  EXPECT_EQ(Parse(chunked + many + "0\r\n\r\n", 65536).refusal->status, 413);
  EXPECT_EQ(Parse(chunked + "1;e=" + std::string(100000, 'x') + "\r\na\r\n0\r\n\r\n", 4096).refusal->status, 413);
  EXPECT_EQ(Parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n").refusal->status, 413);
}

}  // namespace
}  // namespace techmoda::http
