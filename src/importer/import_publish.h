// The publish stage of an import, after its commit: the links of everyone
// who hearted an upgraded album follow its new files, and the activity rows,
// import_complete and library_updated go out (services/events.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bus/event_bus.h"
#include "files/user_links.h"
#include "importer/import_record.h"
#include "importer/import_request.h"
#include "services/activity_service.h"
#include "store/store.h"

namespace barbossa {

// Failures are logged per user, never thrown: repair-user-links fixes them.
void repoint_links_after_upgrade(Store& store, UserLinks& links, int64_t album_id,
                                 const std::vector<std::string>& old_paths);

// `reviewer_name` is the actor of a review_approved row; the request's
// username that of the others.
void publish_import(EventBus& bus, ActivityService& activity, const RecordedImport& recorded,
                    const ImportOutcome& outcome, const ImportRequest& request,
                    const std::string& reviewer_name);

}  // namespace barbossa
