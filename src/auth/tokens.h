// HS256 access tokens. Only HS256 with our secret is accepted: tokens with
// `alg: none`, another algorithm, a wrong signature, a past `exp` or bad
// structure are all rejected the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace barbossa {

struct TokenClaims {
  int64_t user_id = 0;
  std::string username;
  bool is_admin = false;
  int64_t issued_at = 0;   // unix seconds
  int64_t expires_at = 0;  // unix seconds
};

class TokenSigner {
 public:
  explicit TokenSigner(std::string secret);
  std::string issue(const TokenClaims& claims) const;
  // nullopt for any invalid token; `now` is unix seconds.
  std::optional<TokenClaims> verify(const std::string& token, int64_t now) const;

 private:
  std::string secret_;
};

}  // namespace barbossa
