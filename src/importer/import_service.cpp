#include "importer/import_service.h"

#include <algorithm>
#include <stdexcept>
#include <system_error>

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/normalize.h"
#include "files/fs_util.h"
#include "importer/import_publish.h"
#include "services/events.h"
#include "services/journaled_write.h"

namespace barbossa {
namespace {

namespace fs = std::filesystem;

// Decisions in a row that another process's change to the same album may
// send back; past that the import fails and can simply be run again.
constexpr int kMaxDecisions = 3;

Quality track_quality(const AudioInfo& info) {
  return Quality{info.lossless, info.sample_rate, info.bit_depth, info.bitrate, info.file_size};
}

Quality stored_quality(const Track& t) {
  return Quality{t.lossless, t.sample_rate, t.bit_depth, t.bitrate, t.file_size};
}

Quality candidate_quality(const AlbumCandidate& candidate) {
  std::vector<Quality> qualities;
  for (const auto& t : candidate.tracks) qualities.push_back(track_quality(t.info));
  return album_quality(qualities);
}

std::vector<std::string> checksums_of(const AlbumCandidate& candidate) {
  std::vector<std::string> digests;
  for (const auto& t : candidate.tracks) digests.push_back(t.sha256);
  return digests;
}

// The review row of a folder sent to review (its files at `target`).
ReviewItem review_item_for(const ImportRequest& request, const AlbumCandidate& candidate,
                           const Identification& ident, const Decision& decision,
                           const Quality& quality, const fs::path& target) {
  ReviewItem item;
  item.path = target.string();
  item.path_name = display_path(target.filename());
  item.suggested_artist = ident.artist;
  item.suggested_album = ident.album;
  item.suggested_year = ident.year;
  item.confidence = ident.confidence;
  item.reasons = decision.reasons;
  item.track_count = static_cast<int>(candidate.tracks.size());
  item.quality_summary = candidate.tracks.empty() ? "" : quality_label(quality);
  item.source = request.source;
  item.download_id = request.download_id;
  item.user_id = request.user_id;
  if (decision.kind == DecisionKind::kDuplicate) item.duplicate_of = decision.album_id;
  return item;
}

// The album this one duplicates was looked up before the folder moved,
// outside this transaction; a delete (in this server or another process) may
// have removed it since, and a duplicate_of naming a missing album fails the
// foreign key (the crash loop's "FOREIGN KEY constraint failed"). Checked
// here, in the transaction that inserts: the item still goes to review with
// its reasons, pointing at nothing.
ReviewItem create_review_row(StoreSession& s, ReviewItem item, const fs::path& folder) {
  if (item.duplicate_of && !s.library().find_album(*item.duplicate_of)) {
    spdlog::info("review of {}: album {} it duplicates was deleted meanwhile", display_path(folder),
                 *item.duplicate_of);
    item.duplicate_of.reset();
  }
  return s.imports().create_review(item);
}

ImportOutcome outcome_of(const Identification& ident, const Decision& decision) {
  ImportOutcome out;
  out.kind = decision.kind;
  out.album_id = decision.album_id;
  out.artist = ident.artist;
  out.album = ident.album;
  out.year = ident.year;
  out.confidence = ident.confidence;
  out.reasons = decision.reasons;
  return out;
}

}  // namespace

// Holds an album's place in in_flight_ from its decision to its commit;
// other imports wait for it (or pick another folder) meanwhile.
class ImportService::Reservation {
 public:
  Reservation(ImportService& self, InFlight* entry) : self_(self), entry_(entry) {
    self_.in_flight_.push_back(entry_);  // under commit_mutex_
  }
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  ~Reservation() {
    {
      std::lock_guard guard(self_.commit_mutex_);
      std::erase(self_.in_flight_, entry_);
    }
    self_.in_flight_changed_.notify_all();
  }

 private:
  ImportService& self_;
  InFlight* entry_;
};

bool ImportService::conflicts_in_flight(const InFlight& mine) const {
  for (const InFlight* other : in_flight_) {
    if (other->identity == mine.identity) return true;
    if (!mine.release_id.empty() && other->release_id == mine.release_id) return true;
    for (const auto& c : mine.checksums) {
      if (other->checksums.count(c)) return true;
    }
  }
  return false;
}

bool ImportService::album_dir_in_flight(const std::string& album_rel) const {
  for (const InFlight* other : in_flight_) {
    if (other->album_dir == album_rel) return true;
  }
  return false;
}

std::string ImportOutcome::status() const {
  switch (kind) {
    case DecisionKind::kImport:
      return "imported";
    case DecisionKind::kUpgrade:
      return "upgraded";
    case DecisionKind::kReview:
      return "review";
    case DecisionKind::kDuplicate:
      return "duplicate";
  }
  return "review";
}

ImportService::ImportService(Store& store, EventBus& bus, ActivityService& activity,
                             UserLinks& links, AlbumMover& mover, Identifier& identifier,
                             ImportPaths paths, ImportOptions options)
    : store_(store),
      bus_(bus),
      activity_(activity),
      links_(links),
      mover_(mover),
      identifier_(identifier),
      paths_(std::move(paths)),
      options_(std::move(options)) {}

double ImportService::threshold_for(const std::string& source) const {
  auto it = options_.source_thresholds.find(source);
  return it == options_.source_thresholds.end() ? options_.threshold : it->second;
}

std::optional<ReviewItem> ImportService::find_review(int64_t id) {
  return store_.read([&](StoreSession& s) { return s.imports().find_review(id); });
}

PageResult<ReviewItem> ImportService::list_reviews(const std::string& status,
                                                   std::optional<int64_t> visible_to, Page page) {
  return store_.read(
      [&](StoreSession& s) { return s.imports().list_reviews(status, visible_to, page); });
}

size_t ImportService::recover() {
  return mover_.recover([this](const std::string& id) {
    return store_.read([&](StoreSession& s) { return s.imports().is_move_committed(id); });
  });
}

ImportOutcome ImportService::import_folder(const ImportRequest& request) {
  std::error_code ec;
  if (!fs::is_directory(request.folder, ec)) {
    throw std::runtime_error(request.folder.string() + " is not a folder");
  }
  AlbumCandidate candidate = scan_album_folder(request.folder, options_.scan);
  Identification identification = identifier_.identify(candidate);
  const std::optional<ReviewItem> no_review;
  const std::string no_reviewer;
  return run(Run{request, candidate, identification, no_review, 0, no_reviewer});
}

ImportOutcome ImportService::run(const Run& r) {
  for (int attempt = 1;; ++attempt) {
    if (auto outcome = run_once(r)) return std::move(*outcome);
    if (attempt == kMaxDecisions) {
      throw std::runtime_error("the library's copy of " + r.ident.artist + " - " + r.ident.album +
                               " kept changing while this import waited; import it again");
    }
    spdlog::info(
        "import of {}: the library's copy of the album changed while it waited for the "
        "album folder; deciding again",
        r.request.folder.string());
  }
}

// The stages: decide (one album at a time), plan, move and record (the
// commit point), publish.
std::optional<ImportOutcome> ImportService::run_once(const Run& r) {
  Decided d;
  d.quality = candidate_quality(r.candidate);
  d.query = duplicate_query(r.ident, checksums_of(r.candidate));
  InFlight mine;
  mine.identity = normalize_name(r.ident.artist) + '\x1f' + normalize_name(r.ident.album);
  mine.release_id = r.ident.musicbrainz_release_id;
  mine.checksums.insert(d.query.checksums.begin(), d.query.checksums.end());

  // Deciding needs to see every album before this one, including those
  // another thread is moving right now: wait for a conflicting one to land.
  std::unique_lock lock(commit_mutex_);
  in_flight_changed_.wait(lock, [&] { return !conflicts_in_flight(mine); });
  decide(r, d);
  if (d.decision.kind == DecisionKind::kReview || d.decision.kind == DecisionKind::kDuplicate) {
    return send_to_review(r, d);
  }
  const bool upgrade = d.decision.kind == DecisionKind::kUpgrade;
  ImportPlan plan;
  plan.artist_rel = artist_folder(r.ident);
  plan.album_rel = album_folder(r, d, plan.artist_rel);
  mine.album_dir = plan.album_rel;
  Reservation reservation(*this, &mine);
  lock.unlock();

  // The folder is ours from its listing to the commit: a delete of the album
  // (this process or another) gets 409 meanwhile, and this waits for one in
  // progress. Never two movers on one folder.
  FolderLease folder_lease = mover_.lease_folder(paths_.library_dir / plan.album_rel, true);
  if (upgrade) settle_upgrade_target(*d.existing.album);
  // The decision read the library before the lease; another process
  // (`barbossa import` beside the server) may have imported or upgraded the
  // album while this waited. Moving on would send its new files to the trash,
  // leave its track rows pointing there and could replace a better copy with
  // a worse one: decide again instead (nothing has moved yet).
  const ExistingCopy current =
      store_.read([&](StoreSession& s) { return find_existing(s, d.query); });
  if (!same_existing(d.existing, current)) return std::nullopt;

  plan_files(plan, FilePlanInput{r.candidate, r.ident, r.request, paths_,
                                 upgrade ? &d.existing.tracks : nullptr});
  const RecordedImport recorded = move_and_record(r, d, plan);
  // Everyone's links follow the album's new files.
  if (upgrade) repoint_links_after_upgrade(store_, links_, recorded.album_id, plan.old_paths);

  ImportOutcome out = outcome_of(r.ident, d.decision);
  out.album_id = recorded.album_id;
  spdlog::info("{} '{}' by '{}' as album {} from {} ({} tracks, source {})", out.status(),
               r.ident.album, r.ident.artist, out.album_id, r.request.folder.string(),
               r.candidate.tracks.size(), r.request.source);
  publish_import(bus_, activity_, recorded, out, r.request, r.reviewer_name);
  return out;
}

// Is the album already in the library (find_existing's rules), and what do
// the rules of core/import_decision.h make of the candidate?
void ImportService::decide(const Run& r, Decided& d) {
  d.existing = store_.read([&](StoreSession& s) { return find_existing(s, d.query); });
  DecisionInput input;
  input.track_count = r.candidate.tracks.size();
  input.problems = r.candidate.problems;
  input.confidence = r.ident.confidence;
  input.identification_reasons = r.ident.reasons;
  input.threshold = threshold_for(r.request.source);
  input.approved = r.from_review.has_value();
  input.quality = d.quality;
  if (d.existing.album) {
    std::vector<Quality> old;
    for (const auto& t : d.existing.tracks) old.push_back(stored_quality(t));
    input.existing = ExistingAlbum{d.existing.album->id, album_quality(old), d.existing.matched_by};
  }
  d.decision = decide_import(input);
}

std::string ImportService::album_folder(const Run& r, const Decided& d,
                                        const std::string& artist_rel) const {
  std::string rel;
  if (d.decision.kind == DecisionKind::kUpgrade && !d.existing.album->path.empty()) {
    rel = d.existing.album->path;
  } else {
    // A name free on disk and not taken by an album still being moved.
    rel = new_album_folder(paths_.library_dir, artist_rel, r.ident,
                           [this](const std::string& dir) { return album_dir_in_flight(dir); });
  }
  if (!is_within(paths_.library_dir, paths_.library_dir / rel)) {
    throw std::runtime_error("album folder would leave the library: " + rel);
  }
  return rel;
}

void ImportService::settle_upgrade_target(const Album& album) {
  // A mover that died on this folder (a `barbossa import` killed in the
  // middle of an upgrade) left a journal that still claims it: settle it
  // before the folder is listed, or its rollback would later bring old files
  // back over ours. Its owner is dead, so nothing else holds it.
  recover();
  // Decided before the lease: the album may have been deleted (or moved)
  // while this waited. Nothing has moved yet; the import can simply run again.
  auto now = store_.read([&](StoreSession& s) { return s.library().find_album(album.id); });
  if (!now || now->path != album.path) {
    throw std::runtime_error("album " + std::to_string(album.id) +
                             " changed while its upgrade waited; import the folder again");
  }
}

// Move, then record; the transaction is the commit point.
RecordedImport ImportService::move_and_record(const Run& r, const Decided& d,
                                              const ImportPlan& plan) {
  const bool upgrade = d.decision.kind == DecisionKind::kUpgrade;
  std::vector<Quality> old;
  for (const auto& t : d.existing.tracks) old.push_back(stored_quality(t));
  const RecordInput in{r.request,
                       r.candidate,
                       r.ident,
                       plan,
                       d.quality,
                       upgrade ? &d.existing : nullptr,
                       upgrade ? album_quality(old) : Quality{},
                       r.from_review ? &*r.from_review : nullptr,
                       r.reviewer_id};
  RecordedImport recorded;
  ChangeTidy tidy;
  // Folders that held no file (an empty Scans/) would stay behind and, in
  // the watch folder, come back as an album of nothing.
  tidy.after_finish = [&] {
    if (!r.request.copy) remove_empty_tree(r.request.folder);
  };
  commit_journaled_change(
      store_, &mover_, &plan.move,
      [&](StoreSession& s) { recorded = record_import(s, activity_, in); }, tidy);
  return recorded;
}

// The folder moves into review/ through the journal and the review row
// records the move id, as an import does: a crash leaves either both or
// neither, never a folder in review/ without its item (which a re-run import
// job could not find again).
ImportOutcome ImportService::send_to_review(const Run& r, const Decided& d) {
  if (r.from_review) {
    // An approval cannot send the item back to review: say why instead.
    const Decision& decision = d.decision;
    std::string why = decision.reasons.empty() ? "cannot be imported" : decision.reasons.front();
    if (decision.kind == DecisionKind::kDuplicate) throw ApiError::conflict(why);
    throw ApiError::unprocessable(why);
  }
  // Under commit_mutex_: no other review of this process picks the name
  // meanwhile (another process's clash makes begin() refuse).
  const FolderPlacement placement = plan_review_move(paths_, r.request);
  const AlbumMove* move = placement.move ? &*placement.move : nullptr;
  // The mover makes (and on roll-back removes) the folders its steps need;
  // an album of no files still gets its folder, for the item to point at.
  if (move && move->steps.empty()) fs::create_directory(placement.target);
  ReviewItem item =
      review_item_for(r.request, r.candidate, r.ident, d.decision, d.quality, placement.target);
  ChangeTidy tidy;
  // Put the files back so nothing sits in review without a record.
  tidy.after_roll_back = [&] { remove_empty_tree(placement.target); };
  tidy.after_finish = [&] {
    if (!r.request.copy) remove_empty_tree(r.request.folder);
  };
  commit_journaled_change(
      store_, &mover_, move,
      [&](StoreSession& s) { item = create_review_row(s, item, r.request.folder); }, tidy);
  spdlog::info("review item {} for {}: {}", item.id, item.path_name,
               d.decision.reasons.empty() ? "" : d.decision.reasons.front());
  bus_.publish(import_review_event(item));
  ImportOutcome out = outcome_of(r.ident, d.decision);
  out.review_id = item.id;
  return out;
}

// 404 for an unknown item, 409 for one already decided.
ReviewItem ImportService::pending_review(int64_t review_id) {
  auto item = store_.read([&](StoreSession& s) { return s.imports().find_review(review_id); });
  if (!item) throw ApiError::not_found("Review item not found");
  if (item->status != ReviewStatus::kPending) {
    throw ApiError::conflict("Review item " + std::to_string(review_id) + " is already " +
                             std::string(to_string(item->status)));
  }
  return *item;
}

// Of an approve and a reject racing (or two of either), one takes the lease
// on the item's folder and the other gets 409 at once; one that comes after
// the decision finds it decided (409). The lease is taken before the second
// read so that read sees any decision that was committed under it.
std::pair<ReviewItem, FolderLease> ImportService::lease_pending_review(int64_t review_id) {
  const ReviewItem first = pending_review(review_id);
  FolderLease lease = mover_.lease_folder(first.path, false);
  if (!lease.held()) {
    throw ApiError::conflict("Review item " + std::to_string(review_id) +
                             " is being decided by another request");
  }
  return {pending_review(review_id), std::move(lease)};
}

ImportOutcome ImportService::approve(int64_t review_id, int64_t reviewer_id,
                                     const std::string& reviewer_name,
                                     const ReviewOverrides& overrides) {
  auto [pending, lease] = lease_pending_review(review_id);
  const std::optional<ReviewItem> item = std::move(pending);
  const fs::path folder = item->path;
  std::error_code ec;
  if (!is_within(paths_.import_dir / "review", folder) || !fs::is_directory(folder, ec)) {
    throw ApiError::conflict("The files of review item " + std::to_string(review_id) + " are gone");
  }
  if (overrides.artist && overrides.artist->find_first_not_of(" \t") == std::string::npos) {
    throw ApiError::bad_request("Field 'artist' must not be empty");
  }
  if (overrides.album && overrides.album->find_first_not_of(" \t") == std::string::npos) {
    throw ApiError::bad_request("Field 'album' must not be empty");
  }
  if (overrides.year && (*overrides.year < 0 || *overrides.year > 9999)) {
    throw ApiError::bad_request("Field 'year' must be between 0 and 9999");
  }

  AlbumCandidate candidate = scan_album_folder(folder, options_.scan);
  Identification ident = identifier_.identify(candidate);
  if (overrides.artist) ident.artist = *overrides.artist;
  if (overrides.album) ident.album = *overrides.album;
  if (overrides.year) ident.year = *overrides.year;

  ImportRequest request;
  request.folder = folder;
  request.source = item->source;
  request.download_id = item->download_id;
  request.user_id = item->user_id;
  return run(Run{request, candidate, ident, item, reviewer_id, reviewer_name});
}

void ImportService::reject(int64_t review_id, int64_t reviewer_id, const std::string& reviewer_name,
                           bool delete_files) {
  Activity row;
  {
    auto [pending, lease] = lease_pending_review(review_id);
    ReviewItem item = std::move(pending);
    std::lock_guard lock(commit_mutex_);
    const fs::path folder = item.path;
    std::error_code ec;
    const bool present = is_within(paths_.import_dir / "review", folder) && fs::exists(folder, ec);
    // To rejected/, or with delete_files to the trash (purged after
    // TRASH_DAYS): either way through the journal and committed with the
    // row, so a crash leaves the folder in review/ with the item pending or
    // moved with the item rejected, never gone with the item pending.
    std::optional<FolderPlacement> placement;
    if (present) {
      placement = plan_rejection(paths_, item, delete_files);
      if (placement->move->steps.empty()) fs::create_directories(placement->target);
      item.path = delete_files ? "" : placement->target.string();
    }
    item.status = ReviewStatus::kRejected;
    item.reviewer_id = reviewer_id;
    ChangeTidy tidy;
    tidy.after_roll_back = [&] { remove_empty_tree(placement->target); };
    tidy.after_finish = [&] { remove_empty_tree(folder); };
    commit_journaled_change(
        store_, &mover_, placement ? &*placement->move : nullptr,
        [&](StoreSession& s) {
          // The guard in the SQL: a decision by another process loses here.
          if (!s.imports().decide_review(item)) {
            throw ApiError::conflict("Review item " + std::to_string(review_id) +
                                     " is already decided");
          }
          nlohmann::json details = nlohmann::json::object();
          details["review_id"] = item.id;
          details["path"] = item.path_name;
          details["artist"] = item.suggested_artist;
          details["title"] = item.suggested_album;
          details["deleted_files"] = delete_files;
          row = activity_.record(s, reviewer_id, "review_rejected", "review", item.id, details);
        },
        tidy);
    spdlog::info("review item {} rejected by '{}' ({})", review_id, reviewer_name,
                 delete_files ? "files moved to the trash" : "moved to rejected/");
  }
  activity_.publish(row, reviewer_name);
}

}  // namespace barbossa
