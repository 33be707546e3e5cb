#include "catalogd/http/problem.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/json_util.h"

namespace json = boost::json;

namespace techmoda::http {

int HttpStatusOf(Code code) {
  switch (code) {
    case Code::kOk:
      return 200;
    case Code::kNotFound:
      return 404;
    case Code::kConflict:
      return 409;
    case Code::kUnavailable:
      return 503;
    case Code::kOverloaded:
      return 503;
    case Code::kInvalidArgument:
      return 400;
    case Code::kUnprocessable:
      return 422;
    case Code::kPreconditionFailed:
      return 412;
    case Code::kInternal:
      return 500;
  }
  return 500;
}

namespace {
const char* TitleOf(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}
}  // namespace

Response Problem(int status, std::string_view type, std::string_view detail, std::string_view instance,
                 const std::vector<FieldError>& errors, std::string_view extra_json) {
  json::object doc;
  doc["type"] = "/problems/" + std::string(type);
  doc["title"] = TitleOf(status);
  doc["status"] = status;
  // A detail may quote what the client sent (a path, an id): the document stays valid UTF-8 JSON.
  doc["detail"] = ToValidUtf8(detail);
  doc["instance"] = ToValidUtf8(instance);
  if (!errors.empty()) {
    // A body can break a rule thousands of times; the first few say what to fix, the count the rest.
    json::array a;
    for (std::size_t i = 0; i < errors.size() && i < kMaxListedErrors; ++i)
      a.push_back({{"pointer", ToValidUtf8(errors[i].pointer)}, {"message", ToValidUtf8(errors[i].message)}});
    doc["errors"] = std::move(a);
    if (errors.size() > kMaxListedErrors) doc["errors_total"] = errors.size();
  }
  if (!extra_json.empty()) {
    boost::system::error_code ec;
    auto extra = json::parse(extra_json, ec);
    if (!ec && extra.is_object())
      for (auto& kv : extra.get_object()) doc[kv.key()] = kv.value();
  }
  Response r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = json::serialize(doc);
  if (status == 503 || status == 429) r.headers.emplace_back("Retry-After", "1");
  return r;
}

Response ProblemFromStatus(const Status& s, std::string_view instance) {
  int status = HttpStatusOf(s.code());
  // Internal details stay in the log; the client gets the request id (instance) to quote.
  std::string detail = status == 500 ? "an internal error occurred; quote the instance when reporting it" : s.detail();
  return Problem(status, s.type(), detail, instance, s.errors(), s.extra_json());
}

}  // namespace techmoda::http
