// Configuration (SPEC §2): defaults < TOML file < BARBOSSA_* environment <
// command-line flags. Every value is kept as text and parsed on access, with
// a clear error naming the key when it does not parse.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace barbossa {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Config {
 public:
  // `flags` are KEY=VALUE overrides from the command line. `environ` is the
  // process environment (tests pass their own). Throws ConfigError.
  static Config load(const std::string& config_file,
                     const std::map<std::string, std::string>& flags, char** env);
  static Config defaults_only();

  const std::string& get(const std::string& key) const;
  long long get_int(const std::string& key, long long min, long long max) const;
  double get_double(const std::string& key, double min, double max) const;
  bool get_bool(const std::string& key) const;
  // SOURCE_THRESHOLDS "qobuz=0.8, http=0.9" -> {qobuz: 0.8, http: 0.9}.
  std::map<std::string, double> source_thresholds() const;

  // Parses every typed key once, so a bad value stops a command before it
  // touches anything (creates directories, a database or the first admin).
  // Throws ConfigError naming the key.
  void validate() const;

  // Keys and values with secrets masked, for the start-up log.
  std::vector<std::pair<std::string, std::string>> describe() const;
  static const std::map<std::string, std::string>& default_values();
  static bool is_secret(const std::string& key);

 private:
  void set(const std::string& key, const std::string& value, const std::string& origin);
  void derive();
  std::map<std::string, std::string> values_;
};

}  // namespace barbossa
