#include "http/ws_messages.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/utf8.h"

namespace barbossa {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Records what the handler asked of the session.
struct FakeActions : WsClientActions {
  std::vector<std::string> calls;
  std::string refuse;  // returned by subscribe/unsubscribe when set

  std::string subscribe(std::string_view channel) override {
    calls.push_back("subscribe " + std::string(channel));
    return refuse;
  }
  std::string unsubscribe(std::string_view channel) override {
    calls.push_back("unsubscribe " + std::string(channel));
    return refuse;
  }
  void resume(int64_t after_seq) override {
    calls.push_back("resume " + std::to_string(after_seq));
  }
};

json reply_to(const std::string& text, FakeActions& actions, WsMessageHandler& handler,
              Clock::time_point now = Clock::now()) {
  std::string reply = handler.handle(text, actions, now);
  EXPECT_TRUE(is_valid_utf8(reply)) << reply;
  return reply.empty() ? json() : json::parse(reply);
}

// The reported crash: the type was cut at byte 64, inside "é", and dumping
// the reply threw type_error.316 out of the read handler.
TEST(WsMessagesTest, UnknownTypeReplyStaysValidUtf8WhenCutInsideACharacter) {
  FakeActions actions;
  WsMessageHandler handler(5);
  std::string type = std::string(63, 'a') + "\xC3\xA9";
  json reply = reply_to(R"({"type":")" + type + R"("})", actions, handler);
  EXPECT_EQ(reply["type"], "error");
  EXPECT_EQ(reply["message"], "Unknown message type: " + std::string(63, 'a'));
  EXPECT_TRUE(actions.calls.empty());
}

TEST(WsMessagesTest, ErrorReplyReplacesInvalidBytes) {
  json reply = json::parse(ws_error_reply("bad \xFF byte"));
  EXPECT_EQ(reply["message"], "bad \xEF\xBF\xBD byte");
}

TEST(WsMessagesTest, MalformedMessagesGetAnErrorAndNoAction) {
  FakeActions actions;
  WsMessageHandler handler(5);
  for (const char* text :
       {"", "not json", "[1,2]", "42", "null", R"({"type":7})", R"({"kind":"ping"})",
        R"({"type":"subscribe"})", R"({"type":"subscribe","channel":3})", R"({"type":"resume"})",
        R"({"type":"resume","after_seq":-1})", R"({"type":"resume","after_seq":1.5})",
        R"({"type":"resume","after_seq":"3"})",
        R"({"type":"resume","after_seq":18446744073709551615})", "\xFF\xFE",
        R"({"type":"\ud800"})"}) {
    json reply = reply_to(text, actions, handler);
    EXPECT_EQ(reply["type"], "error") << text;
  }
  EXPECT_TRUE(actions.calls.empty());
}

TEST(WsMessagesTest, DeeplyNestedJsonIsAnErrorNotACrash) {
  FakeActions actions;
  WsMessageHandler handler(5);
  std::string deep = std::string(30000, '[') + std::string(30000, ']');
  EXPECT_EQ(reply_to(deep, actions, handler)["type"], "error");
}

TEST(WsMessagesTest, PingSubscribeUnsubscribe) {
  FakeActions actions;
  WsMessageHandler handler(5);
  EXPECT_EQ(reply_to(R"({"type":"ping"})", actions, handler)["type"], "pong");
  json sub = reply_to(R"({"type":"subscribe","channel":"library"})", actions, handler);
  EXPECT_EQ(sub["type"], "subscribed");
  EXPECT_EQ(sub["channel"], "library");
  EXPECT_EQ(reply_to(R"({"type":"unsubscribe","channel":"library"})", actions, handler)["type"],
            "unsubscribed");
  actions.refuse = "Not allowed: review";
  json refused = reply_to(R"({"type":"subscribe","channel":"review"})", actions, handler);
  EXPECT_EQ(refused["message"], "Not allowed: review");
  EXPECT_EQ(actions.calls, (std::vector<std::string>{"subscribe library", "unsubscribe library",
                                                     "subscribe review"}));
}

TEST(WsMessagesTest, OverlongChannelIsRefusedWithoutQuotingItBack) {
  FakeActions actions;
  WsMessageHandler handler(5);
  std::string channel = std::string(63, 'c') + "\xC3\xA9" + std::string(1000, 'c');
  json reply = reply_to(R"({"type":"subscribe","channel":")" + channel + R"("})", actions, handler);
  EXPECT_EQ(reply["message"], "Unknown channel: " + std::string(63, 'c'));
  EXPECT_TRUE(actions.calls.empty());
}

TEST(WsMessagesTest, ResumeIsRateLimitedPerSocket) {
  FakeActions actions;
  WsMessageHandler handler(5);
  auto t0 = Clock::now();
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(reply_to(R"({"type":"resume","after_seq":7})", actions, handler, t0).is_null());
  }
  json refused = reply_to(R"({"type":"resume","after_seq":7})", actions, handler, t0);
  EXPECT_EQ(refused["type"], "error");
  EXPECT_EQ(refused["message"], "Too many resume requests");
  EXPECT_EQ(actions.calls.size(), 5u);
  // A second later the window has moved on.
  EXPECT_TRUE(
      reply_to(R"({"type":"resume","after_seq":0})", actions, handler, t0 + std::chrono::seconds(1))
          .is_null());
  EXPECT_EQ(actions.calls.back(), "resume 0");
  // Another socket has its own budget.
  FakeActions other_actions;
  WsMessageHandler other(5);
  EXPECT_TRUE(reply_to(R"({"type":"resume","after_seq":7})", other_actions, other, t0).is_null());
}

TEST(WsMessagesTest, ResumeLimiterSlidesItsWindow) {
  ResumeLimiter limiter(2);
  auto t0 = Clock::now();
  EXPECT_TRUE(limiter.allow(t0));
  EXPECT_TRUE(limiter.allow(t0 + std::chrono::milliseconds(600)));
  EXPECT_FALSE(limiter.allow(t0 + std::chrono::milliseconds(900)));
  EXPECT_TRUE(limiter.allow(t0 + std::chrono::milliseconds(1000)));  // the first left the window
  EXPECT_FALSE(limiter.allow(t0 + std::chrono::milliseconds(1500)));
}

}  // namespace
}  // namespace barbossa
