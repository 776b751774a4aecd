#include "auth/tokens.h"

#include <sodium.h>

#include <stdexcept>
#include <string_view>

#include <jwt/jwt.hpp>
#include <nlohmann/json.hpp>

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

namespace {

// One base64url (unpadded) part of a token, decoded; nullopt when malformed.
std::optional<nlohmann::json> decode_part(std::string_view part) {
  std::string bytes(part.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(), part.data(),
                        part.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    return std::nullopt;
  }
  bytes.resize(len);
  auto json = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return std::nullopt;
  return json;
}

// A positive decimal id without sign, spaces or overflow.
std::optional<int64_t> parse_id(const std::string& text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value > 0 ? std::optional<int64_t>(value) : std::nullopt;
}

bool is_int(const nlohmann::json& payload, const char* key) {
  return payload.contains(key) && payload[key].is_number_integer();
}

}  // namespace

std::optional<TokenClaims> TokenSigner::verify(const std::string& token, int64_t now) const {
  // Cheap structural checks first: tokens come from anyone.
  if (token.empty() || token.size() > 4096) return std::nullopt;
  // Our constant-time check decides, and only then are the parts read: by
  // us, not by libcpp-jwt, whose claim checks convert a number such as
  // "exp": 1.8e72 to an integer out of range (undefined behaviour, found by
  // fuzz_token).
  if (!signature_valid(token)) return std::nullopt;
  const size_t first = token.find('.');
  const size_t second = token.find('.', first + 1);
  auto header = decode_part(std::string_view(token).substr(0, first));
  auto payload = decode_part(std::string_view(token).substr(first + 1, second - first - 1));
  if (!header || !payload) return std::nullopt;
  // Only HS256 with our secret: `none` and every other algorithm are refused.
  if (!header->contains("alg") || (*header)["alg"] != "HS256") return std::nullopt;
  const auto& claims_json = *payload;
  if (!claims_json.contains("sub") || !claims_json["sub"].is_string()) return std::nullopt;
  if (!is_int(claims_json, "exp")) return std::nullopt;
  auto user_id = parse_id(claims_json["sub"].get<std::string>());
  if (!user_id) return std::nullopt;
  TokenClaims claims;
  claims.user_id = *user_id;
  claims.expires_at = claims_json["exp"].get<int64_t>();
  if (claims.expires_at <= now) return std::nullopt;
  if (is_int(claims_json, "iat")) claims.issued_at = claims_json["iat"].get<int64_t>();
  if (claims_json.contains("name") && claims_json["name"].is_string()) {
    claims.username = claims_json["name"].get<std::string>();
  }
  if (claims_json.contains("adm") && claims_json["adm"].is_boolean()) {
    claims.is_admin = claims_json["adm"].get<bool>();
  }
  if (claims_json.contains("ver")) {
    if (!is_int(claims_json, "ver")) return std::nullopt;
    claims.version = claims_json["ver"].get<int64_t>();
  }
  return claims;
}

}  // namespace barbossa
