// libFuzzer target: what a WebSocket client may say (http/ws_messages.h),
// after the frame parser: parse_client_message and one socket's
// WsMessageHandler over a sequence of messages.
//
// Input: messages separated by 0x1E (record separator); a message's first
// byte says how the fake session answers a subscribe (accept, or refuse with
// an error that quotes the channel as the real one may) and how far the
// clock moves. Every reply must be empty (resume) or one valid-UTF-8 JSON
// object with a string "type"; nothing may throw.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "http/ws_messages.h"

namespace {

using barbossa::ClientMessage;

void check(bool ok, const char* what, std::string_view text, std::string_view reply) {
  if (!ok) {
    fprintf(stderr, "fuzz_ws_message: %s\nmessage: %.*s\nreply: %.*s\n", what,
            static_cast<int>(text.size()), text.data(), static_cast<int>(reply.size()),
            reply.data());
    abort();
  }
}

struct FakeActions : barbossa::WsClientActions {
  bool refuse = false;
  std::string subscribe(std::string_view channel) override {
    return refuse ? "Unknown channel: " + std::string(channel) : "";
  }
  std::string unsubscribe(std::string_view channel) override {
    return refuse ? "Not subscribed: " + std::string(channel) : "";
  }
  void resume(int64_t after_seq) override {
    if (after_seq < 0) abort();  // the parser promises >= 0
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  FakeActions actions;
  barbossa::WsMessageHandler handler(5);
  auto now = std::chrono::steady_clock::time_point() + std::chrono::hours(1);
  while (!input.empty()) {
    size_t end = input.find('\x1e');
    std::string_view message = input.substr(0, end);
    input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
    if (message.empty()) continue;
    const auto control = static_cast<uint8_t>(message[0]);
    actions.refuse = control & 1;
    now += std::chrono::milliseconds((control >> 1) * 10);  // 0-1.27 s between messages
    std::string_view text = message.substr(1);

    ClientMessage parsed = barbossa::parse_client_message(text);
    check(parsed.kind != ClientMessage::Kind::kResume || parsed.after_seq >= 0,
          "negative resume seq", text, "");
    check(parsed.kind != ClientMessage::Kind::kInvalid || !parsed.error.empty(),
          "invalid message without an error", text, "");

    std::string reply = handler.handle(text, actions, now);
    if (reply.empty()) {
      check(parsed.kind == ClientMessage::Kind::kResume, "no reply to a non-resume", text, reply);
      continue;
    }
    check(barbossa::is_valid_utf8(reply), "reply is not valid UTF-8", text, reply);
    auto json = nlohmann::json::parse(reply, nullptr, /*allow_exceptions=*/false);
    check(json.is_object() && json.contains("type") && json["type"].is_string(),
          "reply is not a JSON object with a type", text, reply);
  }
  return 0;
}
