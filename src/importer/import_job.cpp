#include "importer/import_job.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "auth/password.h"
#include "core/normalize.h"
#include "files/fs_util.h"
#include "media/audio_file.h"

namespace barbossa {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// What a copy inbox's entry looked like when it was last imported (SPEC §6:
// WATCH_DIRS are copied, so the entry stays and must not be imported again).
constexpr const char* kSeenPrefix = "watch_seen:";

bool has_prefix(const fs::path& p, const char* prefix) {
  return p.filename().string().rfind(prefix, 0) == 0;
}

// Loose files group by album artist (else artist) and album; untagged or
// unreadable ones make one group, bound for review.
std::map<std::string, std::vector<fs::path>> group_by_album(const std::vector<fs::path>& files) {
  std::map<std::string, std::vector<fs::path>> groups;
  for (const fs::path& file : files) {
    AudioReadResult read = read_audio_file(file);
    std::string key = "?";
    if (read.info) {
      const AudioTags& t = read.info->tags;
      const std::string& artist = t.album_artist.empty() ? t.artist : t.album_artist;
      if (!t.album.empty()) key = normalize_name(artist) + "\x1f" + normalize_name(t.album);
    }
    groups[key].push_back(file);
  }
  return groups;
}

}  // namespace

std::string import_payload_json(const ImportJobPayload& payload) {
  json j = json::object();
  // path_to_json: a folder named in Latin-1 must still be found (and dump).
  j["path"] = path_to_json(payload.path);
  j["inbox"] = path_to_json(payload.inbox);
  j["loose"] = payload.loose;
  if (payload.source) j["source"] = *payload.source;
  return j.dump();
}

ImportJobPayload parse_import_payload(const std::string& text) {
  json j;
  ImportJobPayload p;
  try {
    j = json::parse(text);
    p.path = path_from_json(j.value("path", json(""))).lexically_normal();
    p.inbox = path_from_json(j.value("inbox", json(""))).lexically_normal();
  } catch (const std::exception& e) {
    throw FinalImportError(std::string("bad payload: ") + e.what());
  }
  p.loose = j.value("loose", false);
  if (auto it = j.find("source"); it != j.end() && it->is_string())
    p.source = it->get<std::string>();
  return p;
}

const ImportInbox& inbox_of_entry(const std::vector<ImportInbox>& inboxes,
                                  const ImportJobPayload& p) {
  const ImportInbox* inbox = nullptr;
  for (const ImportInbox& i : inboxes) {
    if (i.root == p.inbox) inbox = &i;
  }
  if (inbox == nullptr || p.path.empty() || !is_lexically_within(p.inbox, p.path) ||
      (!p.loose && p.path == p.inbox)) {
    throw FinalImportError("not an entry of a configured inbox: " + p.path.string());
  }
  return *inbox;
}

std::string file_signature(const fs::path& file) {
  std::error_code ec;
  auto size = fs::file_size(file, ec);
  auto mtime = fs::last_write_time(file, ec);
  return std::to_string(size) + ":" + std::to_string(mtime.time_since_epoch().count());
}

bool SeenEntries::unchanged(const fs::path& path, const std::string& signature) {
  auto v = store_.read([&](StoreSession& s) { return s.meta().get(kSeenPrefix + path.string()); });
  return v && !v->empty() && *v == signature;
}

void SeenEntries::remember(const fs::path& path, const std::string& signature) {
  store_.write([&](StoreSession& s) { s.meta().put(kSeenPrefix + path.string(), signature); });
}

// The start-up recovery is long past when a `barbossa import` beside the
// server dies in the middle of a move: its journal waits for a recovery, and
// the half-moved folder must not be imported as it is. So every import job
// and the 5-minute scan first take back such orphans. Cheap (a listing of
// DATA_DIR/journal) and safe: a move in flight, this server's or another
// process's, holds a lock on its journal and is left alone.
void recover_orphaned_moves(ImportService& importer, int64_t job_id) {
  try {
    if (size_t n = importer.recover(); n > 0) {
      spdlog::warn("job {}: finished or rolled back {} album move(s) left by a process that died",
                   job_id, n);
    }
  } catch (const std::exception& e) {
    // The journals stay for the next attempt; the job's own work goes on.
    spdlog::error("job {}: recovering interrupted album moves failed: {}", job_id, e.what());
  }
}

std::string outcome_summary(const ImportOutcome& o) {
  std::string text = o.status() + ": " + o.artist + " - " + o.album;
  if (o.review_id != 0) text += " (review item " + std::to_string(o.review_id) + ")";
  for (const std::string& r : o.reasons) text += "; " + r;
  return text;
}

ImportJob::ImportJob(Store& store, ImportService& importer, std::vector<ImportInbox> inboxes,
                     ImportJobPorts ports)
    : importer_(importer), inboxes_(std::move(inboxes)), ports_(std::move(ports)), seen_(store) {}

void ImportJob::run(int64_t job_id, const std::string& payload_text,
                    const std::function<bool()>& cancelled) {
  recover_orphaned_moves(importer_, job_id);
  const ImportJobPayload payload = parse_import_payload(payload_text);
  const ImportInbox& inbox = inbox_of_entry(inboxes_, payload);
  if (payload.loose) {
    gather_loose_files(job_id, inbox, payload.path, cancelled);
    return;
  }
  import_entry(job_id, inbox, payload);
}

void ImportJob::import_entry(int64_t job_id, const ImportInbox& inbox,
                             const ImportJobPayload& payload) {
  const fs::path& path = payload.path;
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(path, ec))) {
    // Imported by a job before this one, or taken away: nothing to do.
    spdlog::info("import job {}: {} is gone; nothing to import", job_id, path.string());
    return;
  }
  std::string signature;
  if (inbox.copy) {
    signature = ports_.entry_signature(path);
    if (seen_.unchanged(path, signature)) return;
  }
  ImportRequest request;
  request.folder = path;
  request.copy = inbox.copy;
  request.source = inbox.source;
  if (has_prefix(path, kLoosePrefix)) request.source = payload.source.value_or(inbox.source);
  const ImportOutcome outcome = importer_.import_folder(request);
  if (inbox.copy) seen_.remember(path, signature);
  spdlog::info("import job {}: {}", job_id, outcome_summary(outcome));
  // Retrying cannot change a review verdict; the item waits for a person.
  if (outcome.kind == DecisionKind::kReview || outcome.kind == DecisionKind::kDuplicate) {
    throw FinalImportError(outcome_summary(outcome));
  }
}

// Each group is gathered into a hidden folder in pending, renamed complete
// in one step, and imported by its own job, so a group's failure or review
// is retried or shown on its own.
void ImportJob::gather_loose_files(int64_t job_id, const ImportInbox& inbox, const fs::path& root,
                                   const std::function<bool()>& cancelled) {
  const ImportInbox& pending = inboxes_.front();
  std::vector<fs::path> files;
  for (const fs::path& file : ports_.loose_files(root)) {
    if (inbox.copy && seen_.unchanged(file, file_signature(file))) continue;
    files.push_back(file);
  }
  for (auto& [key, group] : group_by_album(files)) {
    if (cancelled()) return;
    const std::string token = random_token(8);
    const fs::path gathering = unique_child(pending.root, kGatheringPrefix + token);
    fs::create_directory(gathering);
    std::vector<std::pair<fs::path, std::string>> seen;
    for (const fs::path& file : group) {
      if (inbox.copy) {
        seen.emplace_back(file, file_signature(file));
        copy_file_durable(file, gathering / file.filename());
      } else {
        move_file(file, gathering / file.filename());
      }
    }
    const fs::path staging = unique_child(pending.root, kLoosePrefix + token);
    fs::rename(gathering, staging);
    for (const auto& [file, signature] : seen) seen_.remember(file, signature);
    const int64_t id = queue_staging_import(staging, inbox.source);
    spdlog::info("import job {}: {} loose file(s) gathered into {}: import job {}", job_id,
                 group.size(), staging.filename().string(), id);
  }
}

int64_t ImportJob::queue_staging_import(const fs::path& staging, const std::string& source) {
  ImportJobPayload payload;
  payload.path = staging;
  payload.inbox = inboxes_.front().root;
  payload.loose = false;
  payload.source = source;
  return ports_.queue_import(payload);
}

bool ImportJob::unchanged_since_import(const ImportInbox& inbox, const fs::path& entry,
                                       bool loose_files) {
  if (!inbox.copy) return false;
  if (!loose_files) return seen_.unchanged(entry, ports_.entry_signature(entry));
  const auto files = ports_.loose_files(entry);
  return std::all_of(files.begin(), files.end(),
                     [&](const fs::path& f) { return seen_.unchanged(f, file_signature(f)); });
}

// A half-gathered group is imported as it is (the rest of its files are
// still loose and form another group, which then usually ends in review).
void ImportJob::resume_gathered_files() {
  const ImportInbox& pending = inboxes_.front();
  std::vector<fs::path> found;
  std::error_code ec;
  for (fs::directory_iterator it(pending.root, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code kind;
    if (!it->is_directory(kind) || it->is_symlink(kind)) continue;
    if (has_prefix(it->path(), kGatheringPrefix)) {
      const std::string name = it->path().filename().string();
      fs::path staging =
          unique_child(pending.root, kLoosePrefix + name.substr(std::strlen(kGatheringPrefix)));
      fs::rename(it->path(), staging, kind);
      if (!kind) found.push_back(staging);
    } else if (has_prefix(it->path(), kLoosePrefix)) {
      found.push_back(it->path());
    }
  }
  for (const fs::path& staging : found) {
    spdlog::warn("watch: resuming the import of gathered loose files {}", staging.string());
    try {
      queue_staging_import(staging, pending.source);
    } catch (const std::exception& e) {
      spdlog::error("start-up: queueing the resumed import failed: {}; the server runs without it",
                    e.what());
    }
  }
}

}  // namespace barbossa
