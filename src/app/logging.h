// Process-wide logging set-up (spdlog): `text` for people, `json` for log
// collectors. Called once from the composition root.
//
// Logged values come from outside (file and folder names, tags, request
// fields): in both formats the message's control characters and invalid
// UTF-8 bytes are escaped ("\n" -> "\\n", others "\\xHH", core/utf8
// escape_controls), so no value can start a forged line or break the
// encoding of the log.
#pragma once

#include <memory>
#include <string>

#include <spdlog/formatter.h>

namespace barbossa {

// Throws std::invalid_argument for an unknown level or format.
void setup_logging(const std::string& level, const std::string& format);

// The formatter setup_logging installs for `text` or `json` (tests use it on
// their own sink). Throws std::invalid_argument for another format.
std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& format);

}  // namespace barbossa
