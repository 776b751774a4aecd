#include "core/download_progress.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <vector>

namespace barbossa {
namespace {

// Longer lines are not progress; the cap also bounds the work per line.
constexpr size_t kMaxLine = 4096;
// Sizes and rates past this are junk, and would overflow int64 when rounded.
constexpr double kMaxBytes = 1e18;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    size_t start = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    if (i > start) words.push_back(s.substr(start, i - start));
  }
  return words;
}

// A leading decimal number; `rest` gets what follows it.
std::optional<double> leading_number(std::string_view s, std::string_view* rest) {
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, std::chars_format::fixed);
  if (ec != std::errc() || !std::isfinite(value) || value < 0) return std::nullopt;
  *rest = s.substr(static_cast<size_t>(end - s.data()));
  return value;
}

std::optional<double> unit_multiplier(std::string_view unit) {
  if (unit == "B" || unit.empty()) return 1.0;
  static constexpr std::string_view kPrefixes = "KMGT";
  char p = unit[0] == 'k' ? 'K' : unit[0];
  size_t power = kPrefixes.find(p);
  if (power == std::string_view::npos) return std::nullopt;
  std::string_view tail = unit.substr(1);
  double base = 0;
  if (tail == "iB" || tail == "i") {
    base = 1024;
  } else if (tail == "B" || tail.empty()) {
    base = 1000;
  } else {
    return std::nullopt;
  }
  return std::pow(base, static_cast<double>(power + 1));
}

std::optional<int64_t> to_bytes(double value) {
  if (!std::isfinite(value) || value < 0 || value > kMaxBytes) return std::nullopt;
  return static_cast<int64_t>(std::llround(value));
}

// yt-dlp's "1.21MiB/s".
std::optional<double> parse_rate(std::string_view text) {
  if (!text.ends_with("/s")) return std::nullopt;
  auto bytes = parse_byte_size(text.substr(0, text.size() - 2));
  if (!bytes) return std::nullopt;
  return static_cast<double>(*bytes);
}

// tqdm with unit "B" and unit_divisor 1024: "12.3M", "12.3MB", "4.10MB/s", "512B".
std::optional<int64_t> tqdm_bytes(std::string_view s) {
  if (s.ends_with("/s")) s.remove_suffix(2);
  if (s.ends_with('B')) s.remove_suffix(1);
  if (s.ends_with('i')) s.remove_suffix(1);
  std::string_view unit;
  auto value = leading_number(s, &unit);
  if (!value) return std::nullopt;
  if (unit.empty()) return to_bytes(*value);
  if (unit.size() != 1) return std::nullopt;
  return parse_byte_size(std::string(s) + "iB");
}

std::optional<double> parse_percent(std::string_view word) {
  if (word.empty() || word.back() != '%') return std::nullopt;
  word.remove_suffix(1);
  std::string_view rest;
  auto value = leading_number(word, &rest);
  if (!value || !rest.empty() || *value > 100) return std::nullopt;
  return value;
}

// "3/10)" -> (3, 10).
void parse_fragments(std::string_view word, DownloadProgress* p) {
  if (!word.empty() && word.back() == ')') word.remove_suffix(1);
  size_t slash = word.find('/');
  if (slash == std::string_view::npos) return;
  int a = 0, b = 0;
  auto r1 = std::from_chars(word.data(), word.data() + slash, a);
  auto r2 = std::from_chars(word.data() + slash + 1, word.data() + word.size(), b);
  if (r1.ec != std::errc() || r2.ec != std::errc() || a < 0 || b <= 0) return;
  p->fragment = a;
  p->fragment_count = b;
}

// The words after "[download]" on a progress line, starting with "42.3%".
std::optional<DownloadProgress> ytdlp_progress(const std::vector<std::string_view>& w) {
  DownloadProgress p;
  p.percent = parse_percent(w[0]);
  if (!p.percent) return std::nullopt;
  for (size_t i = 1; i + 1 < w.size(); ++i) {
    std::string_view key = w[i], value = w[i + 1];
    if (key == "of") {
      if (value.starts_with('~')) {
        p.total_is_estimate = true;
        value.remove_prefix(1);
        if (value.empty() && i + 2 < w.size()) value = w[++i + 1];
      }
      p.bytes_total = parse_byte_size(value);
    } else if (key == "at") {
      p.bytes_per_second = parse_rate(value);
    } else if (key == "ETA") {
      p.eta_seconds = parse_clock(value);
    } else if (key == "in") {
      p.finished = parse_clock(value).has_value();
      if (p.finished) p.eta_seconds = 0;
    } else if (key == "(frag") {
      parse_fragments(value, &p);
    }
  }
  if (p.bytes_total) {
    p.bytes_done = to_bytes(static_cast<double>(*p.bytes_total) * *p.percent / 100.0);
  }
  return p;
}

}  // namespace

std::optional<int64_t> parse_byte_size(std::string_view text) {
  std::string_view unit;
  auto value = leading_number(text, &unit);
  if (!value) return std::nullopt;
  auto mult = unit_multiplier(unit);
  if (!mult) return std::nullopt;
  return to_bytes(*value * *mult);
}

std::optional<int64_t> parse_clock(std::string_view text) {
  if (text.empty() || text.size() > 16) return std::nullopt;
  int64_t total = 0;
  size_t parts = 0;
  while (!text.empty()) {
    size_t colon = text.find(':');
    std::string_view part = text.substr(0, colon);
    int64_t n = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), n);
    if (ec != std::errc() || end != part.data() + part.size() || n < 0) return std::nullopt;
    total = total * 60 + n;
    if (++parts > 3) return std::nullopt;
    if (colon == std::string_view::npos) break;
    text.remove_prefix(colon + 1);
    if (text.empty()) return std::nullopt;
  }
  return total;
}

std::optional<YtdlpLine> parse_ytdlp_line(std::string_view line) {
  if (line.size() > kMaxLine) return std::nullopt;
  line = trim(line);
  if (!line.starts_with('[')) return std::nullopt;
  size_t close = line.find(']');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view tag = line.substr(1, close - 1);
  std::string_view rest = trim(line.substr(close + 1));
  static constexpr std::string_view kDestination = "Destination: ";
  if (rest.starts_with(kDestination)) {
    std::string_view path = trim(rest.substr(kDestination.size()));
    if (path.empty()) return std::nullopt;
    return YtdlpLine{std::nullopt, std::string(path)};
  }
  if (tag != "download") return std::nullopt;
  auto words = split_words(rest);
  if (words.empty()) return std::nullopt;
  auto progress = ytdlp_progress(words);
  if (!progress) return std::nullopt;
  return YtdlpLine{progress, std::nullopt};
}

std::optional<DownloadProgress> parse_rip_line(std::string_view line) {
  if (line.size() > kMaxLine) return std::nullopt;
  // tqdm redraws with "\r"; the last segment is the current state.
  line = trim(line);
  size_t cr = line.find_last_of('\r');
  if (cr != std::string_view::npos) line = line.substr(cr + 1);
  size_t bar = line.find("%|");
  if (bar == std::string_view::npos) return std::nullopt;
  size_t start = bar;
  while (start > 0 &&
         (std::isdigit(static_cast<unsigned char>(line[start - 1])) || line[start - 1] == '.')) {
    --start;
  }
  DownloadProgress p;
  p.percent = parse_percent(line.substr(start, bar - start + 1));
  if (!p.percent) return std::nullopt;
  size_t bar_end = line.find('|', bar + 2);
  if (bar_end == std::string_view::npos) return p;
  // "12.3M/29.1M [00:03<00:04, 4.10MB/s]"
  auto words = split_words(line.substr(bar_end + 1));
  if (!words.empty()) {
    size_t slash = words[0].find('/');
    if (slash != std::string_view::npos) {
      p.bytes_done = tqdm_bytes(words[0].substr(0, slash));
      p.bytes_total = tqdm_bytes(words[0].substr(slash + 1));
    }
  }
  if (words.size() >= 3 && words[1].starts_with('[')) {
    std::string_view times = words[1].substr(1);
    if (times.ends_with(',')) times.remove_suffix(1);
    size_t lt = times.find('<');
    if (lt != std::string_view::npos) p.eta_seconds = parse_clock(times.substr(lt + 1));
    std::string_view speed = words[2];
    if (speed.ends_with(']')) speed.remove_suffix(1);
    if (auto rate = tqdm_bytes(speed); rate && speed.ends_with("/s")) {
      p.bytes_per_second = static_cast<double>(*rate);
    }
  }
  return p;
}

}  // namespace barbossa
