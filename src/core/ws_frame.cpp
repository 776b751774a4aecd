#include "core/ws_frame.h"

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
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((uint64_t(n) >> shift) & 0xFF));
  }
  out.append(payload);
  return out;
}

std::string ws_encode_close(uint16_t code, std::string_view reason) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  payload.append(reason.substr(0, 123));
  return ws_encode_frame(WsOpcode::kClose, payload);
}

WsFrameParser::Result WsFrameParser::fail(uint16_t code, std::string message) {
  code_ = code;
  error_ = std::move(message);
  return Result::kError;
}

WsFrameParser::Result WsFrameParser::next() {
  for (;;) {
    // Drop what earlier calls consumed, but not byte by byte.
    if (consumed_ > 0 && (consumed_ == buffer_.size() || consumed_ > 65536)) {
      buffer_.erase(0, consumed_);
      consumed_ = 0;
    }
    const size_t avail = buffer_.size() - consumed_;
    const auto* p = reinterpret_cast<const uint8_t*>(buffer_.data() + consumed_);
    if (avail < 2) return Result::kNeedMore;
    const bool fin = p[0] & 0x80;
    const uint8_t rsv = p[0] & 0x70;
    const auto opcode = static_cast<uint8_t>(p[0] & 0x0F);
    const bool masked = p[1] & 0x80;
    uint64_t len = p[1] & 0x7F;
    size_t header = 2;
    const bool rsv1_ok = deflate_ && rsv == 0x40 && (p[0] & 0x0F) != 0 && (p[0] & 0x0F) < 8;
    if (rsv != 0 && !rsv1_ok) return fail(1002, "Reserved bits set without an extension");
    if (!masked) return fail(1002, "Client frames must be masked");
    if (len == 126) {
      if (avail < 4) return Result::kNeedMore;
      len = (uint64_t(p[2]) << 8) | p[3];
      header = 4;
    } else if (len == 127) {
      if (avail < 10) return Result::kNeedMore;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      header = 10;
    }
    const bool control = opcode >= 8;
    if (control && (!fin || len > 125)) return fail(1002, "Invalid control frame");
    if (!control && opcode != 0 && opcode != 1 && opcode != 2) return fail(1002, "Unknown opcode");
    if (control && opcode > 10) return fail(1002, "Unknown opcode");
    // Decide "too big" from the header alone: never buffer an oversized message.
    if (!control && (in_message_ ? message_.size() : 0) + len > max_message_) {
      return fail(1009, "Message too big");
    }
    if (avail < header + 4 + len) return Result::kNeedMore;
    const uint8_t* mask = p + header;
    const uint8_t* data = mask + 4;
    std::string unmasked(static_cast<size_t>(len), '\0');
    for (uint64_t i = 0; i < len; ++i) unmasked[i] = static_cast<char>(data[i] ^ mask[i & 3]);
    consumed_ += header + 4 + static_cast<size_t>(len);

    if (control) {
      payload_ = std::move(unmasked);
      if (opcode == 8) {
        code_ = 1005;
        if (payload_.size() == 1) return fail(1002, "Invalid close frame");
        if (payload_.size() >= 2) {
          code_ = static_cast<uint16_t>((uint8_t(payload_[0]) << 8) | uint8_t(payload_[1]));
          payload_.erase(0, 2);
        }
        return Result::kClose;
      }
      return opcode == 9 ? Result::kPing : Result::kPong;
    }
    if (opcode == 0) {
      if (!in_message_) return fail(1002, "Continuation without a message");
      message_ += unmasked;
    } else {
      if (in_message_) return fail(1002, "New message inside a fragmented one");
      in_message_ = true;
      message_binary_ = opcode == 2;
      message_compressed_ = rsv == 0x40;
      message_ = std::move(unmasked);
    }
    if (fin) {
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
      return Result::kMessage;
    }
  }
}

}  // namespace barbossa
