#include "core/ws_frame.h"

#include <gtest/gtest.h>

#include "core/ws_deflate.h"

namespace barbossa {
namespace {

// A client frame: masked with a fixed key.
std::string client_frame(uint8_t first_byte, const std::string& payload) {
  std::string out;
  out.push_back(static_cast<char>(first_byte));
  size_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>((uint64_t(n) >> s) & 0xFF));
  }
  const char mask[4] = {0x12, 0x34, 0x56, 0x78};
  out.append(mask, 4);
  for (size_t i = 0; i < n; ++i) out.push_back(static_cast<char>(payload[i] ^ mask[i & 3]));
  return out;
}

TEST(WsFrameTest, EncodesLengthForms) {
  EXPECT_EQ(ws_encode_frame(WsOpcode::kText, "hi"), std::string("\x81\x02hi", 4));
  std::string mid = ws_encode_frame(WsOpcode::kText, std::string(300, 'a'));
  EXPECT_EQ(static_cast<uint8_t>(mid[1]), 126);
  EXPECT_EQ(mid.size(), 304u);
  std::string big = ws_encode_frame(WsOpcode::kText, std::string(70000, 'a'));
  EXPECT_EQ(static_cast<uint8_t>(big[1]), 127);
  EXPECT_EQ(big.size(), 70010u);
  std::string close = ws_encode_close(1013, "slow");
  EXPECT_EQ(close, std::string("\x88\x06\x03\xf5slow", 8));
}

TEST(WsFrameTest, ParsesMaskedTextInPieces) {
  WsFrameParser p(1024);
  std::string f = client_frame(0x81, R"({"type":"ping"})");
  for (char c : f) {
    EXPECT_TRUE(p.payload().empty() || true);
    p.feed(&c, 1);
  }
  ASSERT_EQ(p.next(), WsFrameParser::Result::kMessage);
  EXPECT_EQ(p.payload(), R"({"type":"ping"})");
  EXPECT_EQ(p.next(), WsFrameParser::Result::kNeedMore);
}

TEST(WsFrameTest, ReassemblesFragmentsWithControlInBetween) {
  WsFrameParser p(1024);
  std::string data =
      client_frame(0x01, "hel") + client_frame(0x89, "pp") + client_frame(0x80, "lo");
  p.feed(data.data(), data.size());
  ASSERT_EQ(p.next(), WsFrameParser::Result::kPing);
  EXPECT_EQ(p.payload(), "pp");
  ASSERT_EQ(p.next(), WsFrameParser::Result::kMessage);
  EXPECT_EQ(p.payload(), "hello");
}

TEST(WsFrameTest, TooBigIsRejectedFromTheHeader) {
  WsFrameParser p(64 * 1024);
  std::string f = client_frame(0x81, std::string(70 * 1024, 'x'));
  p.feed(f.data(), 10);  // header only
  ASSERT_EQ(p.next(), WsFrameParser::Result::kError);
  EXPECT_EQ(p.code(), 1009);
  WsFrameParser q(100);
  std::string parts =
      client_frame(0x01, std::string(60, 'a')) + client_frame(0x80, std::string(60, 'b'));
  q.feed(parts.data(), parts.size());
  ASSERT_EQ(q.next(), WsFrameParser::Result::kError);
  EXPECT_EQ(q.code(), 1009);
}

TEST(WsFrameTest, ProtocolErrors) {
  auto first_error = [](const std::string& bytes) {
    WsFrameParser p(1024);
    p.feed(bytes.data(), bytes.size());
    auto r = p.next();
    return r == WsFrameParser::Result::kError ? p.code() : 0;
  };
  EXPECT_EQ(first_error(std::string("\x81\x02hi", 4)), 1002);               // unmasked
  EXPECT_EQ(first_error(client_frame(0xC1, "x")), 1002);                    // RSV1 without deflate
  EXPECT_EQ(first_error(client_frame(0x83, "x")), 1002);                    // unknown opcode
  EXPECT_EQ(first_error(client_frame(0x09, "x")), 1002);                    // fragmented ping
  EXPECT_EQ(first_error(client_frame(0x80, "x")), 1002);                    // stray continuation
  EXPECT_EQ(first_error(client_frame(0x89, std::string(126, 'x'))), 1002);  // long control
}

TEST(WsFrameTest, CloseCarriesCodeAndReason) {
  WsFrameParser p(1024);
  std::string f = client_frame(0x88, std::string("\x03\xe8"
                                                 "bye",
                                                 5));
  p.feed(f.data(), f.size());
  ASSERT_EQ(p.next(), WsFrameParser::Result::kClose);
  EXPECT_EQ(p.code(), 1000);
  EXPECT_EQ(p.payload(), "bye");
  WsFrameParser q(1024);
  std::string empty = client_frame(0x88, "");
  q.feed(empty.data(), empty.size());
  ASSERT_EQ(q.next(), WsFrameParser::Result::kClose);
  EXPECT_EQ(q.code(), 1005);
}

// A masked client frame header with the length written exactly as given:
// `len7` is the 7-bit field (126/127 select the extended forms), `ext` the
// extended length bytes. The mask key is 0, so payload bytes go as they are.
std::string raw_header(uint8_t first_byte, uint8_t len7, const std::string& ext = "") {
  std::string out;
  out.push_back(static_cast<char>(first_byte));
  out.push_back(static_cast<char>(0x80 | len7));
  out += ext;
  out.append(4, '\0');
  return out;
}

std::string be64(uint64_t n) {
  std::string out;
  for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>((n >> s) & 0xFF));
  return out;
}

// The close code the parser asks for on `bytes` (0 when it found no error).
uint16_t error_code_for(const std::string& bytes, bool deflate = false, size_t max = 1024) {
  WsFrameParser p(max);
  if (deflate) p.enable_deflate();
  p.feed(bytes.data(), bytes.size());
  for (;;) {
    auto r = p.next();
    if (r == WsFrameParser::Result::kError) return p.code();
    if (r == WsFrameParser::Result::kNeedMore) return 0;
  }
}

// The reported crash: a continuation declaring 2^64-1 bytes wrapped the size
// arithmetic and asked for a string of that length.
TEST(WsFrameTest, ContinuationWithMaximalLengthIsAProtocolErrorNotAnAllocation) {
  std::string bytes = client_frame(0x01, "abc") + raw_header(0x00, 127, be64(~uint64_t{0}));
  EXPECT_EQ(error_code_for(bytes, false, 64 * 1024), 1002);
  // Top bit clear but far beyond the cap: too big, decided from the header.
  bytes = client_frame(0x01, "abc") + raw_header(0x00, 127, be64(0x7FFFFFFFFFFFFFFF));
  EXPECT_EQ(error_code_for(bytes, false, 64 * 1024), 1009);
  // Just past what is left of the cap after the first fragment.
  bytes = client_frame(0x01, "abc") + raw_header(0x00, 126, std::string("\xff\xfe", 2));
  EXPECT_EQ(error_code_for(bytes, false, 64 * 1024), 1009);
}

TEST(WsFrameTest, SixtyFourBitLengthWithTopBitSetIsRejected) {
  EXPECT_EQ(error_code_for(raw_header(0x81, 127, be64(uint64_t{1} << 63))), 1002);
  EXPECT_EQ(error_code_for(raw_header(0x82, 127, be64(~uint64_t{0}))), 1002);
}

TEST(WsFrameTest, NonMinimalLengthEncodingIsRejected) {
  EXPECT_EQ(error_code_for(raw_header(0x81, 126, std::string("\x00\x05", 2)) + "hello"), 1002);
  EXPECT_EQ(error_code_for(raw_header(0x81, 126, std::string("\x00\x7d", 2))), 1002);
  EXPECT_EQ(error_code_for(raw_header(0x81, 127, be64(5)) + "hello"), 1002);
  EXPECT_EQ(error_code_for(raw_header(0x81, 127, be64(0xFFFF))), 1002);
  // The shortest forms are accepted.
  EXPECT_EQ(error_code_for(client_frame(0x81, std::string(126, 'a'))), 0);
  EXPECT_EQ(error_code_for(client_frame(0x81, std::string(0x10000, 'a')), false, 1 << 20), 0);
}

TEST(WsFrameTest, ControlFramesAreShortAndFinal) {
  EXPECT_EQ(error_code_for(client_frame(0x89, std::string(126, 'x'))), 1002);
  EXPECT_EQ(error_code_for(client_frame(0x8A, std::string(126, 'x'))), 1002);
  EXPECT_EQ(error_code_for(client_frame(0x88, std::string(126, 'x'))), 1002);
  EXPECT_EQ(error_code_for(client_frame(0x09, "x")), 1002);
  EXPECT_EQ(error_code_for(client_frame(0x08, std::string("\x03\xe8", 2))), 1002);
  EXPECT_EQ(error_code_for(client_frame(0x89, std::string(125, 'x'))), 0);
}

TEST(WsFrameTest, ReservedBitsNeedANegotiatedExtension) {
  EXPECT_EQ(error_code_for(client_frame(0xC1, "x")), 1002);  // RSV1
  EXPECT_EQ(error_code_for(client_frame(0xA1, "x")), 1002);  // RSV2
  EXPECT_EQ(error_code_for(client_frame(0x91, "x")), 1002);  // RSV3
  // With deflate, RSV1 only on the first frame of a data message.
  EXPECT_EQ(error_code_for(client_frame(0xA1, "x"), true), 1002);
  EXPECT_EQ(error_code_for(client_frame(0xC9, ""), true), 1002);
  EXPECT_EQ(error_code_for(client_frame(0x01, "a") + client_frame(0xC0, "b"), true), 1002);
}

TEST(WsFrameTest, UnknownOpcodesAreRejected) {
  for (uint8_t op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
    EXPECT_EQ(error_code_for(client_frame(0x80 | op, "x")), 1002) << int(op);
  }
}

TEST(WsFrameTest, FragmentsMustBeInSequence) {
  EXPECT_EQ(error_code_for(client_frame(0x80, "x")), 1002);  // continuation, no start
  EXPECT_EQ(error_code_for(client_frame(0x00, "x")), 1002);
  EXPECT_EQ(error_code_for(client_frame(0x01, "a") + client_frame(0x81, "b")), 1002);
  EXPECT_EQ(error_code_for(client_frame(0x01, "a") + client_frame(0x02, "b")), 1002);
  // After a complete message a new one may start.
  EXPECT_EQ(
      error_code_for(client_frame(0x01, "a") + client_frame(0x80, "b") + client_frame(0x81, "c")),
      0);
}

TEST(WsFrameTest, TextMustBeValidUtf8AfterReassembly) {
  EXPECT_EQ(error_code_for(client_frame(0x81, "caf\xC3")), 1007);
  EXPECT_EQ(error_code_for(client_frame(0x81, "\xED\xA0\x80")), 1007);  // surrogate
  EXPECT_EQ(error_code_for(client_frame(0x81, "\xC0\xAF")), 1007);      // overlong
  // A sequence split across fragments is fine once whole...
  EXPECT_EQ(error_code_for(client_frame(0x01, "caf\xC3") + client_frame(0x80, "\xA9")), 0);
  // ...and not when it never completes.
  EXPECT_EQ(error_code_for(client_frame(0x01, "caf\xC3") + client_frame(0x80, "x")), 1007);
  // Binary messages carry any bytes.
  EXPECT_EQ(error_code_for(client_frame(0x82, "\xFF\xFE")), 0);
}

TEST(WsFrameTest, InflatedTextMustBeValidUtf8) {
  EXPECT_EQ(error_code_for(client_frame(0xC1, ws_deflate("\xFF\xFE")), true), 1007);
  EXPECT_EQ(error_code_for(client_frame(0xC1, ws_deflate("caf\xC3\xA9")), true), 0);
}

TEST(WsFrameTest, CloseFramesAreChecked) {
  auto close = [](const std::string& payload) { return client_frame(0x88, payload); };
  EXPECT_EQ(error_code_for(close("\x03")), 1002);  // 1-byte payload
  for (uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535}) {
    std::string payload{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
    EXPECT_EQ(error_code_for(close(payload)), 1002) << code;
  }
  for (uint16_t code :
       {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4001, 4999}) {
    std::string payload{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
    EXPECT_EQ(error_code_for(close(payload)), 0) << code;
  }
  EXPECT_EQ(error_code_for(close(std::string("\x03\xe8"
                                             "bad \xFF",
                                             7))),
            1007);
  EXPECT_EQ(error_code_for(close(std::string("\x03\xe8"
                                             "caf\xC3\xA9",
                                             7))),
            0);
}

TEST(WsFrameTest, TheCapCoversTheSumOfFragments) {
  // 3 x 40 bytes under a 100-byte cap: the third fragment's header decides.
  std::string parts = client_frame(0x01, std::string(40, 'a')) +
                      client_frame(0x00, std::string(40, 'b')) + raw_header(0x80, 40);
  EXPECT_EQ(error_code_for(parts, false, 100), 1009);
  // Exactly at the cap is allowed.
  parts = client_frame(0x01, std::string(50, 'a')) + client_frame(0x80, std::string(50, 'b'));
  EXPECT_EQ(error_code_for(parts, false, 100), 0);
}

TEST(WsFrameTest, AnErrorIsFinal) {
  WsFrameParser p(1024);
  std::string bytes = client_frame(0x83, "x") + client_frame(0x81, "ok");
  p.feed(bytes.data(), bytes.size());
  ASSERT_EQ(p.next(), WsFrameParser::Result::kError);
  EXPECT_EQ(p.next(), WsFrameParser::Result::kError);
  EXPECT_EQ(p.code(), 1002);
}

TEST(WsFrameTest, CloseReasonIsCutOnACharacterBoundary) {
  std::string reason = std::string(122, 'a') + "\xC3\xA9";  // 124 bytes, é at 122-123
  std::string frame = ws_encode_close(1011, reason);
  ASSERT_LE(frame.size(), 2u + 125u);
  EXPECT_EQ(frame.substr(4), std::string(122, 'a'));
}

}  // namespace
}  // namespace barbossa

#include "core/ws_deflate.h"

namespace barbossa {
namespace {

TEST(WsDeflateTest, NegotiatesOnlyWhenOffered) {
  EXPECT_TRUE(ws_deflate_accept("permessage-deflate; client_max_window_bits").has_value());
  EXPECT_TRUE(ws_deflate_accept("x-webkit-deflate-frame, permessage-deflate").has_value());
  EXPECT_FALSE(ws_deflate_accept("").has_value());
  EXPECT_FALSE(ws_deflate_accept("permessage-deflatex").has_value());
}

TEST(WsDeflateTest, RoundTripAndBombLimit) {
  std::string text(5000, 'a');
  std::string packed = ws_deflate(text);
  EXPECT_LT(packed.size(), 100u);
  bool too_big = false;
  auto back = ws_inflate(packed, 64 * 1024, too_big);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, text);
  // A tiny input that inflates past the limit is refused, not expanded.
  std::string bomb = ws_deflate(std::string(1 << 20, 'z'));
  EXPECT_FALSE(ws_inflate(bomb, 64 * 1024, too_big).has_value());
  EXPECT_TRUE(too_big);
  EXPECT_FALSE(ws_inflate("\xff\xfe garbage", 1024, too_big).has_value());
  EXPECT_FALSE(too_big);
}

TEST(WsDeflateTest, ParserInflatesCompressedMessages) {
  WsFrameParser p(64 * 1024);
  p.enable_deflate();
  std::string frame = client_frame(0xC1, ws_deflate(R"({"type":"ping"})"));
  p.feed(frame.data(), frame.size());
  ASSERT_EQ(p.next(), WsFrameParser::Result::kMessage);
  EXPECT_EQ(p.payload(), R"({"type":"ping"})");
  std::string bomb = client_frame(0xC1, ws_deflate(std::string(1 << 20, 'z')));
  WsFrameParser q(64 * 1024);
  q.enable_deflate();
  q.feed(bomb.data(), bomb.size());
  ASSERT_EQ(q.next(), WsFrameParser::Result::kError);
  EXPECT_EQ(q.code(), 1009);
}

}  // namespace
}  // namespace barbossa
