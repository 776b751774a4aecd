// Which source fetches a download URL (SPEC §7), and whether a URL is one a
// download may name at all. Pure: no I/O, no DNS; the sources that fetch
// check again what they actually connect to.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace barbossa {

// The parts of an http(s) URL that decide what may be fetched and by whom.
struct DownloadUrl {
  std::string scheme;  // "http" or "https", lower case
  std::string host;    // lower case, without port or brackets
};

// The longest URL a download accepts: longer ones are not links people paste.
inline constexpr size_t kMaxDownloadUrlLength = 2048;

// Parses `url` as a download may name it: scheme http or https, a host, no
// user:password@ (credentials would be stored and shown in lists), no
// spaces or control characters, at most kMaxDownloadUrlLength bytes.
// nullopt with `why` set to a sentence a person can act on otherwise.
std::optional<DownloadUrl> parse_download_url(std::string_view url, std::string& why);

// `auto` resolved by host: Qobuz hosts → "qobuz"; the streaming sites yt-dlp
// knows (YouTube, SoundCloud, Bandcamp) → "ytdlp"; anything else → "http".
std::string auto_download_source(std::string_view host);

// The sources a request may name, "auto" included.
bool is_download_source(std::string_view source);

}  // namespace barbossa
