// Which address a request comes from when reverse proxies stand in front.
//
// X-Forwarded-For is only believed as far as trusted hops vouch for it: each
// proxy appends the address it saw, so starting from the socket's peer and
// walking the header right to left, every hop that is a trusted proxy hands
// over to the one before it; the first hop that is not trusted is the client.
// With no TRUSTED_PROXIES (the default) the header is ignored entirely, so a
// client cannot pick the address its login failures are counted under.
#pragma once

#include <array>
#include <string>
#include <vector>

namespace barbossa {

class TrustedProxies {
 public:
  TrustedProxies() = default;
  // "127.0.0.1, 10.0.0.0/8, fd00::/8": addresses and CIDR blocks, comma
  // separated. Throws std::invalid_argument naming the bad entry.
  static TrustedProxies parse(const std::string& spec);

  bool empty() const { return blocks_.empty(); }
  bool trusts(const std::string& address) const;
  // The client's address for a request from `peer` with this
  // X-Forwarded-For value (empty when absent).
  std::string client(const std::string& peer, const std::string& forwarded_for) const;

 private:
  struct Block {
    std::array<unsigned char, 16> bytes{};  // IPv4 as IPv4-mapped IPv6
    int prefix = 128;
  };
  std::vector<Block> blocks_;
};

}  // namespace barbossa
