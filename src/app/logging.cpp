#include "app/logging.h"

#include <memory>
#include <stdexcept>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "core/utf8.h"

namespace barbossa {
namespace {

std::string escaped_payload(const spdlog::details::log_msg& msg) {
  return escape_controls(std::string_view(msg.payload.data(), msg.payload.size()));
}

// %Q: the message with control characters and invalid bytes escaped.
class EscapedMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string text = escaped_payload(msg);
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<EscapedMessageFlag>();
  }
};

// %j: the message as a JSON string literal (quoted and escaped). Escaped the
// same way as text first, so both formats show a stray byte as \xHH.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string quoted = nlohmann::json(escaped_payload(msg))
                             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(quoted.data(), quoted.data() + quoted.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& format) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (format == "json") {
    formatter->add_flag<JsonMessageFlag>('j').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","thread":%t,"msg":%j})");
  } else if (format == "text") {
    formatter->add_flag<EscapedMessageFlag>('Q').set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %Q");
  } else {
    throw std::invalid_argument("LOG_FORMAT must be text or json, got '" + format + "'");
  }
  return formatter;
}

void setup_logging(const std::string& level, const std::string& format) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    throw std::invalid_argument("LOG_LEVEL must be trace, debug, info, warn, error or off, got '" +
                                level + "'");
  }
  auto logger = std::make_shared<spdlog::logger>("barbossa",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_formatter(make_log_formatter(format));
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace barbossa
