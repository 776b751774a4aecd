#include "core/identify.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "core/normalize.h"
#include "core/tag_values.h"

namespace barbossa {
namespace {

// What each defect costs. Any one of them alone must take a clean album (1.0)
// below the default threshold (0.95); the heavier ones are those that put the
// album's identity itself in doubt (which album, whose), the lighter ones are
// bookkeeping (totals, gaps) that a complete rip can still get wrong.
constexpr double kWeightMissingAlbum = 0.30;
constexpr double kWeightMixedAlbums = 0.30;
constexpr double kWeightMissingArtist = 0.30;
constexpr double kWeightMixedArtists = 0.20;
constexpr double kWeightMixedReleaseIds = 0.15;
constexpr double kWeightMissingTitles = 0.15;
constexpr double kWeightGenericTitles = 0.15;
constexpr double kWeightMissingNumbers = 0.15;
constexpr double kWeightDuplicateNumbers = 0.20;
constexpr double kWeightNumberGap = 0.10;
constexpr double kWeightTrackTotal = 0.10;
constexpr double kWeightDiscTotal = 0.10;

constexpr size_t kMaxListed = 5;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

std::string plural(size_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

// "a, b, c, d, e and 3 more": reasons name the files without drowning the page.
std::string list_items(const std::vector<std::string>& items) {
  std::string out;
  size_t shown = std::min(items.size(), kMaxListed);
  for (size_t i = 0; i < shown; ++i) {
    if (i > 0) out += ", ";
    out += items[i];
  }
  if (items.size() > shown) out += " and " + std::to_string(items.size() - shown) + " more";
  return out;
}

// "3", "3-5", "3, 7": missing track numbers as ranges.
std::string list_ranges(const std::vector<int>& sorted) {
  std::vector<std::string> ranges;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[j] + 1) ++j;
    ranges.push_back(j == i ? std::to_string(sorted[i])
                            : std::to_string(sorted[i]) + "-" + std::to_string(sorted[j]));
    i = j + 1;
  }
  return list_items(ranges);
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

// The value most tracks agree on. Spellings that normalize alike vote
// together ("X", "x", "X (Deluxe Edition)"), so a stray variant cannot outvote
// the album; within the winning group the most common spelling wins. Ties go
// to the value seen first, so the result follows the (sorted) input.
struct Vote {
  std::string winner;                  // "" when no value was given
  std::vector<std::string> spellings;  // distinct non-empty values, first seen first
};

Vote majority(const std::vector<std::string>& values) {
  struct Group {
    size_t votes = 0;
    size_t first = 0;
  };
  std::map<std::string, Group> groups;
  std::map<std::string, Group> spellings;
  Vote vote;
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string& v = values[i];
    if (v.empty()) continue;
    auto [g, new_group] = groups.try_emplace(normalize_name(v), Group{0, i});
    ++g->second.votes;
    auto [s, new_spelling] = spellings.try_emplace(v, Group{0, i});
    ++s->second.votes;
    if (new_spelling) vote.spellings.push_back(v);
  }
  auto better = [](const Group& a, const Group& b) {
    return a.votes > b.votes || (a.votes == b.votes && a.first < b.first);
  };
  const std::string* best_group = nullptr;
  for (const auto& [key, g] : groups) {
    if (best_group == nullptr || better(g, groups.at(*best_group))) best_group = &key;
  }
  if (best_group == nullptr) return vote;
  const Group* best = nullptr;
  for (const std::string& v : vote.spellings) {
    if (normalize_name(v) != *best_group) continue;
    const Group& s = spellings.at(v);
    if (best == nullptr || better(s, *best)) {
      best = &s;
      vote.winner = v;
    }
  }
  return vote;
}

// "mixed album names: 'X', 'x' (differ from 'X': 03.flac)".
std::string mixed_reason(std::string_view what, const Vote& vote,
                         const std::vector<std::string>& values,
                         const std::vector<TrackTags>& tracks) {
  std::vector<std::string> names;
  for (const std::string& s : vote.spellings) names.push_back(quoted(s));
  std::vector<std::string> files;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!values[i].empty() && values[i] != vote.winner) files.push_back(tracks[i].file_name);
  }
  return std::string(what) + ": " + join(names, ", ") + " (differ from " + quoted(vote.winner) +
         ": " + list_items(files) + ")";
}

// A track artist stands in for a missing album artist; its guests do not make
// the album a different artist's ("A feat. B" is by A).
std::string without_featuring(std::string_view artist) {
  std::string lower(artist);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  size_t cut = std::string::npos;
  for (std::string_view marker :
       {" feat. ", " feat ", " ft. ", " featuring ", " (feat. ", " (ft. "}) {
    cut = std::min(cut, lower.find(marker));
  }
  return std::string(trim(artist.substr(0, cut)));
}

// Takes a leading number with its separator ("03 - ", "3. ", "03_"); false
// when there is none or nothing would be left.
bool strip_leading_number(std::string_view& s, bool& bare_dash) {
  size_t n = 0;
  while (n < s.size() && n < 3 && is_digit(s[n])) ++n;
  if (n == 0 || (n < s.size() && is_digit(s[n]))) return false;
  size_t k = n;
  while (k < s.size() && (s[k] == ' ' || s[k] == '-' || s[k] == '.' || s[k] == '_')) ++k;
  if (k == n || k == s.size()) return false;
  bare_dash = k == n + 1 && s[n] == '-';
  s.remove_prefix(k);
  return true;
}

// The title a file name implies: "CD1/03 - Song.flac" -> "Song"; also
// "1-03 Song.flac" (disc-track).
std::string title_from_file_name(std::string_view file_name) {
  size_t slash = file_name.find_last_of("/\\");
  std::string_view base = slash == std::string_view::npos ? file_name : file_name.substr(slash + 1);
  size_t dot = base.rfind('.');
  if (dot != std::string_view::npos && dot > 0) base = base.substr(0, dot);
  bool bare_dash = false;
  if (strip_leading_number(base, bare_dash) && bare_dash) {
    bool ignored = false;
    strip_leading_number(base, ignored);
  }
  return std::string(trim(base));
}

// What a folder called "Artist - Album (1999) [FLAC 24-96]" says.
struct FolderGuess {
  std::string artist;
  std::string album;  // with the artist prefix when there is one
  std::string album_without_artist;
  int year = 0;
};

int four_digit_year(std::string_view s) {
  if (s.size() != 4 || !std::all_of(s.begin(), s.end(), is_digit)) return 0;
  int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  return y >= 1000 && y <= 2999 ? y : 0;
}

FolderGuess guess_from_folder(std::string_view folder) {
  FolderGuess guess;
  std::string_view s = trim(folder);
  // Trailing groups name the rip, not the album: "[FLAC]", "{WEB}", "(1999)".
  for (;;) {
    if (s.empty()) break;
    char close = s.back();
    char open = close == ']' ? '[' : close == '}' ? '{' : close == ')' ? '(' : '\0';
    if (open == '\0') break;
    size_t at = s.rfind(open);
    if (at == std::string_view::npos) break;
    std::string_view inner = s.substr(at + 1, s.size() - at - 2);
    int year = four_digit_year(inner);
    if (close == ')' && year == 0) break;  // "(What's the Story)" is the title
    if (year != 0 && guess.year == 0) guess.year = year;
    s = trim(s.substr(0, at));
  }
  while (!s.empty() && (s.back() == '-' || s.back() == ' ')) s.remove_suffix(1);
  guess.album = std::string(s);
  size_t dash = s.find(" - ");
  if (dash != std::string_view::npos && dash > 0) {
    guess.artist = std::string(trim(s.substr(0, dash)));
    std::string_view rest = trim(s.substr(dash + 3));
    // "Artist - 1999 - Album".
    if (rest.size() > 7 && four_digit_year(rest.substr(0, 4)) != 0 && rest.substr(4, 3) == " - ") {
      if (guess.year == 0) guess.year = four_digit_year(rest.substr(0, 4));
      rest = trim(rest.substr(7));
    }
    guess.album_without_artist = std::string(rest);
  }
  return guess;
}

struct Scorer {
  double confidence = 1.0;
  std::vector<std::string> reasons;

  void defect(double weight, std::string reason) {
    confidence -= weight;
    reasons.push_back(std::move(reason));
  }
};

}  // namespace

Identification identify_from_tags(const std::vector<TrackTags>& tracks,
                                  std::string_view folder_name) {
  Identification id;
  FolderGuess folder = guess_from_folder(folder_name);
  if (tracks.empty()) {
    id.artist = folder.artist.empty() ? "Unknown Artist" : folder.artist;
    std::string album = folder.artist.empty() ? folder.album : folder.album_without_artist;
    id.album = album.empty() ? "Unknown Album" : album;
    id.year = folder.year;
    id.confidence = 0.0;
    id.reasons.push_back("no tracks");
    return id;
  }

  Scorer score;
  const size_t n = tracks.size();
  auto files_where = [&](auto pred) {
    std::vector<std::string> files;
    for (size_t i = 0; i < n; ++i) {
      if (pred(i)) files.push_back(tracks[i].file_name);
    }
    return files;
  };

  // Album.
  std::vector<std::string> albums(n);
  for (size_t i = 0; i < n; ++i) albums[i] = std::string(trim(tracks[i].album));
  if (auto files = files_where([&](size_t i) { return albums[i].empty(); }); !files.empty()) {
    score.defect(kWeightMissingAlbum, "missing album tag: " + list_items(files));
  }
  Vote album_vote = majority(albums);
  if (album_vote.spellings.size() > 1) {
    score.defect(kWeightMixedAlbums, mixed_reason("mixed album names", album_vote, albums, tracks));
  }

  // Album artist, falling back per track to the track artist.
  std::vector<std::string> artists(n);
  for (size_t i = 0; i < n; ++i) {
    std::string_view album_artist = trim(tracks[i].album_artist);
    artists[i] = album_artist.empty() ? without_featuring(trim(tracks[i].artist))
                                      : std::string(album_artist);
  }
  if (auto files = files_where([&](size_t i) { return artists[i].empty(); }); !files.empty()) {
    score.defect(kWeightMissingArtist, "missing album artist and artist: " + list_items(files));
  }
  Vote artist_vote = majority(artists);
  if (artist_vote.spellings.size() > 1) {
    score.defect(kWeightMixedArtists,
                 mixed_reason("mixed album artists", artist_vote, artists, tracks));
  }

  // MusicBrainz release: only an id every track agrees on identifies the album.
  std::vector<std::string> release_ids(n);
  for (size_t i = 0; i < n; ++i) release_ids[i] = std::string(trim(tracks[i].musicbrainz_album_id));
  Vote release_vote = majority(release_ids);
  if (release_vote.spellings.size() > 1) {
    score.defect(kWeightMixedReleaseIds,
                 mixed_reason("mixed MusicBrainz release ids", release_vote, release_ids, tracks));
  } else if (std::none_of(release_ids.begin(), release_ids.end(),
                          [](const std::string& r) { return r.empty(); })) {
    id.musicbrainz_release_id = release_ids.front();
  }

  // Titles.
  if (auto files = files_where([&](size_t i) { return trim(tracks[i].title).empty(); });
      !files.empty()) {
    score.defect(kWeightMissingTitles,
                 (files.size() == 1 ? "missing title: " : "missing titles: ") + list_items(files));
  }
  std::vector<size_t> generic;
  for (size_t i = 0; i < n; ++i) {
    if (is_generic_title(tracks[i].title)) generic.push_back(i);
  }
  if (generic.size() == 1) {
    const TrackTags& t = tracks[generic.front()];
    score.defect(kWeightGenericTitles,
                 "generic title " + quoted(trim(t.title)) + ": " + t.file_name);
  } else if (!generic.empty()) {
    std::vector<std::string> items;
    for (size_t i : generic) {
      items.push_back(quoted(trim(tracks[i].title)) + " (" + tracks[i].file_name + ")");
    }
    score.defect(kWeightGenericTitles, "generic titles: " + list_items(items));
  }

  // Discs: the tag, else the folder ("CD2"), else 1.
  std::vector<int> discs(n);
  std::map<int, std::vector<size_t>> on_disc;  // disc -> track indexes, input order
  for (size_t i = 0; i < n; ++i) {
    discs[i] = tracks[i].disc > 0               ? tracks[i].disc
               : tracks[i].disc_from_folder > 0 ? tracks[i].disc_from_folder
                                                : 1;
    on_disc[discs[i]].push_back(i);
  }
  id.disc_count = on_disc.rbegin()->first;
  const bool multi_disc = on_disc.size() > 1;

  // Track numbers.
  if (auto files = files_where([&](size_t i) { return tracks[i].track <= 0; }); !files.empty()) {
    score.defect(kWeightMissingNumbers,
                 (files.size() == 1 ? "missing track number: " : "missing track numbers: ") +
                     list_items(files));
  }
  std::vector<std::string> duplicates;
  std::vector<std::string> gaps;
  std::vector<std::string> totals;
  for (const auto& [disc, indexes] : on_disc) {
    std::map<int, std::vector<std::string>> by_number;
    bool all_numbered = true;
    for (size_t i : indexes) {
      if (tracks[i].track > 0) {
        by_number[tracks[i].track].push_back(tracks[i].file_name);
      } else {
        all_numbered = false;
      }
    }
    std::vector<std::string> dup_here;
    for (const auto& [number, files] : by_number) {
      if (files.size() > 1)
        dup_here.push_back(std::to_string(number) + " (" + list_items(files) + ")");
    }
    if (!dup_here.empty()) {
      duplicates.push_back("on disc " + std::to_string(disc) + ": " + join(dup_here, ", "));
    }
    // A disc with unnumbered tracks already has its defect; the hole those
    // tracks leave is not a second one.
    if (all_numbered && !by_number.empty()) {
      std::vector<int> missing;
      for (int k = 1; k < by_number.rbegin()->first; ++k) {
        if (!by_number.contains(k)) missing.push_back(k);
      }
      if (!missing.empty()) {
        gaps.push_back("on disc " + std::to_string(disc) + ": " + list_ranges(missing) +
                       " missing");
      }
    }
    std::set<int> declared;
    for (size_t i : indexes) {
      if (tracks[i].track_total > 0) declared.insert(tracks[i].track_total);
    }
    if (declared.size() > 1) {
      std::vector<std::string> values;
      for (int t : declared) values.push_back(std::to_string(t));
      totals.push_back("TRACKTOTAL varies on disc " + std::to_string(disc) + ": " +
                       join(values, ", ") + ", found " + plural(indexes.size(), "track"));
    } else if (declared.size() == 1) {
      // Some taggers count the whole album on every disc.
      size_t total = static_cast<size_t>(*declared.begin());
      if (total != indexes.size() && !(multi_disc && total == n)) {
        totals.push_back("TRACKTOTAL says " + std::to_string(total) + ", found " +
                         plural(indexes.size(), "track") + " on disc " + std::to_string(disc));
      }
    }
  }
  if (!duplicates.empty()) {
    score.defect(kWeightDuplicateNumbers, "duplicate track numbers " + join(duplicates, "; "));
  }
  if (!gaps.empty()) score.defect(kWeightNumberGap, "gap in track numbers " + join(gaps, "; "));
  if (!totals.empty()) score.defect(kWeightTrackTotal, join(totals, "; "));

  // Disc total.
  std::set<int> disc_totals;
  for (const TrackTags& t : tracks) {
    if (t.disc_total > 0) disc_totals.insert(t.disc_total);
  }
  std::vector<std::string> found;
  for (const auto& entry : on_disc) found.push_back(std::to_string(entry.first));
  std::string found_discs = (found.size() == 1 ? "disc " : "discs ") + join(found, ", ");
  if (disc_totals.size() > 1) {
    std::vector<std::string> values;
    for (int t : disc_totals) values.push_back(std::to_string(t));
    score.defect(kWeightDiscTotal,
                 "DISCTOTAL varies: " + join(values, ", ") + ", found " + found_discs);
  } else if (disc_totals.size() == 1) {
    int total = *disc_totals.begin();
    if (static_cast<size_t>(total) != on_disc.size() || id.disc_count > total) {
      score.defect(kWeightDiscTotal,
                   "DISCTOTAL says " + std::to_string(total) + ", found " + found_discs);
    }
  }

  // The candidate.
  id.artist = artist_vote.winner;
  bool folder_names_artist =
      !folder.artist.empty() &&
      (id.artist.empty() || normalize_name(folder.artist) == normalize_name(id.artist));
  if (id.artist.empty()) id.artist = folder.artist.empty() ? "Unknown Artist" : folder.artist;
  id.album = album_vote.winner;
  if (id.album.empty()) id.album = folder_names_artist ? folder.album_without_artist : folder.album;
  if (id.album.empty()) id.album = "Unknown Album";

  std::map<int, size_t> year_votes;
  for (const TrackTags& t : tracks) {
    if (t.year > 0) ++year_votes[t.year];
  }
  id.year = folder.year;
  size_t best_votes = 0;
  for (const auto& [year, votes] : year_votes) {  // ascending: a tie keeps the earlier year
    if (votes > best_votes) {
      best_votes = votes;
      id.year = year;
    }
  }

  // Track list: tagged numbers stay where they are unique on their disc; the
  // rest follow the highest one in input order.
  id.tracks.resize(n);
  for (const auto& [disc, indexes] : on_disc) {
    std::set<int> used;
    std::vector<size_t> unplaced;
    for (size_t i : indexes) {
      id.tracks[i].disc = disc;
      if (tracks[i].track > 0 && used.insert(tracks[i].track).second) {
        id.tracks[i].number = tracks[i].track;
      } else {
        unplaced.push_back(i);
      }
    }
    int next = used.empty() ? 1 : *used.rbegin() + 1;
    for (size_t i : unplaced) id.tracks[i].number = next++;
  }
  for (size_t i = 0; i < n; ++i) {
    std::string title(trim(tracks[i].title));
    if (title.empty()) title = title_from_file_name(tracks[i].file_name);
    if (title.empty()) {
      std::string number = std::to_string(id.tracks[i].number);
      title = "Track " + (number.size() < 2 ? "0" + number : number);
    }
    id.tracks[i].title = std::move(title);
  }

  id.confidence = std::clamp(score.confidence, 0.0, 1.0);
  id.reasons = std::move(score.reasons);
  return id;
}

}  // namespace barbossa
