#include "app/config.h"

#include <cctype>
#include <charconv>
#include <cstring>
#include <stdexcept>

#include <toml++/toml.h>

#include "auth/tokens.h"
#include "auth/trusted_proxies.h"

namespace barbossa {

const std::map<std::string, std::string>& Config::default_values() {
  // Empty means "unset" or, for the directories, "derived from DATA_DIR".
  static const std::map<std::string, std::string> kDefaults = {
      {"DATA_DIR", "./data"},
      {"HOST", "127.0.0.1"},
      {"PORT", "8080"},
      {"DATABASE_URL", ""},
      {"REDIS_URL", ""},
      {"LIBRARY_DIR", ""},
      {"USERS_DIR", ""},
      {"IMPORT_DIR", ""},
      {"DOWNLOADS_DIR", ""},
      {"TRASH_DIR", ""},
      {"TRASH_DAYS", "30"},
      {"JWT_SECRET", ""},
      {"TOKEN_HOURS", "24"},
      {"HEARTBEAT_SECONDS", "30"},
      {"WATCH_SETTLE_SECONDS", "10"},
      {"IMPORT_THRESHOLD", "0.95"},
      {"SOURCE_THRESHOLDS", ""},
      {"IMPORT_THREADS", "0"},
      {"TAG_READ_TIMEOUT_MS", "10000"},
      {"TAG_READER_ABANDONED_MAX", "8"},
      {"CRASH_AFTER_MOVE_STEPS", "0"},
      {"WORKERS", "4"},
      {"JOB_LEASE_SECONDS", "60"},
      {"JOB_BACKOFF_SECONDS", "60"},
      {"VERIFY_BUDGET_SECONDS", "3600"},
      {"BACKUP_KEEP", "7"},
      {"MUSICBRAINZ_URL", "https://musicbrainz.org"},
      {"PLEX_URL", ""},
      {"PLEX_TOKEN", ""},
      {"PLEX_SECTION", ""},
      {"PLEX_LIBRARY_PATH", ""},
      {"JELLYFIN_URL", ""},
      {"JELLYFIN_TOKEN", ""},
      {"JELLYFIN_LIBRARY_PATH", ""},
      {"NAVIDROME_URL", ""},
      {"NAVIDROME_USER", ""},
      {"NAVIDROME_PASSWORD", ""},
      {"EVENT_BUFFER", "10000"},
      {"MEDIA_SCAN_DELAY_SECONDS", "10"},
      {"WATCH_DIRS", ""},
      {"LOG_LEVEL", "info"},
      {"LOG_FORMAT", "text"},
      {"ADMIN_USER", ""},
      {"ADMIN_PASSWORD", ""},
      {"WEB_DIR", "./web"},
      {"IO_THREADS", "2"},
      {"FANOUT_THREADS", "1"},
      {"HANDLER_THREADS", "4"},
      {"MAX_BODY_BYTES", "1048576"},
      {"WS_DEFLATE", "false"},
      {"WS_SEND_QUEUE", "4096"},
      {"WS_SEND_QUEUE_BYTES", "8388608"},
      {"WS_STALL_SECONDS", "5"},
      {"WS_RESUME_PER_SECOND", "5"},
      {"LOGIN_MAX_FAILURES", "10"},
      {"LOGIN_MAX_FAILURES_PER_ADDRESS", "30"},
      {"LOGIN_WINDOW_SECONDS", "300"},
      {"LOGIN_SLOW_AFTER", "5"},
      {"LOGIN_MAX_DELAY_MS", "5000"},
      {"TRUSTED_PROXIES", ""},
      {"SHUTDOWN_GRACE_MS", "3000"},
      {"MAX_CONNECTIONS", "0"},
      {"MAX_CONNECTIONS_PER_ADDRESS", "2000"},
      {"MAX_QUEUED_REQUESTS", "512"},
      {"HEADER_TIMEOUT_SECONDS", "10"},
      {"ACCOUNT_SYNC_SECONDS", "2"},
  };
  return kDefaults;
}

bool Config::is_secret(const std::string& key) {
  return key.find("TOKEN") != std::string::npos || key.find("PASSWORD") != std::string::npos ||
         key.find("SECRET") != std::string::npos;
}

void Config::set(const std::string& raw_key, const std::string& value, const std::string& origin) {
  std::string key;
  for (char c : raw_key)
    key.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (!default_values().count(key))
    throw ConfigError("unknown configuration key '" + raw_key + "' in " + origin);
  values_[key] = value;
}

Config Config::defaults_only() {
  Config c;
  c.values_ = default_values();
  c.derive();
  return c;
}

Config Config::load(const std::string& config_file, const std::map<std::string, std::string>& flags,
                    char** env) {
  Config c;
  c.values_ = default_values();
  if (!config_file.empty()) {
    toml::table table;
    try {
      table = toml::parse_file(config_file);
    } catch (const toml::parse_error& e) {
      throw ConfigError("cannot read config file " + config_file + ": " +
                        std::string(e.description()));
    }
    for (auto& [k, node] : table) {
      std::string key(k.str());
      std::string value;
      if (auto s = node.value<std::string>()) {
        value = *s;
      } else if (auto i = node.value_exact<int64_t>()) {
        value = std::to_string(*i);
      } else if (auto d = node.value_exact<double>()) {
        value = std::to_string(*d);
      } else if (auto b = node.value_exact<bool>()) {
        value = *b ? "true" : "false";
      } else {
        throw ConfigError("config key '" + key + "' in " + config_file +
                          " must be a string, number or boolean");
      }
      c.set(key, value, config_file);
    }
  }
  if (env) {
    for (char** e = env; *e; ++e) {
      std::string_view entry(*e);
      if (entry.rfind("BARBOSSA_", 0) != 0) continue;
      size_t eq = entry.find('=');
      if (eq == std::string_view::npos) continue;
      std::string key(entry.substr(9, eq - 9));
      // Other tools share the prefix (test harness variables); only known keys count.
      if (!default_values().count(key)) continue;
      c.values_[key] = std::string(entry.substr(eq + 1));
    }
  }
  for (auto& [k, v] : flags) c.set(k, v, "command-line flags");
  c.derive();
  return c;
}

void Config::derive() {
  const std::string data = values_["DATA_DIR"].empty() ? "./data" : values_["DATA_DIR"];
  values_["DATA_DIR"] = data;
  auto dflt = [&](const char* key, const std::string& v) {
    if (values_[key].empty()) values_[key] = v;
  };
  dflt("DATABASE_URL", "sqlite://" + data + "/barbossa.db");
  dflt("LIBRARY_DIR", data + "/library");
  dflt("USERS_DIR", data + "/users");
  dflt("IMPORT_DIR", data + "/import");
  dflt("DOWNLOADS_DIR", data + "/downloads");
  dflt("TRASH_DIR", data + "/trash");
}

const std::string& Config::get(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) throw ConfigError("internal: unknown configuration key " + key);
  return it->second;
}

long long Config::get_int(const std::string& key, long long min, long long max) const {
  const std::string& s = get(key);
  long long v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    throw ConfigError(key + " must be an integer, got '" + s + "'");
  }
  if (v < min || v > max) {
    throw ConfigError(key + " must be between " + std::to_string(min) + " and " +
                      std::to_string(max) + ", got " + s);
  }
  return v;
}

double Config::get_double(const std::string& key, double min, double max) const {
  const std::string& s = get(key);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size())
    throw ConfigError(key + " must be a number, got '" + s + "'");
  if (v < min || v > max) throw ConfigError(key + " is out of range: " + s);
  return v;
}

bool Config::get_bool(const std::string& key) const {
  std::string s = get(key);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "0" || s == "no" || s == "off" || s.empty()) return false;
  throw ConfigError(key + " must be true or false, got '" + get(key) + "'");
}

void Config::validate() const {
  // Ranges are those the components apply when they read the key (see
  // server_app.cpp); keys whose component does not exist yet are only
  // checked for type.
  struct IntKey {
    const char* key;
    long long min, max;
  };
  static constexpr IntKey kInts[] = {
      {"PORT", 0, 65535},
      {"TOKEN_HOURS", 1, 24 * 365},
      {"HEARTBEAT_SECONDS", 1, 3600},
      {"LOGIN_MAX_FAILURES", 1, 1000000},
      {"LOGIN_MAX_FAILURES_PER_ADDRESS", 1, 1000000},
      {"LOGIN_WINDOW_SECONDS", 1, 86400},
      {"LOGIN_SLOW_AFTER", 0, 1000000},
      {"LOGIN_MAX_DELAY_MS", 0, 60000},
      {"EVENT_BUFFER", 1, 10000000},
      {"IO_THREADS", 1, 64},
      {"FANOUT_THREADS", 1, 64},
      {"HANDLER_THREADS", 1, 256},
      {"MAX_BODY_BYTES", 1024, 1LL << 30},
      {"WS_SEND_QUEUE", 16, 1000000},
      {"WS_SEND_QUEUE_BYTES", 65536, 1LL << 32},
      {"WS_STALL_SECONDS", 1, 3600},
      {"WS_RESUME_PER_SECOND", 1, 1000},
      {"SHUTDOWN_GRACE_MS", 0, 60000},
      {"ACCOUNT_SYNC_SECONDS", 1, 3600},
      {"TRASH_DAYS", 0, 1LL << 31},
      {"WATCH_SETTLE_SECONDS", 0, 1LL << 31},
      {"WORKERS", 0, 1LL << 31},
      {"JOB_LEASE_SECONDS", 0, 1LL << 31},
      {"MEDIA_SCAN_DELAY_SECONDS", 0, 1LL << 31},
      {"TAG_READER_ABANDONED_MAX", 1, 10000},
  };
  for (const auto& k : kInts) get_int(k.key, k.min, k.max);
  // HS256 with a short key can be brute-forced offline from any one token.
  if (!get("JWT_SECRET").empty() && get("JWT_SECRET").size() < kMinTokenSecretBytes) {
    throw ConfigError("JWT_SECRET must be at least " + std::to_string(kMinTokenSecretBytes) +
                      " bytes (it is " + std::to_string(get("JWT_SECRET").size()) +
                      "); use a long random value, or leave it unset to have one generated");
  }
  try {
    TrustedProxies::parse(get("TRUSTED_PROXIES"));
  } catch (const std::invalid_argument& e) {
    throw ConfigError(e.what());
  }
  // An empty root would make every request path relative to the working
  // directory: the page would be served from wherever the server started.
  if (get("WEB_DIR").find_first_not_of(" \t") == std::string::npos) {
    throw ConfigError(
        "WEB_DIR must not be empty: set it to the folder of the web page "
        "(the default is ./web)");
  }
  get_double("IMPORT_THRESHOLD", 0.0, 1.0);
  source_thresholds();
  get_int("IMPORT_THREADS", 0, 256);
  get_int("TAG_READ_TIMEOUT_MS", 10, 600000);
  get_int("CRASH_AFTER_MOVE_STEPS", 0, 1LL << 31);
  get_bool("WS_DEFLATE");
}

std::map<std::string, double> Config::source_thresholds() const {
  std::map<std::string, double> out;
  const std::string& text = get("SOURCE_THRESHOLDS");
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    start = comma + 1;
    auto trim = [](std::string v) {
      size_t b = v.find_first_not_of(" \t");
      size_t e = v.find_last_not_of(" \t");
      return b == std::string::npos ? std::string() : v.substr(b, e - b + 1);
    };
    item = trim(item);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string source = eq == std::string::npos ? "" : trim(item.substr(0, eq));
    std::string value = eq == std::string::npos ? "" : trim(item.substr(eq + 1));
    char* end = nullptr;
    double v = std::strtod(value.c_str(), &end);
    if (source.empty() || value.empty() || end != value.c_str() + value.size() || v < 0.0 ||
        v > 1.0) {
      throw ConfigError(
          "SOURCE_THRESHOLDS must be a comma-separated list of source=threshold "
          "with thresholds between 0 and 1, got '" +
          item + "'");
    }
    out[source] = v;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> Config::describe() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& [k, v] : values_) out.emplace_back(k, is_secret(k) && !v.empty() ? "***" : v);
  return out;
}

}  // namespace barbossa
