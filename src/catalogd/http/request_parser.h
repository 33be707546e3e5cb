// Reading one request off the wire: Beast's HTTP/1.1 tokenizer with the contract's limits and
// RFC 9112's framing rules, straight into the chain's Request. The server and the fuzzers use it,
// so the bytes a test feeds take the same path as a client's.
#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "catalogd/http/handlers.h"

namespace techmoda::http {

// Contract limits (shared/api.md).
inline constexpr std::size_t kMaxBodyBytes = 1 << 20;      // 413 above; chunk extensions count
inline constexpr std::size_t kMaxHeaderBytes = 16 * 1024;  // 431 above; trailer fields count
inline constexpr std::size_t kMaxTargetBytes = 8 * 1024;   // 414 above
// The most a connection buffers of bytes not yet parsed: a header block, one chunk-size line with its
// extensions, or a trailer block must fit. Bounds the memory a connection can hold before a limit
// is judged, however the bytes are framed.
inline constexpr std::size_t kMaxUnparsedBytes = 64 * 1024;

// Why a request is answered without reaching the chain. The connection closes after the answer:
// the rest of its bytes cannot be framed safely.
struct Refusal {
  int status = 400;
  std::string type;  // problem slug
  std::string detail;
};

// One request; make a new parser for each (as with Beast's own). Never throws for any input: a
// request that breaks a rule stops the parse with an error code and records a Refusal. Not
// thread-safe.
class RequestParser final : public boost::beast::http::basic_parser<true> {
  using BeastView = boost::beast::string_view;

 public:
  RequestParser();

  // The request read so far; whole once is_done().
  Request& request() { return request_; }
  // Requires: is_done(). Moves the request out.
  Request Release() { return std::move(request_); }

  // The answer for a parse that stopped with `ec` (not end of stream or a timeout): the recorded
  // refusal, else one derived from Beast's error. `unparsed` is what the connection buffered and the
  // parser did not take, which tells a long request target (414) from a long header block (431) and
  // an oversized trailer block (431) from oversized chunk extensions (413).
  Refusal RefusalFor(boost::beast::error_code ec, std::string_view unparsed) const;

  // The client asked for "100 Continue" before it sends the body.
  bool ExpectsContinue() const;

 private:
  void on_request_impl(boost::beast::http::verb, BeastView method, BeastView target, int version,
                       boost::beast::error_code& ec) override;
  void on_response_impl(int, BeastView, int, boost::beast::error_code& ec) override;
  void on_field_impl(boost::beast::http::field f, BeastView name, BeastView value,
                     boost::beast::error_code& ec) override;
  void on_header_impl(boost::beast::error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, boost::beast::error_code& ec) override;
  std::size_t on_body_impl(BeastView body, boost::beast::error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, BeastView extensions, boost::beast::error_code& ec) override;
  std::size_t on_chunk_body_impl(std::uint64_t remain, BeastView body, boost::beast::error_code& ec) override;
  void on_finish_impl(boost::beast::error_code& ec) override;

  // Records the refusal and stops the parse.
  void Refuse(boost::beast::error_code& ec, int status, std::string type, std::string detail);
  // The framing rules of RFC 9112 section 6 on the whole header block.
  void CheckFraming(boost::beast::error_code& ec);

  Request request_;
  std::optional<Refusal> refusal_;
  int version_ = 11;
  bool header_done_ = false;
  std::size_t field_bytes_ = 0;      // header and trailer fields, as the 16 KiB limit counts them
  std::size_t extension_bytes_ = 0;  // chunk extensions, counted with the body against 1 MiB
  int host_fields_ = 0;
  bool has_content_length_ = false;
  std::string transfer_encoding_;  // every Transfer-Encoding field, joined
};

}  // namespace techmoda::http
