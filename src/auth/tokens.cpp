#include "auth/tokens.h"

#include <jwt/jwt.hpp>

namespace barbossa {

TokenSigner::TokenSigner(std::string secret) : secret_(std::move(secret)) {}

std::string TokenSigner::issue(const TokenClaims& claims) const {
  jwt::jwt_object token{jwt::params::algorithm("HS256"), jwt::params::secret(secret_)};
  token.add_claim("sub", std::to_string(claims.user_id))
      .add_claim("name", claims.username)
      .add_claim("adm", claims.is_admin)
      .add_claim("iat", claims.issued_at)
      .add_claim("exp", claims.expires_at);
  return token.signature();
}

std::optional<TokenClaims> TokenSigner::verify(const std::string& token, int64_t now) const {
  // Cheap structural checks first: tokens come from anyone.
  if (token.empty() || token.size() > 4096) return std::nullopt;
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
    if (claims.user_id <= 0) return std::nullopt;
    return claims;
  } catch (const std::exception&) {
    // Malformed base64, JSON or numbers: all just "invalid token".
    return std::nullopt;
  }
}

}  // namespace barbossa
