#include "auth/trusted_proxies.h"

#include <arpa/inet.h>

#include <optional>
#include <stdexcept>
#include <string_view>

namespace barbossa {
namespace {

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

// IPv4 becomes IPv4-mapped IPv6, so one comparison serves both families.
// Returns the bytes and whether the text was IPv4.
std::optional<std::pair<std::array<unsigned char, 16>, bool>> parse_ip(const std::string& text) {
  std::array<unsigned char, 16> out{};
  unsigned char v4[4];
  if (inet_pton(AF_INET, text.c_str(), v4) == 1) {
    out[10] = out[11] = 0xff;
    std::copy(v4, v4 + 4, out.begin() + 12);
    return std::make_pair(out, true);
  }
  if (inet_pton(AF_INET6, text.c_str(), out.data()) == 1) return std::make_pair(out, false);
  return std::nullopt;
}

bool in_block(const std::array<unsigned char, 16>& ip, const std::array<unsigned char, 16>& net,
              int prefix) {
  int full = prefix / 8;
  for (int i = 0; i < full; ++i) {
    if (ip[static_cast<size_t>(i)] != net[static_cast<size_t>(i)]) return false;
  }
  int rest = prefix % 8;
  if (rest == 0) return true;
  auto mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (ip[static_cast<size_t>(full)] & mask) == (net[static_cast<size_t>(full)] & mask);
}

}  // namespace

TrustedProxies TrustedProxies::parse(const std::string& spec) {
  TrustedProxies out;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    if (comma == std::string::npos) comma = spec.size();
    std::string item = trim(std::string_view(spec).substr(start, comma - start));
    start = comma + 1;
    if (item.empty()) continue;
    size_t slash = item.find('/');
    auto ip = parse_ip(item.substr(0, slash));
    auto bad = [&item] {
      return std::invalid_argument("TRUSTED_PROXIES entry '" + item +
                                   "' is not an IP address or CIDR block");
    };
    if (!ip) throw bad();
    Block block;
    block.bytes = ip->first;
    int max_prefix = ip->second ? 32 : 128;
    int prefix = max_prefix;
    if (slash != std::string::npos) {
      std::string digits = item.substr(slash + 1);
      if (digits.empty() || digits.size() > 3 ||
          digits.find_first_not_of("0123456789") != std::string::npos) {
        throw bad();
      }
      prefix = std::stoi(digits);
      if (prefix > max_prefix) throw bad();
    }
    block.prefix = ip->second ? prefix + 96 : prefix;
    out.blocks_.push_back(block);
  }
  return out;
}

bool TrustedProxies::trusts(const std::string& address) const {
  auto ip = parse_ip(address);
  if (!ip) return false;
  for (const Block& b : blocks_) {
    if (in_block(ip->first, b.bytes, b.prefix)) return true;
  }
  return false;
}

std::string TrustedProxies::client(const std::string& peer,
                                   const std::string& forwarded_for) const {
  if (blocks_.empty() || forwarded_for.empty() || !trusts(peer)) return peer;
  std::vector<std::string> hops;
  size_t start = 0;
  while (start <= forwarded_for.size()) {
    size_t comma = forwarded_for.find(',', start);
    if (comma == std::string::npos) comma = forwarded_for.size();
    hops.push_back(trim(std::string_view(forwarded_for).substr(start, comma - start)));
    start = comma + 1;
  }
  std::string current = peer;
  for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
    // A trusted proxy writes real addresses; anything else came from the
    // client, so the last trusted hop is all we know.
    if (!parse_ip(*hop)) return current;
    current = *hop;
    if (!trusts(current)) return current;
  }
  return current;  // every hop trusted: the leftmost is the origin
}

}  // namespace barbossa
