// What a WebSocket client may say (SPEC §11, client -> server), without
// sockets: text in, a reply out, against a small interface for the parts that
// touch the hub. Kept apart from the Beast session so every input can be
// unit-tested and fuzzed (fuzz/: parse_client_message, WsMessageHandler).
//
// Text from a client is hostile: whatever it holds, nothing here throws on
// it, and every reply is valid UTF-8 JSON (client-supplied text is cut on a
// character boundary and serialized with invalid bytes replaced).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

namespace barbossa {

// One client message, parsed and checked.
struct ClientMessage {
  enum class Kind { kInvalid, kPing, kSubscribe, kUnsubscribe, kResume };
  Kind kind = Kind::kInvalid;
  std::string channel;    // kSubscribe, kUnsubscribe
  int64_t after_seq = 0;  // kResume, >= 0
  std::string error;      // kInvalid: the message for the client
};

// Never throws on any text (only std::bad_alloc can escape).
ClientMessage parse_client_message(std::string_view text);

// {"type":"error","message":...}, valid UTF-8 whatever `message` holds.
std::string ws_error_reply(std::string_view message);

// What the session does on the client's behalf.
class WsClientActions {
 public:
  virtual ~WsClientActions() = default;
  // Empty on success, otherwise the error for the client.
  virtual std::string subscribe(std::string_view channel) = 0;
  virtual std::string unsubscribe(std::string_view channel) = 0;
  // Queues the missed events and then `resumed`, or `resync_required`.
  virtual void resume(int64_t after_seq) = 0;
};

// At most `per_second` resumes in any one second (a sliding window): each
// resume may replay the whole event buffer, so a client looping on it would
// make the server copy megabytes for nothing.
class ResumeLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit ResumeLimiter(int per_second) : limit_(per_second > 0 ? size_t(per_second) : 0) {}
  bool allow(Clock::time_point now);

 private:
  size_t limit_;
  std::deque<Clock::time_point> recent_;  // at most limit_ entries
};

// One per socket.
class WsMessageHandler {
 public:
  using Clock = std::chrono::steady_clock;
  explicit WsMessageHandler(int resume_per_second) : resume_limit_(resume_per_second) {}

  // The JSON reply to send, or empty when the action sent its own (resume).
  std::string handle(std::string_view text, WsClientActions& actions, Clock::time_point now);

 private:
  ResumeLimiter resume_limit_;
};

}  // namespace barbossa
