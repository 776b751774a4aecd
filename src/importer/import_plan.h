// The plan stage of an import: where each file of the candidate goes in the
// library, and the one journaled move that gets it there. Also where a folder
// goes when it is sent to review or rejected. Names come from core/sanitize.h;
// nothing here moves a file (the only disk reads are the folder listings and
// the free-name checks).
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/identify.h"
#include "files/album_mover.h"
#include "importer/import_request.h"
#include "store/store.h"

namespace barbossa {

struct ImportPlan {
  std::string artist_rel;              // "Artist"
  std::string album_rel;               // "Artist/Album (Year)"
  std::vector<std::string> track_rel;  // per candidate track, same order
  AlbumMove move;
  std::vector<std::string> old_paths;  // an upgrade's replaced track paths
};

// The artist's folder name.
std::string artist_folder(const Identification& ident);

// A new album's folder, relative to library_dir: "Artist/Album (Year)", or
// "... (2)", "... (3)" when the name is taken on disk or `reserved` says an
// album still being moved has it.
std::string new_album_folder(const std::filesystem::path& library_dir,
                             const std::string& artist_rel, const Identification& ident,
                             const std::function<bool(const std::string&)>& reserved);

struct FilePlanInput {
  const AlbumCandidate& candidate;
  const Identification& ident;
  const ImportRequest& request;
  const ImportPaths& paths;
  const std::vector<Track>* replaced = nullptr;  // an upgrade: the tracks it replaces
};

// Fills plan.move (id, steps, source root), plan.track_rel and
// plan.old_paths for plan.album_rel: an upgrade's old files to the trash
// first (so the new files can take their names), then the tracks, the
// extras (one image becomes cover.<ext>), and whatever else the source
// folder holds to the trash (unless copying). Throws when a target would
// leave the library or the trash.
void plan_files(ImportPlan& plan, const FilePlanInput& in);

// A folder on its way into review/ or out of it: the folder it becomes and
// the journaled move (none when it already lies in review/).
struct FolderPlacement {
  std::filesystem::path target;
  std::optional<AlbumMove> move;
};

// Into import/review/, under its display name (a Latin-1 "Caf\xe9" is
// "Café" there, so its path_name, events and replies are valid UTF-8).
FolderPlacement plan_review_move(const ImportPaths& paths, const ImportRequest& request);

// A rejected item's folder to import/rejected/, or with delete_files to the
// trash (purged after TRASH_DAYS).
FolderPlacement plan_rejection(const ImportPaths& paths, const ReviewItem& item, bool delete_files);

}  // namespace barbossa
