#include "auth/trusted_proxies.h"

#include <stdexcept>

#include <gtest/gtest.h>

namespace barbossa {
namespace {

TEST(TrustedProxiesTest, NoTrustedProxiesIgnoresTheHeader) {
  TrustedProxies none;
  EXPECT_EQ(none.client("127.0.0.1", "203.0.113.7"), "127.0.0.1");
  EXPECT_EQ(TrustedProxies::parse("").client("127.0.0.1", "203.0.113.7"), "127.0.0.1");
}

TEST(TrustedProxiesTest, UntrustedPeerIsTheClientWhateverItSends) {
  auto t = TrustedProxies::parse("10.0.0.1");
  EXPECT_EQ(t.client("198.51.100.4", "203.0.113.7"), "198.51.100.4");
}

// A client may send its own X-Forwarded-For; the proxy appends what it saw.
// Only the rightmost untrusted hop can be believed.
TEST(TrustedProxiesTest, RightmostUntrustedHopNamesTheClient) {
  auto t = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8");
  EXPECT_EQ(t.client("127.0.0.1", "203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(t.client("127.0.0.1", "1.2.3.4, 203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(t.client("127.0.0.1", "1.2.3.4, 203.0.113.7, 10.1.2.3"), "203.0.113.7");
  EXPECT_EQ(t.client("127.0.0.1", "10.0.0.9,10.1.2.3"), "10.0.0.9");  // all trusted
  EXPECT_EQ(t.client("127.0.0.1", ""), "127.0.0.1");
  // Garbage a trusted proxy would never write: the last trusted hop.
  EXPECT_EQ(t.client("127.0.0.1", "203.0.113.7, not-an-ip"), "127.0.0.1");
  EXPECT_EQ(t.client("127.0.0.1", "not-an-ip, 10.0.0.5"), "10.0.0.5");
}

TEST(TrustedProxiesTest, CidrBlocksAndIpv6) {
  auto t = TrustedProxies::parse("192.168.0.0/16,fd00::/8, ::1");
  EXPECT_TRUE(t.trusts("192.168.200.1"));
  EXPECT_FALSE(t.trusts("192.169.0.1"));
  EXPECT_TRUE(t.trusts("fd12::1"));
  EXPECT_FALSE(t.trusts("fe80::1"));
  EXPECT_TRUE(t.trusts("::1"));
  EXPECT_TRUE(t.trusts("::ffff:192.168.1.1"));  // IPv4-mapped peer
  EXPECT_EQ(t.client("::1", "2001:db8::5"), "2001:db8::5");
}

TEST(TrustedProxiesTest, BadEntriesRefusedWithTheEntryNamed) {
  for (const char* bad :
       {"localhost", "10.0.0.0/33", "::/129", "10.0.0.1/", "10.0.0.1/x", "1.2.3"}) {
    try {
      TrustedProxies::parse(std::string("127.0.0.1,") + bad);
      ADD_FAILURE() << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace barbossa
