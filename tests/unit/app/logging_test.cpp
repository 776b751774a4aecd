#include "app/logging.h"

#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>
#include <nlohmann/json.hpp>

namespace barbossa {
namespace {

// One message through the formatter setup_logging installs, as written.
std::string logged(const std::string& format, const std::string& message) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
  sink->set_formatter(make_log_formatter(format));
  spdlog::logger logger("test", sink);
  logger.info("review item {} for {}", 7, message);
  return out.str();
}

TEST(Logging, TextLogEscapesControlCharactersInValues) {
  const std::string line =
      logged("text", "Evil\n2026-01-01T00:00:00.000Z INFO  admin logged in\r\x1b[2J");
  // One line: the forged one is visibly part of the value.
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_NE(line.find("for Evil\\n2026-01-01T00:00:00.000Z INFO  admin logged in\\r\\x1B[2J"),
            std::string::npos)
      << line;
}

TEST(Logging, TextLogShowsInvalidBytesAndKeepsUtf8) {
  const std::string line = logged("text", "Caf\xe9 / Café");
  EXPECT_NE(line.find("for Caf\\xE9 / Café\n"), std::string::npos) << line;
}

TEST(Logging, JsonLogIsOneValidObjectPerLine) {
  const std::string line = logged("json", "Caf\xe9\n{\"forged\":1}");
  ASSERT_EQ(line.find('\n'), line.size() - 1) << line;
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["msg"], "review item 7 for Caf\\xE9\\n{\"forged\":1}");
  EXPECT_EQ(j["level"], "info");
}

TEST(Logging, UnknownFormatIsRefused) {
  EXPECT_THROW(make_log_formatter("xml"), std::invalid_argument);
}

}  // namespace
}  // namespace barbossa
