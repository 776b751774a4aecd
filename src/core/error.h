// Errors that cross module edges carry an HTTP-like status and a stable code,
// so the HTTP layer can answer {"error":{"code","message"}} without guessing.
#pragma once

#include <stdexcept>
#include <string>

namespace barbossa {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string code, const std::string& message)
      : std::runtime_error(message), status_(status), code_(std::move(code)) {}

  int status() const { return status_; }
  const std::string& code() const { return code_; }

  static ApiError bad_request(const std::string& m) { return {400, "bad_request", m}; }
  static ApiError unauthorized(const std::string& m) { return {401, "unauthorized", m}; }
  static ApiError forbidden(const std::string& m) { return {403, "forbidden", m}; }
  static ApiError not_found(const std::string& m) { return {404, "not_found", m}; }
  static ApiError conflict(const std::string& m) { return {409, "conflict", m}; }
  static ApiError unprocessable(const std::string& m) { return {422, "unprocessable", m}; }

 private:
  int status_;
  std::string code_;
};

// Retry-After is part of the contract for rate limiting, so it rides along.
class RateLimitedError : public ApiError {
 public:
  RateLimitedError(int retry_after_seconds)
      : ApiError(429, "rate_limited", "Too many attempts; try again later"),
        retry_after_(retry_after_seconds) {}
  int retry_after() const { return retry_after_; }

 private:
  int retry_after_;
};

}  // namespace barbossa
