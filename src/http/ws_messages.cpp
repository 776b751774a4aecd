#include "http/ws_messages.h"

#include <limits>

#include <nlohmann/json.hpp>

#include "core/time.h"
#include "core/utf8.h"

namespace barbossa {

using nlohmann::json;

namespace {

// Client text quoted back is cut to this many bytes: enough to recognise it.
constexpr size_t kQuoteBytes = 64;

// Every reply that may carry client text: invalid UTF-8 becomes U+FFFD
// instead of a type_error thrown from inside a handler.
std::string dump_safe(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

ClientMessage invalid(std::string message) {
  ClientMessage m;
  m.error = std::move(message);
  return m;
}

ClientMessage parse_channel_message(const json& msg, ClientMessage::Kind kind) {
  auto it = msg.find("channel");
  if (it == msg.end() || !it->is_string()) return invalid("Field 'channel' must be a string");
  ClientMessage m;
  m.kind = kind;
  m.channel = it->get<std::string>();
  return m;
}

ClientMessage parse_resume(const json& msg) {
  auto it = msg.find("after_seq");
  const char* problem = "Field 'after_seq' must be a non-negative integer";
  if (it == msg.end()) return invalid(problem);
  ClientMessage m;
  m.kind = ClientMessage::Kind::kResume;
  if (it->is_number_unsigned()) {
    auto v = it->get<uint64_t>();
    if (v > uint64_t(std::numeric_limits<int64_t>::max())) return invalid(problem);
    m.after_seq = static_cast<int64_t>(v);
  } else if (it->is_number_integer()) {
    m.after_seq = it->get<int64_t>();
    if (m.after_seq < 0) return invalid(problem);
  } else {
    return invalid(problem);
  }
  return m;
}

}  // namespace

std::string ws_error_reply(std::string_view message) {
  json j = json::object();
  j["type"] = "error";
  j["message"] = std::string(message);
  return dump_safe(j);
}

ClientMessage parse_client_message(std::string_view text) {
  json msg = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (msg.is_discarded()) return invalid("Invalid JSON");
  auto type_it = msg.is_object() ? msg.find("type") : msg.end();
  if (!msg.is_object() || type_it == msg.end() || !type_it->is_string()) {
    return invalid("A message must be a JSON object with a string 'type'");
  }
  const auto& type = type_it->get_ref<const std::string&>();
  if (type == "ping") {
    ClientMessage m;
    m.kind = ClientMessage::Kind::kPing;
    return m;
  }
  if (type == "subscribe") return parse_channel_message(msg, ClientMessage::Kind::kSubscribe);
  if (type == "unsubscribe") return parse_channel_message(msg, ClientMessage::Kind::kUnsubscribe);
  if (type == "resume") return parse_resume(msg);
  // Cut on a character boundary: cutting at a byte count split "é" and the
  // reply's serialization threw (the reported crash).
  return invalid("Unknown message type: " + truncate_utf8(type, kQuoteBytes));
}

bool ResumeLimiter::allow(Clock::time_point now) {
  while (!recent_.empty() && now - recent_.front() >= std::chrono::seconds(1)) recent_.pop_front();
  if (recent_.size() >= limit_) return false;
  recent_.push_back(now);
  return true;
}

std::string WsMessageHandler::handle(std::string_view text, WsClientActions& actions,
                                     Clock::time_point now) {
  ClientMessage m = parse_client_message(text);
  switch (m.kind) {
    case ClientMessage::Kind::kInvalid:
      return ws_error_reply(m.error);
    case ClientMessage::Kind::kPing: {
      json pong = json::object();
      pong["type"] = "pong";
      pong["timestamp"] = iso8601_now();
      return dump_safe(pong);
    }
    case ClientMessage::Kind::kSubscribe:
    case ClientMessage::Kind::kUnsubscribe: {
      const bool subscribe = m.kind == ClientMessage::Kind::kSubscribe;
      // No channel name is this long: answer without quoting 64 KiB back.
      if (m.channel.size() > kQuoteBytes) {
        return ws_error_reply("Unknown channel: " + truncate_utf8(m.channel, kQuoteBytes));
      }
      std::string problem =
          subscribe ? actions.subscribe(m.channel) : actions.unsubscribe(m.channel);
      if (!problem.empty()) return ws_error_reply(problem);
      json ok = json::object();
      ok["type"] = subscribe ? "subscribed" : "unsubscribed";
      ok["channel"] = m.channel;
      return dump_safe(ok);
    }
    case ClientMessage::Kind::kResume:
      if (!resume_limit_.allow(now)) return ws_error_reply("Too many resume requests");
      actions.resume(m.after_seq);
      return {};
  }
  return {};
}

}  // namespace barbossa
