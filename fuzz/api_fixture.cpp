#include "api_fixture.h"

#include <unistd.h>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "app/background.h"
#include "app/config.h"
#include "app/library_stack.h"
#include "app/seed.h"
#include "app/server_app.h"
#include "bus/event_bus.h"
#include "http/api.h"
#include "http/api_downloads.h"
#include "services/account_service.h"
#include "services/activity_service.h"
#include "services/library_service.h"

namespace barbossa::fuzz {

namespace fs = std::filesystem;

// Declaration order is construction order: what a member refers to comes first.
struct ApiFixture::Parts {
  Config config;
  std::unique_ptr<Store> store;
  std::unique_ptr<AccountService> accounts;
  std::unique_ptr<EventBus> bus;
  std::unique_ptr<ActivityService> activity;
  LibraryStack stack;
  std::unique_ptr<LibraryService> library;
  std::unique_ptr<Background> background;  // constructed, never started
  std::unique_ptr<DownloadService> downloads;
  Router router;
  std::unique_ptr<ApiContext> context;
  std::shared_ptr<void> routes;
};

namespace {

int fixtures_made = 0;  // distinct folders when a process rebuilds its fixture
const std::string kAdminPassword = "fuzz-admin-password";
const std::string kUserPassword = "fuzz-user-password";

void quiet_logging() {
  // Messages are still formatted (that code runs on every error path) but
  // go nowhere: libFuzzer's own output stays readable.
  static const bool done = [] {
    auto logger =
        std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>());
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
    return true;
  }();
  (void)done;
}

}  // namespace

ApiFixture::ApiFixture()
    : dir_(fs::temp_directory_path() /
           ("fuzz_api." + std::to_string(getpid()) + "." + std::to_string(++fixtures_made))),
      parts_(std::make_unique<Parts>()) {
  quiet_logging();
  fs::create_directories(dir_);
  Parts& p = *parts_;
  p.config = Config::load("",
                          {{"DATA_DIR", dir_.string()},
                           {"ADMIN_USER", "admin"},
                           {"ADMIN_PASSWORD", kAdminPassword},
                           {"JWT_SECRET", std::string(48, 's')}},
                          nullptr);
  p.store = open_migrated_store(p.config);
  p.accounts =
      std::make_unique<AccountService>(*p.store, p.config.get("JWT_SECRET"), AccountOptions{});
  p.accounts->bootstrap_admin("admin", kAdminPassword);
  p.accounts->create_user("alice", kUserPassword, false);
  SeqPersistence seq{[] { return uint64_t{0}; }, [](uint64_t) {}};
  p.bus = make_memory_event_bus(1000, seq);
  p.activity = std::make_unique<ActivityService>(*p.store, *p.bus);
  p.stack = make_library_stack(p.config, *p.store, *p.bus, *p.activity);
  p.library = std::make_unique<LibraryService>(*p.store, *p.bus, *p.activity, p.stack.files);
  p.background = std::make_unique<Background>(p.config, *p.store, *p.bus, p.stack);
  // A few records to find, heart and delete (ids 1-4).
  for (int i = 1; i <= 4; ++i)
    add_album(*p.store, "Artist " + std::to_string(i % 2), "Album " + std::to_string(i), 1990 + i,
              3);

  p.context = std::make_unique<ApiContext>(ApiContext{*p.accounts, *p.library, *p.activity, *p.bus,
                                                      [] { return nlohmann::json::object(); }, 200,
                                                      p.stack.importer.get()});
  p.context->jobs = &p.background->queue();
  p.downloads = std::make_unique<DownloadService>(*p.store, *p.bus, *p.activity,
                                                  download_enqueuer(p.background->queue()));
  p.context->downloads = p.downloads.get();
  p.context->scheduler = &p.background->scheduler();
  p.context->integrity_report = [] { return std::optional<std::string>("{}"); };
  p.routes = register_api_routes(p.router, *p.context);

  admin_ = "Bearer " + p.accounts->login("admin", kAdminPassword, "127.0.0.1").access_token;
  user_ = "Bearer " + p.accounts->login("alice", kUserPassword, "127.0.0.1").access_token;
}

ApiFixture::~ApiFixture() {
  parts_.reset();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

HttpResponse ApiFixture::handle(HttpRequest& request) {
  HttpResponse res = parts_->router.handle(request);
  // A held login (HttpResponse::then): the server runs the rest after the
  // delay; the fuzzer runs it at once, so its answer is checked too.
  if (res.then) res = Router::guard(request, res.then);
  return res;
}

bool ApiFixture::tokens_still_valid() {
  return parts_->accounts->try_authenticate(admin_.substr(7)).has_value() &&
         parts_->accounts->try_authenticate(user_.substr(7)).has_value();
}

ApiFixture& shared_fixture(size_t max_uses) {
  static std::unique_ptr<ApiFixture> fixture;
  static size_t uses = 0;
  if (fixture && (uses >= max_uses || !fixture->tokens_still_valid())) fixture.reset();
  if (!fixture) {
    fixture = std::make_unique<ApiFixture>();
    uses = 0;
  }
  ++uses;
  return *fixture;
}

}  // namespace barbossa::fuzz
