// The events the library and the importer publish, each built in one place
// so every publisher sends the same shape (SPEC §7; the integration tests
// check these fields). A builder returns the draft; the caller publishes it
// after its transaction commits.
#pragma once

#include <cstdint>
#include <string>

#include "bus/event_bus.h"
#include "store/store.h"

namespace barbossa {

// {entity_type, entity_id, action}: "created", "updated" or "deleted".
EventDraft library_updated_event(const std::string& entity_type, int64_t entity_id,
                                 const std::string& action);

// An album landed in the library; status is ImportOutcome::status().
struct ImportCompleted {
  int64_t album_id = 0;
  std::string artist;
  std::string title;
  int year = 0;
  std::string source;
  std::string status;
};
EventDraft import_complete_event(const ImportCompleted& done);

// A folder went to review (admins only).
EventDraft import_review_event(const ReviewItem& item);

// A committed activity row; `username` is the actor's (empty: the system).
EventDraft activity_event(const Activity& activity, const std::string& username);

// A download was created or retried and waits for its worker; to its owner
// and admins (SPEC §11), like every download event.
EventDraft download_queued_event(const Download& download);
EventDraft download_cancelled_event(const Download& download);

// A complete integrity pass (admins only).
EventDraft integrity_report_event(int64_t checked, size_t missing, size_t mismatched,
                                  int64_t duration_ms);

}  // namespace barbossa
