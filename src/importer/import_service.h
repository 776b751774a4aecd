// ImportService: a folder in, an album in the library or an item in review
// out (SPEC §5). Scan (parallel), identify, decide by rules, move atomically
// with a journal, record in one transaction, then publish events.
//
// The stages live in their own files; this class runs them in order and
// holds what they share (the in-flight albums, the folder leases):
//   decide   importer/duplicate_lookup.h + core/import_decision.h (rules)
//   plan     importer/import_plan.h (library layout, review and reject targets)
//   move and record  files/journaled_change.h via services/journaled_write.h,
//            the rows from importer/import_record.h
//   publish  importer/import_publish.h (links, events of services/events.h)
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
#include "importer/duplicate_lookup.h"
#include "importer/identifier.h"
#include "importer/import_plan.h"
#include "importer/import_record.h"
#include "importer/import_request.h"
#include "importer/scanner.h"
#include "importer/track_tags.h"
#include "services/activity_service.h"
#include "store/store.h"

namespace barbossa {

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
  // One import on its way through the stages: what it imports and, for an
  // approval, the item and who approves it.
  struct Run {
    const ImportRequest& request;
    const AlbumCandidate& candidate;
    const Identification& ident;
    const std::optional<ReviewItem>& from_review;  // set: an approval
    int64_t reviewer_id = 0;
    const std::string& reviewer_name;
  };
  // What the decide stage saw and concluded.
  struct Decided {
    Quality quality;
    DuplicateQuery query;
    ExistingCopy existing;
    Decision decision;
  };
  class Reservation;

  ImportOutcome run(const Run& r);
  // One decision and, unless the library changed under it (std::nullopt:
  // decide again), its moves and commit.
  std::optional<ImportOutcome> run_once(const Run& r);
  void decide(const Run& r, Decided& d);  // under commit_mutex_
  // Under commit_mutex_: the folder a new album (or the upgraded one) takes.
  std::string album_folder(const Run& r, const Decided& d, const std::string& artist_rel) const;
  // Under the folder's lease, before anything moves: is the album an
  // upgrade replaces still there, where the decision saw it?
  void settle_upgrade_target(const Album& album);
  RecordedImport move_and_record(const Run& r, const Decided& d, const ImportPlan& plan);
  ImportOutcome send_to_review(const Run& r, const Decided& d);  // under commit_mutex_
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

}  // namespace barbossa
