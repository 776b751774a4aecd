// Progress lines of the programs a download runs as a child (SPEC §7, §11):
// pure parsers, no I/O. A line that is not progress gives std::nullopt; no
// input throws, so a program that changes its output degrades to "no
// progress", never to a failed download.
//
// yt-dlp with --newline prints one line per update:
//   [download]  42.3% of   3.52MiB at  1.21MiB/s ETA 00:02
//   [download]  42.3% of ~  3.52MiB at Unknown B/s ETA Unknown (frag 3/10)
//   [download] 100% of 3.52MiB in 00:03
//   [download] Destination: /staging/7/Song.webm
//   [ExtractAudio] Destination: /staging/7/Song.opus
//
// streamrip's `rip` has no machine-readable output. Version 1 draws tqdm bars
// (unit "B", unit_scale, unit_divisor 1024); when its output is not a TTY each
// refresh is a line. Our stand-in contract is that tqdm line:
//   Track 3: 42%|████▎     | 12.3M/29.1M [00:03<00:04, 4.10MB/s]
// i.e. "<percent>%|<bar>| <done>/<total> [<elapsed><<eta>, <speed>/s]", sizes
// in 1024-based k/M/G/T with an optional trailing "B" (or "iB"); a "?" total,
// a "?" eta or a "?B/s" speed means unknown. Only the percentage is required.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace barbossa {

struct DownloadProgress {
  std::optional<double> percent;      // 0-100
  std::optional<int64_t> bytes_done;  // derived from percent * total for yt-dlp
  std::optional<int64_t> bytes_total;
  bool total_is_estimate = false;  // yt-dlp's "~"
  std::optional<double> bytes_per_second;
  std::optional<int64_t> eta_seconds;
  std::optional<int> fragment;  // yt-dlp "(frag 3/10)"
  std::optional<int> fragment_count;
  bool finished = false;  // yt-dlp's "100% of X in 00:03"

  bool operator==(const DownloadProgress&) const = default;
};

// A parsed yt-dlp line: either progress or a file it is writing.
struct YtdlpLine {
  std::optional<DownloadProgress> progress;
  std::optional<std::string> destination;  // from "... Destination: <path>"
};

std::optional<YtdlpLine> parse_ytdlp_line(std::string_view line);
std::optional<DownloadProgress> parse_rip_line(std::string_view line);

// "3.52MiB" -> 3690987; "~1.5GiB" is not accepted (the caller strips "~").
// Units: B, KiB/MiB/GiB/TiB (1024), kB/KB/MB/GB/TB (1000). nullopt otherwise.
std::optional<int64_t> parse_byte_size(std::string_view text);
// "00:02", "1:02:03", "12" -> seconds; nullopt for "Unknown" or junk.
std::optional<int64_t> parse_clock(std::string_view text);

}  // namespace barbossa
