#include "core/ws_frame.h"

#include <gtest/gtest.h>

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
  std::string data = client_frame(0x01, "hel") + client_frame(0x89, "pp") + client_frame(0x80, "lo");
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
  std::string parts = client_frame(0x01, std::string(60, 'a')) + client_frame(0x80, std::string(60, 'b'));
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
  EXPECT_EQ(first_error(std::string("\x81\x02hi", 4)), 1002);                  // unmasked
  EXPECT_EQ(first_error(client_frame(0xC1, "x")), 1002);                       // RSV1 without deflate
  EXPECT_EQ(first_error(client_frame(0x83, "x")), 1002);                       // unknown opcode
  EXPECT_EQ(first_error(client_frame(0x09, "x")), 1002);                       // fragmented ping
  EXPECT_EQ(first_error(client_frame(0x80, "x")), 1002);                       // stray continuation
  EXPECT_EQ(first_error(client_frame(0x89, std::string(126, 'x'))), 1002);     // long control
}

TEST(WsFrameTest, CloseCarriesCodeAndReason) {
  WsFrameParser p(1024);
  std::string f = client_frame(0x88, std::string("\x03\xe8" "bye", 5));
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
