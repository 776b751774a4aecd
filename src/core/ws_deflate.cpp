#include "core/ws_deflate.h"

#include <zlib.h>

#include <memory>

namespace barbossa {

std::optional<std::string> ws_deflate_accept(std::string_view offer) {
  // Offers are comma-separated; parameters follow ';'. Any offer of
  // permessage-deflate is acceptable: we pick the parameters.
  size_t pos = 0;
  while (pos <= offer.size()) {
    size_t comma = offer.find(',', pos);
    std::string_view item = offer.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    size_t semi = item.find(';');
    std::string_view name = item.substr(0, semi);
    while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.remove_prefix(1);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    if (name == "permessage-deflate") {
      return std::string("permessage-deflate; server_no_context_takeover; client_no_context_takeover");
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return std::nullopt;
}

std::string ws_deflate(std::string_view payload) {
  z_stream z{};
  // Raw deflate (negative window bits), as RFC 7692 requires.
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, deflateEnd);
  std::string out(deflateBound(&z, payload.size()) + 16, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(payload.data()));
  z.avail_in = static_cast<uInt>(payload.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_SYNC_FLUSH) != Z_OK) return {};
  out.resize(out.size() - z.avail_out);
  if (out.size() >= 4 && out.compare(out.size() - 4, 4, std::string("\x00\x00\xff\xff", 4)) == 0) {
    out.resize(out.size() - 4);
  }
  return out;
}

std::optional<std::string> ws_inflate(std::string_view compressed, size_t max_size, bool& too_big) {
  too_big = false;
  z_stream z{};
  if (inflateInit2(&z, -15) != Z_OK) return std::nullopt;
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, inflateEnd);
  std::string input(compressed);
  input.append("\x00\x00\xff\xff", 4);
  z.next_in = reinterpret_cast<Bytef*>(input.data());
  z.avail_in = static_cast<uInt>(input.size());
  std::string out;
  char chunk[16384];
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    int rc = inflate(&z, Z_SYNC_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) return std::nullopt;
    out.append(chunk, sizeof chunk - z.avail_out);
    if (out.size() > max_size) {
      too_big = true;  // stop early: a small input may inflate without bound
      return std::nullopt;
    }
    if (rc == Z_STREAM_END || (z.avail_in == 0 && z.avail_out != 0)) break;
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;
  }
  return out;
}

}  // namespace barbossa
