// Library names from untrusted text (SPEC §4, §13): every component is valid
// UTF-8, at most 255 bytes, free of path separators, characters illegal on
// common filesystems (/ \ : * ? " < > |), control characters and NUL, with no
// leading or trailing dots or spaces, and never "." or "..". Whatever the tags
// say, a sanitized component cannot leave the folder it is joined to.
//
// The rules, in order: invalid UTF-8 becomes U+FFFD; each illegal character
// and each control character (C0 including NUL, DEL, C1) becomes "_", except
// tab, CR, LF, VT and FF, which are whitespace; runs of whitespace become one
// space; dots and spaces are stripped from both ends (".." and "..." leave
// nothing, so the fallback; ".hidden" becomes "hidden"); the result is cut to
// 255 bytes at a character boundary. Windows device names (CON, PRN, AUX, NUL,
// COM1-9, LPT1-9, also as the stem before a dot) get "_" appended to the stem
// ("CON" -> "CON_", "nul.txt" -> "nul_.txt") so the library survives a copy
// to an NTFS disk or an SMB share.
#pragma once

#include <string>
#include <string_view>

#include "core/utf8.h"

namespace barbossa {

constexpr size_t kMaxComponentBytes = 255;

// One path component; `fallback` when nothing usable is left.
std::string sanitize_component(std::string_view name, std::string_view fallback = "Unknown");

// "<Album> (<Year>)", or "<Album>" when year is 0; sanitized. A long album is
// shortened so the year survives; nothing usable -> "Unknown Album".
std::string album_folder_name(std::string_view album, int year);

// "Disc N" (N below 1 is taken as 1).
std::string disc_folder_name(int disc);

// "NN - Title.ext" (NN at least two digits); ext without the dot, lower-cased,
// ASCII letters and digits only (at most 16), no ".ext" when nothing is left.
// The title is shortened so the whole name fits kMaxComponentBytes; nothing
// usable -> "Untitled".
std::string track_file_name(int number, std::string_view title, std::string_view ext);

// Same rule for an extra file (cover, cue, log): keeps the extension, lower-
// cased ("Cover.JPG" -> "Cover.jpg"), when it is a short ASCII word; otherwise
// the whole name is one component ("Vol. 2" has no extension).
std::string sanitize_file_name(std::string_view name);

}  // namespace barbossa
