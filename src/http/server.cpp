#include "http/server.h"

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/fault.h"
#include "http/limits.h"
#include "http/ws_session.h"

namespace barbossa {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

namespace {

HttpRequest to_plain(const http::request<http::string_body>& req, const std::string& client) {
  HttpRequest out;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  std::string_view target = req.target();
  size_t q = target.find('?');
  if (!percent_decode(target.substr(0, q), out.path, false) ||
      out.path.find('\0') != std::string::npos) {
    out.path = "\x01invalid";
  }
  if (q != std::string_view::npos && !parse_query(target.substr(q + 1), out.query)) {
    out.query.clear();
    out.query["\x01invalid"] = "1";
  }
  out.body = req.body();
  out.authorization = std::string(req[http::field::authorization]);
  out.client_address = client;
  auto [xff, xff_end] = req.equal_range("X-Forwarded-For");
  for (; xff != xff_end; ++xff) {
    if (!out.forwarded_for.empty()) out.forwarded_for += ", ";
    out.forwarded_for += std::string(xff->value());
  }
  return out;
}

http::response<http::string_body> to_beast(HttpResponse&& r, unsigned version, bool keep_alive,
                                           bool head) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "barbossa");
  if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
  for (auto& [k, v] : r.headers) res.set(k, v);
  res.keep_alive(keep_alive);
  size_t size = r.body.size();
  res.body() = head ? std::string() : std::move(r.body);
  res.prepare_payload();
  if (head) res.content_length(size);
  return res;
}

std::string plain_error(int status, std::string_view code, std::string_view message) {
  return HttpResponse::error(status, code, message).body;
}

// Test build only (fault::armed is false in the shipped binary): an armed
// point throws for the requests that name it in X-Barbossa-Fault, so a test
// can fault one request and prove the next one, and /health, are served.
bool fault_requested(const http::request<http::string_body>& req, std::string_view point) {
  return fault::armed(point) && req["X-Barbossa-Fault"] == point;
}

void throw_if_requested(const http::request<http::string_body>& req, std::string_view point) {
  if (fault_requested(req, point)) fault::maybe_throw(point);
}

using ConnectionSlot = std::shared_ptr<ConnectionCounter::Slot>;

// Counts a request from its start to its response, exceptions included, so
// the shutdown grace never waits for a request that already failed.
class ActiveRequest {
 public:
  explicit ActiveRequest(std::atomic<int>& n) : n_(n) { n_.fetch_add(1); }
  ~ActiveRequest() { n_.fetch_sub(1); }
  ActiveRequest(const ActiveRequest&) = delete;
  ActiveRequest& operator=(const ActiveRequest&) = delete;

 private:
  std::atomic<int>& n_;
};

// Refused connections being answered at once (each lives up to 2 s in
// refuse()): beyond this a flood would hold rate x 2 s descriptors out of the
// reserve kept for the database and library files, so further refusals are
// closed at once, unanswered.
constexpr size_t kMaxConcurrentRefusals = 64;

HttpResponse busy_response() {
  auto r = HttpResponse::error(503, "busy", "Server is busy; try again shortly");
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

}  // namespace

struct HttpServer::Impl {
  Impl(ServerOptions o, const Router& r, Hub& h, WsAuthenticator a)
      : options(std::move(o)),
        router(r),
        hub(h),
        authenticate(std::move(a)),
        ioc(std::max(1, options.io_threads)),
        handlers(static_cast<size_t>(std::max(1, options.handler_threads))),
        acceptor(ioc),
        signals(ioc, SIGINT, SIGTERM),
        connections(std::make_shared<ConnectionCounter>(connection_limit(options.max_connections),
                                                        options.max_connections_per_address,
                                                        options.unlimited_address)) {}

  // Where a request stands when an exception ends its connection: a 500 goes
  // out only for a request read and not yet answered, and only once.
  struct SessionState {
    bool awaiting_response = false;
    std::string method;
    std::string raw_path;
  };

  awaitable<void> accept_loop();
  awaitable<bool> accept_one();
  awaitable<void> refuse(tcp::socket socket);
  awaitable<void> http_session(tcp::socket socket, ConnectionSlot slot);
  awaitable<void> serve(beast::tcp_stream& stream, const std::string& client, ConnectionSlot& slot,
                        SessionState& state);
  // The steps of serve(), one request at a time.
  using Request = http::request<http::string_body>;
  awaitable<bool> read_request(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                               http::request_parser<http::string_body>& parser,
                               const std::string& client);
  awaitable<void> answer_read_error(beast::tcp_stream& stream, beast::error_code ec, size_t bytes,
                                    const std::string& client);
  void begin_request(const Request& request, SessionState& state);
  awaitable<void> upgrade_to_websocket(beast::tcp_stream& stream, const std::string& client,
                                       ConnectionSlot& slot, SessionState& state, Request& request);
  awaitable<bool> answer(beast::tcp_stream& stream, const std::string& client, SessionState& state,
                         const Request& request);
  awaitable<HttpResponse> run_handler(HttpRequest& plain, const Request& request);
  awaitable<void> shutdown_sequence();
  awaitable<HttpResponse> finish_held(const HttpRequest& plain, const HttpResponse& held);
  awaitable<void> write_error(beast::tcp_stream& stream, int status, std::string_view code,
                              std::string_view message, int retry_after_seconds = 0);
  void begin_shutdown();
  // The completion of a detached coroutine: an exception escaping it would
  // leave io_context::run and end the process, so it is logged here instead.
  auto log_failure(std::string what) {
    return [what = std::move(what)](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("{} failed: {}", what, ex.what());
      } catch (...) {
        spdlog::error("{} failed: unknown exception", what);
      }
    };
  }

  ServerOptions options;
  const Router& router;
  Hub& hub;
  WsAuthenticator authenticate;
  // Before ioc: a refusal still pending when ioc goes leaves its place here.
  std::atomic<size_t> refusing{0};
  asio::io_context ioc;
  asio::thread_pool handlers;
  tcp::acceptor acceptor;
  asio::signal_set signals;
  std::atomic<bool> stopping{false};
  std::atomic<int> active_requests{0};
  std::shared_ptr<ConnectionCounter> connections;
  std::atomic<size_t> queued_requests{0};
  WarningThrottle accept_warnings;
  WarningThrottle refusal_warnings;
  WarningThrottle busy_warnings;
};

HttpServer::HttpServer(ServerOptions options, const Router& router, Hub& hub,
                       WsAuthenticator authenticate)
    : impl_(std::make_unique<Impl>(std::move(options), router, hub, std::move(authenticate))) {}

HttpServer::~HttpServer() {
  impl_->handlers.join();
}

uint16_t HttpServer::listen() {
  auto& a = impl_->acceptor;
  tcp::endpoint endpoint(asio::ip::make_address(impl_->options.host), impl_->options.port);
  a.open(endpoint.protocol());
  a.set_option(asio::socket_base::reuse_address(true));
  a.bind(endpoint);
  a.listen(4096);
  return a.local_endpoint().port();
}

void HttpServer::run() {
  auto& impl = *impl_;
  impl.signals.async_wait([&impl](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("received signal {}, shutting down", sig);
    impl.begin_shutdown();
  });
  asio::co_spawn(impl.ioc, impl.accept_loop(), impl.log_failure("accept loop"));
  // The last line of defence: a handler that throws despite its own catch
  // (a WebSocket callback, a timer) ends up here; its connection is lost,
  // the loop and the process go on.
  auto run_loop = [&impl] {
    for (;;) {
      try {
        impl.ioc.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("an I/O handler threw: {} (its connection is dropped; serving on)", e.what());
      } catch (...) {
        spdlog::error("an I/O handler threw an unknown exception (serving on)");
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 1; i < std::max(1, impl.options.io_threads); ++i) threads.emplace_back(run_loop);
  run_loop();
  for (auto& t : threads) t.join();
  impl.handlers.join();
  spdlog::info("server stopped");
}

void HttpServer::request_shutdown() {
  asio::post(impl_->ioc, [impl = impl_.get()] { impl->begin_shutdown(); });
}

void HttpServer::Impl::begin_shutdown() {
  if (stopping.exchange(true)) return;
  asio::co_spawn(ioc, shutdown_sequence(), [this](std::exception_ptr e) {
    // A shutdown that failed half-way must still end run().
    if (e) log_failure("shutdown")(e);
    if (e) ioc.stop();
  });
}

awaitable<void> HttpServer::Impl::shutdown_sequence() {
  beast::error_code ignored;
  acceptor.close(ignored);
  signals.cancel(ignored);
  hub.shut_down_all(1001, "Server shutting down");
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options.shutdown_grace_ms);
  asio::steady_timer timer(ioc);
  while (std::chrono::steady_clock::now() < deadline &&
         (active_requests.load() > 0 || hub.connection_count() > 0)) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(tuple_awaitable);
  }
  if (active_requests.load() > 0 || hub.connection_count() > 0) {
    spdlog::warn("shutdown grace over with {} requests and {} sockets still open",
                 active_requests.load(), hub.connection_count());
  }
  ioc.stop();
}

awaitable<void> HttpServer::Impl::accept_loop() {
  for (bool more = true; more;) {
    bool failed = false;
    try {
      more = co_await accept_one();
    } catch (const std::exception& e) {
      // Accepting must go on whatever one connection did (a bad_alloc, a
      // socket option): the server would otherwise be deaf until restarted.
      spdlog::error("accepting a connection failed: {}", e.what());
      failed = true;
    }
    if (failed) {
      asio::steady_timer timer(ioc);
      timer.expires_after(std::chrono::milliseconds(50));
      co_await timer.async_wait(tuple_awaitable);
    }
  }
}

// False once the acceptor is closed.
awaitable<bool> HttpServer::Impl::accept_one() {
  auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(ioc), tuple_awaitable);
  if (ec) {
    if (stopping.load() || ec == asio::error::operation_aborted) co_return false;
    // Out of descriptors repeats every 50 ms: say it once per 10 s.
    uint64_t held_back = 0;
    if (accept_warnings.should_log(held_back)) {
      spdlog::warn("accept failed: {} (connections are refused until it clears)", ec.message());
    }
    // Out of descriptors: back off instead of spinning.
    asio::steady_timer timer(ioc);
    timer.expires_after(std::chrono::milliseconds(50));
    co_await timer.async_wait(tuple_awaitable);
    co_return true;
  }
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  auto remote = socket.remote_endpoint(ignored);
  std::string client = ignored ? "unknown" : remote.address().to_string();
  std::string refused;
  ConnectionSlot slot = connections->acquire(client, refused);
  auto executor = socket.get_executor();
  if (!slot) {
    uint64_t held_back = 0;
    if (refusal_warnings.should_log(held_back)) {
      spdlog::warn("connection from {} refused with 503: at {}{}", client, refused,
                   held_back ? fmt::format(" ({} more refused since the last warning)", held_back)
                             : std::string());
    }
    asio::co_spawn(executor, refuse(std::move(socket)), log_failure("refusing a connection"));
    co_return true;
  }
  asio::co_spawn(executor, http_session(std::move(socket), std::move(slot)),
                 log_failure("connection from " + client));
  co_return true;
}

// Over a connection limit: a 503 that the client can read, then close. The
// request it already sent is drained for a moment first, since closing with
// unread data resets the connection and the client could lose the answer.
awaitable<void> HttpServer::Impl::refuse(tcp::socket socket) {
  QueueTicket place(refusing, kMaxConcurrentRefusals);
  if (!place.admitted()) {
    // Already as many refusals in progress as we spend descriptors on: the
    // client sees the connection closed (the warning counts it too).
    beast::error_code ignored;
    socket.close(ignored);
    co_return;
  }
  beast::tcp_stream stream(std::move(socket));
  stream.expires_after(std::chrono::seconds(2));
  co_await write_error(stream, 503, "too_many_connections",
                       "Too many connections; try again shortly", 1);
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  std::array<char, 4096> sink{};
  for (;;) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), tuple_awaitable);
    if (ec) break;
  }
}

// The second half of a held response (HttpResponse::then), on a handler
// thread like any request, in the same bounded queue.
awaitable<HttpResponse> HttpServer::Impl::finish_held(const HttpRequest& plain,
                                                      const HttpResponse& held) {
  QueueTicket ticket(queued_requests, options.max_queued_requests);
  if (!ticket.admitted()) co_return busy_response();
  co_return co_await asio::co_spawn(
      handlers,
      [&plain, &held, &ticket]() -> awaitable<HttpResponse> {
        ticket.leave();
        co_return Router::guard(plain, held.then);
      },
      use_awaitable);
}

awaitable<void> HttpServer::Impl::write_error(beast::tcp_stream& stream, int status,
                                              std::string_view code, std::string_view message,
                                              int retry_after_seconds) {
  http::response<http::string_body> res{static_cast<http::status>(status), 11};
  res.set(http::field::server, "barbossa");
  res.set(http::field::content_type, "application/json");
  if (retry_after_seconds > 0)
    res.set(http::field::retry_after, std::to_string(retry_after_seconds));
  res.keep_alive(false);
  res.body() = plain_error(status, code, message);
  res.prepare_payload();
  co_await http::async_write(stream, res, tuple_awaitable);
}

// The boundary of one connection: whatever the request handling throws ends
// this connection only, with one 500 if a request is waiting for its answer.
awaitable<void> HttpServer::Impl::http_session(tcp::socket socket, ConnectionSlot slot) {
  std::string client;
  {
    beast::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    client = ec ? "unknown" : remote.address().to_string();
  }
  beast::tcp_stream stream(std::move(socket));
  SessionState state;
  std::string failure;
  try {
    co_await serve(stream, client, slot, state);
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "unknown exception";
  }
  const bool handed_over = !slot;  // the stream went to a WebSocket session
  const bool answer = !failure.empty() && state.awaiting_response && !handed_over;
  if (!failure.empty()) {
    // Logged once, here; the method and raw path say which request it was.
    spdlog::error("{} {} from {} failed: {}{}", state.method, state.raw_path, client, failure,
                  answer ? " (answered 500, connection closed)" : " (connection closed)");
  }
  if (handed_over) co_return;
  if (answer) {
    stream.expires_after(std::chrono::seconds(5));
    co_await write_error(stream, 500, "internal", "Internal server error");
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

awaitable<void> HttpServer::Impl::serve(beast::tcp_stream& stream, const std::string& client,
                                        ConnectionSlot& slot, SessionState& state) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    if (!co_await read_request(stream, buffer, parser, client)) co_return;
    auto request = parser.release();
    begin_request(request, state);
    if (websocket::is_upgrade(request)) {
      co_await upgrade_to_websocket(stream, client, slot, state, request);
      co_return;
    }
    if (!co_await answer(stream, client, state, request)) co_return;
  }
}

// False when the connection ends instead (closed, timed out, or a request
// that gets an error answer first).
awaitable<bool> HttpServer::Impl::read_request(beast::tcp_stream& stream,
                                               beast::flat_buffer& buffer,
                                               http::request_parser<http::string_body>& parser,
                                               const std::string& client) {
  parser.body_limit(options.max_body_bytes);
  parser.header_limit(16 * 1024);
  // Headers within HEADER_TIMEOUT_SECONDS of the connection or of the last
  // response (slowloris); then the body within the idle timeout. Beast
  // closes the socket when the time is up.
  stream.expires_after(std::chrono::seconds(options.header_timeout_seconds));
  auto [ec, bytes] = co_await http::async_read_header(stream, buffer, parser, tuple_awaitable);
  if (!ec && !parser.is_done()) {
    stream.expires_after(std::chrono::seconds(options.idle_timeout_seconds));
    std::tie(ec, bytes) = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
  }
  if (!ec) co_return true;
  co_await answer_read_error(stream, ec, bytes, client);
  co_return false;
}

awaitable<void> HttpServer::Impl::answer_read_error(beast::tcp_stream& stream, beast::error_code ec,
                                                    size_t bytes, const std::string& client) {
  if (ec == http::error::body_limit) {
    co_await write_error(stream, 413, "too_large", "Request body is too large");
  } else if (ec == http::error::header_limit) {
    co_await write_error(stream, 431, "header_too_large", "Request headers are too large");
  } else if (ec == beast::error::timeout) {
    spdlog::debug("closing a connection from {}: request not complete in time", client);
  } else if (ec != http::error::end_of_stream && ec != asio::error::connection_reset &&
             ec != asio::error::eof && ec != asio::error::operation_aborted && bytes > 0) {
    co_await write_error(stream, 400, "bad_request", "Malformed HTTP request");
  }
}

void HttpServer::Impl::begin_request(const Request& request, SessionState& state) {
  state.method = std::string(request.method_string());
  // The raw (still percent-encoded) path: Beast admits no control bytes in
  // a target, whereas the decoded path could carry "%0a" and forge lines.
  // Paths only: query strings may carry tokens, which never reach the log.
  state.raw_path = std::string(request.target().substr(0, request.target().find('?')));
  state.awaiting_response = true;
  throw_if_requested(request, "http_session");
}

// Hands the connection to a WebSocket session once the token is checked (an
// invalid token still gets a session, which closes with 4001).
awaitable<void> HttpServer::Impl::upgrade_to_websocket(beast::tcp_stream& stream,
                                                       const std::string& client,
                                                       ConnectionSlot& slot, SessionState& state,
                                                       Request& request) {
  HttpRequest plain = to_plain(request, client);
  if (plain.path != "/ws") {
    co_await write_error(stream, 404, "not_found", "No WebSocket endpoint here");
    co_return;
  }
  // Sockets attached after shut_down_all would never get their 1001.
  if (stopping.load()) {
    co_await write_error(stream, 503, "shutting_down", "Server is shutting down");
    co_return;
  }
  QueueTicket ticket(queued_requests, options.max_queued_requests);
  if (!ticket.admitted()) {
    co_await write_error(stream, 503, "busy", "Server is busy; try again shortly", 1);
    co_return;
  }
  std::string token = plain.query_string("token");
  // The token check touches the database: keep it off the I/O threads.
  // Capture by reference only (`token` lives in this frame until the
  // await returns): GCC 12 copies a coroutine lambda's closure bitwise
  // inside co_spawn, so a captured std::string is corrupted (an empty
  // token read as non-empty, a long one crashed the server in free()).
  // Read before the check: an account change the hub learns of after
  // it still applies when the socket attaches (Hub::attach).
  const uint64_t checked_at = hub.account_epoch();
  auto identity = co_await asio::co_spawn(
      handlers,
      [this, &token, &ticket]() -> awaitable<std::optional<WsIdentity>> {
        ticket.leave();
        co_return token.empty() ? std::nullopt : authenticate(token);
      },
      use_awaitable);
  if (identity) identity->checked_at = checked_at;
  spdlog::debug("GET /ws from {} ({})", client, identity ? "accepted" : "invalid token");
  // The connection's slot is released when the session is destroyed.
  std::shared_ptr<WsSession> session(
      std::make_unique<WsSession>(std::move(stream), hub, options).release(),
      [held = std::move(slot)](WsSession* s) { std::default_delete<WsSession>()(s); });
  state.awaiting_response = false;
  session->run(std::move(request), std::move(identity));
}

// Runs the request's handler, writes its response and logs it. True when
// the connection stays open for the next request.
awaitable<bool> HttpServer::Impl::answer(beast::tcp_stream& stream, const std::string& client,
                                         SessionState& state, const Request& request) {
  auto started = std::chrono::steady_clock::now();
  bool keep_alive = request.keep_alive();
  bool head = request.method() == http::verb::head;
  unsigned version = request.version();
  HttpRequest plain = to_plain(request, client);
  ActiveRequest active(active_requests);
  HttpResponse response = co_await run_handler(plain, request);
  if (response.delay.count() > 0) {
    // A slowed login: held on a timer, not on a handler thread.
    asio::steady_timer hold(ioc);
    hold.expires_after(response.delay);
    co_await hold.async_wait(tuple_awaitable);
  }
  if (response.then) response = co_await finish_held(plain, response);
  int status = response.status;
  keep_alive = keep_alive && !stopping.load();
  auto res = to_beast(std::move(response), version, keep_alive, head);
  state.awaiting_response = false;
  // The read's deadline may have passed while the handler ran.
  stream.expires_after(std::chrono::seconds(options.idle_timeout_seconds));
  auto [wec, wbytes] = co_await http::async_write(stream, res, tuple_awaitable);
  auto ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  spdlog::info("{} {} {} {:.1f}ms {}", plain.method, state.raw_path, status, ms, client);
  co_return !wec && keep_alive;
}

// The router's answer, on a handler thread, within the bounded queue.
awaitable<HttpResponse> HttpServer::Impl::run_handler(HttpRequest& plain, const Request& request) {
  if (plain.path == "\x01invalid" || plain.query.count("\x01invalid")) {
    co_return HttpResponse::error(400, "bad_request", "Malformed request target");
  }
  QueueTicket ticket(queued_requests, options.max_queued_requests);
  if (!ticket.admitted()) {
    uint64_t held_back = 0;
    if (busy_warnings.should_log(held_back)) {
      spdlog::warn("{} request(s) wait for a handler thread: answering 503 (MAX_QUEUED_REQUESTS)",
                   options.max_queued_requests);
    }
    co_return busy_response();
  }
  const bool inject = fault_requested(request, "http_handler");
  co_return co_await asio::co_spawn(
      handlers,
      [this, &plain, &ticket, inject]() -> awaitable<HttpResponse> {
        ticket.leave();
        if (inject) fault::maybe_throw("http_handler");
        co_return router.handle(plain);
      },
      use_awaitable);
}

}  // namespace barbossa
