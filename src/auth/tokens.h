// HS256 access tokens. Only HS256 with our secret is accepted: tokens with
// `alg: none`, another algorithm, a wrong signature, a past `exp` or bad
// structure are all rejected the same way. The signature is checked here in
// constant time before the JWT library sees the token (libcpp-jwt compares
// signatures with `==`, which leaks how many leading characters matched).
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
  // Claim `ver`: the account's token version when issued. A password, role
  // or account change bumps the row's version, so older tokens stop working.
  // Tokens from before versions existed carry none and read as 0.
  int64_t version = 0;
};

// Smallest JWT_SECRET accepted: HS256's own key size.
inline constexpr size_t kMinTokenSecretBytes = 32;

class TokenSigner {
 public:
  explicit TokenSigner(std::string secret);
  std::string issue(const TokenClaims& claims) const;
  // nullopt for any invalid token; `now` is unix seconds.
  std::optional<TokenClaims> verify(const std::string& token, int64_t now) const;

  // Whether `token`'s third part is the HS256 MAC of its first two under our
  // secret; constant time in the signature's content.
  bool signature_valid(const std::string& token) const;

 private:
  std::string secret_;
};

}  // namespace barbossa
