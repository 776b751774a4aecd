// The tags of a scanned track in the form identification reads. Its own
// file so the identifier and the import pipeline both use it without the
// identifier depending on the service that calls it.
#pragma once

#include "core/identify.h"
#include "importer/scanner.h"

namespace barbossa {

TrackTags track_tags(const ScannedTrack& track);

}  // namespace barbossa
