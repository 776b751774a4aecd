// The import side: review items waiting for a person, and the history of
// every imported track.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/move_repository.h"
#include "store/page.h"
#include "store/review_status.h"

namespace barbossa {

struct ReviewItem {
  int64_t id = 0;
  ReviewStatus status = ReviewStatus::kPending;
  std::string path;       // the folder under IMPORT_DIR/review (absolute)
  std::string path_name;  // its last component, what people see
  std::string suggested_artist;
  std::string suggested_album;
  int suggested_year = 0;
  double confidence = 0.0;
  std::vector<std::string> reasons;
  int track_count = 0;
  std::string quality_summary;
  std::string source;
  std::optional<int64_t> download_id;
  std::optional<int64_t> user_id;       // who brought it in (a download's owner)
  std::optional<int64_t> duplicate_of;  // album id
  std::optional<int64_t> reviewer_id;
  std::optional<int64_t> album_id;  // the album an approval produced
  std::string created_at;
  std::string updated_at;
};

// One row per imported track (SPEC §3).
struct ImportHistoryRow {
  std::string normalized_artist;
  std::string normalized_album;
  std::string normalized_track;
  std::string source;
  std::string quality;
  std::string sha256;
  int64_t album_id = 0;
  int64_t track_id = 0;
};

// Also a MoveRepository: an import records its move's commit point in its own
// transaction, and callers reach it as imports().mark_move_committed(). The
// same calls are StoreSession::moves().
class ImportRepository : public MoveRepository {
 public:
  virtual ~ImportRepository() = default;
  virtual ReviewItem create_review(const ReviewItem& item) = 0;
  virtual std::optional<ReviewItem> find_review(int64_t id) = 0;
  // status "" : any, else as to_string() spells it. visible_to: only items that user brought in;
  // nullopt: all.
  virtual PageResult<ReviewItem> list_reviews(const std::string& status,
                                              std::optional<int64_t> visible_to, Page page) = 0;
  // Rewrites status, path, path_name, suggestions, reasons, reviewer, album;
  // touches updated_at.
  virtual void update_review(const ReviewItem& item) = 0;
  // The decision itself (approve, reject): update_review guarded by
  // "status = 'pending'" in the same UPDATE, so of two decisions racing in
  // different threads or processes exactly one writes. False, nothing
  // written, when the item was no longer pending.
  virtual bool decide_review(const ReviewItem& item) = 0;
  virtual void add_history(const ImportHistoryRow& row) = 0;
};

}  // namespace barbossa
