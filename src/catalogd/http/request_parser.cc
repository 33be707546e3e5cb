#include "catalogd/http/request_parser.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/rfc7230.hpp>

namespace bhttp = boost::beast::http;
using BeastView = boost::beast::string_view;

namespace techmoda::http {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The request target of the start line in `unparsed`, as far as it was received.
std::string_view TargetSoFar(std::string_view unparsed) {
  auto sp = unparsed.find(' ');
  if (sp == std::string_view::npos) return {};
  std::string_view rest = unparsed.substr(sp + 1);
  return rest.substr(0, rest.find_first_of(" \r\n"));
}

// True when `unparsed` (what follows the last chunk's data) is the last chunk's line, whole, and the
// start of its trailer block: "[CRLF] 0*[ext] CRLF field...".
bool IsTrailerBlock(std::string_view unparsed) {
  if (unparsed.substr(0, 2) == "\r\n") unparsed.remove_prefix(2);
  std::size_t zeros = 0;
  while (zeros < unparsed.size() && unparsed[zeros] == '0') ++zeros;
  if (zeros == 0) return false;
  if (zeros < unparsed.size() && unparsed[zeros] != ';' && unparsed[zeros] != '\r') return false;
  return unparsed.find("\r\n", zeros) != std::string_view::npos;
}

}  // namespace

RequestParser::RequestParser() {
  // Beast's own bound on the start line and fields together leaves room for the longest allowed
  // target; both limits are judged exactly in the callbacks.
  header_limit(static_cast<std::uint32_t>(kMaxHeaderBytes + kMaxTargetBytes + 1024));
  body_limit(kMaxBodyBytes);
}

void RequestParser::Refuse(boost::beast::error_code& ec, int status, std::string type, std::string detail) {
  if (!refusal_) refusal_ = Refusal{status, std::move(type), std::move(detail)};
  // Any error code stops Beast's parse; the refusal says what it was.
  ec = bhttp::error::bad_value;
}

void RequestParser::on_request_impl(bhttp::verb, BeastView method, BeastView target, int version,
                                    boost::beast::error_code& ec) {
  if (target.size() > kMaxTargetBytes) return Refuse(ec, 414, "uri-too-long", "the request target exceeds 8 KiB");
  request_.method = std::string(method.data(), method.size());
  request_.target = std::string(target.data(), target.size());
  version_ = version;
}

void RequestParser::on_response_impl(int, BeastView, int, boost::beast::error_code& ec) {
  ec = bhttp::error::bad_method;  // a request parser never sees a status line
}

void RequestParser::on_field_impl(bhttp::field f, BeastView name, BeastView value, boost::beast::error_code& ec) {
  field_bytes_ += name.size() + value.size() + 4;
  if (field_bytes_ > kMaxHeaderBytes)
    return Refuse(ec, 431, "header-fields-too-large",
                  header_done_ ? "the header block and trailer fields together exceed 16 KiB"
                               : "the header block exceeds 16 KiB");
  // Trailer fields are counted and dropped: nothing of the API reads them, and none may change how
  // the message was framed or who sent it.
  if (header_done_) return;
  if (f == bhttp::field::host) ++host_fields_;
  if (f == bhttp::field::content_length) has_content_length_ = true;
  if (f == bhttp::field::transfer_encoding) {
    if (!transfer_encoding_.empty()) transfer_encoding_ += ", ";
    transfer_encoding_.append(value.data(), value.size());
  }
  auto [it, fresh] = request_.headers.emplace(Lower(name), std::string(value.data(), value.size()));
  if (!fresh) it->second.append(", ").append(value.data(), value.size());
}

void RequestParser::CheckFraming(boost::beast::error_code& ec) {
  // RFC 9112 section 3.2: HTTP/1.1 needs exactly one Host; a second one is never valid.
  if (host_fields_ > 1) return Refuse(ec, 400, "malformed-request", "the request has more than one Host field");
  if (version_ >= 11 && host_fields_ == 0) return Refuse(ec, 400, "malformed-request", "HTTP/1.1 needs a Host field");
  if (transfer_encoding_.empty()) return;
  // Section 6.1 and 6.3: a body is framed by chunked (last, once) or by Content-Length, never both,
  // and never by a coding we cannot undo; any doubt is 400 and the connection closes, so no later
  // bytes of this connection are read as another request.
  if (version_ < 11) return Refuse(ec, 400, "malformed-request", "Transfer-Encoding is not defined for HTTP/1.0");
  if (has_content_length_)
    return Refuse(ec, 400, "malformed-request", "the request has both Transfer-Encoding and Content-Length");
  std::vector<std::string> codings;
  for (auto coding : bhttp::token_list{transfer_encoding_}) codings.push_back(Lower(coding));
  std::size_t chunked = std::count(codings.begin(), codings.end(), "chunked");
  if (codings.empty() || codings.back() != "chunked" || chunked != 1)
    return Refuse(ec, 400, "malformed-request", "the final transfer coding must be chunked, applied once");
  if (codings.size() > 1) return Refuse(ec, 501, "not-implemented", "only the chunked transfer coding is supported");
}

void RequestParser::on_header_impl(boost::beast::error_code& ec) {
  CheckFraming(ec);
  header_done_ = true;
}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& length, boost::beast::error_code&) {
  if (length) request_.body.reserve(static_cast<std::size_t>(*length));
}

std::size_t RequestParser::on_body_impl(BeastView body, boost::beast::error_code&) {
  request_.body.append(body.data(), body.size());
  return body.size();
}

void RequestParser::on_chunk_header_impl(std::uint64_t size, BeastView extensions, boost::beast::error_code& ec) {
  // RFC 9112 section 7.1.1: extensions are ignored but not free; they count with the body.
  extension_bytes_ += extensions.size();
  if (request_.body.size() + size + extension_bytes_ > kMaxBodyBytes)
    return Refuse(ec, 413, "content-too-large", "the request body, chunk extensions included, exceeds 1 MiB");
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, BeastView body, boost::beast::error_code&) {
  request_.body.append(body.data(), body.size());
  return body.size();
}

void RequestParser::on_finish_impl(boost::beast::error_code&) {}

bool RequestParser::ExpectsContinue() const {
  auto it = request_.headers.find("expect");
  return it != request_.headers.end() && boost::beast::iequals(it->second, "100-continue");
}

Refusal RequestParser::RefusalFor(boost::beast::error_code ec, std::string_view unparsed) const {
  if (refusal_) return *refusal_;
  bool too_long = ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow;
  if (too_long && !header_done_) {
    // The target counts toward its own limit whatever the header block holds (RFC 9112 section 3).
    // Beast takes the start line from the buffer once it is whole; until then it is what is unparsed.
    bool start_line_read = !request_.method.empty();
    if (!start_line_read && TargetSoFar(unparsed).size() > kMaxTargetBytes)
      return {414, "uri-too-long", "the request target exceeds 8 KiB"};
    return {431, "header-fields-too-large", "the header block exceeds 16 KiB"};
  }
  if (ec == bhttp::error::buffer_overflow) {
    if (IsTrailerBlock(unparsed)) return {431, "header-fields-too-large", "the trailer fields exceed 16 KiB"};
    return {413, "content-too-large", "a chunk's size line and extensions exceed 64 KiB"};
  }
  if (ec == bhttp::error::body_limit) return {413, "content-too-large", "the request body exceeds 1 MiB"};
  return {400, "malformed-request", "the HTTP request could not be parsed: " + ec.message()};
}

}  // namespace techmoda::http
