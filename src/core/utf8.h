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

// Names and tags from older systems: valid UTF-8 sequences are kept, and every
// byte that does not start one is decoded as Windows-1252 (the Latin-1
// superset old folder names and ID3v1 tags are written in; its five unassigned
// bytes map to the C1 controls of the same value). The result is always valid
// UTF-8, and a string that already was comes back unchanged. Per sequence, not
// per string, so a UTF-8 parent folder with a Latin-1 child reads right.
std::string utf8_from_legacy(std::string_view text);

// For log lines: C0 controls and DEL become "\n", "\r", "\t" or "\xHH",
// and so does every byte of invalid UTF-8, so a value from outside (a file
// name, a tag, a request field) can neither start a forged line nor break the
// encoding of the log. Valid printable text is unchanged.
std::string escape_controls(std::string_view text);

}  // namespace barbossa
