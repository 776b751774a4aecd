// WebSocket session (SPEC §11). Private to http/: includes Beast.
//
// Beast performs the upgrade handshake; after it the session speaks the
// frame protocol itself (core/ws_frame.h) on the raw socket. That lets every
// write to a socket happen under one mutex, from whichever thread has data:
// the hub's dispatcher writes an event's pre-framed bytes straight into an
// idle socket with one non-blocking send(), no strand hop and no per-socket
// framing. Only when the kernel buffer is full does the session queue and wait
// for writability on its strand.
//
// The queue is bounded. Events with the same coalescing key (progress of one
// download) replace each other while queued; when the queue is full, queued
// progress goes first; a client that still cannot keep up, or whose socket
// has refused data for WS_STALL_SECONDS, is closed with 1013 and resumes
// after reconnecting. If even the close frame cannot be written, the TCP
// connection is torn down 5 s later.
//
// No exception leaves a handler of the session (accept, read, timers, the
// writable wait, deliver): each catches at its edge, logs once with the
// user and the handler, and closes only this socket with 1011. Protocol
// errors close with the parser's code (1002, 1007, 1009).
#pragma once

#include <array>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "core/ws_frame.h"
#include "http/server.h"
#include "http/ws_messages.h"
#include "hub/hub.h"

namespace barbossa {

class WsSession final : public HubConnection,
                        private WsClientActions,
                        public std::enable_shared_from_this<WsSession> {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Clock = std::chrono::steady_clock;

  WsSession(boost::beast::tcp_stream&& stream, Hub& hub, const ServerOptions& options);
  ~WsSession() override;

  // Accepts the upgrade; with no identity it then closes with 4001.
  void run(Request request, std::optional<WsIdentity> identity);

  // Thread-safe, never blocks: at most one non-blocking send().
  void deliver(const EventPtr& event) override;
  void shut_down(uint16_t code, std::string_view reason) override;

 private:
  struct Outgoing {
    std::shared_ptr<const std::string> frame;
    EventPtr event;  // null for direct replies and control frames
    bool is_close = false;
  };

  boost::asio::ip::tcp::socket& socket() { return boost::beast::get_lowest_layer(ws_).socket(); }
  // Replies go out uncompressed (allowed per message); events use the
  // bus's shared compressed frame when deflate was negotiated.
  const std::shared_ptr<const std::string>& frame_for(const Event& e) const {
    return deflate_ && e.deflated_frame ? e.deflated_frame : e.frame;
  }

  // Strand only.
  void start();
  void do_read();
  void on_readable(boost::beast::error_code ec);
  void on_read(const char* data, std::size_t bytes);
  void read_available(boost::beast::error_code ec);
  void handle_message(const std::string& text);
  void handle_resume(int64_t after_seq);
  void on_heartbeat_due();
  void start_heartbeat();
  void on_heartbeat(boost::beast::error_code ec);
  void arm_stall_timer();
  void start_teardown_timer();
  void finish();

  // Thread-safe.
  void send_reply(std::string json_text);
  void send_frame(std::string frame);
  void send_heartbeat(uint64_t seq);
  void close_with(uint16_t code, std::string_view reason);
  // Runs `body`; an exception is logged once (with `where`) and closes this
  // socket with 1011. Returns false when it caught one.
  template <class Body>
  bool guarded(const char* where, Body&& body) noexcept;
  void fail_internal(const char* where, const char* what) noexcept;

  // WsClientActions, for messages_ (strand only).
  std::string subscribe(std::string_view channel) override;
  std::string unsubscribe(std::string_view channel) override;
  void resume(int64_t after_seq) override;

  // Caller holds mu_.
  void push_locked(Outgoing item);
  void flush_locked();
  void wait_writable_locked();
  bool make_room_locked(size_t extra);
  bool stalled_locked(Clock::time_point now) const;
  void close_with_locked(uint16_t code, std::string_view reason);

  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;  // handshake only
  Hub& hub_;
  const ServerOptions& options_;
  Hub::Handle client_;
  bool deflate_ = false;  // set before the hub knows us; read-only afterwards
  boost::asio::steady_timer heartbeat_timer_;
  boost::asio::steady_timer stall_timer_;
  boost::asio::steady_timer teardown_timer_;

  // Strand only.
  WsFrameParser parser_;
  WsMessageHandler messages_;
  int64_t user_id_ = 0;  // for log lines; 0 without an identity
  bool finished_ = false;
  bool reading_frames_ = true;  // false once a close was sent or received
  Clock::time_point last_received_{};
  bool stall_timer_armed_ = false;

  std::mutex mu_;               // guards everything below, and every send() on the socket
  int fd_ = -1;                 // -1 once closed: the number may belong to another socket then
  std::deque<Outgoing> queue_;  // front() may be partly written
  size_t front_offset_ = 0;
  size_t queued_bytes_ = 0;
  bool waiting_writable_ = false;
  Clock::time_point blocked_since_{};  // set while the socket refuses data
  bool closing_ = false;               // no more events; a close frame is queued
  bool close_written_ = false;
  uint64_t replayed_to_ = 0;
};

}  // namespace barbossa
