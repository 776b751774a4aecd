// UTF-8 at the edges. Text from outside (WebSocket frames, request bodies,
// tags, file and folder names) is bytes; JSON that leaves the server must be
// valid UTF-8. Validation follows Unicode table 3-7: overlong forms,
// surrogates and code points past U+10FFFF are ill-formed.
#pragma once

#include <string>
#include <string_view>

namespace barbossa {

bool is_valid_utf8(std::string_view text);

// Invalid UTF-8 sequences become U+FFFD (one per maximal invalid subpart).
std::string valid_utf8(std::string_view text);

// Cuts to at most max_bytes without splitting a UTF-8 sequence (valid input
// gives valid output).
std::string truncate_utf8(std::string_view text, size_t max_bytes);

}  // namespace barbossa
