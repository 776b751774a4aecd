// HttpServer: the network edge. Accepts HTTP/1.1 (keep-alive, body caps)
// and WebSocket upgrades on /ws. Beast and Asio stay behind this header:
// callers see plain options, a Router and the Hub.
//
// Threads: `io_threads` run all socket work, each connection on its own
// strand; route handlers (database, password hashing) run on a separate pool
// of `handler_threads` so slow work never stalls sockets.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "http/router.h"
#include "hub/hub.h"

namespace barbossa {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  int io_threads = 2;
  int handler_threads = 4;
  size_t max_body_bytes = 1 << 20;
  int idle_timeout_seconds = 60;  // a request's body, once its headers are in
  // Slowloris: a request's headers must be complete this long after the
  // connection opened or the previous response went out (also the keep-alive
  // idle time).
  int header_timeout_seconds = 10;
  // Open connections (HTTP and WebSocket). 0: the open-file limit less a
  // reserve for the database and library files. Over it: 503 and closed.
  size_t max_connections = 0;
  size_t max_connections_per_address = 2000;  // 0: no limit per address
  // Peers the per-address limit does not apply to (reverse proxies, which
  // carry every client's connections); unset: none.
  std::function<bool(const std::string& address)> unlimited_address;
  // Requests (and WebSocket token checks) waiting for a handler thread;
  // beyond them a request gets 503 with Retry-After.
  size_t max_queued_requests = 512;
  int heartbeat_seconds = 30;
  bool ws_deflate = false;
  size_t ws_queue_messages = 4096;  // per-connection send queue bound
  size_t ws_queue_bytes = 8u << 20;
  int ws_stall_seconds = 5;      // refused this long: hopeless (close 1013, TCP gone 5 s later)
  int ws_resume_per_second = 5;  // per socket; beyond it an error reply and no replay
  int shutdown_grace_ms = 3000;
};

struct WsIdentity {
  int64_t user_id = 0;
  std::string username;
  bool is_admin = false;
  int64_t token_version = 0;  // the account's, as the token check found it
  uint64_t checked_at = 0;    // Hub::account_epoch() before the check (set by the server)
};

// Returns the identity for a token, or nullopt (the socket is then closed 4001).
using WsAuthenticator = std::function<std::optional<WsIdentity>(const std::string& token)>;

class HttpServer {
 public:
  HttpServer(ServerOptions options, const Router& router, Hub& hub, WsAuthenticator authenticate);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens; returns the actual port (for PORT=0). Throws on failure.
  uint16_t listen();
  // Serves until SIGINT/SIGTERM or request_shutdown(), then closes WebSockets
  // with 1001, lets in-flight requests finish and returns.
  void run();
  // Thread-safe.
  void request_shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace barbossa
