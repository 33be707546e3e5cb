// Status and Result<T>: expected failures are values, never exceptions.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace techmoda {

// The small set of failure kinds. They become HTTP statuses in one place (http/problem.cc).
enum class Code {
  kOk,
  kNotFound,            // 404
  kConflict,            // 409
  kUnavailable,         // 503 with Retry-After
  kOverloaded,          // 503 with Retry-After, answered without queueing
  kInvalidArgument,     // 400
  kUnprocessable,       // 422
  kPreconditionFailed,  // 412
  kInternal,            // 500
};

// Whether, and how, the operation that failed may be tried again by the caller that can.
enum class Retry {
  kNo,
  kTransaction,  // a deadlock or serialisation failure: run the whole transaction again
  kReconnect,    // no database could run it (down, restarting, read-only after a failover): again on a new
                 // connection, nothing having been committed
};

// One validation failure, located by a JSON pointer (RFC 6901) into the request.
struct FieldError {
  std::string pointer;
  std::string message;
};

// The outcome of an operation. `type` is the stable problem slug ("out-of-stock"); empty means
// the default slug of the code. Copyable; not thread-safe to mutate concurrently.
class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status NotFound(std::string detail) { return {Code::kNotFound, "not-found", std::move(detail)}; }
  static Status Conflict(std::string type, std::string detail) {
    return {Code::kConflict, std::move(type), std::move(detail)};
  }
  static Status Unavailable(std::string detail) { return {Code::kUnavailable, "unavailable", std::move(detail)}; }
  static Status Overloaded(std::string detail) { return {Code::kOverloaded, "overloaded", std::move(detail)}; }
  static Status Invalid(std::string detail, std::vector<FieldError> errors = {}) {
    Status s{Code::kInvalidArgument, "invalid-request", std::move(detail)};
    s.errors_ = std::move(errors);
    return s;
  }
  static Status Unprocessable(std::string type, std::string detail) {
    return {Code::kUnprocessable, std::move(type), std::move(detail)};
  }
  static Status PreconditionFailed(std::string detail) {
    return {Code::kPreconditionFailed, "precondition-failed", std::move(detail)};
  }
  static Status Internal(std::string detail) { return {Code::kInternal, "internal", std::move(detail)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& type() const { return type_; }
  const std::string& detail() const { return detail_; }
  const std::vector<FieldError>& errors() const { return errors_; }
  // Extra members for the problem document, e.g. {"skus": [...]} for out-of-stock, as JSON text.
  const std::string& extra_json() const { return extra_json_; }
  Status& WithExtraJson(std::string json) {
    extra_json_ = std::move(json);
    return *this;
  }
  // How the failed operation may be retried (kNo unless set).
  Retry retry() const { return retry_; }
  Status& WithRetry(Retry r) {
    retry_ = r;
    return *this;
  }
  // The SQLSTATE of the database error behind it; empty when there was none.
  const std::string& sqlstate() const { return sqlstate_; }
  Status& WithSqlstate(std::string sqlstate) {
    sqlstate_ = std::move(sqlstate);
    return *this;
  }
  std::string ToString() const;

 private:
  Status(Code code, std::string type, std::string detail)
      : code_(code), type_(std::move(type)), detail_(std::move(detail)) {}
  Code code_ = Code::kOk;
  std::string type_;
  std::string detail_;
  std::vector<FieldError> errors_;
  std::string extra_json_;
  Retry retry_ = Retry::kNo;
  std::string sqlstate_;
};

// Either a value or a non-OK Status.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return std::holds_alternative<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const T& operator*() const { return value(); }
  T& operator*() { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  // The error, or Ok when a value is held (as absl::StatusOr::status(); `CarryOut(...).status()` on a
  // success once threw bad_variant_access inside the region watcher).
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace techmoda
