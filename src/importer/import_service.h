// ImportService: a folder in, an album in the library or an item in review
// out (SPEC §5). Scan (parallel), identify, decide by rules, move atomically
// with a journal, record in one transaction, then publish events.
//
// Scanning, moving and recording run concurrently; deciding is one album at
// a time and waits for any album in flight that it could duplicate (the
// duplicate check must see the albums before it). The database's unique
// keys guard against other processes.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "bus/event_bus.h"
#include "core/identify.h"
#include "core/import_decision.h"
#include "files/album_mover.h"
#include "files/user_links.h"
#include "importer/identifier.h"
#include "importer/scanner.h"
#include "services/activity_service.h"
#include "store/store.h"

namespace barbossa {

struct ImportPaths {
  std::filesystem::path library_dir;
  std::filesystem::path import_dir;  // holds review/ and rejected/
  std::filesystem::path trash_dir;
};

struct ImportOptions {
  double threshold = 0.95;
  // Per-source overrides of the threshold (SOURCE_THRESHOLDS "qobuz=0.8").
  std::map<std::string, double> source_thresholds;
  ScanOptions scan;
};

struct ImportRequest {
  std::filesystem::path folder;
  bool copy = false;  // leave the source in place (CLI --copy, WATCH_DIRS)
  std::string source = "manual";
  std::optional<int64_t> download_id;
  std::optional<int64_t> user_id;  // who brought it in: actor of the activity, sees its review
  std::string username;            // for activity events; empty: system
};

// Corrections a reviewer may give when approving.
struct ReviewOverrides {
  std::optional<std::string> artist;
  std::optional<std::string> album;
  std::optional<int> year;
};

struct ImportOutcome {
  DecisionKind kind = DecisionKind::kImport;
  int64_t album_id = 0;   // imported, upgraded, or the album it duplicates
  int64_t review_id = 0;  // review and duplicate
  std::string artist;
  std::string album;
  int year = 0;
  double confidence = 0.0;
  std::vector<std::string> reasons;

  // "imported", "upgraded", "review", "duplicate"
  std::string status() const;
};

class ImportService {
 public:
  ImportService(Store& store, EventBus& bus, ActivityService& activity, UserLinks& links,
                AlbumMover& mover, Identifier& identifier, ImportPaths paths,
                ImportOptions options);

  // Throws std::runtime_error when the folder cannot be read at all or a
  // step fails (nothing is half-done: moves are rolled back). Review and
  // duplicate are normal outcomes, not errors.
  ImportOutcome import_folder(const ImportRequest& request);

  // Review queue (SPEC §10). Approve imports the item's folder as a reviewed
  // album (confidence and unreadable files no longer count; the duplicate
  // check still does: 409 when the library has it in equal or better
  // quality). Reject moves the folder to rejected/, or with delete_files to
  // the trash. Both move through the journal and commit with the item's row;
  // of two decisions of one item exactly one wins, the other gets 409.
  ImportOutcome approve(int64_t review_id, int64_t reviewer_id, const std::string& reviewer_name,
                        const ReviewOverrides& overrides);
  void reject(int64_t review_id, int64_t reviewer_id, const std::string& reviewer_name,
              bool delete_files);

  std::optional<ReviewItem> find_review(int64_t id);
  PageResult<ReviewItem> list_reviews(const std::string& status, std::optional<int64_t> visible_to,
                                      Page page);

  // Finishes or rolls back album moves a crash interrupted. Call at start-up.
  size_t recover();

 private:
  struct Plan;
  struct Existing;
  ImportOutcome run(const ImportRequest& request, const AlbumCandidate& candidate,
                    Identification identification, bool approved,
                    std::optional<ReviewItem> from_review, int64_t reviewer_id,
                    const std::string& reviewer_name);
  // One decision and, unless the library changed under it (std::nullopt:
  // decide again), its moves and commit.
  std::optional<ImportOutcome> run_once(const ImportRequest& request,
                                        const AlbumCandidate& candidate,
                                        const Identification& identification, bool approved,
                                        const std::optional<ReviewItem>& from_review,
                                        int64_t reviewer_id, const std::string& reviewer_name);
  // The album already in the library that `identification` (or a file of
  // `digests`) matches, with its tracks.
  Existing find_existing(const Identification& identification,
                         const std::vector<std::string>& digests);
  ImportOutcome send_to_review(const ImportRequest& request, const AlbumCandidate& candidate,
                               const Identification& identification, const Decision& decision,
                               const Quality& quality);
  double threshold_for(const std::string& source) const;
  ReviewItem pending_review(int64_t review_id);  // 404 unknown, 409 decided
  // pending_review with the item's folder leased for its decision (409 when
  // another request holds it).
  std::pair<ReviewItem, FolderLease> lease_pending_review(int64_t review_id);

  // An album between its decision and its commit, which other imports must
  // not decide without (same identity, release or file) nor collide with
  // (same folder).
  struct InFlight {
    std::string identity;  // normalized artist + album
    std::string release_id;
    std::set<std::string> checksums;
    std::string album_dir;
  };
  bool conflicts_in_flight(const InFlight& mine) const;  // under commit_mutex_
  bool album_dir_in_flight(const std::string& album_rel) const;

  Store& store_;
  EventBus& bus_;
  ActivityService& activity_;
  UserLinks& links_;
  AlbumMover& mover_;
  Identifier& identifier_;
  ImportPaths paths_;
  ImportOptions options_;
  // Guards deciding and in_flight_; moving and recording run outside it, so
  // one album's fsyncs overlap the next one's decision.
  std::mutex commit_mutex_;
  std::condition_variable in_flight_changed_;
  std::vector<InFlight*> in_flight_;
};

// Tags of a scanned track in the form identification reads.
TrackTags track_tags(const ScannedTrack& track);

}  // namespace barbossa
