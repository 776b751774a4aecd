#include "core/download_source.h"

#include "core/normalize.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace barbossa {
namespace {

bool ends_with_domain(std::string_view host, std::string_view domain) {
  if (host == domain) return true;
  return host.size() > domain.size() && host.substr(host.size() - domain.size()) == domain &&
         host[host.size() - domain.size() - 1] == '.';
}

// Splits host[:port] (or [v6]:port) off the authority; false when malformed.
bool host_of(std::string_view authority, std::string& host, std::string& why) {
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos || close == 1) {
      why = "the URL's IPv6 host is malformed";
      return false;
    }
    host = ascii_lower(authority.substr(1, close - 1));
    return true;
  }
  host = ascii_lower(authority.substr(0, authority.find(':')));
  if (host.empty()) {
    why = "the URL has no host";
    return false;
  }
  return true;
}

}  // namespace

std::optional<DownloadUrl> parse_download_url(std::string_view url, std::string& why) {
  if (url.empty()) {
    why = "the URL is empty";
    return std::nullopt;
  }
  if (url.size() > kMaxDownloadUrlLength) {
    why = "the URL is longer than " + std::to_string(kMaxDownloadUrlLength) + " bytes";
    return std::nullopt;
  }
  for (unsigned char c : url) {
    if (c <= 0x20 || c == 0x7f) {
      why = "the URL contains spaces or control characters";
      return std::nullopt;
    }
  }
  size_t colon = url.find("://");
  DownloadUrl out;
  out.scheme = ascii_lower(url.substr(0, colon == std::string_view::npos ? 0 : colon));
  if (out.scheme != "http" && out.scheme != "https") {
    why = "only http and https URLs can be downloaded";
    return std::nullopt;
  }
  std::string_view rest = url.substr(colon + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) {
    why = "the URL must not contain a user name or password";
    return std::nullopt;
  }
  if (!host_of(authority, out.host, why)) return std::nullopt;
  return out;
}

std::string auto_download_source(std::string_view host_in) {
  std::string host = ascii_lower(host_in);
  if (ends_with_domain(host, "qobuz.com")) return "qobuz";
  static constexpr std::array<std::string_view, 5> kYtdlp = {
      "youtube.com", "youtu.be", "soundcloud.com", "bandcamp.com", "youtube-nocookie.com"};
  for (std::string_view domain : kYtdlp) {
    if (ends_with_domain(host, domain)) return "ytdlp";
  }
  return "http";
}

bool is_download_source(std::string_view source) {
  return source == "auto" || source == "http" || source == "ytdlp" || source == "qobuz";
}

}  // namespace barbossa
