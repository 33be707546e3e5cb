// RFC 9457 problem documents: the one place where failure codes become HTTP statuses.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "techmoda/status.h"

namespace techmoda::http {

// A response without the per-request headers (X-Request-Id, X-Served-By), which the server adds.
struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool close = false;  // close the connection after sending
};

int HttpStatusOf(Code code);

// A problem document lists at most this many validation errors, and then `errors_total`.
inline constexpr std::size_t kMaxListedErrors = 20;

// Builds an application/problem+json response. `type` is the slug after /problems/.
Response Problem(int status, std::string_view type, std::string_view detail, std::string_view instance,
                 const std::vector<FieldError>& errors = {}, std::string_view extra_json = {});

// The problem document for a failed Status (503s carry Retry-After).
Response ProblemFromStatus(const Status& s, std::string_view instance);

}  // namespace techmoda::http
