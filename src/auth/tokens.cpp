#include "auth/tokens.h"

#include <sodium.h>

#include <stdexcept>
#include <string_view>

#include <jwt/jwt.hpp>

namespace barbossa {

TokenSigner::TokenSigner(std::string secret) : secret_(std::move(secret)) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialize");
}

bool TokenSigner::signature_valid(const std::string& token) const {
  size_t first = token.find('.');
  if (first == std::string::npos) return false;
  size_t second = token.find('.', first + 1);
  if (second == std::string::npos || token.find('.', second + 1) != std::string::npos) return false;
  std::string_view signature = std::string_view(token).substr(second + 1);
  // 32 bytes in unpadded base64url are exactly 43 characters.
  unsigned char given[crypto_auth_hmacsha256_BYTES];
  size_t given_len = 0;
  if (signature.size() != 43 ||
      sodium_base642bin(given, sizeof given, signature.data(), signature.size(), nullptr,
                        &given_len, nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      given_len != sizeof given) {
    return false;
  }
  unsigned char expected[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret_.data()),
                              secret_.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(token.data()),
                                second);
  crypto_auth_hmacsha256_final(&state, expected);
  return sodium_memcmp(given, expected, sizeof given) == 0;
}

std::string TokenSigner::issue(const TokenClaims& claims) const {
  jwt::jwt_object token{jwt::params::algorithm("HS256"), jwt::params::secret(secret_)};
  token.add_claim("sub", std::to_string(claims.user_id))
      .add_claim("name", claims.username)
      .add_claim("adm", claims.is_admin)
      .add_claim("iat", claims.issued_at)
      .add_claim("exp", claims.expires_at)
      .add_claim("ver", claims.version);
  return token.signature();
}

std::optional<TokenClaims> TokenSigner::verify(const std::string& token, int64_t now) const {
  // Cheap structural checks first: tokens come from anyone.
  if (token.empty() || token.size() > 4096) return std::nullopt;
  // Our constant-time check decides; the library's own `==` comparison below
  // then only ever runs on a signature already known to be right.
  if (!signature_valid(token)) return std::nullopt;
  try {
    std::error_code ec;
    auto decoded = jwt::decode(token, jwt::params::algorithms({"HS256"}), ec,
                               jwt::params::secret(secret_), jwt::params::verify(true));
    if (ec) return std::nullopt;
    // Belt and braces: the library rejects `none`, we also insist on HS256.
    if (decoded.header().algo() != jwt::algorithm::HS256) return std::nullopt;
    const auto& payload = decoded.payload().create_json_obj();
    if (!payload.contains("sub") || !payload["sub"].is_string()) return std::nullopt;
    if (!payload.contains("exp") || !payload["exp"].is_number_integer()) return std::nullopt;
    TokenClaims claims;
    claims.user_id = std::stoll(payload["sub"].get<std::string>());
    claims.expires_at = payload["exp"].get<int64_t>();
    if (claims.expires_at <= now) return std::nullopt;
    if (payload.contains("iat") && payload["iat"].is_number_integer()) {
      claims.issued_at = payload["iat"].get<int64_t>();
    }
    if (payload.contains("name") && payload["name"].is_string()) {
      claims.username = payload["name"].get<std::string>();
    }
    if (payload.contains("adm") && payload["adm"].is_boolean()) {
      claims.is_admin = payload["adm"].get<bool>();
    }
    if (payload.contains("ver")) {
      if (!payload["ver"].is_number_integer()) return std::nullopt;
      claims.version = payload["ver"].get<int64_t>();
    }
    if (claims.user_id <= 0) return std::nullopt;
    return claims;
  } catch (const std::exception&) {
    // Malformed base64, JSON or numbers: all just "invalid token".
    return std::nullopt;
  }
}

}  // namespace barbossa
