// The composition root of `barbossa serve`: builds the store, bus, hub,
// services, background work and HTTP server from the configuration and wires
// them together. The offline commands open the store through
// open_migrated_store too; besides this file only `barbossa import`
// (app/cli_library.cpp) makes an event bus, an in-memory one. So swapping an
// embedded backend for a scale-out one happens here.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "app/config.h"
#include "store/store.h"

namespace barbossa {

// `barbossa serve`: runs until SIGINT/SIGTERM. Returns the exit code.
int run_server(const Config& config);

// Opens the store from DATABASE_URL, creating DATA_DIR, and migrates it.
std::unique_ptr<Store> open_migrated_store(const Config& config);

// The per-install token key: JWT_SECRET, or generated once into the data dir.
std::string load_or_create_jwt_secret(const Config& config);

}  // namespace barbossa
