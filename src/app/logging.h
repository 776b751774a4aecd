// Process-wide logging set-up (spdlog): `text` for people, `json` for log
// collectors. Called once from the composition root.
#pragma once

#include <string>

namespace barbossa {

// Throws std::invalid_argument for an unknown level or format.
void setup_logging(const std::string& level, const std::string& format);

}  // namespace barbossa
