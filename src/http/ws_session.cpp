#include "http/ws_session.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "core/fault.h"
#include "core/time.h"
#include "core/ws_deflate.h"

namespace barbossa {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr size_t kMaxIncomingMessage = 64 * 1024;
constexpr auto kTeardownAfter = std::chrono::seconds(5);

}  // namespace

template <class Body>
bool WsSession::guarded(const char* where, Body&& body) noexcept {
  try {
    body();
    return true;
  } catch (const std::exception& e) {
    fail_internal(where, e.what());
  } catch (...) {
    fail_internal(where, "unknown exception");
  }
  return false;
}

void WsSession::fail_internal(const char* where, const char* what) noexcept {
  try {
    spdlog::error("websocket {} failed (user {}): {}; closing the socket with 1011", where,
                  user_id_, what);
    close_with(1011, "Internal error");
  } catch (...) {
    // Not even the close frame could be queued: drop the connection.
    try {
      asio::post(ws_.get_executor(), [self = shared_from_this()] { self->finish(); });
    } catch (...) {
      spdlog::error("websocket (user {}) could not be closed after a failure", user_id_);
    }
  }
}

WsSession::WsSession(beast::tcp_stream&& stream, Hub& hub, const ServerOptions& options)
    : ws_(std::move(stream)),
      hub_(hub),
      options_(options),
      heartbeat_timer_(ws_.get_executor()),
      stall_timer_(ws_.get_executor()),
      teardown_timer_(ws_.get_executor()),
      parser_(kMaxIncomingMessage),
      messages_(options.ws_resume_per_second) {}

WsSession::~WsSession() = default;

void WsSession::run(Request request, std::optional<WsIdentity> identity) {
  beast::get_lowest_layer(ws_).expires_never();
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = std::chrono::seconds(10);
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws_.set_option(timeouts);
  // Beast does not negotiate: we write the frames, so we answer the offer.
  websocket::permessage_deflate deflate;
  deflate.server_enable = false;
  ws_.set_option(deflate);
  std::string extensions;
  if (options_.ws_deflate) {
    if (auto accepted = ws_deflate_accept(request[beast::http::field::sec_websocket_extensions])) {
      extensions = *accepted;
      deflate_ = true;
      parser_.enable_deflate();
    }
  }
  ws_.set_option(websocket::stream_base::decorator([extensions](websocket::response_type& res) {
    res.set(beast::http::field::server, "barbossa");
    if (!extensions.empty()) res.set(beast::http::field::sec_websocket_extensions, extensions);
  }));

  auto self = shared_from_this();
  ws_.async_accept(request, [self, identity = std::move(identity)](beast::error_code ec) {
    if (ec) {
      spdlog::debug("websocket handshake failed: {}", ec.message());
      return;
    }
    self->guarded("accept", [&] {
      {
        std::lock_guard lock(self->mu_);
        self->fd_ = self->socket().native_handle();
      }
      self->last_received_ = Clock::now();
      fault::maybe_throw("ws_accept");
      if (!identity) {
        // No user: nothing the client sends may be acted on.
        self->reading_frames_ = false;
        self->close_with(4001, "Invalid token");
        self->do_read();
        return;
      }
      // The first heartbeat is queued while the hub holds its registry lock,
      // so it is the first message and no event slips in ahead of it.
      self->user_id_ = identity->user_id;
      HubIdentity who{identity->user_id, identity->username, identity->is_admin,
                      identity->token_version, identity->checked_at};
      self->client_ = self->hub_.attach(self, std::move(who),
                                        [&self](uint64_t seq) { self->send_heartbeat(seq); });
      if (!self->client_) {
        // The account was removed or its password changed while the token
        // was being checked: the token is no longer good.
        spdlog::info("websocket of user {} refused: the account changed during its token check",
                     identity->user_id);
        self->reading_frames_ = false;
        self->close_with(4001, "Invalid token");
        self->do_read();
        return;
      }
      self->start();
    });
  });
}

void WsSession::start() {
  start_heartbeat();
  do_read();
}

// ---------------------------------------------------------------- reading

void WsSession::do_read() {
  // Wait for readability, then read into a stack buffer: an idle socket owns
  // no read buffer at all (20,000 idle sockets x 16 KiB would be 320 MiB).
  socket().async_wait(asio::ip::tcp::socket::wait_read,
                      beast::bind_front_handler(&WsSession::on_readable, shared_from_this()));
}

void WsSession::on_readable(beast::error_code ec) {
  if (guarded("read", [&] { read_available(ec); })) return;
  // Nothing more this client sends is acted on; keep reading for its close
  // or EOF (the teardown timer ends it otherwise).
  reading_frames_ = false;
  if (!finished_) guarded("read", [&] { do_read(); });
}

void WsSession::read_available(beast::error_code ec) {
  if (ec) {
    if (ec != asio::error::operation_aborted)
      spdlog::debug("websocket wait ended: {}", ec.message());
    return finish();
  }
  std::array<char, 16384> chunk;
  ssize_t n = ::recv(socket().native_handle(), chunk.data(), chunk.size(), MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return do_read();
  if (n <= 0) {
    if (n < 0) spdlog::debug("websocket read ended: {}", std::strerror(errno));
    return finish();  // 0: the peer closed its side
  }
  on_read(chunk.data(), static_cast<std::size_t>(n));
}

void WsSession::on_read(const char* data, std::size_t bytes) {
  last_received_ = Clock::now();
  if (!reading_frames_) return do_read();  // after a close: wait for EOF, discard the rest
  parser_.feed(data, bytes);
  for (;;) {
    auto result = parser_.next();
    if (result == WsFrameParser::Result::kNeedMore) break;
    if (result == WsFrameParser::Result::kMessage) {
      if (parser_.binary()) {
        send_reply(ws_error_reply("Binary messages are not supported"));
      } else {
        handle_message(parser_.payload());
      }
    } else if (result == WsFrameParser::Result::kPing) {
      send_frame(ws_encode_frame(WsOpcode::kPong, parser_.payload()));
    } else if (result == WsFrameParser::Result::kPong) {
      // Liveness only: last_received_ is already updated.
    } else if (result == WsFrameParser::Result::kClose) {
      // Peer-initiated close: echo its code; after our close goes out we close.
      reading_frames_ = false;
      uint16_t code = parser_.code() == 1005 ? 1000 : parser_.code();
      close_with(code, "");
      break;
    } else {  // kError: 1002 protocol, 1007 not UTF-8, 1009 too big
      spdlog::info("websocket protocol error (user {}): {}; closing with {}", user_id_,
                   parser_.error(), parser_.code());
      reading_frames_ = false;
      close_with(parser_.code(), parser_.error());
      break;
    }
  }
  if (!finished_) do_read();
}

void WsSession::handle_message(const std::string& text) {
  // A socket without an identity is being closed with 4001, yet its peer may
  // still send before it reads our close: nothing it says is answered (and
  // subscribe/resume would dereference the missing client).
  if (!client_) return;
  fault::maybe_throw("ws_message");
  std::string reply = messages_.handle(text, *this, Clock::now());
  if (!reply.empty()) send_reply(std::move(reply));
}

std::string WsSession::subscribe(std::string_view channel) {
  return hub_.subscribe(*client_, channel);
}

std::string WsSession::unsubscribe(std::string_view channel) {
  return hub_.unsubscribe(*client_, channel);
}

void WsSession::resume(int64_t after_seq) {
  handle_resume(after_seq);
}

void WsSession::handle_resume(int64_t after_seq) {
  uint64_t latest_before = hub_.last_seq();
  auto events = hub_.replay_for(*client_, static_cast<uint64_t>(after_seq));
  std::lock_guard lock(mu_);
  if (closing_) return;
  size_t bytes = 0;
  if (events) {
    for (auto& e : *events) bytes += frame_for(*e)->size();
  }
  if (!events || events->size() > options_.ws_queue_messages || bytes > options_.ws_queue_bytes) {
    push_locked({std::make_shared<const std::string>(
                     ws_encode_frame(WsOpcode::kText, R"({"type":"resync_required"})")),
                 nullptr});
    return flush_locked();
  }
  uint64_t to = latest_before;
  if (!events->empty()) to = std::max(to, events->back()->seq);
  // Queued live events are either in the replay or already known to the
  // client; a partly written front frame must still be finished.
  auto keep_front = front_offset_ > 0 ? 1 : 0;
  std::deque<Outgoing> kept;
  for (size_t i = 0; i < queue_.size(); ++i) {
    if (static_cast<int>(i) < keep_front || queue_[i].event == nullptr)
      kept.push_back(std::move(queue_[i]));
  }
  queue_.swap(kept);
  queued_bytes_ = 0;
  for (auto& o : queue_) queued_bytes_ += o.frame->size();
  replayed_to_ = std::max(replayed_to_, to);
  for (auto& e : *events) push_locked({frame_for(*e), e});
  json done = json::object();
  done["type"] = "resumed";
  done["from"] = after_seq;
  done["to"] = to;
  push_locked({std::make_shared<const std::string>(ws_encode_frame(WsOpcode::kText, done.dump())),
               nullptr});
  flush_locked();
}

// ---------------------------------------------------------------- writing

void WsSession::deliver(const EventPtr& event) {
  // Runs on a hub dispatcher thread: nothing may escape into the fan-out.
  guarded("deliver", [&] {
    fault::maybe_throw("ws_deliver");
    std::lock_guard lock(mu_);
    if (closing_ || fd_ < 0 || event->seq <= replayed_to_) return;
    if (!event->coalesce_key.empty()) {
      for (size_t i = front_offset_ > 0 ? 1 : 0; i < queue_.size(); ++i) {
        auto& o = queue_[i];
        if (o.event && o.event->coalesce_key == event->coalesce_key) {
          queued_bytes_ = queued_bytes_ - o.frame->size() + frame_for(*event)->size();
          o = {frame_for(*event), event};
          return;
        }
      }
    }
    const auto& frame = frame_for(*event);
    if (stalled_locked(Clock::now()) || !make_room_locked(frame->size())) {
      return close_with_locked(1013, "Client too slow");
    }
    push_locked({frame, event});
    if (!waiting_writable_) flush_locked();
  });
}

void WsSession::send_reply(std::string json_text) {
  send_frame(ws_encode_frame(WsOpcode::kText, json_text));
}

void WsSession::send_frame(std::string frame) {
  std::lock_guard lock(mu_);
  if (closing_ || fd_ < 0) return;
  if (!make_room_locked(frame.size())) return close_with_locked(1013, "Client too slow");
  push_locked({std::make_shared<const std::string>(std::move(frame)), nullptr});
  if (!waiting_writable_) flush_locked();
}

void WsSession::send_heartbeat(uint64_t seq) {
  json hb = json::object();
  hb["type"] = "heartbeat";
  hb["timestamp"] = iso8601_now();
  hb["seq"] = seq;
  hb["interval"] = options_.heartbeat_seconds;
  send_reply(hb.dump());
}

void WsSession::push_locked(Outgoing item) {
  queued_bytes_ += item.frame->size();
  queue_.push_back(std::move(item));
}

bool WsSession::make_room_locked(size_t extra) {
  auto fits = [&] {
    return queue_.size() < options_.ws_queue_messages &&
           queued_bytes_ + extra <= options_.ws_queue_bytes;
  };
  if (fits()) return true;
  // Superseded progress goes first; the final state of a download is never
  // coalescible, so nothing that matters is lost.
  size_t first = front_offset_ > 0 ? 1 : 0;
  std::deque<Outgoing> kept;
  for (size_t i = 0; i < queue_.size(); ++i) {
    bool droppable = i >= first && queue_[i].event && !queue_[i].event->coalesce_key.empty();
    if (!droppable) kept.push_back(std::move(queue_[i]));
  }
  queue_.swap(kept);
  queued_bytes_ = 0;
  for (auto& o : queue_) queued_bytes_ += o.frame->size();
  return fits();
}

bool WsSession::stalled_locked(Clock::time_point now) const {
  return blocked_since_ != Clock::time_point{} &&
         now - blocked_since_ > std::chrono::seconds(options_.ws_stall_seconds);
}

void WsSession::flush_locked() {
  while (!queue_.empty() && fd_ >= 0) {
    const std::string& frame = *queue_.front().frame;
    ssize_t n = ::send(fd_, frame.data() + front_offset_, frame.size() - front_offset_,
                       MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return wait_writable_locked();
      // Reset or broken pipe: the read side sees it too and finishes.
      queue_.clear();
      queued_bytes_ = 0;
      front_offset_ = 0;
      closing_ = true;
      return;
    }
    front_offset_ += static_cast<size_t>(n);
    if (front_offset_ < frame.size()) return wait_writable_locked();
    bool was_close = queue_.front().is_close;
    queued_bytes_ -= frame.size();
    queue_.pop_front();
    front_offset_ = 0;
    if (was_close) {
      close_written_ = true;
      // Our side is done; the peer answers with its close and then EOF.
      ::shutdown(fd_, SHUT_WR);
      queue_.clear();
      queued_bytes_ = 0;
    }
  }
  blocked_since_ = {};
}

void WsSession::wait_writable_locked() {
  if (blocked_since_ == Clock::time_point{}) {
    blocked_since_ = Clock::now();
    asio::post(ws_.get_executor(), [self = shared_from_this()] {
      self->guarded("stall timer", [&] { self->arm_stall_timer(); });
    });
  }
  if (waiting_writable_) return;
  waiting_writable_ = true;
  // Socket operations belong to the strand.
  asio::post(ws_.get_executor(), [self = shared_from_this()] {
    if (self->finished_) return;
    self->guarded("writable wait", [&] {
      self->socket().async_wait(asio::ip::tcp::socket::wait_write, [self](beast::error_code ec) {
        self->guarded("write", [&] {
          std::lock_guard lock(self->mu_);
          self->waiting_writable_ = false;
          if (ec || self->fd_ < 0) return;
          self->flush_locked();
        });
      });
    });
  });
}

// ---------------------------------------------------------------- timers and closing

void WsSession::arm_stall_timer() {
  if (stall_timer_armed_ || finished_) return;
  stall_timer_armed_ = true;
  stall_timer_.expires_after(std::chrono::seconds(options_.ws_stall_seconds) +
                             std::chrono::milliseconds(50));
  stall_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    self->stall_timer_armed_ = false;
    if (ec || self->finished_) return;
    self->guarded("stall timer", [&] {
      std::lock_guard lock(self->mu_);
      if (self->stalled_locked(Clock::now()))
        return self->close_with_locked(1013, "Client too slow");
      if (self->blocked_since_ != Clock::time_point{}) {
        // A later blocked spell: look again when it would be overdue.
        asio::post(self->ws_.get_executor(),
                   [self] { self->guarded("stall timer", [&] { self->arm_stall_timer(); }); });
      }
    });
  });
}

void WsSession::start_heartbeat() {
  heartbeat_timer_.expires_after(std::chrono::seconds(std::max(1, options_.heartbeat_seconds)));
  heartbeat_timer_.async_wait(
      beast::bind_front_handler(&WsSession::on_heartbeat, shared_from_this()));
}

void WsSession::on_heartbeat(beast::error_code ec) {
  if (ec || finished_) return;
  guarded("heartbeat", [&] { on_heartbeat_due(); });
}

void WsSession::on_heartbeat_due() {
  fault::maybe_throw("ws_timer");
  auto interval = std::chrono::seconds(std::max(1, options_.heartbeat_seconds));
  auto silent = Clock::now() - last_received_;
  if (silent > 2 * interval) {
    spdlog::debug("dropping a websocket silent for {} s",
                  std::chrono::duration_cast<std::chrono::seconds>(silent).count());
    return finish();
  }
  {
    std::lock_guard lock(mu_);
    if (closing_) return;
    if (stalled_locked(Clock::now())) return close_with_locked(1013, "Client too slow");
  }
  // A quiet peer is asked for a pong, so a live one is never "silent".
  if (silent > interval / 2) send_frame(ws_encode_frame(WsOpcode::kPing, ""));
  // The dispatched seq, not the bus's latest: every event up to it that
  // this client may see is already queued ahead of this heartbeat.
  send_heartbeat(hub_.dispatched_seq(*client_));
  start_heartbeat();
}

void WsSession::shut_down(uint16_t code, std::string_view reason) {
  guarded("shut down", [&] { close_with(code, reason); });
}

void WsSession::close_with(uint16_t code, std::string_view reason) {
  std::lock_guard lock(mu_);
  close_with_locked(code, reason);
}

void WsSession::close_with_locked(uint16_t code, std::string_view reason) {
  if (closing_ || fd_ < 0) return;
  closing_ = true;
  if (code == 1013) {
    spdlog::warn("closing a websocket that cannot keep up");
  }
  // Drop what has not started; a partly written frame must be finished or
  // the stream would be corrupt.
  while (queue_.size() > (front_offset_ > 0 ? 1u : 0u)) {
    queued_bytes_ -= queue_.back().frame->size();
    queue_.pop_back();
  }
  Outgoing close{std::make_shared<const std::string>(ws_encode_close(code, reason)), nullptr, true};
  push_locked(std::move(close));
  if (!waiting_writable_) flush_locked();
  asio::post(ws_.get_executor(), [self = shared_from_this()] {
    self->guarded("close", [&] {
      self->heartbeat_timer_.cancel();
      self->start_teardown_timer();
    });
  });
}

void WsSession::start_teardown_timer() {
  if (finished_) return;
  // The peer has this long to answer our close (or to read it at all).
  teardown_timer_.expires_after(kTeardownAfter);
  teardown_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec) return;
    // finish() is the last resort of every failure: if it throws, log it; the
    // socket is closed by the session's destructor.
    try {
      self->finish();
    } catch (const std::exception& e) {
      spdlog::error("websocket teardown failed (user {}): {}", self->user_id_, e.what());
    }
  });
}

void WsSession::finish() {
  if (finished_) return;
  finished_ = true;
  heartbeat_timer_.cancel();
  stall_timer_.cancel();
  teardown_timer_.cancel();
  {
    std::lock_guard lock(mu_);
    closing_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    fd_ = -1;  // before close(): the number may be reused at once
    beast::error_code ignored;
    socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
  }
  if (client_) {
    hub_.detach(client_);
    // The hub's record holds this session and we hold the record: drop our
    // side, or every closed socket would leak both.
    client_.reset();
  }
}

}  // namespace barbossa
