// SqliteJobRepository: the jobs table. The rules (which queues exist, how
// long a retry waits) are the caller's: jobs/job_rules.h.

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/sqlite/repositories.h"
#include "store/sqlite/row_readers.h"
#include "store/sqlite/sql_helpers.h"
#include "store/store_error.h"

namespace barbossa::sqlite {

EnqueueResult SqliteJobRepository::enqueue(const NewJob& job, int64_t now_ms) {
  if (!job.dedupe_key.empty()) {
    if (auto existing = live_with_key(job.dedupe_key)) return {*existing, false};
  }
  StatementHandle q = conn_.statement(
      "INSERT INTO jobs (queue, type, payload, dedupe_key, max_attempts, run_after, created_at, "
      "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  q->bind(1, job.queue);
  q->bind(2, job.type);
  q->bind(3, job.payload_json.empty() ? std::string("{}") : job.payload_json);
  bind_text_or_null(*q, 4, job.dedupe_key);
  q->bind(5, std::max(1, job.max_attempts));
  q->bind(6, job.run_after_ms > 0 ? job.run_after_ms : now_ms);
  q->bind(7, now_ms);
  q->bind(8, now_ms);
  try {
    q->exec();
  } catch (const SQLite::Exception& e) {
    // Outside a write transaction another connection can take the key
    // between the lookup and the insert; the index is the arbiter.
    if (is_unique_violation(e) && !job.dedupe_key.empty()) {
      if (auto existing = live_with_key(job.dedupe_key)) return {*existing, false};
    }
    throw;
  }
  return {conn_.db().getLastInsertRowid(), true};
}

std::optional<Job> SqliteJobRepository::claim_next(const std::vector<std::string>& queues,
                                                   const std::string& holder, int64_t lease_ms,
                                                   int64_t now_ms) {
  if (queues.empty()) return std::nullopt;
  settle_expired(now_ms);
  // Candidates by (run_after, id): one indexed seek per queue for queued
  // work, and the (few) expired leases, filtered by queue here.
  std::optional<std::pair<int64_t, int64_t>> best;  // (run_after, id)
  auto consider = [&](int64_t run_after, int64_t id) {
    if (!best || std::make_pair(run_after, id) < *best) best = std::make_pair(run_after, id);
  };
  for (const std::string& queue : queues) {
    StatementHandle q = conn_.statement(
        "SELECT run_after, id FROM jobs WHERE status = 'queued' AND queue = ? AND run_after <= ? "
        "ORDER BY run_after, id LIMIT 1");
    q->bind(1, queue);
    q->bind(2, now_ms);
    if (q->executeStep()) consider(q->getColumn(0).getInt64(), q->getColumn(1).getInt64());
  }
  {
    StatementHandle q = conn_.statement(
        "SELECT run_after, id, queue FROM jobs WHERE status = 'running' AND lease_expires_at <= "
        "? "
        "ORDER BY run_after, id");
    q->bind(1, now_ms);
    while (q->executeStep()) {
      std::string queue = text(*q, 2);
      if (std::find(queues.begin(), queues.end(), queue) == queues.end()) continue;
      consider(q->getColumn(0).getInt64(), q->getColumn(1).getInt64());
      break;  // rows come in (run_after, id) order: the first match is the best
    }
  }
  if (!best) return std::nullopt;
  StatementHandle q = conn_.statement(
      std::string("UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_holder = ?, "
                  "lease_expires_at = ?, updated_at = ?, progress = 0 WHERE id = ? RETURNING ") +
      kJobColumns);
  q->bind(1, holder);
  q->bind(2, now_ms + lease_ms);
  q->bind(3, now_ms);
  q->bind(4, best->second);
  if (!q->executeStep()) return std::nullopt;
  return read_job(*q);
}

LeaseState SqliteJobRepository::heartbeat(int64_t id, const std::string& holder, int64_t lease_ms,
                                          int64_t now_ms) {
  StatementHandle q = conn_.statement(
      "UPDATE jobs SET lease_expires_at = ?, updated_at = ? "
      "WHERE id = ? AND status = 'running' AND lease_holder = ? RETURNING cancel_requested");
  q->bind(1, now_ms + lease_ms);
  q->bind(2, now_ms);
  q->bind(3, id);
  q->bind(4, holder);
  if (!q->executeStep()) return {};
  return {true, q->getColumn(0).getInt() != 0};
}

bool SqliteJobRepository::set_progress(int64_t id, const std::string& holder, int progress,
                                       int64_t now_ms) {
  StatementHandle q = conn_.statement(
      "UPDATE jobs SET progress = ?, updated_at = ? "
      "WHERE id = ? AND status = 'running' AND lease_holder = ?");
  q->bind(1, std::clamp(progress, 0, 100));
  q->bind(2, now_ms);
  q->bind(3, id);
  q->bind(4, holder);
  return q->exec() > 0;
}

std::optional<Job> SqliteJobRepository::complete(int64_t id, const std::string& holder,
                                                 int64_t now_ms) {
  return finish(id, holder, JobStatus::kSucceeded, nullptr, now_ms);
}

std::optional<Job> SqliteJobRepository::fail(int64_t id, const std::string& holder,
                                             const std::string& error, bool retryable,
                                             int64_t retry_at_ms, int64_t now_ms) {
  std::optional<Job> job = held(id, holder);
  if (!job) return std::nullopt;
  if (job->cancel_requested) return finish(id, holder, JobStatus::kCancelled, &error, now_ms);
  if (!retryable) return finish(id, holder, JobStatus::kFailed, &error, now_ms);
  if (job->attempts >= job->max_attempts)
    return finish(id, holder, JobStatus::kDead, &error, now_ms);
  StatementHandle q = conn_.statement(
      std::string("UPDATE jobs SET status = 'queued', run_after = ?, last_error = ?, "
                  "lease_holder = NULL, "
                  "lease_expires_at = NULL, updated_at = ? "
                  "WHERE id = ? AND status = 'running' AND lease_holder = ? RETURNING ") +
      kJobColumns);
  q->bind(1, retry_at_ms);
  q->bind(2, error);
  q->bind(3, now_ms);
  q->bind(4, id);
  q->bind(5, holder);
  if (!q->executeStep()) return std::nullopt;
  return read_job(*q);
}

std::optional<Job> SqliteJobRepository::finish_cancelled(int64_t id, const std::string& holder,
                                                         int64_t now_ms) {
  return finish(id, holder, JobStatus::kCancelled, nullptr, now_ms);
}

std::optional<Job> SqliteJobRepository::cancel(int64_t id, int64_t now_ms) {
  StatementHandle q = conn_.statement(
      std::string(
          "UPDATE jobs SET "
          "status = CASE status WHEN 'queued' THEN 'cancelled' ELSE status END, "
          "cancel_requested = CASE status WHEN 'running' THEN 1 ELSE cancel_requested END, "
          "finished_at = CASE status WHEN 'queued' THEN ?1 ELSE finished_at END, updated_at = ?1 "
          "WHERE id = ?2 AND status IN ('queued', 'running') RETURNING ") +
      kJobColumns);
  q->bind(1, now_ms);
  q->bind(2, id);
  if (q->executeStep()) return read_job(*q);
  return find(id);
}

std::optional<Job> SqliteJobRepository::retry(int64_t id, int64_t now_ms) {
  StatementHandle q = conn_.statement(
      std::string(
          "UPDATE jobs SET status = 'queued', attempts = 0, run_after = ?1, lease_holder = NULL, "
          "lease_expires_at = NULL, cancel_requested = 0, progress = 0, finished_at = NULL, "
          "updated_at = ?1 WHERE id = ?2 AND status IN ('dead', 'failed', 'cancelled') "
          "RETURNING ") +
      kJobColumns);
  q->bind(1, now_ms);
  q->bind(2, id);
  try {
    if (q->executeStep()) return read_job(*q);
  } catch (const SQLite::Exception& e) {
    if (is_unique_violation(e)) {
      throw StoreError::conflict("Another live job already has this job's dedupe key");
    }
    throw;
  }
  return find(id);
}

PageResult<Job> SqliteJobRepository::list(const std::string& status, const std::string& queue,
                                          Page page) {
  std::string where = " WHERE 1 = 1";
  if (!status.empty()) where += " AND status = :status";
  if (!queue.empty()) where += " AND queue = :queue";
  auto bind_filters = [&](SQLite::Statement& q) {
    if (!status.empty()) q.bind(":status", status);
    if (!queue.empty()) q.bind(":queue", queue);
  };
  PageResult<Job> result;
  {
    StatementHandle q = conn_.statement("SELECT COUNT(*) FROM jobs" + where);
    bind_filters(*q);
    result.total = count_of(*q);
  }
  StatementHandle q = conn_.statement(std::string("SELECT ") + kJobColumns + " FROM jobs" + where +
                                      " ORDER BY id DESC LIMIT :limit OFFSET :offset");
  bind_filters(*q);
  q->bind(":limit", safe_limit(page));
  q->bind(":offset", safe_offset(page));
  while (q->executeStep()) result.items.push_back(read_job(*q));
  return result;
}

std::optional<Job> SqliteJobRepository::find(int64_t id) {
  StatementHandle q =
      conn_.statement(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?");
  q->bind(1, id);
  if (!q->executeStep()) return std::nullopt;
  return read_job(*q);
}

std::vector<JobCount> SqliteJobRepository::counts() {
  StatementHandle q = conn_.statement(
      "SELECT queue, status, COUNT(*) FROM jobs GROUP BY queue, status ORDER BY queue, status");
  std::vector<JobCount> out;
  while (q->executeStep()) {
    out.push_back({text(*q, 0), job_status_column(*q, 1), q->getColumn(2).getInt64()});
  }
  return out;
}

std::vector<std::string> SqliteJobRepository::running_holders() {
  StatementHandle q = conn_.statement(
      "SELECT DISTINCT lease_holder FROM jobs WHERE status = 'running' AND "
      "lease_holder IS NOT NULL");
  std::vector<std::string> out;
  while (q->executeStep()) out.push_back(text(*q, 0));
  return out;
}

int64_t SqliteJobRepository::expire_leases(const std::string& holder, int64_t now_ms) {
  StatementHandle q = conn_.statement(
      "UPDATE jobs SET lease_expires_at = ?, updated_at = ? "
      "WHERE status = 'running' AND lease_holder = ? AND lease_expires_at > ?");
  q->bind(1, now_ms);
  q->bind(2, now_ms);
  q->bind(3, holder);
  q->bind(4, now_ms);
  return q->exec();
}

std::optional<int64_t> SqliteJobRepository::live_with_key(const std::string& key) {
  StatementHandle q = conn_.statement(
      "SELECT id FROM jobs WHERE dedupe_key = ? AND status IN ('queued', 'running')");
  q->bind(1, key);
  if (!q->executeStep()) return std::nullopt;
  return q->getColumn(0).getInt64();
}

std::optional<Job> SqliteJobRepository::held(int64_t id, const std::string& holder) {
  StatementHandle q = conn_.statement(std::string("SELECT ") + kJobColumns +
                                      " FROM jobs WHERE id = ? AND status = 'running' AND "
                                      "lease_holder = ?");
  q->bind(1, id);
  q->bind(2, holder);
  if (!q->executeStep()) return std::nullopt;
  return read_job(*q);
}

std::optional<Job> SqliteJobRepository::finish(int64_t id, const std::string& holder,
                                               JobStatus status, const std::string* error,
                                               int64_t now_ms) {
  StatementHandle q = conn_.statement(
      std::string(
          "UPDATE jobs SET status = ?1, last_error = COALESCE(?2, last_error), "
          "progress = CASE ?1 WHEN 'succeeded' THEN 100 ELSE progress END, lease_holder = NULL, "
          "lease_expires_at = NULL, finished_at = ?3, updated_at = ?3 "
          "WHERE id = ?4 AND status = 'running' AND lease_holder = ?5 RETURNING ") +
      kJobColumns);
  q->bind(1, std::string(to_string(status)));
  if (error != nullptr) {
    q->bind(2, *error);
  } else {
    q->bind(2);
  }
  q->bind(3, now_ms);
  q->bind(4, id);
  q->bind(5, holder);
  if (!q->executeStep()) return std::nullopt;
  return read_job(*q);
}

void SqliteJobRepository::settle_expired(int64_t now_ms) {
  StatementHandle q = conn_.statement(
      "UPDATE jobs SET "
      "status = CASE cancel_requested WHEN 1 THEN 'cancelled' ELSE 'dead' END, "
      "last_error = CASE cancel_requested WHEN 1 THEN last_error "
      "ELSE 'lease expired on the last attempt (worker died or stalled)' END, "
      "lease_holder = NULL, lease_expires_at = NULL, finished_at = ?1, updated_at = ?1 "
      "WHERE status = 'running' AND lease_expires_at <= ?1 "
      "AND (cancel_requested = 1 OR attempts >= max_attempts)");
  q->bind(1, now_ms);
  q->exec();
}

}  // namespace barbossa::sqlite
