// permessage-deflate (RFC 7692), always without context takeover in either
// direction: each message is compressed on its own. That is what lets an
// event be compressed once and the same bytes go to every socket, and it
// keeps no per-connection zlib state (tens of KiB each) on the server.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace barbossa {

// The response header value when the client's Sec-WebSocket-Extensions offer
// includes permessage-deflate, or nullopt to decline.
std::optional<std::string> ws_deflate_accept(std::string_view offer);

// Compressed message payload (the trailing 00 00 FF FF removed, per RFC).
std::string ws_deflate(std::string_view payload);

// Inflates one message. nullopt on corrupt data; `too_big` is set when the
// result would exceed max_size.
std::optional<std::string> ws_inflate(std::string_view compressed, size_t max_size, bool& too_big);

}  // namespace barbossa
