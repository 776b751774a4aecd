#include "importer/import_plan.h"

#include "core/normalize.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "core/sanitize.h"
#include "core/time.h"
#include "files/fs_util.h"
#include "files/journaled_change.h"

namespace barbossa {
namespace {

namespace fs = std::filesystem;

bool is_image(const fs::path& p) {
  std::string ext = ascii_lower(p.extension().string());
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".gif" || ext == ".webp";
}

// The image that becomes cover.<ext>: one named like a cover, else the only
// (or first) image.
std::optional<size_t> pick_cover(const std::vector<fs::path>& extras) {
  std::optional<size_t> first;
  for (size_t i = 0; i < extras.size(); ++i) {
    if (!is_image(extras[i])) continue;
    std::string stem = ascii_lower(extras[i].stem().string());
    if (stem == "cover" || stem == "folder" || stem == "front" || stem == "albumart") return i;
    if (!first) first = i;
  }
  return first;
}

std::string extension_of(const fs::path& p) {
  std::string ext = p.extension().string();
  if (!ext.empty() && ext[0] == '.') ext.erase(0, 1);
  return ascii_lower(ext);
}

// A name unique within `used` (case-sensitive, like the filesystems we target),
// by inserting " (2)", " (3)"... before the extension.
std::string unique_name(std::set<std::string>& used, const std::string& name) {
  if (used.insert(name).second) return name;
  fs::path p(name);
  std::string stem = p.stem().string();
  std::string ext = p.extension().string();
  for (int n = 2;; ++n) {
    std::string candidate = truncate_utf8(stem, kMaxComponentBytes - ext.size() - 8) + " (" +
                            std::to_string(n) + ")" + ext;
    if (used.insert(candidate).second) return candidate;
  }
}

// What plan_files builds on: the album folder, the names taken in it, and the
// sources already given a step.
struct FilePlanning {
  ImportPlan& plan;
  const FilePlanInput& in;
  fs::path album_dir;
  fs::path trash;
  std::set<std::string> used;  // relative to the album folder
  std::set<fs::path> planned_sources;
};

// The old copy goes to the trash first, so the new files can take its names.
void plan_replaced_files(FilePlanning& p) {
  for (const auto& t : *p.in.replaced) p.plan.old_paths.push_back(t.path);
  std::error_code ec;
  if (fs::is_directory(p.album_dir, ec)) {
    add_folder_steps(p.plan.move.steps, p.album_dir, p.trash / "replaced", false);
  }
}

void plan_tracks(FilePlanning& p) {
  const Identification& ident = p.in.ident;
  const bool copy = p.in.request.copy;
  for (size_t i = 0; i < p.in.candidate.tracks.size(); ++i) {
    const ScannedTrack& t = p.in.candidate.tracks[i];
    const IdentifiedTrack& it = ident.tracks[i];
    std::string rel = track_file_name(it.number, it.title, extension_of(t.path));
    if (ident.disc_count > 1) rel = disc_folder_name(it.disc) + "/" + rel;
    rel = unique_name(p.used, rel);
    p.plan.track_rel.push_back(p.plan.album_rel + "/" + rel);
    p.plan.move.steps.push_back({t.path, p.album_dir / rel, copy});
    p.planned_sources.insert(t.path);
  }
}

void plan_extras(FilePlanning& p) {
  const std::vector<fs::path>& extras = p.in.candidate.extras;
  auto cover = pick_cover(extras);
  for (size_t i = 0; i < extras.size(); ++i) {
    const fs::path& e = extras[i];
    std::string name = cover && *cover == i ? "cover" + e.extension().string()
                                            : sanitize_file_name(display_path(e.filename()));
    name = unique_name(p.used, name);
    p.plan.move.steps.push_back({e, p.album_dir / name, p.in.request.copy});
    p.planned_sources.insert(e);
  }
}

// Targets are sanitized components joined to checked folders, so a lexical
// check suffices here (the album folder was checked physically).
void check_targets(const ImportPlan& plan, const ImportPaths& paths) {
  for (const auto& step : plan.move.steps) {
    if (!is_lexically_within(paths.library_dir, step.to) &&
        !is_lexically_within(paths.trash_dir, step.to)) {
      throw std::runtime_error("a planned file would leave the library: " + step.to.string());
    }
  }
}

}  // namespace

std::string artist_folder(const Identification& ident) {
  return sanitize_component(ident.artist, "Unknown Artist");
}

std::string new_album_folder(const fs::path& library_dir, const std::string& artist_rel,
                             const Identification& ident,
                             const std::function<bool(const std::string&)>& reserved) {
  const std::string wanted = album_folder_name(ident.album, ident.year);
  const fs::path base = library_dir / artist_rel;
  for (int n = 1;; ++n) {
    std::string name =
        n == 1 ? wanted
               : truncate_utf8(wanted, kMaxComponentBytes - 8) + " (" + std::to_string(n) + ")";
    fs::path dir = unique_child(base, name);
    std::string rel = (fs::path(artist_rel) / dir.filename()).generic_string();
    if (!reserved(rel)) return rel;
  }
}

void plan_files(ImportPlan& plan, const FilePlanInput& in) {
  const bool upgrade = in.replaced != nullptr;
  plan.move.id = new_move_id(upgrade ? "upgrade" : "import");
  if (!in.request.copy) plan.move.source_root = in.request.folder;
  FilePlanning p{plan,
                 in,
                 in.paths.library_dir / plan.album_rel,
                 in.paths.trash_dir / (compact_utc_stamp(unix_now_ms()) + "-" + plan.move.id),
                 {},
                 {}};
  if (upgrade) plan_replaced_files(p);
  plan_tracks(p);
  plan_extras(p);
  if (!in.request.copy) {
    // Whatever else the folder holds (unreadable files an approval skipped,
    // desktop.ini) goes to the trash rather than being lost or left behind.
    add_folder_steps(plan.move.steps, in.request.folder, p.trash / "leftovers", false,
                     p.planned_sources);
  }
  check_targets(plan, in.paths);
}

FolderPlacement plan_review_move(const ImportPaths& paths, const ImportRequest& request) {
  const fs::path review_root = paths.import_dir / "review";
  FolderPlacement placement{request.folder, std::nullopt};
  if (is_within(review_root, request.folder) && request.folder != review_root) return placement;
  placement.target = unique_child(
      review_root, sanitize_component(display_path(request.folder.filename()), "album"));
  placement.move = folder_move(request.folder, placement.target, request.copy, "review");
  return placement;
}

FolderPlacement plan_rejection(const ImportPaths& paths, const ReviewItem& item,
                               bool delete_files) {
  const std::string trash_name =
      compact_utc_stamp(unix_now_ms()) + "-review-" + std::to_string(item.id);
  FolderPlacement placement;
  placement.target = delete_files ? unique_child(paths.trash_dir, trash_name)
                                  : unique_child(paths.import_dir / "rejected", item.path_name);
  placement.move =
      folder_move(item.path, placement.target, false, delete_files ? "discard" : "reject");
  return placement;
}

}  // namespace barbossa
