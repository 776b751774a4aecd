// Download URL validation and `auto` source resolution (SPEC §7).

#include "core/download_source.h"

#include <gtest/gtest.h>

#include <string>

namespace barbossa {
namespace {

std::string why_not(const std::string& url) {
  std::string why;
  EXPECT_FALSE(parse_download_url(url, why)) << url;
  return why;
}

TEST(DownloadUrl, AcceptsHttpAndHttpsWithAHost) {
  std::string why;
  auto u = parse_download_url("HTTPS://Example.ORG:8443/a/b.zip?x=1", why);
  ASSERT_TRUE(u) << why;
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "example.org");
  u = parse_download_url("http://[::1]:9000/x", why);
  ASSERT_TRUE(u) << why;
  EXPECT_EQ(u->host, "::1");
  u = parse_download_url("http://127.0.0.1/a@b", why);  // '@' in the path is fine
  ASSERT_TRUE(u) << why;
  EXPECT_EQ(u->host, "127.0.0.1");
}

TEST(DownloadUrl, RefusesOtherSchemesCredentialsMissingHostsAndLongUrls) {
  EXPECT_NE(why_not("ftp://example.org/a.zip").find("http and https"), std::string::npos);
  EXPECT_NE(why_not("file:///etc/passwd").find("http and https"), std::string::npos);
  EXPECT_NE(why_not("example.org/a.zip").find("http and https"), std::string::npos);
  EXPECT_NE(why_not("https://user:pw@example.org/a").find("password"), std::string::npos);
  EXPECT_NE(why_not("https://user@example.org/a").find("user name"), std::string::npos);
  EXPECT_NE(why_not("https:///a.zip").find("no host"), std::string::npos);
  EXPECT_NE(why_not("http://:80/a").find("no host"), std::string::npos);
  EXPECT_NE(why_not("http://[/a").find("IPv6"), std::string::npos);
  EXPECT_NE(why_not("").find("empty"), std::string::npos);
  EXPECT_NE(why_not("http://a.org/a b").find("spaces"), std::string::npos);
  std::string long_url = "https://example.org/" + std::string(kMaxDownloadUrlLength, 'a');
  EXPECT_NE(why_not(long_url).find("longer than 2048"), std::string::npos);
  std::string why;
  std::string just_fits = "https://e.org/";
  just_fits += std::string(kMaxDownloadUrlLength - just_fits.size(), 'a');
  EXPECT_TRUE(parse_download_url(just_fits, why)) << why;
}

TEST(DownloadSource, AutoPicksBySite) {
  EXPECT_EQ(auto_download_source("qobuz.com"), "qobuz");
  EXPECT_EQ(auto_download_source("play.qobuz.com"), "qobuz");
  EXPECT_EQ(auto_download_source("open.qobuz.com"), "qobuz");
  EXPECT_EQ(auto_download_source("www.youtube.com"), "ytdlp");
  EXPECT_EQ(auto_download_source("music.youtube.com"), "ytdlp");
  EXPECT_EQ(auto_download_source("youtu.be"), "ytdlp");
  EXPECT_EQ(auto_download_source("soundcloud.com"), "ytdlp");
  EXPECT_EQ(auto_download_source("artist.bandcamp.com"), "ytdlp");
  EXPECT_EQ(auto_download_source("Artist.Bandcamp.COM"), "ytdlp");
  // Lookalikes are not the site.
  EXPECT_EQ(auto_download_source("notqobuz.com"), "http");
  EXPECT_EQ(auto_download_source("qobuz.com.evil.org"), "http");
  EXPECT_EQ(auto_download_source("example.org"), "http");
  EXPECT_EQ(auto_download_source("127.0.0.1"), "http");
}

TEST(DownloadSource, KnowsTheRequestableSources) {
  for (const char* s : {"auto", "http", "ytdlp", "qobuz"}) EXPECT_TRUE(is_download_source(s)) << s;
  for (const char* s : {"", "HTTP", "ftp", "torrent"}) EXPECT_FALSE(is_download_source(s)) << s;
}

}  // namespace
}  // namespace barbossa
