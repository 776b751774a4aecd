#include "core/ws_frame.h"

#include "core/utf8.h"
#include "core/ws_deflate.h"

namespace barbossa {

std::string ws_encode_frame(WsOpcode opcode, std::string_view payload, bool compressed) {
  std::string out;
  size_t n = payload.size();
  out.reserve(n + 10);
  out.push_back(static_cast<char>(0x80 | (compressed ? 0x40 : 0) | static_cast<uint8_t>(opcode)));
  if (n < 126) {
    out.push_back(static_cast<char>(n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(126));
    out.push_back(static_cast<char>((n >> 8) & 0xFF));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((uint64_t(n) >> shift) & 0xFF));
  }
  out.append(payload);
  return out;
}

std::string ws_encode_close(uint16_t code, std::string_view reason) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  // 125 bytes of control payload: 2 for the code, 123 for a reason that
  // must stay valid UTF-8 when cut.
  payload.append(truncate_utf8(reason, 123));
  return ws_encode_frame(WsOpcode::kClose, payload);
}

bool ws_close_code_valid(uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;  // registered (3xxx) and private (4xxx)
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

WsFrameParser::Result WsFrameParser::fail(uint16_t code, std::string message) {
  failed_ = true;
  code_ = code;
  error_ = std::move(message);
  return Result::kError;
}

WsFrameParser::Result WsFrameParser::parse_header(const uint8_t* p, size_t avail) {
  if (avail < 2) return Result::kNeedMore;
  const bool fin = p[0] & 0x80;
  const uint8_t rsv = p[0] & 0x70;
  const uint8_t opcode = p[0] & 0x0F;
  const bool masked = p[1] & 0x80;
  const uint8_t len7 = p[1] & 0x7F;
  const bool control = opcode >= 8;
  if (opcode != 0 && opcode != 1 && opcode != 2 && opcode != 8 && opcode != 9 && opcode != 10) {
    return fail(1002, "Unknown opcode");
  }
  // RSV1 is permessage-deflate's "compressed" bit, valid only on the first
  // frame of a data message (RFC 7692 6.1); RSV2 and RSV3 mean nothing here.
  const bool rsv1_ok = deflate_ && rsv == 0x40 && (opcode == 1 || opcode == 2);
  if (rsv != 0 && !rsv1_ok) return fail(1002, "Reserved bits set without an extension");
  if (!masked) return fail(1002, "Client frames must be masked");
  if (control && !fin) return fail(1002, "Fragmented control frame");
  if (control && len7 > 125) return fail(1002, "Control frame longer than 125 bytes");
  if (opcode == 0 && !in_message_) return fail(1002, "Continuation without a message");
  if ((opcode == 1 || opcode == 2) && in_message_) {
    return fail(1002, "New message inside a fragmented one");
  }
  uint64_t len = len7;
  size_t header = 2;
  if (len7 == 126) {
    if (avail < 4) return Result::kNeedMore;
    len = (uint64_t(p[2]) << 8) | p[3];
    header = 4;
    if (len < 126) return fail(1002, "Length not in its shortest form");
  } else if (len7 == 127) {
    if (avail < 10) return Result::kNeedMore;
    if (p[2] & 0x80) return fail(1002, "Length with the most significant bit set");
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
    header = 10;
    if (len <= 0xFFFF) return fail(1002, "Length not in its shortest form");
  }
  // The cap covers the whole message, fragments so far included, and is
  // decided from the header alone. Written as a subtraction: message_.size()
  // never exceeds max_message_, while `size + len` could wrap.
  if (!control && len > max_message_ - message_.size()) return fail(1009, "Message too big");
  header_bytes_ = header + 4;
  frame_len_ = len;
  return Result::kMessage;
}

WsFrameParser::Result WsFrameParser::next() {
  if (failed_) return Result::kError;
  for (;;) {
    // Drop what earlier calls consumed, but not byte by byte.
    if (consumed_ > 0 && (consumed_ == buffer_.size() || consumed_ > 65536)) {
      buffer_.erase(0, consumed_);
      consumed_ = 0;
    }
    const size_t avail = buffer_.size() - consumed_;
    const auto* p = reinterpret_cast<const uint8_t*>(buffer_.data() + consumed_);
    if (auto r = parse_header(p, avail); r != Result::kMessage) return r;
    // frame_len_ is now at most max_message_ (data) or 125 (control): no wrap.
    const auto len = static_cast<size_t>(frame_len_);
    if (avail < header_bytes_ || avail - header_bytes_ < len) return Result::kNeedMore;
    const uint8_t opcode = p[0] & 0x0F;
    const bool fin = p[0] & 0x80;
    const uint8_t* mask = p + header_bytes_ - 4;
    const uint8_t* data = p + header_bytes_;
    std::string& out = opcode >= 8 ? payload_ : message_;
    if (opcode >= 8) out.clear();
    if (opcode == 1 || opcode == 2) {
      in_message_ = true;
      message_binary_ = opcode == 2;
      message_compressed_ = (p[0] & 0x40) != 0;
      message_.clear();
    }
    const size_t base = out.size();
    out.resize(base + len);
    for (size_t i = 0; i < len; ++i) out[base + i] = static_cast<char>(data[i] ^ mask[i & 3]);
    consumed_ += header_bytes_ + len;
    if (opcode >= 8) return finish_control(opcode);
    if (fin) return finish_message();
  }
}

WsFrameParser::Result WsFrameParser::finish_control(uint8_t opcode) {
  if (opcode == 9) return Result::kPing;
  if (opcode == 10) return Result::kPong;
  code_ = 1005;  // no status code given
  if (payload_.size() == 1) return fail(1002, "Close frame with a 1-byte payload");
  if (payload_.size() >= 2) {
    code_ = static_cast<uint16_t>((uint8_t(payload_[0]) << 8) | uint8_t(payload_[1]));
    payload_.erase(0, 2);
    if (!ws_close_code_valid(code_)) return fail(1002, "Invalid close code");
    if (!is_valid_utf8(payload_)) return fail(1007, "Close reason is not valid UTF-8");
  }
  return Result::kClose;
}

WsFrameParser::Result WsFrameParser::finish_message() {
  in_message_ = false;
  payload_ = std::move(message_);
  message_.clear();
  binary_ = message_binary_;
  if (message_compressed_) {
    bool too_big = false;
    auto inflated = ws_inflate(payload_, max_message_, too_big);
    if (too_big) return fail(1009, "Message too big");
    if (!inflated) return fail(1007, "Invalid compressed message");
    payload_ = std::move(*inflated);
  }
  if (!binary_ && !is_valid_utf8(payload_)) return fail(1007, "Text message is not valid UTF-8");
  return Result::kMessage;
}

}  // namespace barbossa
