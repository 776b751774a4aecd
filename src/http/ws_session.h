// WebSocket session (SPEC §11). Private to http/: includes Beast.
//
// Writes: one in flight per socket, a bounded queue behind it. Events for the
// same coalescing key (progress of one download) replace each other while
// queued; when the queue is full, superseded progress goes first; a client
// that still cannot keep up, or whose pending write has not finished within
// the stall limit, is closed with 1013 and resumes after reconnecting.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "http/server.h"
#include "hub/hub.h"

namespace barbossa {

class WsSession final : public HubConnection, public std::enable_shared_from_this<WsSession> {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  WsSession(boost::beast::tcp_stream&& stream, Hub& hub, const ServerOptions& options);
  ~WsSession() override;

  // Accepts the upgrade; with no identity it then closes with 4001.
  void run(Request request, std::optional<WsIdentity> identity);

  void deliver(const EventPtr& event) override;
  void shut_down(uint16_t code, std::string_view reason) override;

 private:
  struct Outgoing {
    std::shared_ptr<const std::string> text;
    EventPtr event;  // null for direct replies
  };

  void on_accept(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void handle_message(const std::string& text);
  void handle_resume(int64_t after_seq);

  void send_reply(std::string text);
  // Caller holds mu_. Starts the writer if idle.
  void push_locked(Outgoing item);
  void do_write();
  void on_write(boost::beast::error_code ec, std::size_t bytes);

  void start_heartbeat();
  void on_heartbeat(boost::beast::error_code ec);
  void send_heartbeat();

  // Caller holds mu_: drops queued progress, then reports whether `extra`
  // more bytes fit.
  bool make_room_locked(size_t extra);
  bool stalled_locked(std::chrono::steady_clock::time_point now) const;
  // Thread-safe: schedules a close with `code` on the strand.
  void close_soon(uint16_t code, std::string reason);
  void close_now(uint16_t code, const std::string& reason);
  void finish();

  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer read_buffer_;
  boost::asio::steady_timer heartbeat_timer_;
  boost::asio::steady_timer teardown_timer_;
  Hub& hub_;
  const ServerOptions& options_;
  Hub::Handle client_;
  bool finished_ = false;     // strand only
  bool close_started_ = false;  // strand only

  std::mutex mu_;  // guards everything below
  std::deque<Outgoing> queue_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool closing_ = false;
  std::chrono::steady_clock::time_point write_started_{};
  uint64_t replayed_to_ = 0;
};

}  // namespace barbossa
