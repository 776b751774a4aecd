// The downloads routes of SPEC §10 (/api/downloads...), registered by
// register_api_routes. Kept apart from api.cpp so each area stays readable.
#pragma once

#include "http/api.h"
#include "http/router.h"
#include "jobs/job_queue.h"
#include "services/download_service.h"

namespace barbossa {

// Adds the routes; `context` must outlive `router`. Without
// context.downloads they answer 503.
void register_download_routes(Router& router, ApiContext& context);

// What DownloadService calls to queue a download: a `download` job on the
// `downloads` queue, {download_id} as payload, one live job per download.
DownloadService::Enqueue download_enqueuer(JobQueue& queue);

}  // namespace barbossa
