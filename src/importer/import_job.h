// The `import` job (SPEC §6): what one job run does with its payload, kept
// out of app/ so it is tested on its own. app/ registers it with the worker
// pool and gives it the inboxes and the queue (ImportJobPorts), so the
// importer depends on neither the watcher nor the job queue.
//
// - Payload checks: the path must be an entry of a configured inbox; the
//   inbox, not the payload, decides copy and source.
// - Loose files at the top of an inbox become albums by their tags: each
//   group is gathered into a hidden folder in pending (moved there from
//   pending itself, copied from a copy inbox), renamed complete in one step,
//   and imported by its own job.
// - "Seen" signatures: a copy inbox (WATCH_DIRS) keeps its files, so what an
//   entry looked like when it was imported is remembered and an unchanged
//   entry is not imported again.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "importer/import_service.h"
#include "store/store.h"

namespace barbossa {

// An inbox as the job sees it (watch/inbox.h's Inbox, handed over by app/).
struct ImportInbox {
  std::filesystem::path root;  // absolute, normalized
  bool copy = false;
  std::string source;
};

// An outcome retrying cannot change: a bad payload, a path outside every
// inbox, a review verdict. app/ turns it into the worker pool's FinalError.
class FinalImportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What an `import` job is asked to import.
struct ImportJobPayload {
  std::filesystem::path path;
  std::filesystem::path inbox;  // root of the inbox it lies in
  bool loose = false;           // the loose files at the top of the inbox
  // A gathered group of loose files keeps the source of the inbox it came from.
  std::optional<std::string> source;
};

// Paths that are not valid UTF-8 (a Latin-1 folder) still round-trip.
std::string import_payload_json(const ImportJobPayload& payload);
// Throws FinalImportError "bad payload: ..." for anything unreadable.
ImportJobPayload parse_import_payload(const std::string& text);
// The configured inbox the payload's entry lies in; throws FinalImportError
// "not an entry of a configured inbox: <path>" otherwise.
const ImportInbox& inbox_of_entry(const std::vector<ImportInbox>& inboxes,
                                  const ImportJobPayload& payload);

// Hidden, so the watcher never takes them for entries of their own.
inline constexpr const char* kGatheringPrefix = ".barbossa-gathering-";
inline constexpr const char* kLoosePrefix = ".barbossa-loose-";

// "size:mtime" of a loose file in a copy inbox.
std::string file_signature(const std::filesystem::path& file);

// What each entry of a copy inbox looked like when it was last imported, in
// the meta table ("watch_seen:<path>").
class SeenEntries {
 public:
  explicit SeenEntries(Store& store) : store_(store) {}
  bool unchanged(const std::filesystem::path& path, const std::string& signature);
  void remember(const std::filesystem::path& path, const std::string& signature);

 private:
  Store& store_;
};

// What the job needs from the watch folder and the job queue.
struct ImportJobPorts {
  // The loose audio files at the top of an inbox, sorted.
  std::function<std::vector<std::filesystem::path>(const std::filesystem::path&)> loose_files;
  // A signature of a whole entry folder (its snapshot's digest).
  std::function<std::string(const std::filesystem::path&)> entry_signature;
  // Queues an `import` job for the payload; returns its id.
  std::function<int64_t(const ImportJobPayload&)> queue_import;
};

class ImportJob {
 public:
  // inboxes.front() is IMPORT_DIR/pending, where loose files are gathered.
  ImportJob(Store& store, ImportService& importer, std::vector<ImportInbox> inboxes,
            ImportJobPorts ports);

  // One run of an `import` job. Returns when it succeeded (or had nothing to
  // do); throws FinalImportError for an outcome retrying cannot change, and
  // anything else for a failure worth a retry.
  void run(int64_t job_id, const std::string& payload, const std::function<bool()>& cancelled);

  // For the watcher: was this entry of a copy inbox imported before and is
  // it unchanged since? (Then no job is queued at all.)
  bool unchanged_since_import(const ImportInbox& inbox, const std::filesystem::path& entry,
                              bool loose_files);

  // A crash while loose files were gathered, or before their group's job was
  // queued, leaves a hidden folder the watcher ignores: queue it again.
  void resume_gathered_files();

 private:
  void import_entry(int64_t job_id, const ImportInbox& inbox, const ImportJobPayload& payload);
  void gather_loose_files(int64_t job_id, const ImportInbox& inbox,
                          const std::filesystem::path& root,
                          const std::function<bool()>& cancelled);
  int64_t queue_staging_import(const std::filesystem::path& staging, const std::string& source);

  ImportService& importer_;
  std::vector<ImportInbox> inboxes_;
  ImportJobPorts ports_;
  SeenEntries seen_;
};

// Finishes or rolls back album moves a `barbossa import` beside the server
// left when it died (see the .cpp); logged, never thrown.
void recover_orphaned_moves(ImportService& importer, int64_t job_id);

// "imported: Artist - Album", with a review item and reasons when there are.
std::string outcome_summary(const ImportOutcome& outcome);

}  // namespace barbossa
