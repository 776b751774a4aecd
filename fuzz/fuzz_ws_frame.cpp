// libFuzzer target: the WebSocket frame parser (core/ws_frame.h) on arbitrary
// client bytes, with and without permessage-deflate.
//
// Input: byte 0 = options (bit 0: deflate negotiated), bytes 1-8 seed the
// chunk sizes, the rest is the byte stream from the client. The stream is
// parsed twice, once whole and once in pseudo-random chunks as a socket would
// deliver it; both runs must give the same results (the parser keeps its
// state across reads). Every result is also checked against RFC 6455.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/utf8.h"
#include "core/ws_frame.h"

namespace {

using barbossa::WsFrameParser;
using Result = WsFrameParser::Result;

constexpr size_t kMaxMessage = 64 * 1024;  // the server's cap (SPEC §11)

// What one next() returned, for comparing the whole and the chunked runs.
struct Outcome {
  Result result;
  std::string payload;
  bool binary;
  uint16_t code;
  bool operator==(const Outcome&) const = default;
};

void check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "fuzz_ws_frame: invariant violated: %s\n", what);
    abort();
  }
}

// Drains the parser; returns false once it reported an error (it then stays failed).
bool drain(WsFrameParser& parser, std::vector<Outcome>& out) {
  for (;;) {
    Result r = parser.next();
    if (r == Result::kNeedMore) return true;
    Outcome o{r, parser.payload(), parser.binary(), parser.code()};
    switch (r) {
      case Result::kMessage:
        check(o.payload.size() <= kMaxMessage, "message larger than the cap");
        check(o.binary || barbossa::is_valid_utf8(o.payload), "text message not valid UTF-8");
        break;
      case Result::kPing:
      case Result::kPong:
        check(o.payload.size() <= 125, "control payload over 125 bytes");
        break;
      case Result::kClose:
        check(barbossa::is_valid_utf8(o.payload), "close reason not valid UTF-8");
        break;
      case Result::kError:
        check(o.code == 1002 || o.code == 1007 || o.code == 1009, "unexpected error close code");
        o.payload.clear();  // the message text may differ; the code may not
        break;
      case Result::kNeedMore:
        break;
    }
    out.push_back(std::move(o));
    if (r == Result::kError) {
      check(parser.next() == Result::kError, "parser recovered after an error");
      return false;
    }
  }
}

std::vector<Outcome> run(bool deflate, const uint8_t* data, size_t size, uint64_t seed) {
  WsFrameParser parser(kMaxMessage);
  if (deflate) parser.enable_deflate();
  std::vector<Outcome> out;
  size_t pos = 0;
  while (pos < size) {
    size_t chunk = size - pos;
    if (seed != 0) {
      // xorshift64: chunks of 1-64 bytes, sometimes a single byte.
      seed ^= seed << 13;
      seed ^= seed >> 7;
      seed ^= seed << 17;
      chunk = std::min<size_t>(chunk, (seed & 3) == 0 ? 1 : 1 + (seed >> 8) % 64);
    }
    parser.feed(reinterpret_cast<const char*>(data + pos), chunk);
    pos += chunk;
    if (!drain(parser, out)) break;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 9) return 0;
  const bool deflate = data[0] & 1;
  uint64_t seed = 0;
  memcpy(&seed, data + 1, 8);
  seed |= 1;  // xorshift needs a non-zero state
  data += 9;
  size -= 9;
  std::vector<Outcome> whole = run(deflate, data, size, 0);
  std::vector<Outcome> chunked = run(deflate, data, size, seed);
  check(whole == chunked, "chunked delivery changed the result");
  return 0;
}
