#include "files/journaled_change.h"

#include <random>
#include <stdexcept>

#include <fmt/format.h>

#include "core/time.h"

namespace barbossa {

namespace fs = std::filesystem;

std::error_code walk_files(const fs::path& root,
                           const std::function<void(const fs::path&)>& visit) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec) && !it->is_symlink(ec)) continue;
    visit(it->path());
  }
  return ec;
}

std::error_code add_folder_steps(std::vector<MoveStep>& steps, const fs::path& from,
                                 const fs::path& to, bool keep_source,
                                 const std::set<fs::path>& skip) {
  return walk_files(from, [&](const fs::path& file) {
    if (skip.count(file)) return;
    steps.push_back({file, to / file.lexically_relative(from), keep_source});
  });
}

std::string new_move_id(const char* kind) {
  std::random_device rd;
  return fmt::format("{}-{}-{:08x}{:08x}", kind, unix_now_ms(), rd(), rd());
}

AlbumMove folder_move(const fs::path& from, const fs::path& to, bool keep_source,
                      const char* kind) {
  AlbumMove move;
  move.id = new_move_id(kind);
  if (!keep_source) move.source_root = from;
  if (std::error_code ec = add_folder_steps(move.steps, from, to, keep_source)) {
    throw std::runtime_error("cannot list " + from.string() + ": " + ec.message());
  }
  return move;
}

void run_journaled_change(AlbumMover* mover, const AlbumMove* move,
                          const std::function<void()>& record, const ChangeTidy& tidy) {
  if (move != nullptr) {
    mover->begin(*move);
    mover->apply(*move);  // undoes its own steps when it fails
  }
  try {
    record();
  } catch (...) {
    if (move != nullptr) {
      mover->roll_back(*move);
      if (tidy.after_roll_back) tidy.after_roll_back();
    }
    throw;
  }
  if (move != nullptr) {
    mover->finish(*move);
    if (tidy.after_finish) tidy.after_finish();
  }
}

}  // namespace barbossa
