#include "app/cli.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app/cli_commands.h"
#include "app/config.h"
#include "app/logging.h"
#include "app/seed.h"
#include "app/server_app.h"
#include "core/error.h"
#include "jobs/job_admin.h"
#include "jobs/job_queue.h"
#include "jobs/scheduler.h"

namespace barbossa {
namespace {

constexpr const char* kVersion = "0.1.0";

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

// Options every command takes, before the subcommand.
void add_common_options(CLI::App& app, CommonOptions& common) {
  app.add_option("--config", common.config_file, "TOML configuration file")
      ->check(CLI::ExistingFile);
  app.add_option("--data-dir", common.data_dir, "Data directory (DATA_DIR)");
  app.add_option("--set", common.sets, "Override any key: --set KEY=VALUE (repeatable)");
  app.add_option("--log-level", common.log_level, "trace, debug, info, warn, error");
  app.add_option("--log-format", common.log_format, "text or json");
}

CLI::App* add_serve_command(CLI::App& app, CommonOptions& common) {
  auto* serve = app.add_subcommand("serve", "Run the server: HTTP API, WebSocket hub and web page");
  serve->add_option("--host", common.host, "Listen address (HOST)");
  serve->add_option("--port", common.port, "Listen port, 0 picks a free one (PORT)");
  return serve;
}

StoreCommand add_migrate_command(CLI::App& app) {
  auto* migrate = app.add_subcommand("migrate", "Apply pending database migrations");
  // Opening the store has migrated it already.
  return {migrate, [](const Config&, Store& store) {
            std::cout << "database at schema version " << store.schema_version() << std::endl;
            return 0;
          }};
}

StoreCommand add_jobs_command(CLI::App& app) {
  auto o = std::make_shared<JobsOptions>();
  auto* jobs = app.add_subcommand(
      "jobs", "List, retry and cancel background jobs; list and run schedules (exit 1 on error)");
  jobs->require_subcommand(1);
  auto* list = jobs->add_subcommand("list", "List jobs, newest first");
  list->add_option("--status", o->status, "queued, running, succeeded, failed, dead or cancelled");
  list->add_option("--queue", o->queue, "downloads, imports, exports or maintenance");
  list->add_option("--limit", o->limit, "Jobs shown (1-1000, default 50)");
  list->add_option("--offset", o->offset, "Jobs skipped");
  list->add_flag("--json", o->json, "Print {items, total} as JSON (API shape)");
  auto* retry = jobs->add_subcommand("retry", "Queue a dead, failed or cancelled job again");
  retry->add_option("ID", o->id, "Job id")->required();
  auto* cancel = jobs->add_subcommand(
      "cancel", "Cancel a queued job, or ask a running job's worker to stop it");
  cancel->add_option("ID", o->id, "Job id")->required();
  auto* schedules =
      jobs->add_subcommand("schedules", "List the schedules with their last and next run");
  schedules->add_flag("--json", o->json, "Print {items} as JSON (API shape)");
  auto* run = jobs->add_subcommand("run", "Queue a schedule's job now; prints the job id");
  run->add_option("NAME", o->schedule, "Schedule name")->required();
  return {jobs, [=](const Config&, Store& store) {
            return run_jobs(store, *o, list, retry, cancel, schedules, run);
          }};
}

struct AddAlbumOptions {
  std::string artist;
  std::string title;
  int year = 0;
  int tracks = 3;
};

// Test and bench tooling: records without files (app/seed.h).
std::vector<StoreCommand> add_dev_commands(CLI::App& app) {
  auto* dev =
      app.add_subcommand("dev", "Developer tools: seed the library for tests and benchmarks");
  dev->require_subcommand(1);
  auto seed = std::make_shared<SeedOptions>();
  auto* dev_seed = dev->add_subcommand("seed", "Create users and albums in bulk");
  dev_seed->add_option("--albums", seed->albums, "Albums to create");
  dev_seed->add_option("--tracks", seed->tracks_per_album, "Tracks per album");
  dev_seed->add_option("--users", seed->users, "Users to create");
  dev_seed->add_option("--user-fmt", seed->user_format, "printf format for user names");
  dev_seed->add_option("--user-start", seed->user_start, "First user number");
  dev_seed->add_option("--password", seed->password, "Password of the created users");
  auto album = std::make_shared<AddAlbumOptions>();
  auto* dev_album = dev->add_subcommand("add-album", "Create one album; prints its id");
  dev_album->add_option("--artist", album->artist, "Album artist")->required();
  dev_album->add_option("--title", album->title, "Album title")->required();
  dev_album->add_option("--year", album->year, "Year");
  dev_album->add_option("--tracks", album->tracks, "Track count");

  std::vector<StoreCommand> commands;
  commands.push_back({dev_seed, [seed](const Config&, Store& store) {
                        int64_t first = seed_library(store, *seed);
                        std::cout << "{\"first_album_id\": " << first
                                  << ", \"albums\": " << seed->albums
                                  << ", \"users\": " << seed->users << "}" << std::endl;
                        return 0;
                      }});
  commands.push_back({dev_album, [album](const Config&, Store& store) {
                        std::cout << add_album(store, album->artist, album->title, album->year,
                                               album->tracks)
                                  << std::endl;
                        return 0;
                      }});
  return commands;
}

// Every command, in the order `--help` lists them; serve and version are
// returned apart because they run without the database.
struct CommandTable {
  CLI::App* serve = nullptr;
  CLI::App* version = nullptr;
  std::vector<StoreCommand> with_store;
};

CommandTable add_commands(CLI::App& app, CommonOptions& common) {
  CommandTable table;
  auto add = [&table](std::vector<StoreCommand> more) {
    for (StoreCommand& c : more) table.with_store.push_back(std::move(c));
  };
  table.serve = add_serve_command(app, common);
  table.with_store.push_back(add_migrate_command(app));
  table.version = app.add_subcommand("version", "Print the version");
  add(add_user_commands(app));
  table.with_store.push_back(add_import_command(app));
  table.with_store.push_back(add_verify_command(app));
  table.with_store.push_back(add_jobs_command(app));
  add(add_dev_commands(app));
  return table;
}

// The configuration from file, environment and flags, with logging set up
// from it; nullopt (after saying why) when it is unusable.
std::optional<Config> load_config(const CommonOptions& common, char** env) {
  try {
    Config config = build_config(common, env);
    setup_logging(config.get("LOG_LEVEL"), config.get("LOG_FORMAT"));
    return config;
  } catch (const std::exception& e) {
    std::cerr << "barbossa: configuration error: " << e.what() << std::endl;
    return std::nullopt;
  }
}

// Runs the parsed command: a configuration error exits 2, any other error 1.
int run_parsed(const CommandTable& table, const Config& config) {
  try {
    if (table.serve->parsed()) return run_server(config);
    auto store = open_migrated_store(config);
    for (const StoreCommand& command : table.with_store) {
      if (command.cli->parsed()) return command.run(config, *store);
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

}  // namespace

int run_cli(int argc, char** argv, char** env) {
  CLI::App app{"Barbossa: a self-hosted music library server for a household"};
  app.fallthrough();
  app.require_subcommand(1);
  CommonOptions common;
  add_common_options(app, common);
  const CommandTable table = add_commands(app, common);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (table.version->parsed()) {
    std::cout << "barbossa " << kVersion << std::endl;
    return 0;
  }
  std::optional<Config> config = load_config(common, env);
  if (!config) return 2;
  return run_parsed(table, *config);
}

}  // namespace barbossa
