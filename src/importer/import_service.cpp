#include "importer/import_service.h"

#include <algorithm>
#include <random>
#include <set>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/normalize.h"
#include "core/sanitize.h"
#include "core/time.h"
#include "files/fs_util.h"

namespace barbossa {
namespace {

namespace fs = std::filesystem;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool is_image(const fs::path& p) {
  std::string ext = lower(p.extension().string());
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".gif" || ext == ".webp";
}

// The image that becomes cover.<ext>: one named like a cover, else the only
// (or first) image.
std::optional<size_t> pick_cover(const std::vector<fs::path>& extras) {
  std::optional<size_t> first;
  for (size_t i = 0; i < extras.size(); ++i) {
    if (!is_image(extras[i])) continue;
    std::string stem = lower(extras[i].stem().string());
    if (stem == "cover" || stem == "folder" || stem == "front" || stem == "albumart") return i;
    if (!first) first = i;
  }
  return first;
}

std::string new_move_id(const char* kind) {
  std::random_device rd;
  return fmt::format("{}-{}-{:08x}{:08x}", kind, unix_now_ms(), rd(), rd());
}

Quality track_quality(const AudioInfo& info) {
  return Quality{info.lossless, info.sample_rate, info.bit_depth, info.bitrate, info.file_size};
}

Quality stored_quality(const Track& t) {
  return Quality{t.lossless, t.sample_rate, t.bit_depth, t.bitrate, t.file_size};
}

std::string extension_of(const fs::path& p) {
  std::string ext = p.extension().string();
  if (!ext.empty() && ext[0] == '.') ext.erase(0, 1);
  return lower(ext);
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

// Renames a folder, or copies it (and removes the source unless keep_source)
// when it lives on another filesystem.
// A whole folder as one journaled move: every file below `from` (symlinks as
// links) to the same place below `to`. Review and reject moves use it so a
// crash leaves the folder and its review row in step (see send_to_review).
AlbumMove folder_move(const fs::path& from, const fs::path& to, bool keep_source,
                      const char* kind) {
  AlbumMove move;
  move.id = new_move_id(kind);
  if (!keep_source) move.source_root = from;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(from, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec) && !it->is_symlink(ec)) continue;
    move.steps.push_back({it->path(), to / it->path().lexically_relative(from), keep_source});
  }
  if (ec) throw std::runtime_error("cannot list " + from.string() + ": " + ec.message());
  return move;
}

void publish_event(EventBus& bus, const std::string& type, Channel channel, Audience audience,
                   nlohmann::json payload) {
  EventDraft draft;
  draft.type = type;
  draft.channel = channel;
  draft.audience = audience;
  draft.payload = std::make_shared<const nlohmann::json>(std::move(payload));
  bus.publish(draft);
}

nlohmann::json reasons_json(const std::vector<std::string>& reasons) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& r : reasons) j.push_back(r);
  return j;
}

}  // namespace

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

TrackTags track_tags(const ScannedTrack& track) {
  TrackTags t;
  const AudioTags& tags = track.info.tags;
  t.file_name = track.relative;
  t.artist = tags.artist;
  t.album_artist = tags.album_artist;
  t.album = tags.album;
  t.title = tags.title;
  t.track = tags.track;
  t.track_total = tags.track_total;
  t.disc = tags.disc;
  t.disc_total = tags.disc_total;
  t.disc_from_folder = track.disc_from_folder;
  t.year = tags.year;
  t.musicbrainz_album_id = tags.musicbrainz_album_id;
  t.musicbrainz_recording_id = tags.musicbrainz_recording_id;
  return t;
}

// Where each file of the candidate goes, and the move that gets it there.
struct ImportService::Plan {
  std::string artist_rel;              // "Artist"
  std::string album_rel;               // "Artist/Album (Year)"
  std::vector<std::string> track_rel;  // per candidate track, same order
  AlbumMove move;
  std::vector<std::string> old_paths;  // an upgrade's replaced track paths
};

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
  return run(request, candidate, std::move(identification), false, std::nullopt, 0, "");
}

struct ImportService::Existing {
  std::optional<Album> album;
  std::string matched_by;
  std::vector<Track> tracks;
};

namespace {

// Has the library's copy of an album changed between two looks (another
// process imported, upgraded or deleted it)? Track ids, paths and checksums
// say which files make it up, and so its quality.
bool same_existing(const std::optional<Album>& a, const std::vector<Track>& a_tracks,
                   const std::optional<Album>& b, const std::vector<Track>& b_tracks) {
  if (a.has_value() != b.has_value()) return false;
  if (a && (a->id != b->id || a->path != b->path)) return false;
  if (a_tracks.size() != b_tracks.size()) return false;
  for (size_t i = 0; i < a_tracks.size(); ++i) {
    const Track& x = a_tracks[i];
    const Track& y = b_tracks[i];
    if (x.id != y.id || x.path != y.path || x.sha256 != y.sha256) return false;
  }
  return true;
}

// Decisions in a row that another process's change to the same album may
// send back; past that the import fails and can simply be run again.
constexpr int kMaxDecisions = 3;

}  // namespace

ImportService::Existing ImportService::find_existing(const Identification& ident,
                                                     const std::vector<std::string>& digests) {
  Existing found;
  store_.read([&](StoreSession& s) {
    auto& lib = s.library();
    if (auto artist = lib.find_artist_by_normalized(normalize_name(ident.artist))) {
      found.album = lib.find_album_by_identity(artist->id, normalize_name(ident.album));
      if (found.album) found.matched_by = "artist and album";
    }
    if (!found.album && !ident.musicbrainz_release_id.empty()) {
      found.album = lib.find_album_by_release(ident.musicbrainz_release_id);
      if (found.album) found.matched_by = "MusicBrainz release";
    }
    if (!found.album) {
      auto same = lib.find_tracks_by_sha256(digests);
      if (!same.empty()) {
        found.album = lib.find_album(same.front().album_id);
        if (found.album) found.matched_by = "identical file checksum";
      }
    }
    if (found.album) found.tracks = lib.album_tracks(found.album->id);
  });
  return found;
}

ImportOutcome ImportService::run(const ImportRequest& request, const AlbumCandidate& candidate,
                                 Identification ident, bool approved,
                                 std::optional<ReviewItem> from_review, int64_t reviewer_id,
                                 const std::string& reviewer_name) {
  for (int attempt = 1;; ++attempt) {
    if (auto outcome = run_once(request, candidate, ident, approved, from_review, reviewer_id,
                                reviewer_name)) {
      return std::move(*outcome);
    }
    if (attempt == kMaxDecisions) {
      throw std::runtime_error("the library's copy of " + ident.artist + " - " + ident.album +
                               " kept changing while this import waited; import it again");
    }
    spdlog::info(
        "import of {}: the library's copy of the album changed while it waited for the "
        "album folder; deciding again",
        request.folder.string());
  }
}

std::optional<ImportOutcome> ImportService::run_once(const ImportRequest& request,
                                                     const AlbumCandidate& candidate,
                                                     const Identification& ident, bool approved,
                                                     const std::optional<ReviewItem>& from_review,
                                                     int64_t reviewer_id,
                                                     const std::string& reviewer_name) {
  std::vector<Quality> qualities;
  for (const auto& t : candidate.tracks) qualities.push_back(track_quality(t.info));
  Quality quality = album_quality(qualities);

  // Deciding needs to see every album before this one, including those
  // another thread is moving right now: wait for a conflicting one to land.
  std::unique_lock lock(commit_mutex_);
  std::vector<std::string> digests;
  for (const auto& t : candidate.tracks) digests.push_back(t.sha256);
  InFlight mine;
  mine.identity = normalize_name(ident.artist) + '\x1f' + normalize_name(ident.album);
  mine.release_id = ident.musicbrainz_release_id;
  mine.checksums.insert(digests.begin(), digests.end());
  in_flight_changed_.wait(lock, [&] { return !conflicts_in_flight(mine); });

  // Is the album already in the library? By name, by release, by any file.
  Existing found = find_existing(ident, digests);
  const std::optional<Album>& existing = found.album;
  const std::string& matched_by = found.matched_by;
  const std::vector<Track>& existing_tracks = found.tracks;

  DecisionInput input;
  input.track_count = candidate.tracks.size();
  input.problems = candidate.problems;
  input.confidence = ident.confidence;
  input.identification_reasons = ident.reasons;
  input.threshold = threshold_for(request.source);
  input.approved = approved;
  input.quality = quality;
  if (existing) {
    std::vector<Quality> old;
    for (const auto& t : existing_tracks) old.push_back(stored_quality(t));
    input.existing = ExistingAlbum{existing->id, album_quality(old), matched_by};
  }
  Decision decision = decide_import(input);

  if (decision.kind == DecisionKind::kReview || decision.kind == DecisionKind::kDuplicate) {
    if (from_review) {
      // An approval cannot send the item back to review: say why instead.
      std::string why = decision.reasons.empty() ? "cannot be imported" : decision.reasons.front();
      if (decision.kind == DecisionKind::kDuplicate) throw ApiError::conflict(why);
      throw ApiError::unprocessable(why);
    }
    return send_to_review(request, candidate, ident, decision, quality);
  }

  // ---- plan the files
  Plan plan;
  const bool upgrade = decision.kind == DecisionKind::kUpgrade;
  plan.artist_rel = sanitize_component(ident.artist, "Unknown Artist");
  if (upgrade && !existing->path.empty()) {
    plan.album_rel = existing->path;
  } else {
    // A name free on disk and not taken by an album still being moved.
    const std::string wanted = album_folder_name(ident.album, ident.year);
    fs::path base = paths_.library_dir / plan.artist_rel;
    for (int n = 1;; ++n) {
      std::string name =
          n == 1 ? wanted
                 : truncate_utf8(wanted, kMaxComponentBytes - 8) + " (" + std::to_string(n) + ")";
      fs::path dir = unique_child(base, name);
      std::string rel = (fs::path(plan.artist_rel) / dir.filename()).generic_string();
      if (!album_dir_in_flight(rel)) {
        plan.album_rel = rel;
        break;
      }
    }
  }
  const fs::path album_dir = paths_.library_dir / plan.album_rel;
  if (!is_within(paths_.library_dir, album_dir)) {
    throw std::runtime_error("album folder would leave the library: " + plan.album_rel);
  }
  // From here the album is reserved: other imports wait for it (or pick
  // another folder) while this one moves and records without the lock.
  mine.album_dir = plan.album_rel;
  in_flight_.push_back(&mine);
  struct Release {
    ImportService& self;
    InFlight* entry;
    ~Release() {
      {
        std::lock_guard guard(self.commit_mutex_);
        std::erase(self.in_flight_, entry);
      }
      self.in_flight_changed_.notify_all();
    }
  } release{*this, &mine};
  lock.unlock();
  // The folder is ours from its listing to the commit: a delete of the album
  // (this process or another) gets 409 meanwhile, and this waits for one in
  // progress. Never two movers on one folder.
  FolderLease folder_lease = mover_.lease_folder(album_dir, true);
  if (upgrade) {
    // A mover that died on this folder (a `barbossa import` killed in the
    // middle of an upgrade) left a journal that still claims it: settle it
    // before the folder is listed, or its rollback would later bring old
    // files back over ours. Its owner is dead, so nothing else holds it.
    recover();
    // Decided before the lease: the album may have been deleted (or moved)
    // while this waited. Nothing has moved yet; the import can simply run again.
    auto now = store_.read([&](StoreSession& s) { return s.library().find_album(existing->id); });
    if (!now || now->path != existing->path) {
      throw std::runtime_error("album " + std::to_string(existing->id) +
                               " changed while its upgrade waited; import the folder again");
    }
  }
  // The decision read the library before the lease; another process
  // (`barbossa import` beside the server) may have imported or upgraded the
  // album while this waited. Moving on would send its new files to the trash,
  // leave its track rows pointing there and could replace a better copy with
  // a worse one: decide again instead (nothing has moved yet).
  const Existing current = find_existing(ident, digests);
  if (!same_existing(existing, existing_tracks, current.album, current.tracks)) {
    return std::nullopt;
  }
  plan.move.id = new_move_id(upgrade ? "upgrade" : "import");
  if (!request.copy) plan.move.source_root = request.folder;
  const fs::path trash = paths_.trash_dir / (compact_utc_stamp(unix_now_ms()) + "-" + plan.move.id);

  if (upgrade) {
    // The old copy goes to the trash first, so the new files can take its names.
    for (const auto& t : existing_tracks) plan.old_paths.push_back(t.path);
    std::error_code ec;
    if (fs::is_directory(album_dir, ec)) {
      for (auto it = fs::recursive_directory_iterator(album_dir, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file(ec) && !it->is_symlink(ec)) continue;
        plan.move.steps.push_back(
            {it->path(), trash / "replaced" / it->path().lexically_relative(album_dir), false});
      }
    }
  }

  std::set<std::string> used;  // relative to the album folder
  std::set<fs::path> planned_sources;
  for (size_t i = 0; i < candidate.tracks.size(); ++i) {
    const ScannedTrack& t = candidate.tracks[i];
    const IdentifiedTrack& it = ident.tracks[i];
    std::string rel = track_file_name(it.number, it.title, extension_of(t.path));
    if (ident.disc_count > 1) rel = disc_folder_name(it.disc) + "/" + rel;
    rel = unique_name(used, rel);
    plan.track_rel.push_back(plan.album_rel + "/" + rel);
    plan.move.steps.push_back({t.path, album_dir / rel, request.copy});
    planned_sources.insert(t.path);
  }
  auto cover = pick_cover(candidate.extras);
  for (size_t i = 0; i < candidate.extras.size(); ++i) {
    const fs::path& e = candidate.extras[i];
    std::string name = cover && *cover == i ? "cover" + e.extension().string()
                                            : sanitize_file_name(display_path(e.filename()));
    name = unique_name(used, name);
    plan.move.steps.push_back({e, album_dir / name, request.copy});
    planned_sources.insert(e);
  }
  if (!request.copy) {
    // Whatever else the folder holds (unreadable files an approval skipped,
    // desktop.ini) goes to the trash rather than being lost or left behind.
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(request.folder, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec) && !it->is_symlink(ec)) continue;
      if (planned_sources.count(it->path())) continue;
      plan.move.steps.push_back(
          {it->path(), trash / "leftovers" / it->path().lexically_relative(request.folder), false});
    }
  }
  // Targets are sanitized components joined to checked folders, so a
  // lexical check suffices here (the album folder was checked physically).
  for (const auto& step : plan.move.steps) {
    if (!is_lexically_within(paths_.library_dir, step.to) &&
        !is_lexically_within(paths_.trash_dir, step.to)) {
      throw std::runtime_error("a planned file would leave the library: " + step.to.string());
    }
  }

  // ---- move, then record; the transaction is the commit point
  mover_.begin(plan.move);
  mover_.apply(plan.move);

  std::vector<Activity> activities;
  int64_t album_id = 0;
  std::optional<ReviewItem> approved_item;
  try {
    store_.write_durable([&](StoreSession& s) {
      auto& lib = s.library();
      Artist artist;
      if (auto found = lib.find_artist_by_normalized(normalize_name(ident.artist))) {
        artist = *found;
      } else {
        Artist a;
        a.name = ident.artist;
        a.sort_name = ident.artist;
        a.path = plan.artist_rel;
        artist = lib.create_artist(a);
      }

      Album album;
      if (upgrade) {
        auto current = lib.find_album(existing->id);
        if (!current) throw std::runtime_error("the album an upgrade replaces is gone");
        album = *current;
      } else {
        album.artist_id = artist.id;
        album.title = ident.album;
        album.year = ident.year;
        album.musicbrainz_release_id = ident.musicbrainz_release_id;
      }
      album.path = plan.album_rel;
      album.disc_count = ident.disc_count;
      album.total_tracks = static_cast<int>(candidate.tracks.size());
      album.available_tracks = static_cast<int>(candidate.tracks.size());
      album.source = request.source;
      album.status = "available";
      if (upgrade) {
        lib.update_album(album);
      } else {
        album = lib.create_album(album);
      }
      album_id = album.id;

      // Tracks keep their ids across an upgrade (matched by disc and
      // number), so track hearts survive it.
      std::map<std::pair<int, int>, Track> old_by_position;
      for (const auto& t : existing_tracks) old_by_position[{t.disc, t.number}] = t;
      const std::string now = iso8601_now();
      const std::string quality_text = quality_label(quality);
      for (size_t i = 0; i < candidate.tracks.size(); ++i) {
        const ScannedTrack& st = candidate.tracks[i];
        const IdentifiedTrack& it = ident.tracks[i];
        Track t;
        auto old = old_by_position.find({it.disc, it.number});
        if (upgrade && old != old_by_position.end()) {
          t.id = old->second.id;
          old_by_position.erase(old);
        }
        t.album_id = album.id;
        t.disc = it.disc;
        t.number = it.number;
        t.title = it.title;
        t.duration_ms = st.info.duration_ms;
        t.path = plan.track_rel[i];
        t.format = st.info.format;
        t.lossless = st.info.lossless;
        t.sample_rate = st.info.sample_rate;
        t.bit_depth = st.info.bit_depth;
        t.bitrate = st.info.bitrate;
        t.channels = st.info.channels;
        t.file_size = st.info.file_size;
        t.sha256 = st.sha256;
        t.checksum_verified_at = now;
        t.source = request.source;
        t.musicbrainz_recording_id = st.info.tags.musicbrainz_recording_id;
        if (t.id != 0) {
          lib.update_track(t);
        } else {
          t = lib.create_track(t);
        }
        ImportHistoryRow h;
        h.normalized_artist = artist.normalized_name;
        h.normalized_album = normalize_name(album.title);
        h.normalized_track = normalize_name(t.title);
        h.source = request.source;
        h.quality = quality_text;
        h.sha256 = t.sha256;
        h.album_id = album.id;
        h.track_id = t.id;
        s.imports().add_history(h);
      }
      for (const auto& [pos, t] : old_by_position) lib.delete_track(t.id);
      s.imports().mark_move_committed(plan.move.id);

      nlohmann::json details = nlohmann::json::object();
      details["artist"] = artist.name;
      details["title"] = album.title;
      details["year"] = album.year;
      details["source"] = request.source;
      details["tracks"] = candidate.tracks.size();
      details["quality"] = quality_text;
      if (upgrade) {
        details["from_quality"] = quality_label(input.existing->quality);
        activities.push_back(
            activity_.record(s, request.user_id, "quality_upgrade", "album", album.id, details));
      } else {
        activities.push_back(
            activity_.record(s, request.user_id, "new_album", "album", album.id, details));
      }
      if (from_review) {
        ReviewItem item = *from_review;
        item.status = "approved";
        item.reviewer_id = reviewer_id;
        item.album_id = album.id;
        // The guard in the SQL: a decision by another process since the
        // lease was taken loses here, and the moves are rolled back.
        if (!s.imports().decide_review(item)) {
          throw ApiError::conflict("Review item " + std::to_string(item.id) +
                                   " is already decided");
        }
        approved_item = item;
        nlohmann::json rd = nlohmann::json::object();
        rd["review_id"] = item.id;
        rd["album_id"] = album.id;
        rd["artist"] = artist.name;
        rd["title"] = album.title;
        activities.push_back(
            activity_.record(s, reviewer_id, "review_approved", "review", item.id, rd));
      }
    });
  } catch (...) {
    mover_.roll_back(plan.move);
    throw;
  }
  mover_.finish(plan.move);
  // Folders that held no file (an empty Scans/) would stay behind and, in the
  // watch folder, come back as an album of nothing.
  if (!request.copy) remove_empty_tree(request.folder);

  // Everyone's links follow the album's new files.
  if (upgrade) {
    std::vector<HeartHolder> holders;
    std::map<int64_t, std::string> path_of;
    store_.read([&](StoreSession& s) {
      holders = s.library().heart_holders(album_id);
      for (const auto& t : s.library().album_tracks(album_id)) path_of[t.id] = t.path;
    });
    for (const auto& h : holders) {
      std::vector<std::string> wanted;
      if (h.album) {
        for (const auto& [id, p] : path_of) wanted.push_back(p);
      } else {
        for (int64_t id : h.track_ids) wanted.push_back(path_of[id]);
      }
      try {
        links_.unlink(h.username, plan.old_paths);
        links_.link(h.username, wanted);
      } catch (const std::exception& e) {
        spdlog::warn("links of user '{}' for album {} not updated: {}", h.username, album_id,
                     e.what());
      }
    }
  }

  ImportOutcome out;
  out.kind = decision.kind;
  out.album_id = album_id;
  out.artist = ident.artist;
  out.album = ident.album;
  out.year = ident.year;
  out.confidence = ident.confidence;
  out.reasons = decision.reasons;
  spdlog::info("{} '{}' by '{}' as album {} from {} ({} tracks, source {})", out.status(),
               ident.album, ident.artist, album_id, request.folder.string(),
               candidate.tracks.size(), request.source);

  // ---- tell everyone, after the commit
  for (const auto& a : activities) {
    const std::string& who = a.action == "review_approved" ? reviewer_name : request.username;
    activity_.publish(a, who);
  }
  nlohmann::json done = nlohmann::json::object();
  done["album_id"] = album_id;
  done["artist"] = ident.artist;
  done["title"] = ident.album;
  done["year"] = ident.year;
  done["source"] = request.source;
  done["status"] = out.status();
  publish_event(bus_, "import_complete", Channel::kLibrary, Audience::all(), std::move(done));
  nlohmann::json updated = nlohmann::json::object();
  updated["entity_type"] = "album";
  updated["entity_id"] = album_id;
  updated["action"] = upgrade ? "updated" : "created";
  publish_event(bus_, "library_updated", Channel::kLibrary, Audience::all(), std::move(updated));
  return out;
}

ImportOutcome ImportService::send_to_review(const ImportRequest& request,
                                            const AlbumCandidate& candidate,
                                            const Identification& ident, const Decision& decision,
                                            const Quality& quality) {
  // The folder moves into review/ through the journal and the review row
  // records the move id, as an import does: a crash leaves either both or
  // neither, never a folder in review/ without its item (which a re-run
  // import job could not find again).
  const fs::path review_root = paths_.import_dir / "review";
  fs::path target = request.folder;
  AlbumMove move;
  const bool moving = !is_within(review_root, request.folder) || request.folder == review_root;
  if (moving) {
    // Under commit_mutex_: no other review of this process picks the name
    // meanwhile (another process's clash makes begin() refuse).
    // display_path: a folder named in Latin-1 ("Caf\xe9") is "Café" in review/,
    // so its path_name, events and replies are valid UTF-8.
    target = unique_child(review_root,
                          sanitize_component(display_path(request.folder.filename()), "album"));
    move = folder_move(request.folder, target, request.copy, "review");
    // The mover makes (and on roll-back removes) the folders its steps need;
    // an album of no files still gets its folder, for the item to point at.
    if (move.steps.empty()) fs::create_directory(target);
    mover_.begin(move);
    mover_.apply(move);
  }

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
  try {
    item = store_.write_durable([&](StoreSession& s) {
      // The album this one duplicates was looked up before the folder moved,
      // outside this transaction; a delete (in this server or another
      // process) may have removed it since, and a duplicate_of naming a
      // missing album fails the foreign key (the crash loop's "FOREIGN KEY
      // constraint failed"). Checked here, in the transaction that inserts:
      // the item still goes to review with its reasons, pointing at nothing.
      if (item.duplicate_of && !s.library().find_album(*item.duplicate_of)) {
        spdlog::info("review of {}: album {} it duplicates was deleted meanwhile",
                     display_path(request.folder), *item.duplicate_of);
        item.duplicate_of.reset();
      }
      ReviewItem created = s.imports().create_review(item);
      if (moving) s.imports().mark_move_committed(move.id);
      return created;
    });
  } catch (...) {
    // Put the files back so nothing sits in review without a record.
    if (moving) {
      mover_.roll_back(move);
      remove_empty_tree(target);
    }
    throw;
  }
  if (moving) {
    mover_.finish(move);
    if (!request.copy) remove_empty_tree(request.folder);
  }
  spdlog::info("review item {} for {}: {}", item.id, item.path_name,
               decision.reasons.empty() ? "" : decision.reasons.front());

  nlohmann::json payload = nlohmann::json::object();
  payload["review_id"] = item.id;
  payload["path"] = item.path_name;
  payload["suggested_artist"] = item.suggested_artist;
  payload["suggested_album"] = item.suggested_album;
  payload["confidence"] = item.confidence;
  payload["reasons"] = reasons_json(item.reasons);
  payload["duplicate_of"] = item.duplicate_of ? nlohmann::json(*item.duplicate_of) : nullptr;
  publish_event(bus_, "import_review", Channel::kReview, Audience::admins_only(),
                std::move(payload));

  ImportOutcome out;
  out.kind = decision.kind;
  out.album_id = decision.album_id;
  out.review_id = item.id;
  out.artist = ident.artist;
  out.album = ident.album;
  out.year = ident.year;
  out.confidence = ident.confidence;
  out.reasons = decision.reasons;
  return out;
}

// 404 for an unknown item, 409 for one already decided.
ReviewItem ImportService::pending_review(int64_t review_id) {
  auto item = store_.read([&](StoreSession& s) { return s.imports().find_review(review_id); });
  if (!item) throw ApiError::not_found("Review item not found");
  if (item->status != "pending") {
    throw ApiError::conflict("Review item " + std::to_string(review_id) + " is already " +
                             item->status);
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
  std::optional<ReviewItem> item = std::move(pending);
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
  return run(request, candidate, std::move(ident), true, item, reviewer_id, reviewer_name);
}

void ImportService::reject(int64_t review_id, int64_t reviewer_id, const std::string& reviewer_name,
                           bool delete_files) {
  Activity row;
  {
    auto [pending, lease] = lease_pending_review(review_id);
    std::optional<ReviewItem> item = std::move(pending);
    std::lock_guard lock(commit_mutex_);
    const fs::path folder = item->path;
    std::error_code ec;
    bool present = is_within(paths_.import_dir / "review", folder) && fs::exists(folder, ec);
    std::string new_path = item->path;
    fs::path target;
    // To rejected/, or with delete_files to the trash (purged after
    // TRASH_DAYS): either way through the journal and committed with the
    // row, so a crash leaves the folder in review/ with the item pending or
    // moved with the item rejected, never gone with the item pending.
    std::optional<AlbumMove> move;
    if (present) {
      const std::string trash_name =
          compact_utc_stamp(unix_now_ms()) + "-review-" + std::to_string(review_id);
      target = delete_files ? unique_child(paths_.trash_dir, trash_name)
                            : unique_child(paths_.import_dir / "rejected", item->path_name);
      move = folder_move(folder, target, false, delete_files ? "discard" : "reject");
      if (move->steps.empty()) fs::create_directories(target);
      mover_.begin(*move);
      mover_.apply(*move);
      new_path = delete_files ? "" : target.string();
    }
    item->status = "rejected";
    item->reviewer_id = reviewer_id;
    item->path = new_path;
    try {
      store_.write_durable([&](StoreSession& s) {
        // The guard in the SQL: a decision by another process loses here.
        if (!s.imports().decide_review(*item)) {
          throw ApiError::conflict("Review item " + std::to_string(review_id) +
                                   " is already decided");
        }
        if (move) s.imports().mark_move_committed(move->id);
        nlohmann::json details = nlohmann::json::object();
        details["review_id"] = item->id;
        details["path"] = item->path_name;
        details["artist"] = item->suggested_artist;
        details["title"] = item->suggested_album;
        details["deleted_files"] = delete_files;
        row = activity_.record(s, reviewer_id, "review_rejected", "review", item->id, details);
      });
    } catch (...) {
      if (move) {
        mover_.roll_back(*move);
        remove_empty_tree(target);
      }
      throw;
    }
    if (move) {
      mover_.finish(*move);
      remove_empty_tree(folder);
    }
    spdlog::info("review item {} rejected by '{}' ({})", review_id, reviewer_name,
                 delete_files ? "files moved to the trash" : "moved to rejected/");
  }
  activity_.publish(row, reviewer_name);
}

}  // namespace barbossa
