// Downloads (SPEC §3, §7): one row per URL a user asked for, from `pending`
// through the transfer and the import to a finished state. The row is what
// lists and the API show; the work itself is a job on the `downloads` queue.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/page.h"

namespace barbossa {

enum class DownloadStatus {
  kPending,
  kDownloading,
  kImporting,
  kComplete,
  kDuplicate,
  kPendingReview,
  kFailed,
  kCancelled
};

inline constexpr std::array<std::pair<DownloadStatus, std::string_view>, 8> kDownloadStatusNames{{
    {DownloadStatus::kPending, "pending"},
    {DownloadStatus::kDownloading, "downloading"},
    {DownloadStatus::kImporting, "importing"},
    {DownloadStatus::kComplete, "complete"},
    {DownloadStatus::kDuplicate, "duplicate"},
    {DownloadStatus::kPendingReview, "pending_review"},
    {DownloadStatus::kFailed, "failed"},
    {DownloadStatus::kCancelled, "cancelled"},
}};

inline std::string_view to_string(DownloadStatus status) {
  for (const auto& [value, name] : kDownloadStatusNames) {
    if (value == status) return name;
  }
  return "unknown";
}

// nullopt for any other text.
inline std::optional<DownloadStatus> parse_download_status(std::string_view text) {
  for (const auto& [value, name] : kDownloadStatusNames) {
    if (name == text) return value;
  }
  return std::nullopt;
}

inline std::ostream& operator<<(std::ostream& out, DownloadStatus status) {
  return out << to_string(status);
}

// Still moving: may be cancelled, may not be dismissed or retried.
inline bool is_active(DownloadStatus status) {
  return status == DownloadStatus::kPending || status == DownloadStatus::kDownloading ||
         status == DownloadStatus::kImporting;
}

struct Download {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string source;  // http, ytdlp or qobuz (never "auto": resolved on create)
  std::string url;
  DownloadStatus status = DownloadStatus::kPending;
  int progress = 0;  // 0-100
  int64_t bytes_done = 0;
  std::optional<int64_t> bytes_total;  // unknown until the source says
  int64_t speed_bps = 0;
  std::optional<int64_t> eta_seconds;
  std::string error;
  std::string staging_path;
  std::optional<int64_t> album_id;
  std::optional<int64_t> review_id;
  bool dismissed = false;
  std::string created_at;
  std::string updated_at;
};

class DownloadRepository {
 public:
  virtual ~DownloadRepository() = default;
  // A new `pending` row.
  virtual Download create(int64_t user_id, const std::string& source, const std::string& url) = 0;
  // Dismissed rows too: the caller decides what they mean.
  virtual std::optional<Download> find(int64_t id) = 0;
  // Newest first, dismissed rows left out. status nullopt: any; user_id
  // nullopt: everyone's.
  virtual PageResult<Download> list(std::optional<DownloadStatus> status,
                                    std::optional<int64_t> user_id, Page page) = 0;
  // Moves a row to `to` only while it is in one of `from`, in one UPDATE so
  // of two racing changes exactly one writes. Moving to `pending` also clears
  // the error, progress and speed of the attempt before. The row as written,
  // or nullopt (nothing written) when it was not in one of `from`.
  virtual std::optional<Download> transition(int64_t id, const std::vector<DownloadStatus>& from,
                                             DownloadStatus to) = 0;
  // Hides a finished row from lists; false when it is active, already
  // dismissed or missing.
  virtual bool dismiss(int64_t id) = 0;
};

}  // namespace barbossa
