// Journal format (one file per move, <journal_dir>/<id>.json):
//   {"version": 1, "id": "...", "source_root": <path>,
//    "steps": [{"from": <path>, "to": <path>, "keep_source": false}, ...],
//    "created_dirs": [<path>, ...]}   // target folders that did not exist at begin()
// A <path> is a JSON string when the name is valid UTF-8, else {"hex": "..."}
// (path_to_json in files/fs_util: a download may bring Latin-1 file names).
//
// The journal is written once, by begin(); there is no progress record.
// Recovery decides what each step did from the filesystem alone (target
// there? source there? same bytes? temp file?), so it is right whatever
// point a crash interrupted, and apply() costs no journal write per file.
//
// The one ambiguity is a quality upgrade, where a later step's target is the
// library file an earlier step sends to the trash ("vacated"): until the
// earlier step has run, the file at that target is the original, not ours.
// undo_step() settles that by looking at the earlier step's trash copy.
// Chains (a step moving another step's target on) are refused by begin().
#include "files/album_mover.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <optional>
#include <set>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "core/fault.h"
#include "files/fs_util.h"
#include "files/journal_file.h"
#include "media/sha256.h"

namespace barbossa {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kJournalVersion = 1;
constexpr std::string_view kJournalExt = ".json";

struct Journal {
  AlbumMove move;
  std::vector<fs::path> created_dirs;
};

// Ids become file names: keep them to a safe alphabet.
void check_id(const std::string& id) {
  bool ok = !id.empty() && id.size() <= 200 && id.front() != '.';
  for (char c : id) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || c == '.');
  }
  if (!ok) throw std::invalid_argument("invalid move id: '" + id + "'");
}

std::string to_text(const Journal& j) {
  json steps = json::array();
  for (const MoveStep& s : j.move.steps) {
    json step = json::object();
    step["from"] = path_to_json(s.from);
    step["to"] = path_to_json(s.to);
    step["keep_source"] = s.keep_source;
    steps.push_back(std::move(step));
  }
  json dirs = json::array();
  for (const fs::path& d : j.created_dirs) dirs.push_back(path_to_json(d));
  json doc = json::object();
  doc["version"] = kJournalVersion;
  doc["id"] = j.move.id;
  doc["source_root"] = path_to_json(j.move.source_root);
  doc["steps"] = std::move(steps);
  doc["created_dirs"] = std::move(dirs);
  return doc.dump(2) + "\n";
}

fs::path absolute_path(const json& j, const char* what) {
  fs::path p = path_from_json(j);
  if (!p.is_absolute()) throw std::runtime_error(std::string(what) + " is not absolute");
  return p;
}

// Throws on anything unexpected: a journal we do not fully understand must
// not drive file operations.
Journal parse_journal(const std::string& text, const std::string& expected_id) {
  json doc = json::parse(text);
  if (!doc.is_object()) throw std::runtime_error("journal is not an object");
  if (doc.value("version", 0) != kJournalVersion) throw std::runtime_error("unknown version");
  Journal j;
  j.move.id = doc.at("id").get<std::string>();
  if (j.move.id != expected_id) throw std::runtime_error("id does not match the file name");
  fs::path root = path_from_json(doc.at("source_root"));
  if (!root.empty() && !root.is_absolute()) throw std::runtime_error("source_root not absolute");
  j.move.source_root = root;
  const json& steps = doc.at("steps");
  if (!steps.is_array()) throw std::runtime_error("steps is not an array");
  for (const json& s : steps) {
    MoveStep step;
    step.from = absolute_path(s.at("from"), "from");
    step.to = absolute_path(s.at("to"), "to");
    step.keep_source = s.at("keep_source").get<bool>();
    j.move.steps.push_back(std::move(step));
  }
  if (doc.contains("created_dirs")) {
    for (const json& d : doc.at("created_dirs")) {
      j.created_dirs.push_back(absolute_path(d, "created dir"));
    }
  }
  return j;
}

bool lexists(const fs::path& p, struct stat* st = nullptr) {
  struct stat local {};
  if (::lstat(p.c_str(), st != nullptr ? st : &local) == 0) return true;
  if (errno == ENOENT) return false;
  throw fs::filesystem_error("cannot stat", p, std::error_code(errno, std::generic_category()));
}

void remove_durably(const fs::path& p) {
  if (::unlink(p.c_str()) != 0 && errno != ENOENT) {
    throw fs::filesystem_error("cannot remove", p, std::error_code(errno, std::generic_category()));
  }
  fsync_path(p.parent_path());
}

// Are `a` and `b` the same data? One inode (a crash inside link()+unlink()),
// or a copy with identical bytes (a crash between the verified rename into
// place and the removal of the source).
bool same_data(const fs::path& a, const fs::path& b) {
  struct stat sa {};
  struct stat sb {};
  if (!lexists(a, &sa) || !lexists(b, &sb)) return false;
  if (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino) return true;
  if (S_ISLNK(sa.st_mode) && S_ISLNK(sb.st_mode)) {
    return fs::read_symlink(a) == fs::read_symlink(b);
  }
  if (!S_ISREG(sa.st_mode) || !S_ISREG(sb.st_mode) || sa.st_size != sb.st_size) return false;
  return sha256_file(a) == sha256_file(b);
}

void remove_temp(const MoveStep& step) {
  fs::path tmp = temp_path_for(step.to);
  if (lexists(tmp)) {
    spdlog::info("album move: removing half-copied {}", tmp.string());
    remove_durably(tmp);
  }
}

// For each step, the earlier step whose source is this step's target (an
// upgrade: old library file to the trash, new file into its place).
std::vector<std::optional<size_t>> vacating_steps(const std::vector<MoveStep>& steps) {
  std::vector<std::optional<size_t>> out(steps.size());
  for (size_t j = 0; j < steps.size(); ++j) {
    for (size_t i = 0; i < j; ++i) {
      if (!steps[i].keep_source && steps[i].from == steps[j].to) out[j] = i;
    }
  }
  return out;
}

// Puts steps[j] back by looking at the filesystem, so it is right whatever
// point the step had reached (not begun, half-copied, renamed, done).
// Steps are undone last to first, so steps[vacated_by] is not undone yet.
void undo_step(const std::vector<MoveStep>& steps, size_t j, std::optional<size_t> vacated_by) {
  const MoveStep& step = steps[j];
  remove_temp(step);
  if (!lexists(step.to)) return;
  if (vacated_by && !lexists(steps[*vacated_by].to)) {
    return;  // the earlier step never moved the original away: not ours
  }
  if (!lexists(step.from)) {
    // Also for keep_source steps: if the source vanished meanwhile, the
    // target is the only copy left, and it goes back rather than away.
    move_file(step.to, step.from);
    return;
  }
  if (vacated_by && same_data(steps[*vacated_by].to, step.to)) {
    // Still the original (its trash copy was made, its removal was not), or
    // bytes that cannot be told apart from it: the earlier step's undo
    // settles it.
    return;
  }
  if (same_data(step.from, step.to)) {
    remove_durably(step.to);
    return;
  }
  // Different bytes at the target: not ours (someone else's file). Keep both.
  spdlog::warn("album move: {} differs from {}; left in place", step.to.string(),
               step.from.string());
}

// Completes one step of a committed move. `retargeted`: a later step put
// its own file at this step's source path, which is therefore not a leftover.
void finish_step(const MoveStep& step, bool retargeted) {
  remove_temp(step);
  if (step.keep_source || retargeted || !lexists(step.from)) return;
  if (!lexists(step.to)) {
    spdlog::error("album move: committed target {} is missing; source {} kept", step.to.string(),
                  step.from.string());
    return;
  }
  if (same_data(step.from, step.to)) {
    remove_durably(step.from);
  } else {
    spdlog::warn("album move: source {} differs from committed {}; source kept", step.from.string(),
                 step.to.string());
  }
}

void finish_move(const AlbumMove& move) {
  std::vector<std::optional<size_t>> vacated = vacating_steps(move.steps);
  std::vector<bool> retargeted(move.steps.size(), false);
  for (const std::optional<size_t>& i : vacated) {
    if (i) retargeted[*i] = true;
  }
  for (size_t i = 0; i < move.steps.size(); ++i) finish_step(move.steps[i], retargeted[i]);
  if (move.source_root.empty()) return;
  // The emptied album folder goes, with emptied sub-folders (Disc 1/, Scans/);
  // the folder above source_root (the inbox, a download folder) stays.
  fs::path stop = move.source_root.parent_path();
  std::set<fs::path> parents;
  for (const MoveStep& step : move.steps) {
    if (!step.keep_source && is_lexically_within(move.source_root, step.from)) {
      parents.insert(step.from.parent_path());
    }
  }
  for (const fs::path& dir : parents) prune_empty_dirs(dir, stop);
}

size_t depth(const fs::path& p) {
  return static_cast<size_t>(std::distance(p.begin(), p.end()));
}

// Undoes steps [0, count) (all of them, in recovery: the filesystem tells
// which ones ran).
void roll_back_move(const Journal& j, size_t count) {
  std::vector<std::optional<size_t>> vacated = vacating_steps(j.move.steps);
  // Reverse order: in an upgrade the new file leaves the library path before
  // the old one comes back from the trash.
  for (size_t i = std::min(count, j.move.steps.size()); i-- > 0;) {
    undo_step(j.move.steps, i, vacated[i]);
  }
  // Folders begin() saw missing were created by this move (or by a move
  // running alongside, which is why only empty ones go); deepest first.
  std::vector<fs::path> dirs = j.created_dirs;
  std::sort(dirs.begin(), dirs.end(),
            [](const fs::path& a, const fs::path& b) { return depth(a) > depth(b); });
  for (const fs::path& d : dirs) ::rmdir(d.c_str());
}

}  // namespace

FolderLease::FolderLease(FolderLease&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), lock_file_(std::move(other.lock_file_)) {}

FolderLease& FolderLease::operator=(FolderLease&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::exchange(other.fd_, -1);
    lock_file_ = std::move(other.lock_file_);
  }
  return *this;
}

FolderLease::~FolderLease() {
  release();
}

void FolderLease::release() noexcept {
  if (fd_ < 0) return;
  // Unlinked while still locked, so lock files do not pile up; a waiter that
  // opened the old file notices the unlink and starts over (lease_folder).
  ::unlink(lock_file_.c_str());
  ::close(fd_);
  fd_ = -1;
}

FolderLease AlbumMover::lease_folder(const fs::path& folder, bool wait) {
  // Beside the journals (recover() removes only dead holders' *.lease);
  // each is unlinked when released, so the folder holds only what is in
  // flight. Keyed by the folder's canonical path: the server and a
  // `barbossa import` that spell LIBRARY_DIR differently (a symlink, a bind
  // mount's other path, a relative path) must still exclude each other.
  std::error_code ec;
  fs::path key = fs::weakly_canonical(fs::absolute(folder, ec), ec);
  if (ec) key = folder.lexically_normal();  // unreadable parent: as written, still one per spelling
  const std::string& name = key.native();
  FolderLease lease;
  lease.lock_file_ = journal_dir_ / (sha256_hex(name.data(), name.size()) + ".lease");
  for (;;) {
    int fd = ::open(lease.lock_file_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      throw fs::filesystem_error("cannot open lease", lease.lock_file_,
                                 std::error_code(errno, std::generic_category()));
    }
    int rc = 0;
    do {
      rc = ::flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) return FolderLease{};
      throw fs::filesystem_error("cannot lock lease", lease.lock_file_,
                                 std::error_code(err, std::generic_category()));
    }
    // Locked; but if the previous holder unlinked the file meanwhile, this
    // lock is on a file nobody else will look at: try again on the new one.
    struct stat held {};
    struct stat named {};
    if (::fstat(fd, &held) == 0 && ::stat(lease.lock_file_.c_str(), &named) == 0 &&
        held.st_dev == named.st_dev && held.st_ino == named.st_ino) {
      lease.fd_ = fd;
      return lease;
    }
    ::close(fd);
  }
}

AlbumMover::AlbumMover(fs::path journal_dir) : journal_dir_(std::move(journal_dir)) {
  fs::create_directories(journal_dir_);
}

// Out of line for the header's sake; the journal locks close themselves.
AlbumMover::~AlbumMover() = default;

void AlbumMover::write_journal(const std::string& id, const std::string& text) {
  LockedFile owned = write_locked_file(journal_path(id), text);
  std::lock_guard lock(locks_mutex_);
  journal_locks_[id] = std::move(owned);
}

void AlbumMover::unlock_journal(const std::string& id) {
  std::lock_guard lock(locks_mutex_);
  journal_locks_.erase(id);  // closing the file drops the flock
}

fs::path AlbumMover::journal_path(const std::string& id) const {
  check_id(id);
  return journal_dir_ / (id + std::string(kJournalExt));
}

void AlbumMover::begin(const AlbumMove& move) {
  fs::path path = journal_path(move.id);
  if (lexists(path)) throw std::invalid_argument("album move '" + move.id + "' already exists");
  if (!move.source_root.empty() && !move.source_root.is_absolute()) {
    throw std::invalid_argument("album move: source_root must be absolute");
  }

  // First the plan itself (caller errors, whatever the disk holds)...
  std::set<fs::path> targets;
  std::set<fs::path> sources;
  for (const MoveStep& s : move.steps) {
    if (!s.from.is_absolute() || !s.to.is_absolute()) {
      throw std::invalid_argument("album move: step paths must be absolute");
    }
    if (!targets.insert(s.to).second) {
      throw std::invalid_argument("album move: two steps target " + s.to.string());
    }
    // Recovery reads each step from the filesystem; a file moved on by a
    // second step, or one source used twice, would make that ambiguous.
    if (targets.count(s.from) != 0 || !sources.insert(s.from).second) {
      throw std::invalid_argument("album move: " + s.from.string() + " is used by two steps");
    }
  }

  // ...then the disk: sources present, targets free (or freed by an earlier
  // step: the library file an upgrade sends to the trash).
  Journal j;
  j.move = move;
  std::set<fs::path> vacated;
  std::set<fs::path> created;
  for (const MoveStep& s : move.steps) {
    if (!lexists(s.from)) {
      throw fs::filesystem_error("album move: source missing", s.from,
                                 std::make_error_code(std::errc::no_such_file_or_directory));
    }
    if (lexists(s.to) && !vacated.count(s.to)) {
      throw fs::filesystem_error("album move: target exists", s.to,
                                 std::make_error_code(std::errc::file_exists));
    }
    if (!s.keep_source) vacated.insert(s.from);
    for (fs::path d = s.to.parent_path(); d != d.parent_path() && !lexists(d);
         d = d.parent_path()) {
      created.insert(d);
    }
  }
  j.created_dirs.assign(created.begin(), created.end());
  write_journal(move.id, to_text(j));
}

void AlbumMover::apply(const AlbumMove& move) {
  fs::path path = journal_path(move.id);
  Journal j = parse_journal(read_file(path), move.id);
  bool same = j.move.steps.size() == move.steps.size();
  for (size_t i = 0; same && i < move.steps.size(); ++i) {
    same = j.move.steps[i].from == move.steps[i].from && j.move.steps[i].to == move.steps[i].to &&
           j.move.steps[i].keep_source == move.steps[i].keep_source;
  }
  if (!same) throw std::logic_error("album move '" + move.id + "' differs from its journal");

  size_t i = 0;
  std::set<fs::path> touched_dirs;
  bool step_touched = false;  // has steps[i] itself possibly changed anything?
  try {
    for (; i < j.move.steps.size(); ++i) {
      const MoveStep& step = j.move.steps[i];
      step_touched = false;
      // Checked here so that a target someone else created since begin() is
      // refused before the step can touch (and later "undo") it.
      if (lexists(step.to)) {
        throw fs::filesystem_error("album move: target exists", step.from, step.to,
                                   std::make_error_code(std::errc::file_exists));
      }
      step_touched = true;
      if (step.keep_source) {
        copy_file_durable(step.from, step.to);
      } else {
        move_file(step.from, step.to, /*sync_dirs=*/false);
        touched_dirs.insert(step.from.parent_path());
      }
      touched_dirs.insert(step.to.parent_path());
      if (crash_after_steps_ > 0 && i + 1 == crash_after_steps_) ::raise(SIGKILL);
      // Test build: keeps a move in flight long enough for a test to race it.
      if (fault::armed("album_move_slow"))
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    // Every rename durable before the caller's transaction commits: each
    // folder once, not once per file.
    for (const fs::path& dir : touched_dirs) fsync_path(dir);
  } catch (const std::exception& e) {
    spdlog::warn("album move '{}' failed at step {}: {}; rolling back", move.id, i + 1, e.what());
    try {
      roll_back_move(j, step_touched ? i + 1 : i);
      remove_durably(path);
    } catch (const std::exception& undo_error) {
      // The journal stays: recover() retries (the server's periodic one, or
      // the next start), as it does for a crash.
      spdlog::error("album move '{}': rollback incomplete, left for recovery: {}", move.id,
                    undo_error.what());
    }
    // Either way the move is over: unlocked, a journal left behind is an
    // orphan that recover() may take.
    unlock_journal(move.id);
    throw;
  }
}

void AlbumMover::finish(const AlbumMove& move) {
  fs::path path = journal_path(move.id);
  try {
    finish_move(move);
    // No fsync: a journal that reappears after a power loss is finished again
    // by recover() (the database says committed), which is idempotent; and if
    // the commit itself was lost, rolling back matches the database.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      throw fs::filesystem_error("cannot remove", path,
                                 std::error_code(errno, std::generic_category()));
    }
  } catch (...) {
    // Given up: the journal left behind is recover()'s to finish.
    unlock_journal(move.id);
    throw;
  }
  unlock_journal(move.id);
}

void AlbumMover::roll_back(const AlbumMove& move) {
  fs::path path = journal_path(move.id);
  Journal j;
  try {
    j = parse_journal(read_file(path), move.id);
  } catch (const std::exception& e) {
    // Without the journal the steps are still known; only the list of
    // created folders is lost, so empty target folders may remain.
    spdlog::warn("album move '{}': journal unreadable ({}); rolling back from the steps", move.id,
                 e.what());
    j.move = move;
  }
  try {
    roll_back_move(j, j.move.steps.size());
    remove_durably(path);
  } catch (...) {
    unlock_journal(move.id);  // given up: recover() retries the journal left behind
    throw;
  }
  unlock_journal(move.id);
}

std::vector<fs::path> journaled_paths(const fs::path& journal_dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(journal_dir, ec)) return out;
  for (const fs::directory_entry& e : fs::directory_iterator(journal_dir)) {
    const fs::path& file = e.path();
    // A temp file is a journal being written: no step of its move has run.
    if (file.extension() != kJournalExt || is_temp_name(file.filename().string())) continue;
    Journal j;
    try {
      j = parse_journal(read_file(file), file.stem().string());
    } catch (const std::exception&) {
      if (!lexists(file)) continue;  // finished (or rolled back) meanwhile
      throw;
    }
    for (const MoveStep& step : j.move.steps) {
      out.push_back(step.from);
      out.push_back(step.to);
    }
    if (!j.move.source_root.empty()) out.push_back(j.move.source_root);
  }
  return out;
}

size_t AlbumMover::recover(const std::function<bool(const std::string& id)>& is_committed) {
  std::error_code ec;
  if (!fs::is_directory(journal_dir_, ec)) return 0;
  std::vector<fs::path> files;
  for (const fs::directory_entry& e : fs::directory_iterator(journal_dir_)) {
    if (e.is_regular_file(ec)) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());

  size_t resolved = 0;
  for (const fs::path& file : files) {
    const std::string name = file.filename().string();
    const bool temp = is_temp_name(name);
    if (file.extension() == ".lease") {
      // A folder lease left by a process that died holding it (a live
      // holder keeps its flock, and its file stays). lock_orphan() checks
      // that the name still is the file locked: between our open and lock
      // its holder may have released it and another taken a new file under
      // that name, which unlinking would hand to a third taker as well.
      if (LockedFile dead = lock_orphan(file); dead.held()) ::unlink(file.c_str());
      continue;
    }
    if (!temp && file.extension() != kJournalExt) continue;  // *.bad, *.lease and strangers

    // Ownership: a live move holds an flock on its journal from the first
    // byte of the temp file to finish()/roll_back() (write_locked_file); the
    // kernel drops it when the owner dies. What we cannot lock is in flight
    // in a live process (this one, a server beside `barbossa import`), or
    // finished meanwhile, and is not ours to touch.
    LockedFile orphan = lock_orphan(file);
    if (!orphan.held()) {
      spdlog::debug("album move journal {} belongs to a running process; left alone", name);
      continue;
    }
    if (temp) {
      // A journal whose writer died before its rename: no step ran.
      spdlog::info("album move journal {}: removing a temp file its dead writer left", name);
      ::unlink(file.c_str());
      continue;
    }

    Journal j;
    try {
      j = parse_journal(read_file(file), file.stem().string());
    } catch (const std::exception& e) {
      fs::path aside = unique_child(journal_dir_, name + ".bad");
      spdlog::error("album move journal {} is unreadable ({}); moved aside as {}", file.string(),
                    e.what(), aside.filename().string());
      fs::rename(file, aside, ec);
      if (ec) spdlog::error("cannot move {} aside: {}", file.string(), ec.message());
      continue;
    }

    try {
      if (is_committed(j.move.id)) {
        finish_move(j.move);
        spdlog::info("album move '{}' was committed; finished", j.move.id);
      } else {
        roll_back_move(j, j.move.steps.size());
        spdlog::info("album move '{}' was not committed; rolled back", j.move.id);
      }
      remove_durably(file);
      ++resolved;
    } catch (const std::exception& e) {
      // Left in place: the next start retries; other journals still run.
      spdlog::error("album move '{}' could not be recovered: {}", j.move.id, e.what());
    }
  }
  return resolved;
}

}  // namespace barbossa
