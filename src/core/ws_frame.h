// WebSocket framing (RFC 6455) without I/O. The server writes its own frames
// so that an event is framed once and the same bytes go to every socket, and
// so that one mutex can serialize every write to a socket (Beast would write
// pongs and pings behind our back). Reading parses the client's masked frames.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace barbossa {

enum class WsOpcode : uint8_t {
  kContinuation = 0,
  kText = 1,
  kBinary = 2,
  kClose = 8,
  kPing = 9,
  kPong = 10
};

// An unmasked, final server frame. `compressed` sets RSV1 (permessage-deflate).
std::string ws_encode_frame(WsOpcode opcode, std::string_view payload, bool compressed = false);
std::string ws_encode_close(uint16_t code, std::string_view reason);

// A close code a peer may send (RFC 6455 7.4 and the IANA registry): 1000-1003,
// 1007-1014, 3000-4999. 1004-1006 and 1015 are reserved for local use.
bool ws_close_code_valid(uint16_t code);

// Incremental parser for client frames (RFC 6455 section 5). Feed bytes as
// they arrive, then call next() until it returns kNeedMore. Every frame is
// judged from its header before any payload is buffered or allocated, so no
// declared length (up to 2^64-1) can make it allocate or overflow. The first
// error is final: later calls return it again.
class WsFrameParser {
 public:
  enum class Result { kNeedMore, kMessage, kPing, kPong, kClose, kError };

  explicit WsFrameParser(size_t max_message_bytes) : max_message_(max_message_bytes) {}

  // After permessage-deflate was negotiated: RSV1 marks a compressed message,
  // which next() inflates (max_message_bytes applies to the inflated size).
  void enable_deflate() { deflate_ = true; }

  void feed(const char* data, size_t size) { buffer_.append(data, size); }
  Result next();

  // kMessage: the whole (reassembled) text or binary message.
  // kPing/kPong: the control payload. kClose: the reason text.
  const std::string& payload() const { return payload_; }
  bool binary() const { return binary_; }
  // kClose: the peer's code (1005 when none). kError: the code to close with
  // (1002 protocol error, 1007 text or close reason not UTF-8, 1009 too big).
  uint16_t code() const { return code_; }
  const std::string& error() const { return error_; }
  size_t buffered() const { return buffer_.size(); }

 private:
  Result fail(uint16_t code, std::string message);
  // The header at `p` (avail bytes): kNeedMore, kError, or kMessage meaning
  // "header complete": header_bytes_ and frame_len_ are set.
  Result parse_header(const uint8_t* p, size_t avail);
  Result finish_control(uint8_t opcode);
  Result finish_message();

  const size_t max_message_;
  bool deflate_ = false;
  bool message_compressed_ = false;
  std::string buffer_;
  size_t consumed_ = 0;
  std::string message_;  // fragments so far
  bool in_message_ = false;
  bool message_binary_ = false;
  std::string payload_;
  bool binary_ = false;
  uint16_t code_ = 0;
  std::string error_;
  bool failed_ = false;
  size_t header_bytes_ = 0;  // of the frame being parsed, mask included
  uint64_t frame_len_ = 0;
};

}  // namespace barbossa
