// The file side of the library, built once from the configuration for both
// `barbossa serve` and the offline `barbossa import`: per-user links, the
// journaled album mover, the identifier and the import service.
#pragma once

#include <memory>

#include "app/config.h"
#include "bus/event_bus.h"
#include "files/album_mover.h"
#include "files/user_links.h"
#include "importer/identifier.h"
#include "importer/import_service.h"
#include "media/parallel_pool.h"
#include "services/activity_service.h"
#include "services/library_service.h"
#include "store/store.h"

namespace barbossa {

struct LibraryStack {
  std::unique_ptr<ParallelPool> pool;  // threads that read and hash files
  std::unique_ptr<UserLinks> links;
  std::unique_ptr<AlbumMover> mover;
  std::unique_ptr<Identifier> identifier;
  std::unique_ptr<ImportService> importer;
  LibraryFiles files;  // for LibraryService
};

// Creates the library, users, import and trash folders, then finishes or
// rolls back album moves a crash interrupted.
LibraryStack make_library_stack(const Config& config, Store& store, EventBus& bus,
                                ActivityService& activity);

}  // namespace barbossa
