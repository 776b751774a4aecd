// What goes into an import and what comes out of it: the request, the
// paths and options it runs with, a reviewer's corrections and the outcome.
// Shared by the service and its stages (importer/import_plan.h, ...).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/import_decision.h"
#include "importer/scanner.h"

namespace barbossa {

struct ImportPaths {
  std::filesystem::path library_dir;
  std::filesystem::path import_dir;  // holds review/ and rejected/
  std::filesystem::path trash_dir;
};

struct ImportOptions {
  double threshold = 0.95;
  // Per-source overrides of the threshold (SOURCE_THRESHOLDS "qobuz=0.8").
  std::map<std::string, double> source_thresholds;
  ScanOptions scan;
};

struct ImportRequest {
  std::filesystem::path folder;
  bool copy = false;  // leave the source in place (CLI --copy, WATCH_DIRS)
  std::string source = "manual";
  std::optional<int64_t> download_id;
  std::optional<int64_t> user_id;  // who brought it in: actor of the activity, sees its review
  std::string username;            // for activity events; empty: system
};

// Corrections a reviewer may give when approving.
struct ReviewOverrides {
  std::optional<std::string> artist;
  std::optional<std::string> album;
  std::optional<int> year;
};

struct ImportOutcome {
  DecisionKind kind = DecisionKind::kImport;
  int64_t album_id = 0;   // imported, upgraded, or the album it duplicates
  int64_t review_id = 0;  // review and duplicate
  std::string artist;
  std::string album;
  int year = 0;
  double confidence = 0.0;
  std::vector<std::string> reasons;

  // "imported", "upgraded", "review", "duplicate"
  std::string status() const;
};

}  // namespace barbossa
