// libFuzzer target: access tokens (auth/tokens.h TokenSigner::verify).
//
// Byte 0 picks the mode. Even: the rest is the token as a client would send
// it (almost always rejected at the signature). Odd: the rest is the claims
// JSON, which we sign with the server's secret, so the fuzzer reaches the
// claim checks behind the signature (as someone holding the secret could).
// verify() must never throw; what it accepts must be a sane user.
#include <sodium.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/tokens.h"

namespace {

const std::string kSecret(48, 'k');
constexpr int64_t kNow = 1700000000;

std::string base64url(std::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::string signed_token(std::string_view header, std::string_view claims) {
  std::string token = base64url(header) + "." + base64url(claims);
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(kSecret.data()),
                              kSecret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(token.data()),
                                token.size());
  crypto_auth_hmacsha256_final(&state, mac);
  return token + "." + base64url(std::string_view(reinterpret_cast<char*>(mac), sizeof mac));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const barbossa::TokenSigner signer(kSecret);
  if (size < 1) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string token;
  if (data[0] & 1) {
    // Bit 1 picks the header: ours, or one naming another algorithm.
    token = signed_token(
        (data[0] & 2) ? R"({"alg":"none","typ":"JWT"})" : R"({"alg":"HS256","typ":"JWT"})", rest);
  } else {
    token = std::string(rest);
  }
  auto claims = signer.verify(token, kNow);
  if (claims) {
    if (claims->user_id <= 0 || claims->expires_at <= kNow || (data[0] & 3) == 3) {
      fprintf(stderr, "fuzz_token: accepted a token it must refuse\n");
      abort();
    }
  }
  return 0;
}
