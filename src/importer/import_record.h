// The record stage of an import: the rows of one album written in the
// caller's transaction (the one that marks the move committed): the artist
// (found or new), the album (new, or the upgraded one kept under its id),
// its tracks (an upgrade keeps track ids by disc and number, so track hearts
// survive it), one history row per track, the activity, and an approval's
// review decision.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/identify.h"
#include "core/quality.h"
#include "importer/duplicate_lookup.h"
#include "importer/import_plan.h"
#include "importer/import_request.h"
#include "services/activity_service.h"
#include "store/store.h"

namespace barbossa {

struct RecordInput {
  const ImportRequest& request;
  const AlbumCandidate& candidate;
  const Identification& ident;
  const ImportPlan& plan;
  Quality quality;
  // An upgrade: the copy it replaces and that copy's quality.
  const ExistingCopy* replaced = nullptr;
  Quality replaced_quality;
  // An approval: the pending item and who approved it.
  const ReviewItem* approving = nullptr;
  int64_t reviewer_id = 0;
};

struct RecordedImport {
  int64_t album_id = 0;
  std::vector<Activity> activities;  // to publish after the commit, in order
};

// Throws (rolling the caller's transaction back) when the upgraded album is
// gone, or with ApiError 409 when the approved item was decided meanwhile.
RecordedImport record_import(StoreSession& s, ActivityService& activity, const RecordInput& in);

}  // namespace barbossa
