#include "http/server.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

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
        signals(ioc, SIGINT, SIGTERM) {}

  awaitable<void> accept_loop();
  awaitable<void> http_session(tcp::socket socket);
  awaitable<void> shutdown_sequence();
  awaitable<void> write_error(beast::tcp_stream& stream, int status, std::string_view code,
                              std::string_view message);
  void begin_shutdown();

  ServerOptions options;
  const Router& router;
  Hub& hub;
  WsAuthenticator authenticate;
  asio::io_context ioc;
  asio::thread_pool handlers;
  tcp::acceptor acceptor;
  asio::signal_set signals;
  std::atomic<bool> stopping{false};
  std::atomic<int> active_requests{0};
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
  asio::co_spawn(impl.ioc, impl.accept_loop(), asio::detached);
  std::vector<std::thread> threads;
  for (int i = 1; i < std::max(1, impl.options.io_threads); ++i) {
    threads.emplace_back([&impl] { impl.ioc.run(); });
  }
  impl.ioc.run();
  for (auto& t : threads) t.join();
  impl.handlers.join();
  spdlog::info("server stopped");
}

void HttpServer::request_shutdown() {
  asio::post(impl_->ioc, [impl = impl_.get()] { impl->begin_shutdown(); });
}

void HttpServer::Impl::begin_shutdown() {
  if (stopping.exchange(true)) return;
  asio::co_spawn(ioc, shutdown_sequence(), asio::detached);
}

awaitable<void> HttpServer::Impl::shutdown_sequence() {
  beast::error_code ignored;
  acceptor.close(ignored);
  signals.cancel(ignored);
  hub.shut_down_all(1001, "Server shutting down");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.shutdown_grace_ms);
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
  auto last_warning = std::chrono::steady_clock::time_point{};
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(ioc), tuple_awaitable);
    if (ec) {
      if (stopping.load() || ec == asio::error::operation_aborted) co_return;
      // Out of descriptors repeats every 50 ms: say it once per 10 s.
      auto now = std::chrono::steady_clock::now();
      if (now - last_warning > std::chrono::seconds(10)) {
        last_warning = now;
        spdlog::warn("accept failed: {} (connections are refused until it clears)", ec.message());
      }
      // Out of descriptors: back off instead of spinning.
      asio::steady_timer timer(ioc);
      timer.expires_after(std::chrono::milliseconds(50));
      co_await timer.async_wait(tuple_awaitable);
      continue;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto executor = socket.get_executor();
    asio::co_spawn(executor, http_session(std::move(socket)), asio::detached);
  }
}

awaitable<void> HttpServer::Impl::write_error(beast::tcp_stream& stream, int status,
                                              std::string_view code, std::string_view message) {
  http::response<http::string_body> res{static_cast<http::status>(status), 11};
  res.set(http::field::server, "barbossa");
  res.set(http::field::content_type, "application/json");
  res.keep_alive(false);
  res.body() = plain_error(status, code, message);
  res.prepare_payload();
  co_await http::async_write(stream, res, tuple_awaitable);
}

awaitable<void> HttpServer::Impl::http_session(tcp::socket socket) {
  std::string client;
  {
    beast::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    client = ec ? "unknown" : remote.address().to_string();
  }
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(options.max_body_bytes);
    parser.header_limit(16 * 1024);
    stream.expires_after(std::chrono::seconds(options.idle_timeout_seconds));
    auto [ec, bytes] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
    if (ec) {
      if (ec == http::error::body_limit) {
        co_await write_error(stream, 413, "too_large", "Request body is too large");
      } else if (ec == http::error::header_limit) {
        co_await write_error(stream, 431, "header_too_large", "Request headers are too large");
      } else if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
                 ec != asio::error::connection_reset && ec != asio::error::eof &&
                 ec != asio::error::operation_aborted && bytes > 0) {
        co_await write_error(stream, 400, "bad_request", "Malformed HTTP request");
      }
      break;
    }
    auto request = parser.release();

    if (websocket::is_upgrade(request)) {
      HttpRequest plain = to_plain(request, client);
      if (plain.path != "/ws") {
        co_await write_error(stream, 404, "not_found", "No WebSocket endpoint here");
        break;
      }
      // Sockets attached after shut_down_all would never get their 1001.
      if (stopping.load()) {
        co_await write_error(stream, 503, "shutting_down", "Server is shutting down");
        break;
      }
      std::string token = plain.query_string("token");
      // The token check touches the database: keep it off the I/O threads.
      // Capture by reference only (`token` lives in this frame until the
      // await returns): GCC 12 copies a coroutine lambda's closure bitwise
      // inside co_spawn, so a captured std::string is corrupted (an empty
      // token read as non-empty, a long one crashed the server in free()).
      auto identity = co_await asio::co_spawn(
          handlers,
          [this, &token]() -> awaitable<std::optional<WsIdentity>> {
            co_return token.empty() ? std::nullopt : authenticate(token);
          },
          use_awaitable);
      spdlog::debug("GET /ws from {} ({})", client, identity ? "accepted" : "invalid token");
      auto session = std::make_shared<WsSession>(std::move(stream), hub, options);
      session->run(std::move(request), std::move(identity));
      co_return;
    }

    auto started = std::chrono::steady_clock::now();
    bool keep_alive = request.keep_alive();
    bool head = request.method() == http::verb::head;
    unsigned version = request.version();
    HttpRequest plain = to_plain(request, client);
    active_requests.fetch_add(1);
    HttpResponse response;
    if (plain.path == "\x01invalid" || plain.query.count("\x01invalid")) {
      response = HttpResponse::error(400, "bad_request", "Malformed request target");
    } else {
      response = co_await asio::co_spawn(
          handlers, [this, &plain]() -> awaitable<HttpResponse> { co_return router.handle(plain); },
          use_awaitable);
    }
    if (response.delay.count() > 0) {
      // A slowed login: held on a timer, not on a handler thread.
      asio::steady_timer hold(ioc);
      hold.expires_after(response.delay);
      co_await hold.async_wait(tuple_awaitable);
    }
    int status = response.status;
    keep_alive = keep_alive && !stopping.load();
    auto res = to_beast(std::move(response), version, keep_alive, head);
    auto [wec, wbytes] = co_await http::async_write(stream, res, tuple_awaitable);
    active_requests.fetch_sub(1);
    // Paths only: query strings may carry tokens, which never reach the log.
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    // The raw (still percent-encoded) path: Beast admits no control bytes in
    // a target, whereas the decoded path could carry "%0a" and forge lines.
    std::string_view raw_path = std::string_view(plain.target).substr(0, plain.target.find('?'));
    spdlog::info("{} {} {} {:.1f}ms {}", plain.method, raw_path, status, ms, client);
    if (wec || !keep_alive) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace barbossa
