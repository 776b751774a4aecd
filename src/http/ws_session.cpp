#include "http/ws_session.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/time.h"

namespace barbossa {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr size_t kMaxIncomingMessage = 64 * 1024;
constexpr auto kTeardownAfter = std::chrono::seconds(5);

std::string error_message(std::string_view message) {
  json j = json::object();
  j["type"] = "error";
  j["message"] = message;
  return j.dump();
}

}  // namespace

WsSession::WsSession(beast::tcp_stream&& stream, Hub& hub, const ServerOptions& options)
    : ws_(std::move(stream)),
      heartbeat_timer_(ws_.get_executor()),
      teardown_timer_(ws_.get_executor()),
      hub_(hub),
      options_(options) {}

WsSession::~WsSession() = default;

void WsSession::run(Request request, std::optional<WsIdentity> identity) {
  beast::get_lowest_layer(ws_).expires_never();
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = std::chrono::seconds(10);
  // A peer silent for two heartbeat intervals is dropped; Beast pings it at
  // half that time, so a live but quiet client always answers in time.
  timeouts.idle_timeout = std::chrono::seconds(2 * std::max(1, options_.heartbeat_seconds));
  timeouts.keep_alive_pings = true;
  ws_.set_option(timeouts);
  websocket::permessage_deflate deflate;
  deflate.server_enable = options_.ws_deflate;
  ws_.set_option(deflate);
  ws_.read_message_max(kMaxIncomingMessage);
  ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
    res.set(beast::http::field::server, "barbossa");
  }));

  auto self = shared_from_this();
  ws_.async_accept(request, [self, identity = std::move(identity)](beast::error_code ec) {
    if (ec) {
      spdlog::debug("websocket handshake failed: {}", ec.message());
      return;
    }
    if (!identity) {
      self->close_now(4001, "Invalid token");
      return;
    }
    self->client_ = self->hub_.attach(self, identity->user_id, identity->username, identity->is_admin);
    self->on_accept(ec);
  });
}

void WsSession::on_accept(beast::error_code) {
  send_heartbeat();
  start_heartbeat();
  do_read();
}

void WsSession::do_read() {
  ws_.async_read(read_buffer_, beast::bind_front_handler(&WsSession::on_read, shared_from_this()));
}

void WsSession::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    // closed (peer close), too big (Beast answers 1009), timeouts, resets.
    if (ec != websocket::error::closed && ec != asio::error::operation_aborted) {
      spdlog::debug("websocket read ended: {}", ec.message());
    }
    finish();
    return;
  }
  std::string text = beast::buffers_to_string(read_buffer_.data());
  read_buffer_.consume(read_buffer_.size());
  handle_message(text);
  do_read();
}

void WsSession::handle_message(const std::string& text) {
  json msg = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (msg.is_discarded()) return send_reply(error_message("Invalid JSON"));
  if (!msg.is_object() || !msg.contains("type") || !msg["type"].is_string()) {
    return send_reply(error_message("A message must be a JSON object with a string 'type'"));
  }
  const std::string type = msg["type"].get<std::string>();
  if (type == "ping") {
    json pong = json::object();
    pong["type"] = "pong";
    pong["timestamp"] = iso8601_now();
    return send_reply(pong.dump());
  }
  if (type == "subscribe" || type == "unsubscribe") {
    if (!msg.contains("channel") || !msg["channel"].is_string()) {
      return send_reply(error_message("Field 'channel' must be a string"));
    }
    std::string channel = msg["channel"].get<std::string>();
    std::string problem = type == "subscribe" ? hub_.subscribe(*client_, channel)
                                              : hub_.unsubscribe(*client_, channel);
    if (!problem.empty()) return send_reply(error_message(problem));
    json ok = json::object();
    ok["type"] = type == "subscribe" ? "subscribed" : "unsubscribed";
    ok["channel"] = channel;
    return send_reply(ok.dump());
  }
  if (type == "resume") {
    if (!msg.contains("after_seq") || !msg["after_seq"].is_number_integer() ||
        msg["after_seq"].get<int64_t>() < 0) {
      return send_reply(error_message("Field 'after_seq' must be a non-negative integer"));
    }
    return handle_resume(msg["after_seq"].get<int64_t>());
  }
  send_reply(error_message("Unknown message type: " + type.substr(0, 64)));
}

void WsSession::handle_resume(int64_t after_seq) {
  uint64_t latest_before = hub_.last_seq();
  auto events = hub_.replay_for(*client_, static_cast<uint64_t>(after_seq));
  std::lock_guard lock(mu_);
  if (closing_) return;
  size_t bytes = 0;
  if (events) {
    for (auto& e : *events) bytes += e->json->size();
  }
  if (!events || events->size() > options_.ws_queue_messages || bytes > options_.ws_queue_bytes) {
    push_locked({std::make_shared<const std::string>(R"({"type":"resync_required"})"), nullptr});
    return;
  }
  uint64_t to = latest_before;
  if (!events->empty()) to = std::max(to, events->back()->seq);
  // Queued live events are either in the replay or already known to the client.
  std::erase_if(queue_, [](const Outgoing& o) { return o.event != nullptr; });
  queued_bytes_ = 0;
  for (auto& o : queue_) queued_bytes_ += o.text->size();
  replayed_to_ = std::max(replayed_to_, to);
  for (auto& e : *events) push_locked({e->json, e});
  json done = json::object();
  done["type"] = "resumed";
  done["from"] = after_seq;
  done["to"] = to;
  push_locked({std::make_shared<const std::string>(done.dump()), nullptr});
}

void WsSession::send_reply(std::string text) {
  std::lock_guard lock(mu_);
  if (closing_) return;
  if (!make_room_locked(text.size())) {
    closing_ = true;
    close_soon(1013, "Client too slow");
    return;
  }
  push_locked({std::make_shared<const std::string>(std::move(text)), nullptr});
}

void WsSession::deliver(const EventPtr& event) {
  std::lock_guard lock(mu_);
  if (closing_ || event->seq <= replayed_to_) return;
  if (!event->coalesce_key.empty()) {
    for (auto& o : queue_) {
      if (o.event && o.event->coalesce_key == event->coalesce_key) {
        queued_bytes_ = queued_bytes_ - o.text->size() + event->json->size();
        o = {event->json, event};
        return;
      }
    }
  }
  auto now = std::chrono::steady_clock::now();
  if (stalled_locked(now) || !make_room_locked(event->json->size())) {
    closing_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    close_soon(1013, "Client too slow");
    return;
  }
  push_locked({event->json, event});
}

bool WsSession::stalled_locked(std::chrono::steady_clock::time_point now) const {
  return writing_ && write_started_ != std::chrono::steady_clock::time_point{} &&
         now - write_started_ > std::chrono::seconds(options_.ws_stall_seconds);
}

bool WsSession::make_room_locked(size_t extra) {
  auto fits = [&] {
    return queue_.size() < options_.ws_queue_messages &&
           queued_bytes_ + extra <= options_.ws_queue_bytes;
  };
  if (fits()) return true;
  std::erase_if(queue_, [](const Outgoing& o) { return o.event && !o.event->coalesce_key.empty(); });
  queued_bytes_ = 0;
  for (auto& o : queue_) queued_bytes_ += o.text->size();
  return fits();
}

void WsSession::push_locked(Outgoing item) {
  queued_bytes_ += item.text->size();
  queue_.push_back(std::move(item));
  if (!writing_) {
    writing_ = true;
    asio::post(ws_.get_executor(), [self = shared_from_this()] { self->do_write(); });
  }
}

void WsSession::do_write() {
  std::shared_ptr<const std::string> text;
  {
    std::lock_guard lock(mu_);
    if (queue_.empty() || finished_ || close_started_) {
      writing_ = false;
      write_started_ = {};
      return;
    }
    text = std::move(queue_.front().text);
    queued_bytes_ -= text->size();
    queue_.pop_front();
    write_started_ = std::chrono::steady_clock::now();
  }
  ws_.text(true);
  // `text` rides along in the handler so the buffer outlives the write.
  ws_.async_write(asio::buffer(*text),
                  [self = shared_from_this(), text](beast::error_code ec, std::size_t n) {
                    self->on_write(ec, n);
                  });
}

void WsSession::on_write(beast::error_code ec, std::size_t) {
  if (ec) {
    {
      std::lock_guard lock(mu_);
      writing_ = false;
      closing_ = true;
    }
    spdlog::debug("websocket write failed: {}", ec.message());
    finish();
    return;
  }
  do_write();
}

void WsSession::start_heartbeat() {
  heartbeat_timer_.expires_after(std::chrono::seconds(std::max(1, options_.heartbeat_seconds)));
  heartbeat_timer_.async_wait(beast::bind_front_handler(&WsSession::on_heartbeat, shared_from_this()));
}

void WsSession::on_heartbeat(beast::error_code ec) {
  if (ec || finished_ || close_started_) return;
  {
    std::lock_guard lock(mu_);
    if (stalled_locked(std::chrono::steady_clock::now())) {
      closing_ = true;
      queue_.clear();
      queued_bytes_ = 0;
    }
  }
  bool hopeless;
  {
    std::lock_guard lock(mu_);
    hopeless = closing_;
  }
  if (hopeless) {
    close_now(1013, "Client too slow");
    return;
  }
  send_heartbeat();
  start_heartbeat();
}

void WsSession::send_heartbeat() {
  json hb = json::object();
  hb["type"] = "heartbeat";
  hb["timestamp"] = iso8601_now();
  hb["seq"] = hub_.last_seq();
  hb["interval"] = options_.heartbeat_seconds;
  send_reply(hb.dump());
}

void WsSession::shut_down(uint16_t code, std::string_view reason) {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
    queue_.clear();
    queued_bytes_ = 0;
  }
  close_soon(code, std::string(reason));
}

void WsSession::close_soon(uint16_t code, std::string reason) {
  asio::post(ws_.get_executor(), [self = shared_from_this(), code, reason = std::move(reason)] {
    self->close_now(code, reason);
  });
}

void WsSession::close_now(uint16_t code, const std::string& reason) {
  if (close_started_ || finished_) return;
  close_started_ = true;
  heartbeat_timer_.cancel();
  if (code == 1013) spdlog::warn("closing a websocket that cannot keep up (user {})",
                                 client_ ? client_->user_id : 0);
  // If the peer never reads, the close frame can never be written: tear the
  // TCP connection down after a grace period.
  teardown_timer_.expires_after(kTeardownAfter);
  teardown_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) {
      beast::error_code ignored;
      beast::get_lowest_layer(self->ws_).socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
      beast::get_lowest_layer(self->ws_).close();
      self->finish();
    }
  });
  websocket::close_reason why(static_cast<websocket::close_code>(code), reason);
  ws_.async_close(why, [self = shared_from_this()](beast::error_code) {
    self->teardown_timer_.cancel();
    self->finish();
  });
}

void WsSession::finish() {
  if (finished_) return;
  finished_ = true;
  heartbeat_timer_.cancel();
  {
    std::lock_guard lock(mu_);
    closing_ = true;
    queue_.clear();
    queued_bytes_ = 0;
  }
  if (client_) hub_.detach(client_);
}

}  // namespace barbossa
