#include "app/cli.h"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app/config.h"
#include "app/library_stack.h"
#include "app/logging.h"
#include "app/seed.h"
#include "app/server_app.h"
#include "auth/password.h"
#include "bus/event_bus.h"
#include "core/error.h"
#include "importer/integrity.h"
#include "jobs/job_admin.h"
#include "jobs/job_queue.h"
#include "jobs/scheduler.h"
#include "media/parallel_pool.h"
#include "services/account_service.h"

namespace barbossa {
namespace {

constexpr const char* kVersion = "0.1.0";

std::string read_password_stdin() {
  std::string line;
  std::getline(std::cin, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  return line;
}

// Prompts on the terminal with echo off, so the password never shows on
// screen or in a terminal's scrollback.
std::string prompt_password(const std::string& who) {
  termios saved{};
  bool restore = tcgetattr(STDIN_FILENO, &saved) == 0;
  if (restore) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  // Prompt only once echo is off, so nothing typed after it can show.
  std::cerr << "Password for " << who << ": " << std::flush;
  std::string pw = read_password_stdin();
  if (restore) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  return pw;
}

struct CommonOptions {
  std::string config_file;
  std::string data_dir;
  std::string host;
  std::string port;
  std::string log_level;
  std::string log_format;
  std::vector<std::string> sets;
};

Config build_config(const CommonOptions& o, char** env) {
  std::map<std::string, std::string> flags;
  for (const auto& kv : o.sets) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      throw ConfigError("--set expects KEY=VALUE, got '" + kv + "'");
    flags[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if (!o.data_dir.empty()) flags["DATA_DIR"] = o.data_dir;
  if (!o.host.empty()) flags["HOST"] = o.host;
  if (!o.port.empty()) flags["PORT"] = o.port;
  if (!o.log_level.empty()) flags["LOG_LEVEL"] = o.log_level;
  if (!o.log_format.empty()) flags["LOG_FORMAT"] = o.log_format;
  Config config = Config::load(o.config_file, flags, env);
  config.validate();
  return config;
}

AccountService make_accounts(Store& store, const Config& config) {
  return AccountService(store, load_or_create_jwt_secret(config), AccountOptions{});
}

// `barbossa import`: works offline, whether or not a server runs on the
// same data (the database serializes the commits).
// One folder's decision, as the command prints it.
struct ImportReport {
  nlohmann::json line = nlohmann::json::object();
  std::string text;
  int exit_code = 0;  // 0 imported, 2 review, 1 error
};

ImportReport import_one(ImportService& importer, const std::string& path, bool copy,
                        const std::string& source) {
  ImportReport r;
  r.line["path"] = path;
  try {
    ImportRequest request;
    request.folder = std::filesystem::absolute(path).lexically_normal();
    if (!request.folder.has_filename()) request.folder = request.folder.parent_path();
    request.copy = copy;
    request.source = source;
    ImportOutcome o = importer.import_folder(request);
    bool imported = o.kind == DecisionKind::kImport || o.kind == DecisionKind::kUpgrade;
    r.exit_code = imported ? 0 : 2;
    r.line["status"] = o.status();
    r.line["artist"] = o.artist;
    r.line["album"] = o.album;
    r.line["year"] = o.year;
    r.line["confidence"] = o.confidence;
    r.line["album_id"] = o.album_id;
    r.line["review_id"] = o.review_id;
    r.line["reasons"] = o.reasons;
    r.text = o.status() + ": " + path + ": " + o.artist + " - " + o.album;
    if (o.year > 0) r.text += " (" + std::to_string(o.year) + ")";
    if (imported) r.text += " -> album " + std::to_string(o.album_id);
    if (o.review_id != 0) r.text += " -> review item " + std::to_string(o.review_id);
    r.text += fmt::format(" [confidence {:.2f}]\n", o.confidence);
    for (const auto& reason : o.reasons) r.text += "  - " + reason + "\n";
  } catch (const std::exception& e) {
    r.exit_code = 1;
    r.line["status"] = "error";
    r.line["error"] = e.what();
    r.text = "error: " + path + ": " + std::string(e.what()) + "\n";
  }
  return r;
}

int run_import(const Config& config, Store& store, const std::vector<std::string>& paths, bool copy,
               const std::string& source, bool as_json, size_t jobs) {
  // Events from the CLI have no sockets to reach yet; seq stays in memory.
  SeqPersistence no_persistence{[] { return uint64_t{0}; }, [](uint64_t) {}};
  auto bus = make_memory_event_bus(16, no_persistence);
  ActivityService activity(store, *bus);
  LibraryStack stack = make_library_stack(config, store, *bus, activity);

  // Several folders at once: an album spends most of its time waiting for
  // fsync, which another album's reading and hashing can use. Reports are
  // printed in the order the folders were given.
  if (jobs == 0) jobs = std::max<unsigned>(1, std::thread::hardware_concurrency()) + 1;
  jobs = std::min(jobs, paths.size());
  std::vector<std::optional<ImportReport>> reports(paths.size());
  std::mutex mutex;
  std::condition_variable ready;
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < paths.size();) {
      ImportReport r = import_one(*stack.importer, paths[i], copy, source);
      std::lock_guard lock(mutex);
      reports[i] = std::move(r);
      ready.notify_all();
    }
  };
  std::vector<std::jthread> workers;
  for (size_t w = 1; w < jobs; ++w) workers.emplace_back(worker);
  std::jthread own(worker);

  int exit_code = 0;
  for (size_t i = 0; i < paths.size(); ++i) {
    ImportReport r;
    {
      std::unique_lock lock(mutex);
      ready.wait(lock, [&] { return reports[i].has_value(); });
      r = std::move(*reports[i]);
    }
    if (r.exit_code == 1 || exit_code == 0) exit_code = std::max(exit_code, r.exit_code);
    if (as_json) {
      std::cout << r.line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      std::cout << r.text;
    }
    std::cout << std::flush;
  }
  return exit_code;
}

// `barbossa verify`: offline, and allowed while a server runs on the same
// data (its only writes are checksum_verified_at and the stored report). No
// library stack: that would create folders and replay crashed album moves,
// which a checker has no business doing.
int run_verify(const Config& config, Store& store, bool as_json, size_t threads) {
  if (threads == 0) threads = std::max<size_t>(1, std::thread::hardware_concurrency());
  // One pool for the whole run: threads (and their hash buffers) started per
  // batch cost more than they save.
  ParallelPool pool(std::max<size_t>(1, threads - 1));
  IntegrityOptions options;
  options.threads = threads;
  const std::filesystem::path library =
      std::filesystem::absolute(config.get("LIBRARY_DIR")).lexically_normal();
  IntegrityReport r = verify_library(store, library, &pool, options);
  if (as_json) {
    std::cout << r.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
              << std::endl;
  } else {
    std::cout << fmt::format("checked {} track(s) in {} ms: ", r.checked, r.duration_ms);
    if (r.clean()) {
      std::cout << "all files present and intact\n";
    } else {
      std::cout << fmt::format("{} missing, {} mismatched\n", r.missing.size(),
                               r.mismatched.size());
    }
    for (const MissingTrack& m : r.missing) {
      std::cout << fmt::format("  missing     track {}: {}\n", m.track_id, m.path);
    }
    for (const MismatchedTrack& m : r.mismatched) {
      std::cout << fmt::format("  mismatched  track {}: {} (expected {}, found {})\n", m.track_id,
                               m.path, m.expected, m.actual);
    }
    std::cout << std::flush;
  }
  return r.clean() ? 0 : 1;
}

// `barbossa jobs`: the admin API's jobs and schedules, offline against the
// database (allowed while a server runs on it). No event bus: a running
// server's workers notice queued work at their next poll (0.5 s) and admin
// pages at their next refresh.
struct JobsOptions {
  std::string status;
  std::string queue;
  int64_t limit = 50;
  int64_t offset = 0;
  int64_t id = 0;
  std::string schedule;
  bool json = false;
};

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// One line for a table cell: no newlines, at most `width` characters.
std::string cell(std::string text, size_t width) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\t', ' ');
  if (text.size() > width) text = text.substr(0, width - 3) + "...";
  return text;
}

int run_jobs_list(JobQueue& queue, const JobsOptions& o) {
  if (!o.status.empty() && !is_job_status(o.status)) {
    throw ApiError::bad_request(
        "--status must be queued, running, succeeded, failed, dead or cancelled, not '" + o.status +
        "'");
  }
  if (!o.queue.empty() && !is_job_queue(o.queue)) {
    throw ApiError::bad_request(
        "--queue must be downloads, imports, exports or maintenance, not '" + o.queue + "'");
  }
  if (o.limit < 1 || o.limit > 1000) throw ApiError::bad_request("--limit must be 1 to 1000");
  if (o.offset < 0) throw ApiError::bad_request("--offset must not be negative");
  Page page;
  page.limit = o.limit;
  page.offset = o.offset;
  PageResult<Job> result = queue.list(o.status, o.queue, page);
  if (o.json) {
    nlohmann::json items = nlohmann::json::array();
    for (const Job& job : result.items) items.push_back(job_json(job));
    nlohmann::json out = nlohmann::json::object();
    out["items"] = std::move(items);
    out["total"] = result.total;
    std::cout << dump(out) << std::endl;
    return 0;
  }
  std::cout << fmt::format("{:>6}  {:<11}  {:<18}  {:<9}  {:>8}  {:>8}  {}\n", "ID", "QUEUE",
                           "TYPE", "STATUS", "ATTEMPTS", "PROGRESS", "LAST ERROR");
  for (const Job& job : result.items) {
    std::string status(to_string(job.status));
    if (job.status == JobStatus::kRunning && job.cancel_requested) status += "*";
    std::cout << fmt::format("{:>6}  {:<11}  {:<18}  {:<9}  {:>8}  {:>7}%  {}\n", job.id, job.queue,
                             cell(job.type, 18), status,
                             fmt::format("{}/{}", job.attempts, job.max_attempts), job.progress,
                             cell(job.last_error, 60));
  }
  std::cout << fmt::format("{} of {} job(s)", result.items.size(), result.total);
  if (result.total > static_cast<int64_t>(result.items.size()) + o.offset) {
    std::cout << fmt::format(" (more with --offset {})", o.offset + o.limit);
  }
  std::cout << std::endl;
  return 0;
}

int run_jobs_schedules(Scheduler& scheduler, bool as_json) {
  auto schedules = scheduler.list();
  if (as_json) {
    nlohmann::json items = nlohmann::json::array();
    for (const ScheduleInfo& info : schedules) items.push_back(schedule_json(info));
    nlohmann::json out = nlohmann::json::object();
    out["items"] = std::move(items);
    std::cout << dump(out) << std::endl;
    return 0;
  }
  std::cout << fmt::format("{:<20}  {:<13}  {:<24}  {}\n", "NAME", "CRON (UTC)", "LAST RUN",
                           "NEXT RUN");
  for (const ScheduleInfo& info : schedules) {
    std::cout << fmt::format("{:<20}  {:<13}  {:<24}  {}\n", info.name, info.cron,
                             info.last_run.empty() ? "never" : info.last_run,
                             info.enabled ? info.next_run : "disabled");
  }
  std::cout << std::flush;
  return 0;
}

int run_jobs(Store& store, const JobsOptions& o, CLI::App* list, CLI::App* retry, CLI::App* cancel,
             CLI::App* schedules, CLI::App* run) {
  DbJobQueue queue(store, nullptr);
  if (list->parsed()) return run_jobs_list(queue, o);
  if (retry->parsed()) {
    Job job = retry_job(queue, o.id);
    std::cout << fmt::format("job {} ({}) queued again", job.id, job.type) << std::endl;
    return 0;
  }
  if (cancel->parsed()) {
    Job job = cancel_job(queue, o.id);
    if (job.status == JobStatus::kCancelled) {
      std::cout << fmt::format("job {} ({}) cancelled", job.id, job.type) << std::endl;
    } else {
      std::cout << fmt::format("job {} ({}) is running: cancel requested, its worker will stop it",
                               job.id, job.type)
                << std::endl;
    }
    return 0;
  }
  Scheduler scheduler(store, queue, default_schedules());
  if (schedules->parsed()) return run_jobs_schedules(scheduler, o.json);
  if (run->parsed()) {
    std::cout << scheduler.run_now(o.schedule) << std::endl;
    return 0;
  }
  return 0;
}

}  // namespace

int run_cli(int argc, char** argv, char** env) {
  CLI::App app{"Barbossa: a self-hosted music library server for a household"};
  app.fallthrough();
  app.require_subcommand(1);
  CommonOptions common;
  app.add_option("--config", common.config_file, "TOML configuration file")
      ->check(CLI::ExistingFile);
  app.add_option("--data-dir", common.data_dir, "Data directory (DATA_DIR)");
  app.add_option("--set", common.sets, "Override any key: --set KEY=VALUE (repeatable)");
  app.add_option("--log-level", common.log_level, "trace, debug, info, warn, error");
  app.add_option("--log-format", common.log_format, "text or json");

  auto* serve = app.add_subcommand("serve", "Run the server: HTTP API, WebSocket hub and web page");
  serve->add_option("--host", common.host, "Listen address (HOST)");
  serve->add_option("--port", common.port, "Listen port, 0 picks a free one (PORT)");

  auto* migrate = app.add_subcommand("migrate", "Apply pending database migrations");
  auto* version = app.add_subcommand("version", "Print the version");

  auto* user = app.add_subcommand("user", "Manage accounts");
  user->require_subcommand(1);
  std::string name;
  bool admin = false;
  bool password_stdin = false;
  auto* user_add = user->add_subcommand("add", "Create a user");
  user_add->add_option("NAME", name, "Username")->required();
  user_add->add_flag("--admin", admin, "Give the admin role");
  user_add->add_flag("--password-stdin", password_stdin, "Read the password from stdin");
  auto* user_list = user->add_subcommand("list", "List users");
  auto* user_passwd = user->add_subcommand("passwd", "Set a user's password");
  user_passwd->add_option("NAME", name, "Username")->required();
  user_passwd->add_flag("--password-stdin", password_stdin, "Read the password from stdin");
  auto* user_remove = user->add_subcommand("remove", "Delete a user");
  user_remove->add_option("NAME", name, "Username")->required();

  std::vector<std::string> import_paths;
  bool import_copy = false;
  bool import_json = false;
  std::string import_source = "manual";
  auto* import_cmd = app.add_subcommand(
      "import",
      "Import album folders now and print each decision (exit 0 imported, 2 review, 1 error)");
  import_cmd->add_option("PATH", import_paths, "Album folders")->required();
  import_cmd->add_flag("--copy", import_copy,
                       "Copy into the library and leave the folders in place");
  import_cmd->add_option("--source", import_source, "Source name recorded with the album");
  import_cmd->add_flag("--json", import_json, "One JSON object per folder instead of text");
  size_t import_jobs = 0;
  import_cmd->add_option("--jobs", import_jobs, "Folders imported at once (0: cores + 1)");

  bool verify_json = false;
  size_t verify_threads = 0;
  auto* verify_cmd = app.add_subcommand(
      "verify",
      "Check every track's file exists and matches its SHA-256 (exit 0 clean, 1 problems or "
      "error)");
  verify_cmd->add_flag("--json", verify_json, "Print the report as JSON (SPEC 8 shape)");
  verify_cmd->add_option("--threads", verify_threads, "Hashing threads (0: cores)");

  JobsOptions jobs_opts;
  auto* jobs_cmd = app.add_subcommand(
      "jobs", "List, retry and cancel background jobs; list and run schedules (exit 1 on error)");
  jobs_cmd->require_subcommand(1);
  auto* jobs_list = jobs_cmd->add_subcommand("list", "List jobs, newest first");
  jobs_list->add_option("--status", jobs_opts.status,
                        "queued, running, succeeded, failed, dead or cancelled");
  jobs_list->add_option("--queue", jobs_opts.queue, "downloads, imports, exports or maintenance");
  jobs_list->add_option("--limit", jobs_opts.limit, "Jobs shown (1-1000, default 50)");
  jobs_list->add_option("--offset", jobs_opts.offset, "Jobs skipped");
  jobs_list->add_flag("--json", jobs_opts.json, "Print {items, total} as JSON (API shape)");
  auto* jobs_retry =
      jobs_cmd->add_subcommand("retry", "Queue a dead, failed or cancelled job again");
  jobs_retry->add_option("ID", jobs_opts.id, "Job id")->required();
  auto* jobs_cancel = jobs_cmd->add_subcommand(
      "cancel", "Cancel a queued job, or ask a running job's worker to stop it");
  jobs_cancel->add_option("ID", jobs_opts.id, "Job id")->required();
  auto* jobs_schedules =
      jobs_cmd->add_subcommand("schedules", "List the schedules with their last and next run");
  jobs_schedules->add_flag("--json", jobs_opts.json, "Print {items} as JSON (API shape)");
  auto* jobs_run = jobs_cmd->add_subcommand("run", "Queue a schedule's job now; prints the job id");
  jobs_run->add_option("NAME", jobs_opts.schedule, "Schedule name")->required();

  // Test and bench tooling: records without files, until the importer exists.
  auto* dev =
      app.add_subcommand("dev", "Developer tools: seed the library for tests and benchmarks");
  dev->require_subcommand(1);
  SeedOptions seed;
  auto* dev_seed = dev->add_subcommand("seed", "Create users and albums in bulk");
  dev_seed->add_option("--albums", seed.albums, "Albums to create");
  dev_seed->add_option("--tracks", seed.tracks_per_album, "Tracks per album");
  dev_seed->add_option("--users", seed.users, "Users to create");
  dev_seed->add_option("--user-fmt", seed.user_format, "printf format for user names");
  dev_seed->add_option("--user-start", seed.user_start, "First user number");
  dev_seed->add_option("--password", seed.password, "Password of the created users");
  std::string album_artist, album_title;
  int album_year = 0, album_tracks = 3;
  auto* dev_album = dev->add_subcommand("add-album", "Create one album; prints its id");
  dev_album->add_option("--artist", album_artist, "Album artist")->required();
  dev_album->add_option("--title", album_title, "Album title")->required();
  dev_album->add_option("--year", album_year, "Year");
  dev_album->add_option("--tracks", album_tracks, "Track count");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (version->parsed()) {
    std::cout << "barbossa " << kVersion << std::endl;
    return 0;
  }

  Config config = Config::defaults_only();
  try {
    config = build_config(common, env);
    setup_logging(config.get("LOG_LEVEL"), config.get("LOG_FORMAT"));
  } catch (const std::exception& e) {
    std::cerr << "barbossa: configuration error: " << e.what() << std::endl;
    return 2;
  }

  try {
    if (serve->parsed()) return run_server(config);
    auto store = open_migrated_store(config);
    if (migrate->parsed()) {
      std::cout << "database at schema version " << store->schema_version() << std::endl;
      return 0;
    }
    if (import_cmd->parsed()) {
      return run_import(config, *store, import_paths, import_copy, import_source, import_json,
                        import_jobs);
    }
    if (verify_cmd->parsed()) return run_verify(config, *store, verify_json, verify_threads);
    if (jobs_cmd->parsed()) {
      return run_jobs(*store, jobs_opts, jobs_list, jobs_retry, jobs_cancel, jobs_schedules,
                      jobs_run);
    }
    if (dev_seed->parsed()) {
      int64_t first = seed_library(*store, seed);
      std::cout << "{\"first_album_id\": " << first << ", \"albums\": " << seed.albums
                << ", \"users\": " << seed.users << "}" << std::endl;
      return 0;
    }
    if (dev_album->parsed()) {
      std::cout << add_album(*store, album_artist, album_title, album_year, album_tracks)
                << std::endl;
      return 0;
    }
    auto accounts = make_accounts(*store, config);
    // Link folders follow accounts here too: removed with the user, and a
    // re-created name starts without the old owner's links.
    UserLinks links(config.get("LIBRARY_DIR"), config.get("USERS_DIR"));
    accounts.attach_user_links(&links);
    auto password_for = [&](const std::string& who) {
      if (password_stdin) {
        // Asked for stdin and got nothing: an error, not a silently generated password.
        std::string pw = read_password_stdin();
        if (pw.empty()) {
          throw ApiError::bad_request("--password-stdin given but stdin held no password");
        }
        return pw;
      }
      if (isatty(STDIN_FILENO)) return prompt_password(who);
      return std::string();
    };
    if (user_add->parsed()) {
      std::string pw = password_for(name);
      bool generated = pw.empty();
      if (generated) pw = random_token(12);
      auto u = accounts.create_user(name, pw, admin);
      std::cout << "created user '" << u.username << "' (id " << u.id
                << (u.is_admin ? ", admin" : "") << ")";
      if (generated) std::cout << " with password: " << pw;
      std::cout << std::endl;
      return 0;
    }
    if (user_list->parsed()) {
      for (auto& u : accounts.list_users()) {
        std::cout << u.id << "\t" << u.username << "\t" << (u.is_admin ? "admin" : "user") << "\t"
                  << u.created_at << "\n";
      }
      return 0;
    }
    if (user_passwd->parsed()) {
      std::string pw = password_for(name);
      if (pw.empty()) throw ApiError::bad_request("no password given (use --password-stdin)");
      accounts.set_password(name, pw);
      std::cout << "password changed for '" << name << "'" << std::endl;
      return 0;
    }
    if (user_remove->parsed()) {
      accounts.remove_user_by_name(name);
      std::cout << "removed user '" << name << "'" << std::endl;
      return 0;
    }
  } catch (const ConfigError& e) {
    std::cerr << "barbossa: configuration error: " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "barbossa: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}

}  // namespace barbossa
