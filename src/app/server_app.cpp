#include "app/server_app.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "app/background.h"
#include "app/library_stack.h"
#include "auth/password.h"
#include "auth/tokens.h"
#include "auth/trusted_proxies.h"
#include "bus/event_bus.h"
#include "files/fs_util.h"
#include "http/api.h"
#include "http/api_downloads.h"
#include "http/server.h"
#include "http/static_files.h"
#include "hub/hub.h"
#include "importer/integrity.h"
#include "services/account_service.h"
#include "services/activity_service.h"
#include "services/library_service.h"

namespace barbossa {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSeqKey = "event_seq_high_water";

// Thousands of WebSockets need thousands of descriptors.
void raise_fd_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

// Sets the umask for its lifetime (process-wide; used at start-up, before
// the threads that write files exist).
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t old_;
};

// The data folder holds the database, the token key, the journal and the
// backups: created owner-only (0700). An existing folder keeps the mode its
// owner gave it (a media server may need to reach a library inside it); the
// files in it that matter are owner-only on their own.
void make_private_dir(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0 && (st.st_mode & 007) != 0) {
      spdlog::info(
          "data folder {} is open to other users (mode {:o}); chmod 700 it unless "
          "another account needs the library inside it",
          dir.string(), st.st_mode & 0777);
    }
    return;
  }
  if (dir.has_parent_path()) fs::create_directories(dir.parent_path());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw fs::filesystem_error("cannot create the data folder", dir,
                               std::error_code(errno, std::generic_category()));
  }
}

// Open sockets follow account changes made by another process (`barbossa
// user remove`, `user passwd`, a role change): every few seconds one query
// reads every account's token_version and role and the hub closes (4001) or
// re-roles what no longer matches. Changes made through the API reach the hub
// at once; this only bounds how long another process's change takes.
class AccountSync {
 public:
  AccountSync(Store& store, Hub& hub, std::chrono::seconds every)
      : store_(store), hub_(hub), every_(every), thread_([this] { loop(); }) {}
  ~AccountSync() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  AccountSync(const AccountSync&) = delete;
  AccountSync& operator=(const AccountSync&) = delete;

 private:
  void loop() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, every_, [this] { return stopping_; })) {
      lock.unlock();
      sync_once();
      lock.lock();
    }
  }

  void sync_once() noexcept {
    try {
      auto states = store_.read([](StoreSession& s) { return s.users().account_states(); });
      std::vector<HubAccount> accounts;
      accounts.reserve(states.size());
      for (auto& a : states) accounts.push_back({a.id, a.token_version, a.is_admin});
      hub_.sync_accounts(accounts);
      if (failing_) spdlog::info("account sync works again");
      failing_ = false;
    } catch (const std::exception& e) {
      // A busy or locked database: said once per spell, tried again next time.
      if (!failing_)
        spdlog::warn("account sync failed (retrying every {} s): {}", every_.count(), e.what());
      failing_ = true;
    }
  }

  Store& store_;
  Hub& hub_;
  const std::chrono::seconds every_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool failing_ = false;
  std::thread thread_;  // last: started once everything it uses exists
};

void make_dirs(const Config& config) {
  make_private_dir(config.get("DATA_DIR"));
  for (const char* key : {"DATA_DIR", "LIBRARY_DIR", "USERS_DIR", "DOWNLOADS_DIR", "TRASH_DIR"}) {
    fs::create_directories(config.get(key));
  }
  for (const char* sub : {"pending", "review", "rejected"}) {
    fs::create_directories(fs::path(config.get("IMPORT_DIR")) / sub);
  }
}

AccountOptions account_options_from(const Config& config) {
  AccountOptions account_options;
  account_options.token_hours = static_cast<int>(config.get_int("TOKEN_HOURS", 1, 24 * 365));
  LoginLimits& login = account_options.login;
  login.max_failures_per_address_and_name =
      static_cast<int>(config.get_int("LOGIN_MAX_FAILURES", 1, 1000000));
  login.max_failures_per_address =
      static_cast<int>(config.get_int("LOGIN_MAX_FAILURES_PER_ADDRESS", 1, 1000000));
  login.window_seconds = static_cast<int>(config.get_int("LOGIN_WINDOW_SECONDS", 1, 86400));
  login.free_name_failures = static_cast<int>(config.get_int("LOGIN_SLOW_AFTER", 0, 1000000));
  login.max_delay_ms = static_cast<int>(config.get_int("LOGIN_MAX_DELAY_MS", 0, 60000));
  return account_options;
}

void bootstrap_admin(AccountService& accounts, const Config& config) {
  if (auto generated =
          accounts.bootstrap_admin(config.get("ADMIN_USER"), config.get("ADMIN_PASSWORD"))) {
    std::string name = config.get("ADMIN_USER").empty() ? "admin" : config.get("ADMIN_USER");
    // Printed once, on the first start only; it is never stored in clear.
    std::cout << "barbossa: first start: created admin user '" << name
              << "' with password: " << *generated << std::endl;
  }
}

// Event sequence numbers survive restarts through the meta table.
SeqPersistence seq_in_meta(Store& store) {
  SeqPersistence seq;
  seq.load = [&store] {
    auto v = store.read([](StoreSession& s) { return s.meta().get(kSeqKey); });
    return v ? std::stoull(*v) : 0ULL;
  };
  seq.store = [&store](uint64_t high) {
    store.write([high](StoreSession& s) { s.meta().put(kSeqKey, std::to_string(high)); });
  };
  return seq;
}

TrustedProxies trusted_proxies_from(const Config& config) {
  try {
    return TrustedProxies::parse(config.get("TRUSTED_PROXIES"));
  } catch (const std::invalid_argument& e) {
    throw ConfigError(e.what());
  }
}

// What /api/admin/health reports beyond the background work's own parts.
std::function<nlohmann::json()> component_health(Store& store, Hub& hub, EventBus& bus,
                                                 Background& background) {
  return [&store, &hub, &bus, &background] {
    nlohmann::json c = nlohmann::json::object();
    bool db_ok = store.ping();
    c["database"] = {{"status", db_ok ? "ok" : "down"},
                     {"detail", "schema version " + std::to_string(store.schema_version())}};
    c["websocket"] = {{"status", "ok"},
                      {"detail", std::to_string(hub.connection_count()) +
                                     " connections, last seq " + std::to_string(bus.last_seq())}};
    c.update(background.health());
    return c;
  };
}

ServerOptions server_options_from(const Config& config, const TrustedProxies& proxies) {
  ServerOptions options;
  options.host = config.get("HOST");
  options.port = static_cast<uint16_t>(config.get_int("PORT", 0, 65535));
  options.io_threads = static_cast<int>(config.get_int("IO_THREADS", 1, 64));
  options.handler_threads = static_cast<int>(config.get_int("HANDLER_THREADS", 1, 256));
  options.max_body_bytes = static_cast<size_t>(config.get_int("MAX_BODY_BYTES", 1024, 1LL << 30));
  options.heartbeat_seconds = static_cast<int>(config.get_int("HEARTBEAT_SECONDS", 1, 3600));
  options.ws_deflate = config.get_bool("WS_DEFLATE");
  options.ws_queue_messages = static_cast<size_t>(config.get_int("WS_SEND_QUEUE", 16, 1000000));
  options.ws_queue_bytes =
      static_cast<size_t>(config.get_int("WS_SEND_QUEUE_BYTES", 65536, 1LL << 32));
  options.ws_stall_seconds = static_cast<int>(config.get_int("WS_STALL_SECONDS", 1, 3600));
  options.ws_resume_per_second = static_cast<int>(config.get_int("WS_RESUME_PER_SECOND", 1, 1000));
  options.shutdown_grace_ms = static_cast<int>(config.get_int("SHUTDOWN_GRACE_MS", 0, 60000));
  options.max_connections = static_cast<size_t>(config.get_int("MAX_CONNECTIONS", 0, 10000000));
  options.max_connections_per_address =
      static_cast<size_t>(config.get_int("MAX_CONNECTIONS_PER_ADDRESS", 0, 10000000));
  options.unlimited_address = [proxies](const std::string& address) {
    return proxies.trusts(address);
  };
  options.max_queued_requests =
      static_cast<size_t>(config.get_int("MAX_QUEUED_REQUESTS", 1, 10000000));
  options.header_timeout_seconds =
      static_cast<int>(config.get_int("HEADER_TIMEOUT_SECONDS", 1, 3600));
  return options;
}

WsAuthenticator ws_authenticator(AccountService& accounts) {
  return [&accounts](const std::string& token) -> std::optional<WsIdentity> {
    auto user = accounts.try_authenticate(token);
    if (!user) return std::nullopt;
    return WsIdentity{user->id, user->username, user->is_admin, user->token_version, 0};
  };
}

// Listens, starts the background work, serves until a signal, then stops in
// reverse order.
int serve_until_signal(const Config& config, Store& store, Hub& hub, Background& background,
                       const ServerOptions& options, const Router& router,
                       AccountService& accounts) {
  HttpServer server(options, router, hub, ws_authenticator(accounts));
  uint16_t port = server.listen();
  std::optional<AccountSync> account_sync;
  account_sync.emplace(store, hub,
                       std::chrono::seconds(config.get_int("ACCOUNT_SYNC_SECONDS", 1, 3600)));
  // Before "listening" is printed: whoever waits for that line may rely on
  // the watcher and the workers being up.
  background.start();
  std::string url = "http://" + options.host + ":" + std::to_string(port);
  spdlog::info("listening on {}", url);
  std::cout << "barbossa: listening on " << url << std::endl;
  server.run();
  account_sync.reset();  // before hub.stop(): the hub lets go of its connections there
  background.stop(std::chrono::milliseconds(options.shutdown_grace_ms));
  hub.stop();
  return 0;
}

}  // namespace

std::unique_ptr<Store> open_migrated_store(const Config& config) {
  make_private_dir(config.get("DATA_DIR"));
  auto store = open_store(config.get("DATABASE_URL"));
  int applied = store->migrate();
  if (applied > 0) spdlog::info("applied {} database migration(s)", applied);
  return store;
}

std::string load_or_create_jwt_secret(const Config& config) {
  if (!config.get("JWT_SECRET").empty()) {
    // Config::validate refuses it first; this guards callers that skip it.
    if (config.get("JWT_SECRET").size() < kMinTokenSecretBytes) {
      throw ConfigError("JWT_SECRET must be at least " + std::to_string(kMinTokenSecretBytes) +
                        " bytes");
    }
    return config.get("JWT_SECRET");
  }
  fs::path file = fs::path(config.get("DATA_DIR")) / "jwt_secret";
  std::error_code ec;
  if (fs::exists(file, ec)) {
    // A key written by an older version (or copied in) loses any group and
    // other bits: whoever reads it can mint tokens for any account.
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      ::chmod(file.c_str(), 0600);
      spdlog::info("token key {} made owner-only (it was mode {:o})", file.string(),
                   st.st_mode & 0777);
    }
    std::ifstream in(file);
    std::string secret;
    std::getline(in, secret);
    if (secret.size() >= 32) return secret;
    throw std::runtime_error("the token key in " + file.string() +
                             " is too short; delete it to make a new one");
  }
  std::string secret = random_token(48);
  // Owner-only from its first byte (umask 077 and mode 0600, never a chmod
  // after the fact), fsynced with its folder before and after the rename: a
  // crash leaves the old state or the whole key, never an empty key file.
  ScopedUmask private_files(077);
  write_file_atomic(file, secret + "\n", 0600);
  return secret;
}

int run_server(const Config& config) {
  raise_fd_limit();
  make_dirs(config);
  auto store = open_migrated_store(config);
  const AccountOptions account_options = account_options_from(config);
  AccountService accounts(*store, load_or_create_jwt_secret(config), account_options);
  bootstrap_admin(accounts, config);

  auto bus = make_memory_event_bus(static_cast<size_t>(config.get_int("EVENT_BUFFER", 1, 10000000)),
                                   seq_in_meta(*store), config.get_bool("WS_DEFLATE"));
  // Fan-out threads write events into sockets (the hot path). One keeps a
  // core free for everything else and measured best on 2 cores (PERFORMANCE.md).
  Hub hub(*bus, static_cast<size_t>(config.get_int("FANOUT_THREADS", 1, 64)));
  ActivityService activity(*store, *bus);
  LibraryStack files = make_library_stack(config, *store, *bus, activity);
  accounts.attach_user_links(files.links.get());
  LibraryService library(*store, *bus, activity, files.files);
  Background background(config, *store, *bus, files);

  DownloadService downloads(*store, *bus, activity, download_enqueuer(background.queue()));

  Router router;
  ApiContext api{accounts, library, activity, *bus, nullptr, 200, files.importer.get()};
  api.jobs = &background.queue();
  api.hub = &hub;
  api.downloads = &downloads;
  api.trusted_proxies = trusted_proxies_from(config);
  api.scheduler = &background.scheduler();
  api.integrity_report = [&store] {
    return store->read([](StoreSession& s) { return s.meta().get(kIntegrityReportKey); });
  };
  api.component_health = component_health(*store, hub, *bus, background);
  auto api_handle = register_api_routes(router, api);
  router.set_fallback(make_static_handler(config.get("WEB_DIR")));

  const ServerOptions options = server_options_from(config, api.trusted_proxies);
  return serve_until_signal(config, *store, hub, background, options, router, accounts);
}

}  // namespace barbossa
