#include "core/identify_rules.h"

#include <algorithm>
#include <set>

#include "core/identify_text.h"
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

template <typename Pred>
std::vector<std::string> files_where(const TagEvidence& e, Pred pred) {
  std::vector<std::string> files;
  for (size_t i = 0; i < e.tracks.size(); ++i) {
    if (pred(i)) files.push_back(e.tracks[i].file_name);
  }
  return files;
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

std::optional<std::string> missing_album(const TagEvidence& e) {
  auto files = files_where(e, [&](size_t i) { return e.albums[i].empty(); });
  if (files.empty()) return std::nullopt;
  return "missing album tag: " + list_items(files);
}

std::optional<std::string> mixed_album_names(const TagEvidence& e) {
  if (e.album_vote.spellings.size() <= 1) return std::nullopt;
  return mixed_reason("mixed album names", e.album_vote, e.albums, e.tracks);
}

std::optional<std::string> missing_artist(const TagEvidence& e) {
  auto files = files_where(e, [&](size_t i) { return e.artists[i].empty(); });
  if (files.empty()) return std::nullopt;
  return "missing album artist and artist: " + list_items(files);
}

std::optional<std::string> mixed_album_artists(const TagEvidence& e) {
  if (e.artist_vote.spellings.size() <= 1) return std::nullopt;
  return mixed_reason("mixed album artists", e.artist_vote, e.artists, e.tracks);
}

// Only an id every track agrees on identifies the album.
std::optional<std::string> mixed_release_ids(const TagEvidence& e) {
  if (e.release_vote.spellings.size() <= 1) return std::nullopt;
  return mixed_reason("mixed MusicBrainz release ids", e.release_vote, e.release_ids, e.tracks);
}

std::optional<std::string> missing_titles(const TagEvidence& e) {
  auto files = files_where(e, [&](size_t i) { return trim(e.tracks[i].title).empty(); });
  if (files.empty()) return std::nullopt;
  return (files.size() == 1 ? "missing title: " : "missing titles: ") + list_items(files);
}

std::optional<std::string> generic_titles(const TagEvidence& e) {
  std::vector<size_t> generic;
  for (size_t i = 0; i < e.tracks.size(); ++i) {
    if (is_generic_title(e.tracks[i].title)) generic.push_back(i);
  }
  if (generic.empty()) return std::nullopt;
  if (generic.size() == 1) {
    const TrackTags& t = e.tracks[generic.front()];
    return "generic title " + quoted(trim(t.title)) + ": " + t.file_name;
  }
  std::vector<std::string> items;
  for (size_t i : generic) {
    items.push_back(quoted(trim(e.tracks[i].title)) + " (" + e.tracks[i].file_name + ")");
  }
  return "generic titles: " + list_items(items);
}

std::optional<std::string> missing_track_numbers(const TagEvidence& e) {
  auto files = files_where(e, [&](size_t i) { return e.tracks[i].track <= 0; });
  if (files.empty()) return std::nullopt;
  return (files.size() == 1 ? "missing track number: " : "missing track numbers: ") +
         list_items(files);
}

// A disc's tagged track numbers -> the files that carry each.
std::map<int, std::vector<std::string>> files_by_number(const TagEvidence& e,
                                                        const std::vector<size_t>& indexes) {
  std::map<int, std::vector<std::string>> by_number;
  for (size_t i : indexes) {
    if (e.tracks[i].track > 0) by_number[e.tracks[i].track].push_back(e.tracks[i].file_name);
  }
  return by_number;
}

std::optional<std::string> duplicate_track_numbers(const TagEvidence& e) {
  std::vector<std::string> duplicates;
  for (const auto& [disc, indexes] : e.on_disc) {
    std::vector<std::string> dup_here;
    for (const auto& [number, files] : files_by_number(e, indexes)) {
      if (files.size() > 1) {
        dup_here.push_back(std::to_string(number) + " (" + list_items(files) + ")");
      }
    }
    if (!dup_here.empty()) {
      duplicates.push_back("on disc " + std::to_string(disc) + ": " + join(dup_here, ", "));
    }
  }
  if (duplicates.empty()) return std::nullopt;
  return "duplicate track numbers " + join(duplicates, "; ");
}

std::optional<std::string> gaps_in_track_numbers(const TagEvidence& e) {
  std::vector<std::string> gaps;
  for (const auto& [disc, indexes] : e.on_disc) {
    // A disc with unnumbered tracks already has its defect; the hole those
    // tracks leave is not a second one.
    const bool all_numbered = std::all_of(indexes.begin(), indexes.end(),
                                          [&](size_t i) { return e.tracks[i].track > 0; });
    const auto by_number = files_by_number(e, indexes);
    if (!all_numbered || by_number.empty()) continue;
    std::vector<int> missing;
    for (int k = 1; k < by_number.rbegin()->first; ++k) {
      if (!by_number.contains(k)) missing.push_back(k);
    }
    if (!missing.empty()) {
      gaps.push_back("on disc " + std::to_string(disc) + ": " + list_ranges(missing) + " missing");
    }
  }
  if (gaps.empty()) return std::nullopt;
  return "gap in track numbers " + join(gaps, "; ");
}

std::string list_numbers(const std::set<int>& numbers) {
  std::vector<std::string> values;
  for (int n : numbers) values.push_back(std::to_string(n));
  return join(values, ", ");
}

// One disc's TRACKTOTAL against its track count; "" when they agree.
std::string track_total_problem(const TagEvidence& e, int disc,
                                const std::vector<size_t>& indexes) {
  std::set<int> declared;
  for (size_t i : indexes) {
    if (e.tracks[i].track_total > 0) declared.insert(e.tracks[i].track_total);
  }
  if (declared.size() > 1) {
    return "TRACKTOTAL varies on disc " + std::to_string(disc) + ": " + list_numbers(declared) +
           ", found " + plural(indexes.size(), "track");
  }
  if (declared.empty()) return {};
  // Some taggers count the whole album on every disc.
  const size_t total = static_cast<size_t>(*declared.begin());
  const bool multi_disc = e.on_disc.size() > 1;
  if (total == indexes.size() || (multi_disc && total == e.tracks.size())) return {};
  return "TRACKTOTAL says " + std::to_string(total) + ", found " + plural(indexes.size(), "track") +
         " on disc " + std::to_string(disc);
}

std::optional<std::string> track_total_mismatch(const TagEvidence& e) {
  std::vector<std::string> totals;
  for (const auto& [disc, indexes] : e.on_disc) {
    if (std::string problem = track_total_problem(e, disc, indexes); !problem.empty()) {
      totals.push_back(std::move(problem));
    }
  }
  if (totals.empty()) return std::nullopt;
  return join(totals, "; ");
}

std::optional<std::string> disc_total_mismatch(const TagEvidence& e) {
  std::set<int> disc_totals;
  for (const TrackTags& t : e.tracks) {
    if (t.disc_total > 0) disc_totals.insert(t.disc_total);
  }
  std::vector<std::string> found;
  for (const auto& entry : e.on_disc) found.push_back(std::to_string(entry.first));
  const std::string found_discs = (found.size() == 1 ? "disc " : "discs ") + join(found, ", ");
  if (disc_totals.size() > 1) {
    return "DISCTOTAL varies: " + list_numbers(disc_totals) + ", found " + found_discs;
  }
  if (disc_totals.empty()) return std::nullopt;
  const int total = *disc_totals.begin();
  const int disc_count = e.on_disc.rbegin()->first;
  if (static_cast<size_t>(total) == e.on_disc.size() && disc_count <= total) return std::nullopt;
  return "DISCTOTAL says " + std::to_string(total) + ", found " + found_discs;
}

constexpr IdentifyRule kRules[] = {
    {"missing album", kWeightMissingAlbum, missing_album},
    {"mixed album names", kWeightMixedAlbums, mixed_album_names},
    {"missing artist", kWeightMissingArtist, missing_artist},
    {"mixed album artists", kWeightMixedArtists, mixed_album_artists},
    {"mixed release ids", kWeightMixedReleaseIds, mixed_release_ids},
    {"missing titles", kWeightMissingTitles, missing_titles},
    {"generic titles", kWeightGenericTitles, generic_titles},
    {"missing track numbers", kWeightMissingNumbers, missing_track_numbers},
    {"duplicate track numbers", kWeightDuplicateNumbers, duplicate_track_numbers},
    {"gaps in track numbers", kWeightNumberGap, gaps_in_track_numbers},
    {"track total mismatch", kWeightTrackTotal, track_total_mismatch},
    {"disc total mismatch", kWeightDiscTotal, disc_total_mismatch},
};

// The album artist per track, falling back to the track artist.
std::vector<std::string> album_artists(const std::vector<TrackTags>& tracks) {
  std::vector<std::string> artists(tracks.size());
  for (size_t i = 0; i < tracks.size(); ++i) {
    std::string_view album_artist = trim(tracks[i].album_artist);
    artists[i] = album_artist.empty() ? without_featuring(trim(tracks[i].artist))
                                      : std::string(album_artist);
  }
  return artists;
}

template <typename Field>
std::vector<std::string> trimmed(const std::vector<TrackTags>& tracks, Field field) {
  std::vector<std::string> values(tracks.size());
  for (size_t i = 0; i < tracks.size(); ++i) values[i] = std::string(trim(tracks[i].*field));
  return values;
}

int disc_of(const TrackTags& t) {
  return t.disc > 0 ? t.disc : t.disc_from_folder > 0 ? t.disc_from_folder : 1;
}

}  // namespace

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

TagEvidence::TagEvidence(const std::vector<TrackTags>& tracks_in)
    : tracks(tracks_in),
      albums(trimmed(tracks_in, &TrackTags::album)),
      artists(album_artists(tracks_in)),
      release_ids(trimmed(tracks_in, &TrackTags::musicbrainz_album_id)),
      album_vote(majority(albums)),
      artist_vote(majority(artists)),
      release_vote(majority(release_ids)) {
  for (size_t i = 0; i < tracks.size(); ++i) on_disc[disc_of(tracks[i])].push_back(i);
}

std::span<const IdentifyRule> identify_rules() {
  return kRules;
}

const IdentifyRule* find_identify_rule(std::string_view name) {
  for (const IdentifyRule& rule : kRules) {
    if (rule.name == name) return &rule;
  }
  return nullptr;
}

}  // namespace barbossa
