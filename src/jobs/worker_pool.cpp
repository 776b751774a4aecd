#include "jobs/worker_pool.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/fault.h"

namespace barbossa {
namespace {

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return "unknown-host";
  return buf;
}

// Field 22 of /proc/PID/stat: when the process started, in clock ticks since
// boot. With the pid it names one process for the life of the machine,
// which the pid alone does not (reuse, a container's pid 1).
std::optional<std::string> process_start_ticks(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  // The command name (field 2) may contain spaces and parentheses.
  size_t close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(rest >> field)) return std::nullopt;
  }
  return field;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) parts.push_back(part);
  return parts;
}

}  // namespace

std::string make_lease_holder() {
  std::random_device rd;
  long pid = ::getpid();
  return fmt::format("{}:{}:{}:{:08x}", host_name(), pid, process_start_ticks(pid).value_or("0"),
                     rd());
}

bool lease_holder_is_dead_local(const std::string& holder) {
  std::vector<std::string> parts = split(holder, ':');
  if (parts.size() != 4 || parts[0] != host_name()) return false;  // not ours to judge
  long pid = 0;
  try {
    pid = std::stol(parts[1]);
  } catch (const std::exception&) {
    return false;
  }
  if (pid <= 0) return false;
  std::optional<std::string> started = process_start_ticks(pid);
  return !started || *started != parts[2];
}

// One job running in this process, shared by its worker and the heartbeat.
struct JobWorkers::Active {
  explicit Active(const Job& j) : job(j), cancel(j.cancel_requested) {}
  Job job;
  std::atomic<bool> cancel;            // cancel requested
  std::atomic<bool> lost{false};       // lease passed to someone else
  std::atomic<bool> abandoned{false};  // given up on at shutdown
  int64_t last_progress_ms = 0;        // worker thread only
};

JobWorkers::JobWorkers(JobQueue& queue, JobWorkersOptions options)
    : queue_(queue), options_(std::move(options)) {
  if (options_.holder.empty()) options_.holder = make_lease_holder();
  options_.workers = std::max(1, options_.workers);
}

JobWorkers::~JobWorkers() {
  if (observer_handle_ != 0) queue_.remove_observer(observer_handle_);
  stop(std::chrono::milliseconds(0));
  for (std::thread& t : threads_) t.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    heartbeat_stop_ = true;
  }
  heartbeat_cv_.notify_all();
  if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
}

void JobWorkers::register_handler(const std::string& type, Handler handler) {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) throw std::logic_error("register_handler after start");
  handlers_[type] = std::move(handler);
}

void JobWorkers::start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_) return;
    started_ = true;
  }
  // A restarted server re-runs what its previous instance was running now,
  // not a lease period later.
  try {
    for (const std::string& h : queue_.running_holders()) {
      if (h == options_.holder || !lease_holder_is_dead_local(h)) continue;
      int64_t n = queue_.expire_leases(h);
      if (n > 0) spdlog::info("jobs: taking back {} job(s) of dead worker {}", n, h);
    }
  } catch (const std::exception& e) {
    spdlog::warn("jobs: could not take back dead workers' leases: {}", e.what());
  }
  observer_handle_ = queue_.add_observer([this](const JobSignal& s) { on_signal(s); });
  threads_.reserve(static_cast<size_t>(options_.workers));
  for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this] { worker_loop(); });
  heartbeat_thread_ = std::thread([this] { heartbeat_loop(); });
}

size_t JobWorkers::stop(std::chrono::milliseconds grace) {
  std::unique_lock<std::mutex> lock(mu_);
  stopping_ = true;
  wake_cv_.notify_all();
  idle_cv_.wait_for(lock, grace, [&] { return active_.empty(); });
  for (auto& [id, active] : active_) active->abandoned = true;
  return active_.size();
}

size_t JobWorkers::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return active_.size();
}

void JobWorkers::wake_locked() {
  ++wake_seq_;
  wake_cv_.notify_all();
}

void JobWorkers::on_signal(const JobSignal& signal) {
  std::lock_guard<std::mutex> lock(mu_);
  if (signal.kind == JobSignal::Kind::kCancelRequested) {
    auto it = active_.find(signal.job_id);
    if (it != active_.end()) it->second->cancel = true;
    return;
  }
  wake_locked();
}

std::optional<Job> JobWorkers::try_claim() {
  std::lock_guard<std::mutex> claim_lock(claim_mu_);
  std::vector<std::string> open;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return std::nullopt;
    for (const auto& [queue, limit] : options_.queue_limits) {
      if (running_per_queue_[queue] < limit) open.push_back(queue);
    }
  }
  if (open.empty()) return std::nullopt;
  std::optional<Job> job = queue_.claim(open, options_.holder, options_.lease_ms);
  if (job) {
    std::lock_guard<std::mutex> lock(mu_);
    ++running_per_queue_[job->queue];
    active_.emplace(job->id, std::make_shared<Active>(*job));
    // More may be waiting: let another idle worker look.
    wake_locked();
  }
  return job;
}

void JobWorkers::worker_loop() {
  std::optional<Job> next;
  for (;;) {
    if (!next) {
      uint64_t seen = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
        seen = wake_seq_;
      }
      try {
        next = try_claim();
      } catch (const std::exception& e) {
        // Database busy beyond its timeout, disk trouble: try again later.
        spdlog::warn("jobs: claim failed: {}", e.what());
      }
      if (!next) {
        std::unique_lock<std::mutex> lock(mu_);
        wake_cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms),
                          [&] { return stopping_ || wake_seq_ != seen; });
        continue;
      }
    }
    Job job = std::move(*next);
    next.reset();
    try {
      next = run(job);
    } catch (const std::exception& e) {
      // Outside the handler (its exceptions are outcomes): the worker lives
      // on, and the job is let go so its lease lapses and it runs again.
      spdlog::error("jobs: worker failed around job {} ({}): {}; it runs again after its lease",
                    job.id, job.type, e.what());
      forget(job);
    } catch (...) {
      spdlog::error("jobs: worker failed around job {} ({}): unknown exception", job.id, job.type);
      forget(job);
    }
  }
}

// Drops a job this worker can no longer finish from the running set, so the
// heartbeat stops renewing its lease and the slot of its queue is free.
void JobWorkers::forget(const Job& job) noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  if (active_.erase(job.id) > 0) --running_per_queue_[job.queue];
  wake_locked();
  idle_cv_.notify_all();
}

std::optional<Job> JobWorkers::run(const Job& job) {
  std::shared_ptr<Active> active;
  {
    std::lock_guard<std::mutex> lock(mu_);
    active = active_.at(job.id);
  }
  Handler handler;
  if (auto it = handlers_.find(job.type); it != handlers_.end()) handler = it->second;

  JobOutcome outcome;
  outcome.backoff_base_ms = options_.backoff_base_ms;
  if (!handler) {
    outcome.kind = JobOutcome::Kind::kFailed;
    outcome.error = "no handler for job type '" + job.type + "'";
  } else {
    JobContext ctx(
        active->job,
        [&](int percent) {
          int64_t now = queue_.now_ms();
          if (now - active->last_progress_ms < options_.progress_interval_ms) return;
          active->last_progress_ms = now;
          try {
            queue_.progress(active->job, options_.holder, percent);
          } catch (const std::exception& e) {
            spdlog::warn("jobs: progress of job {} not saved: {}", job.id, e.what());
          }
        },
        [&] { return active->cancel || active->lost || active->abandoned; });
    try {
      fault::maybe_throw("job_handler");
      handler(ctx);
    } catch (const FinalError& e) {
      outcome.kind = JobOutcome::Kind::kFailed;
      outcome.error = e.what();
    } catch (const std::exception& e) {
      // RetryableError and anything unexpected.
      outcome.kind = JobOutcome::Kind::kFailed;
      outcome.retryable = true;
      outcome.error = e.what();
    } catch (...) {
      outcome.kind = JobOutcome::Kind::kFailed;
      outcome.retryable = true;
      outcome.error = "unknown error";
    }
  }
  if (active->cancel) outcome.kind = JobOutcome::Kind::kCancelled;  // cancellation wins
  return finish(job, *active, outcome);
}

// Records the outcome and, in the same transaction, claims this worker's
// next job: under load one commit per job. Under claim_mu_ like try_claim so
// the free-slot check and the claim stay one step.
std::optional<Job> JobWorkers::finish(const Job& job, Active& active, const JobOutcome& outcome) {
  std::lock_guard<std::mutex> claim_lock(claim_mu_);
  std::vector<std::string> open;
  {
    std::lock_guard<std::mutex> lock(mu_);
    --running_per_queue_[job.queue];
    if (!stopping_) {
      for (const auto& [queue, limit] : options_.queue_limits) {
        if (running_per_queue_[queue] < limit) open.push_back(queue);
      }
    }
  }
  std::optional<Job> next;
  // Abandoned at shutdown or lease lost: another run owns the job's fate.
  if (!active.abandoned && !active.lost) {
    try {
      auto [done, claimed] =
          queue_.finish_and_claim(job.id, options_.holder, outcome, open, options_.lease_ms);
      next = std::move(claimed);
      if (!done) {
        spdlog::warn("jobs: job {} ({}) lost its lease before it ended", job.id, job.type);
      } else if (done->status == JobStatus::kFailed || done->status == JobStatus::kDead) {
        spdlog::warn("jobs: job {} ({}) {}: {}", job.id, job.type, to_string(done->status),
                     outcome.error);
      }
    } catch (const std::exception& e) {
      // The lease will expire and the job run again: at-least-once.
      spdlog::error("jobs: outcome of job {} not recorded: {}", job.id, e.what());
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  active_.erase(job.id);
  if (next) {
    ++running_per_queue_[next->queue];
    active_.emplace(next->id, std::make_shared<Active>(*next));
  }
  wake_locked();  // a slot may be free
  idle_cv_.notify_all();
  return next;
}

void JobWorkers::heartbeat_loop() {
  const auto interval =
      std::chrono::milliseconds(std::clamp<int64_t>(options_.lease_ms / 3, 10, 1000));
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    heartbeat_cv_.wait_for(lock, interval, [&] { return heartbeat_stop_; });
    if (heartbeat_stop_) return;
    std::vector<std::shared_ptr<Active>> running;
    for (auto& [id, active] : active_) {
      if (!active->abandoned && !active->lost) running.push_back(active);
    }
    lock.unlock();
    for (const auto& active : running) {
      try {
        LeaseState state = queue_.heartbeat(active->job.id, options_.holder, options_.lease_ms);
        if (!state.held) active->lost = true;
        if (state.cancel_requested) active->cancel = true;
      } catch (const std::exception& e) {
        spdlog::warn("jobs: lease of job {} not renewed: {}", active->job.id, e.what());
      }
    }
    lock.lock();
  }
}

}  // namespace barbossa
