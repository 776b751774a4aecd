// Reading the loose conventions of tag values and folder names. Pure rules.
#pragma once

#include <string_view>

namespace barbossa {

struct NumberPair {
  int number = 0;  // 0: absent or unreadable
  int total = 0;   // 0: absent
};

// "3", "03", " 3 ", "3/10", "03 / 10" -> {3, 10}; "3/" -> {3, 0}; garbage or
// "" -> {0, 0}.
NumberPair parse_number_pair(std::string_view text);

// Disc number a folder name declares: "CD1", "cd 2", "Disc 2", "DISK03",
// "Disc 1 - Live", "CD-2", "disc_2", "[CD1]" -> n; anything else ("CDs",
// "Discography", a bare "CD", "CD1A") -> 0.
int disc_from_folder_name(std::string_view name);

// Titles that a ripper or a store invents instead of the real one: "Track 01",
// "Track01", "01", "Audio Track 3", "Untitled", "Piste 1", "Unknown". A bare
// number counts only with at most two digits or a leading zero ("1979" is a
// song). "" is not generic: a missing title is a defect of its own.
bool is_generic_title(std::string_view title);

// "2011", "2011-03-04", "2011/03", "20110304", "04/03/2011" -> 2011; the first
// four-digit run decides. Outside 1000..2999 or garbage -> 0.
int year_from_date(std::string_view text);

}  // namespace barbossa
